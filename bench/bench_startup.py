"""Benchmark 4: start-up. Importing a compiled module, and running `doctrine --version`.

Each is a fresh interpreter, timed from outside, interleaved with a bare interpreter
(`python -c pass`) so that the cost of Python itself can be taken off. The fastest of several
runs of each is kept.

The import of the library's largest compiled module (`python -S`, so that no site hook is
timed) runs beside the import of a plain module of the same size, made of constant tuples and
strings: the difference is what the runtime and the module's program tree cost to import.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from . import engines as en
from .common import say, table

ROOT = en.ROOT


def _time(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def _plain_module(size: int) -> str:
    """A module of about `size` bytes that imports only `datetime` and builds constants."""
    lines = ["import datetime", "WHEN = datetime.date(2020, 1, 1)"]
    total = sum(len(line) + 1 for line in lines)
    while total < size:
        n = len(lines)
        lines.append(f"C{n} = ('element {n}', ('fact_{n}', 'bool'), {n}, None, True)")
        total += len(lines[-1]) + 1
    return "\n".join(lines) + "\n"


def run(repeat: int = 15) -> dict[str, Any]:
    """Fastest wall time of each start-up, and the same less a bare interpreter's."""
    folder = Path(tempfile.mkdtemp(prefix="doctrine-startup-"))
    try:
        # The whole library: its largest module is timed beside a plain module of its size.
        subprocess.run(
            [
                sys.executable,
                "-m",
                "compiler",
                "compile",
                str(en.DOCTRINE.parent),
                "-o",
                str(folder),
            ],
            check=True,
            cwd=ROOT,
            capture_output=True,
        )
        largest = max(folder.glob("*.py"), key=lambda p: p.stat().st_size)
        size = largest.stat().st_size
        (folder / "plain_module.py").write_text(_plain_module(size), encoding="utf-8")
        bare_s = [sys.executable, "-S", "-c"]
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "0"}
        env.pop("PYTHONPATH", None)
        doctrine_cli = Path(sys.executable).with_name("doctrine")
        cli = (
            [str(doctrine_cli), "--version"]
            if doctrine_cli.exists()
            else [sys.executable, "-m", "compiler", "--version"]
        )
        runs = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "import compiled state_created_danger": [
                sys.executable,
                "-c",
                "import state_created_danger",
            ],
            "doctrine --version": cli,
            "python -S -c pass": [*bare_s, "pass"],
            f"python -S: import a plain module of {size // 1000} kB": [
                *bare_s,
                "import plain_module",  # -c puts the folder first on the path
            ],
            "python -S: import compiler.runtime": [
                *bare_s,
                f"import sys; sys.path[:0] = [{str(ROOT)!r}]; import compiler.runtime",
            ],
            f"python -S: import compiled {largest.stem} ({size // 1000} kB)": [
                *bare_s,
                f"import sys; sys.path[:0] = ['', {str(ROOT)!r}]; import {largest.stem}",
            ],
        }
        say(f"start-up: {len(runs)} commands, {repeat} runs each")
        for argv in runs.values():  # warm the file cache and write .pyc files
            _time(argv, folder, env)
        best = dict.fromkeys(runs, float("inf"))
        for _ in range(repeat):
            for name, argv in runs.items():
                best[name] = min(best[name], _time(argv, folder, env))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    rows = []
    for name, t in best.items():
        bare = best["python -S -c pass" if name.startswith("python -S") else "python -c pass"]
        rows.append({"what": name, "seconds": t, "over_bare": t - bare})
    return {"rows": rows}


def markdown(report: dict[str, Any]) -> str:
    """The start-up table as markdown."""
    rows = [
        [r["what"], f"{r['seconds'] * 1e3:.0f} ms", f"{r['over_bare'] * 1e3:+.0f} ms"]
        for r in report["rows"]
    ]
    return "\n".join(
        [
            "Start-up (a fresh interpreter each; fastest run)",
            "",
            table(["command", "wall time", "over a bare interpreter"], rows),
        ]
    )
