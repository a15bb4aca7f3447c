"""Shell sessions written in markdown, run as written: the README's and the docs' examples.

A ```console block is a session: each `$ COMMAND` runs in bash (with `doctrine` and `python3`
on the PATH, both this interpreter) and must print what follows it (standard output and
standard error together, in the order written). In the expected text, a line `...` stands for
any lines, and `...` within a line for any text.

A command that is `doctrine` with plain words only (nothing the shell would expand, quote,
redirect or pipe), optionally followed by `; echo "exit status $?"`, means the same in bash and
in `run_cli`: it runs in this process, which saves starting an interpreter per example. The
others (pipes, quoting, `python3 -c`, ...) run in bash as written.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

from support import clean_env, run_cli

FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def blocks(text: str) -> list[tuple[str, str, int]]:
    """(language, body, line of the body's first line) of every fenced block."""
    return [
        (m.group(1), m.group(2), text.count("\n", 0, m.start()) + 2) for m in FENCE.finditer(text)
    ]


def sessions(text: str, name: str) -> list[tuple[int, str, str]]:
    """(line, command, expected output) for every `$ ` command of the console blocks."""
    out: list[tuple[int, list[str]]] = []
    for lang, body, line in blocks(text):
        if lang != "console":
            continue
        current: list[str] | None = None
        for i, text_line in enumerate(body.splitlines()):
            if text_line.startswith("$ "):
                current = [text_line[2:]]
                out.append((line + i, current))
            else:
                assert current is not None, f"{name}:{line + i}: output before a command"
                current.append(text_line)
    return [(n, cmd[0], "".join(f"{x}\n" for x in cmd[1:])) for n, cmd in out]


def expected_pattern(expected: str) -> re.Pattern[str]:
    """The expected output as a regular expression, `...` standing for what it elides."""
    parts = []
    for line in expected.splitlines():
        if line == "...":
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            parts.append(r"[^\n]*".join(re.escape(p) for p in line.split("...")) + r"\n")
    return re.compile("".join(parts))


def shell_env(bin_dir: Path) -> dict[str, str]:
    """An environment whose `doctrine` and `python3` are this interpreter and this checkout."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    shims = {
        "doctrine": f'#!/bin/sh\nexec "{sys.executable}" -m compiler "$@"\n',
        "python3": f'#!/bin/sh\nexec "{sys.executable}" "$@"\n',
    }
    for name, body in shims.items():
        shim = bin_dir / name
        shim.write_text(body, encoding="utf-8")
        shim.chmod(shim.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return clean_env(
        PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", PYTHONUNBUFFERED="1"
    )


# Words the shell passes on as they are: no quotes, variables, globs, `~`, redirections.
_PLAIN = re.compile(r"doctrine(?: [\w./:=,@+-]+)*")
_STATUS = '; echo "exit status $?"'


def _in_process(command: str, cwd: Path, env: dict[str, str]) -> str | None:
    """What a plain `doctrine ...` command prints, run in this process; None for any other."""
    plain = command.removesuffix(_STATUS)
    if not _PLAIN.fullmatch(plain):
        return None
    # The session's interpreter settings (PYTHONUNBUFFERED) keep a child's two streams in the
    # order written; in this process they are one stream already.
    here = {k: v for k, v in env.items() if not k.startswith("PYTHON") or k == "PYTHONPATH"}
    here.update(
        (k, v) for k, v in os.environ.items() if k.startswith("PYTHON") and k != "PYTHONPATH"
    )
    proc = run_cli(*plain.split()[1:], cwd=cwd, env=here, merge_stderr=True)
    if plain != command:
        return f"{proc.stdout}exit status {proc.returncode}\n"
    return proc.stdout


def run(command: str, cwd: Path, env: dict[str, str]) -> str:
    """What a command prints, standard output and standard error together."""
    output = _in_process(command, cwd, env)
    if output is not None:
        return output
    proc = subprocess.run(
        ["bash", "-c", command],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
        check=False,
    )
    return proc.stdout
