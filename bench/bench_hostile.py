"""Benchmark 6: hostile facts files, refused or evaluated in time that grows with their size.

Each input is measured at a size and at twice that size, side by side, and the report gives the
ratio of the two times: about 2 where the work is linear in the input, about 1 where it does not
depend on it (an alias bomb is never expanded), 4 or more where it is quadratic. The inputs are
tests/test_hostile_facts.py's, whose assertions check the answers; this checks the time they
take, which a test must not.

- a YAML alias bomb: each level nine aliases of the one below (8 and then 9 levels; expanded,
  the second would be nine times the first and 387 million items);
- JSON lists nested N deep (refused: nested too deeply);
- N records in `authorities`, evaluated by `state_created_danger`;
- N records with eleven unknown facts, where finding what is missing tries completions.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import compiler

from . import engines as en
from .common import fastest, say, table

MAX_GROWTH = 3.0
"""The most the time may grow when the input doubles (linear is 2)."""

RECORD = {
    "name": "x",
    "court": "9th",
    "decided": "1990-01-01",
    "recognizes_right": True,
    "materially_similar": False,
}


def _bomb(levels: int) -> str:
    names = "abcdefghijklmnopqrstuvwxyz"
    lines = [f"{names[0]}: &{names[0]} [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels + 1):
        prev, name = names[i - 1], names[i]
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    lines.append(f"authorities: *{names[levels]}")
    return "\n".join(lines) + "\n"


def _unknowns_doctrine(folder: Path) -> Any:
    bools = [f"b{i}" for i in range(10)]
    source = "record r { level: enum (lo < mid < hi) }\nfact items: list of r\n"
    source += "fact s0: enum (lo < mid < hi)\n" + "".join(f"fact {b}: bool\n" for b in bools)
    source += "doctrine q { element e { holds when (some x in items where x.level >= s0) and "
    source += " and ".join(bools) + " } }\n"
    path = folder / "q.doctrine"
    path.write_text(source, encoding="utf-8")
    return compiler.load(path).DOCTRINES["q"]


def _inputs(
    records: int, depth: int, folder: Path
) -> dict[str, Callable[[int], Callable[[], object]]]:
    """For each input, a function of the scale (1 or 2) giving the work to time."""
    from compiler.runtime import FactsError
    from compiler.tools.facts import FactsFileError, parse_facts, read_facts

    danger = compiler.load(en.ROOT / "doctrine" / "state_created_danger.doctrine")
    evaluator = danger.DOCTRINES["state_created_danger"]
    unknowns = _unknowns_doctrine(folder)

    def refused(text: str, name: str) -> Callable[[], object]:
        def run() -> object:
            try:
                return evaluator.holds(parse_facts(text, name))
            except (FactsFileError, FactsError) as exc:  # refused, as it must be
                return exc

        return run

    def bomb(scale: int) -> Callable[[], object]:
        return refused(_bomb(7 + scale), "case.yaml")

    def deep(scale: int) -> Callable[[], object]:
        n = depth * scale
        return refused('{"authorities": ' + "[" * n + "]" * n + "}", "case.json")

    def many(scale: int) -> Callable[[], object]:
        path = folder / f"records{scale}.json"
        path.write_text(json.dumps({"authorities": [RECORD] * (records * scale)}), "utf-8")
        return lambda: evaluator.evaluate(read_facts(path))

    def missing(scale: int) -> Callable[[], object]:
        items = [{"level": "lo"}] * (records * scale)
        return lambda: unknowns.evaluate({"items": items})

    return {
        "YAML alias bomb (8 -> 9 levels)": bomb,
        f"JSON nested {depth:,} -> {2 * depth:,} deep": deep,
        f"{records:,} -> {2 * records:,} records": many,
        f"{records:,} -> {2 * records:,} records, 11 facts unknown": missing,
    }


def run(records: int = 100_000, depth: int = 50_000, repeat: int = 3) -> dict[str, Any]:
    """Seconds for each hostile input at a size and at twice that size, and their ratio."""
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="doctrine-hostile-") as tmp:
        for name, make in _inputs(records, depth, Path(tmp)).items():
            small, large = make(1), make(2)
            first = fastest(small, repeat)
            second = fastest(large, repeat)
            growth = second / first if first > 0 else 0.0
            rows.append({"input": name, "small_s": first, "large_s": second, "growth": growth})
            say(f"hostile: {name}: x{growth:.2f}")
    worst = max(r["growth"] for r in rows)
    return {"rows": rows, "worst_growth": worst, "bounded": worst <= MAX_GROWTH}


def markdown(report: dict[str, Any]) -> str:
    """The table of hostile inputs."""
    rows = [
        (
            r["input"],
            f"{r['small_s'] * 1e3:.1f} ms",
            f"{r['large_s'] * 1e3:.1f} ms",
            f"x{r['growth']:.2f}",
        )
        for r in report["rows"]
    ]
    return "Hostile facts files: time at a size and at twice it\n\n" + table(
        ("input", "size", "twice the size", "growth"), rows
    )
