"""Batch evaluation: a million cases through `doctrine eval --batch`, as a user runs it.

The cases are the 384 patterns of the evaluation benchmark, cycled in a seeded order and
written as JSON Lines. The command runs with `--jobs 2` and with `--jobs 1`; every result is
read back and must match the hand-written function, in input order. Peak memory is that of the
largest process of the run (the parent or a worker), for a run ten times smaller as well: the
same figure for both says memory does not grow with the input.
"""

from __future__ import annotations

import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from . import engines as en
from .common import say, table

TARGET_CASES, TARGET_SECONDS = 1_000_000, 60.0


def write_cases(path: Path, count: int, seed: int = 2026) -> list[bool | None]:
    """Write `count` cases as JSON Lines; return the hand-written outcome of each, in order."""
    space = en.patterns()
    lines = [json.dumps(case) + "\n" for case in space]
    outcomes = [en.hand_written(case) for case in space]
    order = list(range(len(space)))
    rng = random.Random(seed)
    expected: list[bool | None] = []
    with path.open("w", encoding="utf-8") as out:
        while len(expected) < count:
            rng.shuffle(order)
            take = order[: count - len(expected)]
            out.writelines(lines[i] for i in take)
            expected.extend(outcomes[i] for i in take)
    return expected


def _command() -> list[str]:
    doctrine = Path(sys.executable).with_name("doctrine")
    return [str(doctrine)] if doctrine.exists() else [sys.executable, "-m", "compiler"]


def run_once(cases: Path, out: Path, jobs: int) -> dict[str, Any]:
    """One `doctrine eval --batch` run: wall time and the peak memory of its processes."""
    argv = [
        *_command(),
        "eval",
        str(en.DOCTRINE),
        "--batch",
        str(cases),
        "--jobs",
        str(jobs),
        "-o",
        str(out),
    ]
    # Each run in its own child, so that the children's peak memory is this run's alone.
    probe = (
        "import resource, subprocess, sys, time\n"
        "start = time.perf_counter()\n"
        "code = subprocess.run(sys.argv[1:]).returncode\n"
        "seconds = time.perf_counter() - start\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print(code, seconds, peak)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, *argv], capture_output=True, text=True, check=True
    )
    code, seconds, peak = done.stdout.split()
    if int(code) != 0:
        raise AssertionError(f"doctrine eval --batch exited {code}: {done.stderr}")
    return {"jobs": jobs, "seconds": float(seconds), "peak_kib": int(peak)}


def check_output(out: Path, expected: list[bool | None]) -> int:
    """Every result line, in order, against the hand-written outcomes; the count checked."""
    n = 0
    with out.open(encoding="utf-8") as handle:
        for n, (line, want) in enumerate(zip(handle, expected), 1):
            got = json.loads(line)["holds"]
            if got is not want:
                raise AssertionError(f"line {n}: holds {got!r}, hand-written {want!r}")
    if n != len(expected):
        raise AssertionError(f"{n} results for {len(expected)} cases")
    return n


def run(count: int = TARGET_CASES, jobs: tuple[int, ...] = (2, 1)) -> dict[str, Any]:
    """The batch benchmark; a report as a dict."""
    folder = Path(tempfile.mkdtemp(prefix="doctrine-batch-"))
    try:
        cases = folder / "cases.jsonl"
        say(f"batch: writing {count:,} cases")
        expected = write_cases(cases, count)
        small = folder / "small.jsonl"
        small_expected = write_cases(small, max(1, count // 10), seed=7)
        rows = []
        for j in jobs:
            say(f"  doctrine eval --batch, {count:,} cases, --jobs {j}")
            out = folder / f"out{j}.jsonl"
            row = run_once(cases, out, j)
            row["cases"] = count
            row["checked"] = check_output(out, expected)
            out.unlink()
            small_row = run_once(small, folder / "small-out.jsonl", j)
            check_output(folder / "small-out.jsonl", small_expected)
            row["small_cases"] = len(small_expected)
            row["small_peak_kib"] = small_row["peak_kib"]
            rows.append(row)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    target = next((r for r in rows if r["jobs"] == 2), rows[0])
    scaled = target["seconds"] * TARGET_CASES / count
    return {
        "rows": rows,
        "target": {
            "cases": count,
            "seconds": target["seconds"],
            "per_million": scaled,
            "goal": TARGET_SECONDS,
            "met": count >= TARGET_CASES and target["seconds"] < TARGET_SECONDS,
        },
        "self_peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


def markdown(report: dict[str, Any]) -> str:
    """The batch table as markdown."""
    rows = [
        [
            f"--jobs {r['jobs']}",
            f"{r['cases']:,}",
            f"{r['seconds']:.1f} s",
            f"{r['cases'] / r['seconds']:,.0f}",
            f"{r['peak_kib'] / 1024:.0f} MiB",
            f"{r['small_peak_kib'] / 1024:.0f} MiB ({r['small_cases']:,} cases)",
        ]
        for r in report["rows"]
    ]
    t = report["target"]
    return "\n".join(
        [
            "Batch evaluation: `doctrine eval state_created_danger.doctrine --batch cases.jsonl"
            " -o out.jsonl --jobs N`",
            "",
            table(
                [
                    "jobs",
                    "cases",
                    "wall time",
                    "cases per second",
                    "peak memory",
                    "peak memory, a tenth of the cases",
                ],
                rows,
            ),
            "",
            f"{t['cases']:,} cases with --jobs 2 in {t['seconds']:.1f} s "
            f"(target {TARGET_CASES:,} in under {t['goal']:.0f} s: "
            f"{'met' if t['met'] else 'NOT met'}).",
        ]
    )
