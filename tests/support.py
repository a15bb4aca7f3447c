"""What the test files share: paths, the contract's tables, and a runner for the real CLI."""

from __future__ import annotations

import contextlib
import datetime
import importlib.util
import io
import json
import os
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "doctrine"
EXAMPLES = ROOT / "examples"

# The precedents live in the shared folder beside the checkout; a vendored copy stands in for
# it where the checkout is used alone (test_precedents checks the two are the same file).
SHARED_PRECEDENTS = ROOT.parent / "shared" / "precedents" / "precedents.yaml"
VENDORED_PRECEDENTS = ROOT / "tests" / "data" / "precedents.yaml"

# spec/contract.md, "Doctrines, their elements, and when each holds" (and "Added").
CONTRACT_ELEMENTS: dict[str, tuple[str, ...]] = {
    "special_relationship": ("custody",),
    "special_relationship_jensen": ("custody", "promise", "knowledge"),
    "state_created_danger": (
        "specific_plaintiff",
        "affirmative_conduct",
        "causation",
        "culpability",
    ),
    "state_created_danger_kennedy_majority": (
        "specific_plaintiff",
        "affirmative_conduct",
        "causation",
        "culpability",
    ),
    "qualified_immunity_special_relationship": ("violation", "clearly_established"),
    "qualified_immunity_state_created_danger": ("violation", "clearly_established"),
    "duty_to_protect": ("special_relationship", "state_created_danger"),
    # The contract's last section: each circuit's test, and the custodial duty apart from breach.
    "state_created_danger_ninth_circuit": ("affirmative_conduct", "causation", "culpability"),
    "state_created_danger_fourth_circuit": ("affirmative_conduct", "causation", "culpability"),
    "custodial_failure_to_protect": ("duty", "breach", "causation"),
}

CULPABILITY = (
    "none",
    "negligence",
    "gross_negligence",
    "recklessness",
    "deliberate_indifference",
    "intent",
)
CUSTODY = (
    "none",
    "incarceration",
    "institutionalization",
    "involuntary_commitment",
    "other_restraint",
)

# One valid value for every fact of the contract's vocabulary.
EVERY_FACT: dict[str, Any] = {
    "custody": "none",
    "promise_of_protection": True,
    "relied_on_promise": True,
    "state_aware_of_danger": True,
    "directed_at_plaintiff": True,
    "affirmative_act": True,
    "but_for_cause": True,
    "increased_risk": False,
    "harm_foreseeable": True,
    "danger_known_or_obvious": True,
    "culpability": "deliberate_indifference",
    "event_date": datetime.date(1998, 9, 24),
    "circuit": "9th",
    "authorities": [
        {
            "name": "L.W. v. Grubbs, 974 F.2d 119 (9th Cir. 1992)",
            "court": "9th",
            "decided": datetime.date(1992, 8, 1),
            "recognizes_right": True,
            "materially_similar": True,
        },
        {
            "name": "Jensen v. Conrad, 747 F.2d 185 (4th Cir. 1984)",
            "court": "4th",
            "decided": datetime.date(1984, 11, 1),
            "recognizes_right": True,
            "materially_similar": True,
            "abrogated": datetime.date(1989, 2, 22),
        },
    ],
}


def doctrine_file(name: str) -> Path:
    """The library file of a doctrine of the contract."""
    return LIBRARY / f"{name}.doctrine"


def precedents_path() -> Path:
    """The shared precedents when the shared folder is there, the vendored copy otherwise."""
    return SHARED_PRECEDENTS if SHARED_PRECEDENTS.is_file() else VENDORED_PRECEDENTS


def load_precedents() -> list[dict[str, Any]]:
    """The precedents, each a mapping with id, doctrine, facts and expect."""
    with precedents_path().open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    assert isinstance(data, list) and data, f"{precedents_path()} holds no precedents"
    return data


def jsonable(value: Any) -> Any:
    """Facts as JSON can carry them: dates become ISO strings."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def write_json(path: Path, facts: dict[str, Any]) -> Path:
    path.write_text(json.dumps(jsonable(facts), indent=2) + "\n", encoding="utf-8")
    return path


def write_yaml(path: Path, facts: dict[str, Any]) -> Path:
    """YAML with real dates: `date` objects are written as plain 1989-03-10 scalars."""
    path.write_text(yaml.safe_dump(facts, sort_keys=False), encoding="utf-8")
    return path


# How many examples each property tries. The fast suite (the README's test command) tries few;
# `HYPOTHESIS_PROFILE=fuzz` (the fuzz step of .ci/run, and anyone hunting a bug) ten times as
# many, of the same properties. tests/conftest.py loads the profile of the same name.
FUZZ = os.environ.get("HYPOTHESIS_PROFILE") == "fuzz"


def examples(fast: int) -> int:
    """The number of examples for a property that tries `fast` of them in the fast suite."""
    return fast * 10 if FUZZ else fast


# The one switch that rewrites every expected-output file (golden memos, diagnostics snapshots):
# `UPDATE_GOLDEN=1 pytest`, then read the diff before committing it.
UPDATE_GOLDEN = os.environ.get("UPDATE_GOLDEN") == "1"


def check_golden(path: Path, actual: str) -> None:
    """Compare `actual` with the file at `path`, or write it there under UPDATE_GOLDEN=1."""
    import pytest

    if UPDATE_GOLDEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8", newline="\n")
        return
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    if not path.is_file():
        pytest.fail(f"{shown} is missing: run with UPDATE_GOLDEN=1 to write it. Got:\n{actual}")
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"{shown} differs: run with UPDATE_GOLDEN=1 and read the diff"


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for a child process, without settings that would change its imports."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DOCTRINE_DEBUG")}
    env.update(extra)
    return env


def run_process(
    *args: str | os.PathLike[str],
    cwd: Path = ROOT,
    env: dict[str, str] | None = None,
    input: str | None = None,
    merge_stderr: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run `doctrine ARGS` as a child process of this interpreter; never raises on failure.

    For the tests that are about the process itself (start-up, signals, pipes, hash seeds);
    the others use `run_cli`, the same command in this process, ten times cheaper. With
    `merge_stderr`, standard error goes into standard output (`2>&1`).
    """
    return subprocess.run(
        [sys.executable, "-m", "compiler", *map(str, args)],
        cwd=cwd,
        env=env or clean_env(),
        input=input,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
        text=True,
        timeout=300,
        check=False,
    )


def _interpreter_settings(env: dict[str, str]) -> dict[str, str | None]:
    """The PYTHON* variables of `env` that differ from this interpreter's environment."""
    names = {k for k in (*env, *os.environ) if k.startswith("PYTHON")} - {"PYTHONPATH"}
    return {k: env.get(k) for k in names if env.get(k) != os.environ.get(k)}


class _Kept(io.BytesIO):
    """A byte buffer that keeps its contents when the command closes its stream."""

    def close(self) -> None:
        pass


def run_cli(
    *args: str | os.PathLike[str],
    cwd: Path = ROOT,
    env: dict[str, str] | None = None,
    input: str | None = None,
    merge_stderr: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run `doctrine ARGS` in this process as a child would see it; never raises on failure.

    The command gets its own working folder, environment, stdin, stdout and stderr (bytes
    underneath, so `sys.stdout.buffer` works; not a terminal, 80 columns, as a pipe would be),
    and all of them are put back afterwards; its exit status is what `main` returns or what
    SystemExit carries (argparse's usage errors, --help, --version). An environment that sets
    interpreter variables (PYTHONHASHSEED, ...) cannot take effect in this process: such a
    call runs a child process instead. With `merge_stderr`, both streams write to one, in the
    order written (as `2>&1` into a pipe), and `stdout` holds it all.
    """
    env = env or clean_env()
    if _interpreter_settings(env):
        return run_process(*args, cwd=cwd, env=env, input=input, merge_stderr=merge_stderr)
    from compiler.tools.cli import main

    argv = [str(a) for a in args]
    env = {"COLUMNS": "80", "LINES": "24", **env}

    def stream(data: bytes = b"") -> io.TextIOWrapper:
        # Written through, as an unbuffered child's: text and bytes written to `.buffer`
        # arrive in the order they were written.
        return io.TextIOWrapper(_Kept(data), encoding="utf-8", errors="strict", write_through=True)

    stdin = stream((input or "").encode("utf-8"))
    stdout = stream()
    stderr = stdout if merge_stderr else stream()
    saved_streams = sys.stdin, sys.stdout, sys.stderr
    saved_env = dict(os.environ)
    saved_cwd = os.getcwd()
    saved_argv = sys.argv
    try:
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)
        sys.stdin, sys.stdout, sys.stderr = stdin, stdout, stderr
        sys.argv = ["doctrine", *argv]
        try:
            code: object = main(argv)
        except SystemExit as exit_:
            code = exit_.code
        if code is None:
            returncode = 0
        elif isinstance(code, int):
            returncode = code
        else:  # sys.exit("message"), as the interpreter does it
            print(code, file=sys.stderr)
            returncode = 1
    finally:
        for handle in (stdout, stderr):
            with contextlib.suppress(ValueError):  # closed by the command: nothing more to read
                handle.flush()
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        sys.argv = saved_argv
        os.environ.clear()
        os.environ.update(saved_env)
        os.chdir(saved_cwd)

    def text(handle: io.TextIOWrapper) -> str:
        raw = handle.buffer
        assert isinstance(raw, _Kept)
        # A child's output read with text=True: decoded, with universal newlines.
        return raw.getvalue().decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")

    return subprocess.CompletedProcess(
        ["doctrine", *argv],
        returncode,
        stdout=text(stdout),
        stderr="" if merge_stderr else text(stderr),
    )


def eval_json(doctrine: Path, facts_file: Path, cwd: Path = ROOT) -> dict[str, Any]:
    """`doctrine eval FILE --facts CASE --format json`, which must succeed with one JSON object."""
    proc = run_cli("eval", doctrine, "--facts", facts_file, "--format", "json", cwd=cwd)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stderr}"
    lines = proc.stdout.splitlines()
    assert len(lines) == 1, f"expected one line of JSON, got:\n{proc.stdout}"
    result = json.loads(lines[0])
    assert isinstance(result, dict)
    return result


def import_file(path: Path, name: str) -> types.ModuleType:
    """Import a module written by `doctrine compile` from its file, as any Python file."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
