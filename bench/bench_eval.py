"""Benchmark 1: evaluating `state_created_danger`, beside hand-written Python and peer engines.

Every engine first runs every case once and must give the hand-written function's outcome on
each (the compiled full result its elements and missing facts too); an engine that disagrees
fails the benchmark before any time counts. Then all engines are timed, interleaved
(bench/common.py), and each is reported as a ratio to the hand-written function.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import compiler

from . import engines as en
from .common import Batch, interleaved, per_item, ratio, say, table

HAND = "hand-written Python (three-valued)"
PREPARED = "compiled: holds, prepared facts"
HOLDS = "compiled: holds(facts)"
FULL = "compiled: evaluate(facts), full result"
FULL_PREPARED = "compiled: full result, prepared facts"
TWO_VALUED = "hand-written, two-valued (assumes every fact given)"
WALKER = "tree-walking interpreter of the same doctrine"

# The goals of issue 15 (holds 0.5, evaluate 0.25 with the check of the facts).
TARGETS = {PREPARED: 0.5, HOLDS: 0.5, FULL_PREPARED: 0.15, FULL: 0.25}
PEER_FACTOR = 20


class Disagreement(AssertionError):
    """An engine gave another answer than the hand-written function on some case."""


def _per_case(fn: Callable[[Any], Any]) -> Batch:
    return lambda cases: [fn(f) for f in cases]


def compiled_engines(
    module: Any, cases: Sequence[dict[str, Any]], block: int
) -> dict[str, tuple[Batch, list[Sequence[Any]], Callable[[Any], Any]]]:
    """The compiled module's paths: (batch, blocks, how to read an outcome off an output)."""
    evaluator = module.DOCTRINES[module.DOCTRINE]
    holds_prepared = evaluator.holds
    evaluate_prepared = evaluator.evaluate
    prepared = [evaluator.prepare(f) for f in cases]  # checked ahead, untimed
    plain = en.blocks(cases, block)
    full = lambda r: (r.holds, r.elements, tuple(r.missing))  # noqa: E731
    return {
        PREPARED: (
            lambda fs: [holds_prepared(f, validate=False) for f in fs],
            en.blocks(prepared, block),
            lambda out: out,
        ),
        HOLDS: (_per_case(module.holds), plain, lambda out: out),
        FULL_PREPARED: (
            lambda fs: [evaluate_prepared(f, validate=False) for f in fs],
            en.blocks(prepared, block),
            full,
        ),
        FULL: (_per_case(module.evaluate), plain, full),
    }


def check_agreement(
    runs: dict[str, tuple[Batch, list[Sequence[Any]], Callable[[Any], Any]]],
    cases: Sequence[dict[str, Any]],
) -> dict[str, int]:
    """Run every engine on every case once; raise Disagreement unless each agrees with the
    hand-written function on every case. Returns the number of cases checked per engine."""
    expected = [en.hand_written(f) for f in cases]
    checked = {}
    for name, (run, blocks, outcome) in runs.items():
        got = [outcome(o) for b in blocks for o in run(b)]
        if len(got) != len(expected):
            raise Disagreement(f"{name}: {len(got)} outcomes for {len(expected)} cases")
        for i, (f, want, out) in enumerate(zip(cases, expected, got)):
            if name in (FULL, FULL_PREPARED):
                ok = out[0] is want and (
                    want is None or out == (want, en.hand_written_elements(f), ())
                )
            elif name == TWO_VALUED:
                ok = want is None or out is want
            else:
                ok = out is want
            if not ok:
                raise Disagreement(f"{name} on case {i} {f}: got {out!r}, expected {want!r}")
        checked[name] = len(got)
    return checked


def run(
    count: int = 200_000, block: int = 1_000, rounds: int = 5, peers: bool = True
) -> dict[str, Any]:
    """The evaluation benchmark on `count` cases of the 384 patterns; a report as a dict."""
    module = compiler.load(en.DOCTRINE)
    cases = en.cycled(en.patterns(), count, seed=2026)
    say(f"evaluation: {count:,} cases of {len(en.patterns())} patterns")
    plain = en.blocks(cases, block)
    walker = en.TreeWalker(module)
    runs: dict[str, tuple[Batch, list[Sequence[Any]], Callable[[Any], Any]]] = {
        HAND: (_per_case(en.hand_written), plain, lambda out: out),
        **compiled_engines(module, cases, block),
        TWO_VALUED: (_per_case(en.two_valued), plain, lambda out: out),
        WALKER: (_per_case(walker), plain, lambda out: out),
    }
    versions: dict[str, str] = {}
    missing_peers = []
    if peers:
        found = {name: (version, batch) for name, version, batch in en.available_peers()}
        for name in en.PEER_BATCHES:
            if name in found:
                version, batch = found[name]
                label = f"{name} {version}"
                versions[label] = version
                runs[label] = (batch, plain, lambda out: out)
            else:
                missing_peers.append(name)
    say("  checking that every engine agrees with the hand-written function")
    checked = check_agreement(runs, cases)
    say(f"  timing {len(runs)} engines, {rounds} round(s) of {len(plain)} blocks")
    seconds = interleaved({name: (r[0], r[1]) for name, r in runs.items()}, rounds)
    peer_times = [seconds[label] for label in versions]
    fastest_peer = min(peer_times) if peer_times else None
    rows = []
    for name, t in seconds.items():
        rows.append(
            {
                "engine": name,
                "per_case_s": t / count,
                "ratio": seconds[HAND] / t,
                "vs_fastest_peer": (fastest_peer / t) if fastest_peer else None,
                "agreed": checked[name],
            }
        )
    targets = {}
    for name, goal in TARGETS.items():
        r = seconds[HAND] / seconds[name]
        peer_x = fastest_peer / seconds[name] if fastest_peer else None
        targets[name] = {
            "ratio": r,
            "goal": goal,
            "met": r >= goal,
            "vs_fastest_peer": peer_x,
            "peer_goal": PEER_FACTOR,
            "peer_met": None if peer_x is None else peer_x >= PEER_FACTOR,
        }
    return {
        "count": count,
        "patterns": len(en.patterns()),
        "rows": rows,
        "targets": targets,
        "missing_peers": missing_peers,
        "three_valued": three_valued(module, min(count, 50_000), block, rounds),
    }


def three_valued(module: Any, count: int, block: int, rounds: int) -> dict[str, Any]:
    """The same engines that know "unknown", on the 1,701 patterns with unknown facts."""
    cases = en.cycled(en.three_valued_patterns(), count, seed=2027)
    say(f"evaluation with unknown facts: {count:,} cases of 1,701 patterns")
    plain = en.blocks(cases, block)
    compiled = compiled_engines(module, cases, block)
    runs: dict[str, tuple[Any, Any, Callable[[Any], Any]]] = {
        HAND: (_per_case(en.hand_written), plain, lambda out: out),
        PREPARED: compiled[PREPARED],
        HOLDS: compiled[HOLDS],
        FULL_PREPARED: (compiled[FULL_PREPARED][0], compiled[FULL_PREPARED][1], lambda r: r.holds),
        FULL: (compiled[FULL][0], plain, lambda r: r.holds),
        WALKER: (_per_case(en.TreeWalker(module)), plain, lambda out: out),
    }
    expected = [en.hand_written(f) for f in cases]
    for name, (batch, blocks, outcome) in runs.items():
        got = [outcome(o) for b in blocks for o in batch(b)]
        bad = next((i for i, (a, b) in enumerate(zip(got, expected)) if a is not b), None)
        if bad is not None or len(got) != len(expected):
            raise Disagreement(f"{name} on case {bad} {cases[bad or 0]}: disagrees")
    seconds = interleaved({name: (r[0], r[1]) for name, r in runs.items()}, rounds)
    return {
        "count": count,
        "rows": [
            {"engine": name, "per_case_s": t / count, "ratio": seconds[HAND] / t}
            for name, t in seconds.items()
        ],
    }


def markdown(report: dict[str, Any]) -> str:
    """The evaluation tables as markdown."""
    rows = [
        [
            r["engine"],
            per_item(r["per_case_s"], 1),
            ratio(r["ratio"]),
            f"{r['vs_fastest_peer']:.1f}x" if r["vs_fastest_peer"] else "-",
            f"{r['agreed']:,}",
        ]
        for r in report["rows"]
    ]
    out = [
        f"Evaluation: `state_created_danger` on {report['count']:,} cases "
        f"({report['patterns']} patterns, every fact known)",
        "",
        table(["engine", "per case", "vs hand-written", "vs fastest peer", "cases agreed"], rows),
    ]
    if report["missing_peers"]:
        out += ["", f"Not installed, not run: {', '.join(report['missing_peers'])}."]
    three = report["three_valued"]
    out += [
        "",
        f"With unknown facts: {three['count']:,} cases of the 1,701 three-valued patterns",
        "",
        table(
            ["engine", "per case", "vs hand-written"],
            [[r["engine"], per_item(r["per_case_s"], 1), ratio(r["ratio"])] for r in three["rows"]],
        ),
    ]
    return "\n".join(out)
