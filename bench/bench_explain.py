"""Benchmark 3: explanations, and the "what would change the outcome" search.

Rendering: `result.explain(format=...)` (markdown and HTML) for a batch of results of
`state_created_danger`, drawn from its 384 patterns and its 1,701 patterns with unknown facts.

The search: generated doctrines over 10, 20 and 40 bool facts (an `and` of elements, each an
`or` of two `and`s of facts, so every fact matters), searched (counterfactual.search) once with
every fact unknown and once with every fact known. Doubling the facts may multiply the time by
a small power of two; an exhaustive search would multiply it by 2^10 and then 2^20.
"""

from __future__ import annotations

import functools
import itertools
import random
import time
from typing import Any

import compiler

from . import engines as en
from .common import fastest, say, table

FACT_COUNTS = (10, 20, 40)
MAX_GROWTH = 16.0


def _results(module: Any, count: int, seed: int) -> list[Any]:
    space = en.patterns() + en.three_valued_patterns()
    rng = random.Random(seed)
    return [module.evaluate(case) for case in rng.sample(space, count)]


def rendering(count: int, repeat: int) -> dict[str, Any]:
    """Explanations per second of `count` results, markdown and HTML."""
    module = compiler.load(en.DOCTRINE)
    results = _results(module, count, seed=3)
    out = {}
    for fmt in ("markdown", "html"):
        results[0].explain(format=fmt)  # templates loaded outside the timing

        def render_all(fmt: str = fmt) -> list[str]:
            return [r.explain(format=fmt) for r in results]

        seconds = fastest(render_all, repeat)
        out[fmt] = {"count": count, "seconds": seconds, "per_second": count / seconds}
    return out


def search_doctrine(facts: int) -> str:
    """A doctrine whose every fact matters: an `and` of elements `(a and b) or (c and not d)`."""
    lines = [f'module wide{facts} "generated"']
    lines += [f'fact f{i}: bool means "fact {i}"' for i in range(facts)]
    names = []
    for k in range(facts // 4):
        a, b, c, d = (f"f{4 * k + j}" for j in range(4))
        lines.append(f"element e{k} {{ holds when ({a} and {b}) or ({c} and not {d}) }}")
        names.append(f"e{k}")
    lines.append(f"doctrine wide{facts} {{")
    lines += [f"  element s{i} = {name}" for i, name in enumerate(names)]
    lines.append("}")
    return "\n".join(lines) + "\n"


def search_cost(counts: tuple[int, ...], repeat: int) -> list[dict[str, Any]]:
    """Seconds of one counterfactual search, all facts unknown and all known, per size."""
    from compiler.codegen.compile import compile_source, module_from_source
    from compiler.explain.counterfactual import search

    rows = []
    for n in counts:
        name = f"wide{n}"
        module = module_from_source(compile_source(search_doctrine(n), name), name, name)
        evaluator = module.DOCTRINES[name]
        known = dict(zip((f"f{i}" for i in range(n)), itertools.cycle((True, True, False, False))))
        row: dict[str, Any] = {"facts": n}
        for label, facts in (("unknown", {}), ("known", known)):
            start = time.perf_counter()
            result = evaluator.evaluate(facts)
            row[f"evaluate_{label}"] = time.perf_counter() - start
            found = search(result, module.INFO)
            row[f"search_{label}"] = fastest(functools.partial(search, result, module.INFO), repeat)
            row[f"found_{label}"] = len(found)
            row[f"holds_{label}"] = result.holds
        rows.append(row)
        say(
            f"  search over {n} facts: {row['search_unknown']:.3f} s unknown, "
            f"{row['search_known']:.3f} s known"
        )
    for before, after in itertools.pairwise(rows):
        for label in ("unknown", "known"):
            after[f"growth_{label}"] = after[f"search_{label}"] / before[f"search_{label}"]
    return rows


def run(count: int = 200, counts: tuple[int, ...] = FACT_COUNTS, repeat: int = 3) -> dict[str, Any]:
    """The explanation benchmark; a report as a dict."""
    say(f"explanation: rendering {count} results")
    report: dict[str, Any] = {
        "rendering": rendering(count, repeat),
        "search": search_cost(counts, repeat),
    }
    # Doubling the facts multiplies a search of polynomial cost n^k by 2^k; an exhaustive one
    # by 2^n. Up to 16 (k = 4) passes; 2^10 = 1,024 from 10 facts to 20 would not.
    growths = [
        r[f"growth_{label}"]
        for r in report["search"]
        for label in ("unknown", "known")
        if f"growth_{label}" in r
    ]
    report["worst_growth"] = max(growths, default=None)
    report["polynomial"] = all(g <= MAX_GROWTH for g in growths)
    return report


def markdown(report: dict[str, Any]) -> str:
    """The explanation tables as markdown."""
    render = report["rendering"]
    rows = [
        [fmt, f"{r['count']}", f"{r['seconds']:.2f} s", f"{r['per_second']:,.0f}"]
        for fmt, r in render.items()
    ]
    search_rows = []
    for r in report["search"]:
        search_rows.append(
            [
                str(r["facts"]),
                f"{r['search_unknown'] * 1e3:,.1f} ms",
                f"{r['growth_unknown']:.1f}x" if "growth_unknown" in r else "-",
                f"{r['search_known'] * 1e3:,.1f} ms",
                f"{r['growth_known']:.1f}x" if "growth_known" in r else "-",
                f"{r['found_unknown']} / {r['found_known']}",
            ]
        )
    return "\n".join(
        [
            "Explanations rendered (`result.explain`), `state_created_danger`",
            "",
            table(["format", "results", "time", "per second"], rows),
            "",
            "What would change the outcome (counterfactual.search), generated doctrines",
            "",
            table(
                [
                    "facts",
                    "all unknown",
                    "growth",
                    "all known",
                    "growth",
                    "change sets found (unknown / known)",
                ],
                search_rows,
            ),
        ]
    )
