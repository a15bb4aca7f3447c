"""Measure interviews: questions asked by each strategy on the library's worked cases and the
shared precedents, against the facts each doctrine weighs (docs/interview.md reports the table).

    python scripts/interview_counts.py
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from compiler.codegen.compile import load  # noqa: E402
from compiler.tools import interview  # noqa: E402

LIBRARY = ROOT / "doctrine"
PRECEDENTS = [
    ROOT.parent / "shared" / "precedents" / "precedents.yaml",
    ROOT / "tests" / "data" / "precedents.yaml",
]


@functools.cache
def evaluator(name: str) -> Any:
    for path in [LIBRARY / f"{name}.doctrine", *LIBRARY.rglob(f"{name}.doctrine")]:
        if path.is_file():
            module = load(path)
            return module.DOCTRINES[name]
    raise LookupError(name)


def cases() -> list[tuple[str, str, str, dict[str, Any]]]:
    """(set, doctrine, case name, facts) for every worked case and precedent."""
    out = []
    seen = set()
    for path in sorted(LIBRARY.rglob("*.doctrine")):
        for case in load(path).CASES:
            if (case["doctrine"], case["name"]) not in seen:
                seen.add((case["doctrine"], case["name"]))
                out.append(("cases", case["doctrine"], case["name"], dict(case["given"])))
    path = next(p for p in PRECEDENTS if p.is_file())
    for p in yaml.safe_load(path.read_text(encoding="utf-8")):
        out.append(("precedents", p["doctrine"], p["id"], dict(p["facts"])))
    return out


# The strategies compared: declaration order, and the informed choice looking one, two and
# three answers ahead (interview.choose_informed); "informed", one ahead, is the default.
for _depth in (2, 3):
    interview.STRATEGIES[f"lookahead-{_depth}"] = functools.partial(
        interview.choose_informed, depth=_depth
    )
STRATEGIES = ["declared", "informed"]
DEEP = ["lookahead-2", "lookahead-3"]


def _cell(counts: list[int]) -> str:
    if any(c < 0 for c in counts):
        return "—"
    return f"{statistics.mean(counts):.2f} / {max(counts)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--deep",
        action="store_true",
        help="also look two and three answers ahead (slow; not on closed-world doctrines)",
    )
    args = parser.parse_args()
    if args.deep:
        STRATEGIES.extend(DEEP)
    rows: dict[tuple[str, str], dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    spent: dict[str, float] = defaultdict(float)
    disagreements = 0
    for group, name, case, facts in cases():
        ev = evaluator(name)
        truth = ev.evaluate(facts).holds
        if ev.closed:
            group = "CATO cases"  # a closed world: every factor is a question
        for label in STRATEGIES:
            if label in DEEP and ev.closed:
                rows[(group, name)][label].append(-1)
                continue
            began = time.perf_counter()
            result, asked = interview.replay(ev, facts, strategy=label)
            if not ev.closed:  # timed where every strategy runs, so the times compare
                spent[label] += time.perf_counter() - began
            if result.holds != truth:
                disagreements += 1
                print(f"DISAGREE {name} {case} {label}", file=sys.stderr)
            rows[(group, name)][label].append(len(asked))
    weighed = {name: len(evaluator(name).info.facts_weighed) for _, name in rows}
    header = (
        "| cases | doctrine | n | facts weighed | "
        + " | ".join(f"{s} mean / worst" for s in STRATEGIES)
        + " |"
    )
    print(header)
    print("|" + " --- |" * (4 + len(STRATEGIES)))
    totals: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for (group, name), by in sorted(rows.items()):
        n = len(next(iter(by.values())))
        cells = [_cell(by[s]) for s in STRATEGIES]
        print(f"| {group} | `{name}` | {n} | {weighed[name]} | " + " | ".join(cells) + " |")
        for s in STRATEGIES:
            totals[group][s].extend(by[s])
    for group, by in totals.items():
        cells = [_cell(by[s]) for s in STRATEGIES]
        n = len(next(iter(by.values())))
        print(f"| **{group}** | | {n} | | " + " | ".join(cells) + " |")
    print(
        f"\nreplays that disagreed with `evaluate` on the whole case: {disagreements}; time"
        " on the cases and precedents (the closed world's left out): "
        + ", ".join(f"{s} {spent[s]:.1f} s" for s in STRATEGIES),
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
