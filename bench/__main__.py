"""Run the benchmarks and print their tables: `python -m bench` from the checkout.

    python -m bench                  # everything, at the sizes the README reports (~5 minutes)
    python -m bench --size quick     # smaller sizes, for a look in a minute
    python -m bench --only eval,batch --json results.json

The peer rule engines come from the `bench` extra: `pip install -e '.[bench]'`. A peer that
is not installed is left out, and the report says so. The exit status is 1 when an engine
disagrees with the hand-written function (no time is reported for it then), else 0; targets
that are not met are reported, not failed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from . import (
    bench_batch,
    bench_compile,
    bench_eval,
    bench_explain,
    bench_hostile,
    bench_startup,
)
from .common import machine, say

SIZES: dict[str, dict[str, dict[str, Any]]] = {
    "full": {
        "eval": {"count": 200_000, "block": 1_000, "rounds": 5},
        "compile": {"sizes": (1_000, 10_000, 50_000), "repeat": 2},
        "explain": {"count": 200, "counts": (10, 20, 40), "repeat": 5},
        "startup": {"repeat": 15},
        "batch": {
            "count": 1_000_000,
            "parquet": 10_000_000,
            "scale": (1_000_000, 10_000_000, 100_000_000),
        },
        "hostile": {"records": 100_000, "depth": 50_000, "repeat": 3},
    },
    "quick": {
        "eval": {"count": 40_000, "block": 1_000, "rounds": 3},
        "compile": {"sizes": (1_000, 5_000, 10_000), "repeat": 1},
        "explain": {"count": 50, "counts": (10, 20, 40), "repeat": 2},
        "startup": {"repeat": 5},
        "batch": {"count": 100_000, "parquet": 1_000_000, "scale": (1_000_000,), "repeat": 1},
        "hostile": {"records": 20_000, "depth": 20_000, "repeat": 2},
    },
    "tiny": {  # for the test of the harness itself
        "eval": {"count": 2_000, "block": 500, "rounds": 1},
        "compile": {"sizes": (200, 400), "repeat": 1},
        "explain": {"count": 4, "counts": (8, 12), "repeat": 1},
        "startup": {"repeat": 1},
        "batch": {
            "count": 500,
            "jobs": (2, 1),
            "engines": ("duckdb",),
            "parquet": 500,
            "scale": (1_000,),
            "repeat": 1,
        },
        "hostile": {"records": 200, "depth": 200, "repeat": 1},
    },
}

BENCHMARKS: dict[str, tuple[Callable[..., dict[str, Any]], Callable[[dict[str, Any]], str]]] = {
    "eval": (bench_eval.run, bench_eval.markdown),
    "compile": (bench_compile.run, bench_compile.markdown),
    "explain": (bench_explain.run, bench_explain.markdown),
    "startup": (bench_startup.run, bench_startup.markdown),
    "batch": (bench_batch.run, bench_batch.markdown),
    "hostile": (bench_hostile.run, bench_hostile.markdown),
}


def run(size: str = "full", only: Sequence[str] = tuple(BENCHMARKS)) -> dict[str, Any]:
    """Run the chosen benchmarks at a size; the whole report as a dict."""
    report: dict[str, Any] = {"machine": machine(), "size": size}
    for name in only:
        runner, _ = BENCHMARKS[name]
        start = time.perf_counter()
        report[name] = runner(**SIZES[size][name])
        report[name]["wall_s"] = time.perf_counter() - start
        say(f"{name}: done in {report[name]['wall_s']:.0f} s")
    report["machine"]["load_after"] = machine()["load"]
    return report


def targets(report: dict[str, Any]) -> list[tuple[str, bool | None, str]]:
    """(target, met, as measured) for each target of issue 6 that this report measured."""
    out: list[tuple[str, bool | None, str]] = []
    if "eval" in report:
        for name, t in report["eval"]["targets"].items():
            out.append((f"{name} >= {t['goal']} of hand-written", t["met"], f"{t['ratio']:.2f}"))
            if t["vs_fastest_peer"] is not None:
                out.append(
                    (
                        f"{name} >= {t['peer_goal']}x the fastest peer",
                        t["peer_met"],
                        f"{t['vs_fastest_peer']:.1f}x",
                    )
                )
    if "compile" in report:
        t = report["compile"]["target"]
        out.append(
            (f"10,000 lines compile in under {t['goal']:.0f} s", t["met"], f"{t['seconds']:.2f} s")
        )
    if "explain" in report:
        worst = report["explain"]["worst_growth"]
        out.append(
            (
                f"search not exponential: time at most x{bench_explain.MAX_GROWTH:.0f} "
                "when the facts double",
                report["explain"]["polynomial"],
                f"worst x{worst:.1f}" if worst is not None else "",
            )
        )
    if "hostile" in report:
        out.append(
            (
                f"hostile facts files: time at most x{bench_hostile.MAX_GROWTH:.0f} "
                "when the input doubles",
                report["hostile"]["bounded"],
                f"worst x{report['hostile']['worst_growth']:.2f}",
            )
        )
    if "batch" in report:
        t = report["batch"]["target"]
        out.append(
            (
                f"1,000,000 cases in under {t['goal']:.0f} s with --jobs 2",
                t["met"],
                f"{t['seconds']:.1f} s for {t['cases']:,}",
            )
        )
        d = report["batch"].get("duckdb") or {}
        if d.get("speedup") is not None:
            out.append(
                (
                    f"DuckDB at least {d['goal']:.0f}x the Python engine with --jobs 2"
                    " (1,000,000 cases, JSON Lines)",
                    d["met"],
                    f"{d['speedup']:.1f}x",
                )
            )
        p = report["batch"].get("parquet")
        if p:
            out.append(
                (
                    f"10,000,000 cases Parquet to Parquet on DuckDB in under {p['goal']:.0f} s",
                    p["met"],
                    f"{p['seconds']:.1f} s for {p['cases']:,}",
                )
            )
    return out


def markdown(report: dict[str, Any]) -> str:
    """The whole report as markdown: the machine, each table, and the targets."""
    m = report["machine"]
    parts = [
        f"Measured {m['date']} on {m['cpu']}, {m['cores']} cores, {m['memory']}, "
        f"{m['python']}, {m['os']} (load average {m['load']} before, "
        f"{m.get('load_after', '?')} after); `python -m bench --size {report['size']}`.",
    ]
    for name, (_, render) in BENCHMARKS.items():
        if name in report:
            parts.append(render(report[name]))
    rows = targets(report)
    if rows:
        lines = ["Targets", ""]
        for what, met, measured in rows:
            mark = "met" if met else "NOT met" if met is False else "-"
            lines.append(f"- {what}: {mark}" + (f" ({measured})" if measured else ""))
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--size", choices=tuple(SIZES), default="full")
    parser.add_argument(
        "--only",
        default=",".join(BENCHMARKS),
        help=f"comma-separated, of: {', '.join(BENCHMARKS)}",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the report as JSON")
    args = parser.parse_args(argv)
    only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in only if name not in BENCHMARKS]
    if unknown:
        parser.error(f"no benchmark {', '.join(unknown)}")
    try:
        report = run(args.size, only)
    except bench_eval.Disagreement as exc:
        print(f"an engine disagrees with the hand-written function: {exc}", file=sys.stderr)
        return 1
    print(markdown(report))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
