"""What the benchmarks share: interleaved timing, the machine's description, and tables.

Absolute times on a shared machine are noise, so every benchmark compares engines within one
run: the work is cut into blocks, each block is timed for every engine in turn (the order
rotating from block to block), every round repeats that, and an engine's time is the sum over
blocks of its fastest time on each block. A pause that hits one engine on one block in one
round is thrown away; a pause cannot make an engine look faster than it is.
"""

from __future__ import annotations

import datetime
import gc
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

Batch = Callable[[Sequence[Any]], list[Any]]


def interleaved(
    engines: dict[str, tuple[Batch, Sequence[Sequence[Any]]]], rounds: int
) -> dict[str, float]:
    """Seconds per engine for all its blocks (see the module's docstring). Each engine brings
    its own blocks: the same cases, in the form it takes them."""
    names = list(engines)
    count = len(next(iter(engines.values()))[1])
    assert all(len(b) == count for _, b in engines.values()), "engines need the same blocks"
    best = {name: [float("inf")] * count for name in names}
    gc.collect()
    gc.freeze()  # the inputs stay: collections need not walk them again and again
    try:
        for r in range(rounds):
            for b in range(count):
                shift = (b + r) % len(names)
                for name in names[shift:] + names[:shift]:
                    run, blocks = engines[name]
                    block = blocks[b]
                    start = time.perf_counter()
                    run(block)
                    elapsed = time.perf_counter() - start
                    if elapsed < best[name][b]:
                        best[name][b] = elapsed
    finally:
        gc.unfreeze()
    return {name: sum(times) for name, times in best.items()}


def fastest(run: Callable[[], object], repeat: int) -> float:
    """The fastest of `repeat` timings of `run()`, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def machine() -> dict[str, str]:
    """The date, processor, cores, memory and Python of this run, for the README's table."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory = ""
    try:
        with open("/proc/meminfo", encoding="utf-8") as handle:
            kib = int(handle.readline().split()[1])
            memory = f"{kib / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    try:
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = ""
    return {
        "load": load,
        "date": datetime.date.today().isoformat(),
        "cpu": cpu,
        "cores": str(os.cpu_count() or "?"),
        "memory": memory,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "os": f"{platform.system()} {platform.release()}",
    }


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A markdown table, columns padded so that it reads as plain text too."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |"

    rule = "| " + " | ".join("-" * w for w in widths) + " |"
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])


def ratio(x: float) -> str:
    """A ratio to the reference, as `0.62` or `1/85`."""
    if x >= 0.1:
        return f"{x:.2f}"
    return f"1/{1 / x:.0f}" if x > 0 else "-"


def per_item(seconds: float, count: int) -> str:
    """Time per item in the unit that suits it."""
    each = seconds / count
    if each < 1e-6:
        return f"{each * 1e9:.0f} ns"
    if each < 1e-3:
        return f"{each * 1e6:.1f} µs"
    return f"{each * 1e3:.1f} ms"


def say(*parts: object) -> None:
    """Progress on standard error, so that standard output stays the report."""
    print(*parts, file=sys.stderr, flush=True)
