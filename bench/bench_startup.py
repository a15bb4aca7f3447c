"""Benchmark 4: start-up. Importing a compiled module, and running `doctrine --version`.

Each is a fresh interpreter, timed from outside, interleaved with a bare interpreter
(`python -c pass`) so that the cost of Python itself can be taken off. The fastest of several
runs of each is kept.
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


def run(repeat: int = 15) -> dict[str, Any]:
    """Fastest wall time of each start-up, and the same less a bare interpreter's."""
    folder = Path(tempfile.mkdtemp(prefix="doctrine-startup-"))
    try:
        subprocess.run(
            [sys.executable, "-m", "compiler", "compile", str(en.DOCTRINE), "-o", str(folder)],
            check=True,
            cwd=ROOT,
            capture_output=True,
        )
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
    bare = best["python -c pass"]
    return {
        "rows": [{"what": name, "seconds": t, "over_bare": t - bare} for name, t in best.items()]
    }


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
