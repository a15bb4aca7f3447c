"""The compiler's output depends on its input alone: byte for byte, whatever the hash seed."""

from __future__ import annotations

import ast
import hashlib
import re
from pathlib import Path

import pytest
from support import LIBRARY, ROOT, clean_env, doctrine_file, run_cli

import compiler


def compile_to(out: Path, *files: Path | str, seed: str | None = None) -> dict[str, bytes]:
    """Run `doctrine compile FILES -o OUT` from the checkout; the files written, by path."""
    env = clean_env(PYTHONHASHSEED=seed) if seed is not None else None
    proc = run_cli("compile", *files, "-o", out, env=env)
    assert proc.returncode == 0, proc.stderr
    # A dotted module name (trade_secrets.factors) is written into a package folder.
    written = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert written, "nothing was written"
    return written


def test_compiling_twice_gives_the_same_bytes(tmp_path: Path) -> None:
    source = Path("doctrine") / "state_created_danger.doctrine"
    first = compile_to(tmp_path / "first", source)
    second = compile_to(tmp_path / "second", source)
    assert first == second


@pytest.mark.slow
def test_hash_seed_does_not_change_the_output(tmp_path: Path) -> None:
    # The whole library at once, so every set and dict the compiler builds is exercised.
    outputs = [
        compile_to(tmp_path / f"seed-{seed}", "doctrine/", seed=seed) for seed in ("0", "4242")
    ]
    assert len(outputs[0]) == len(list(LIBRARY.rglob("*.doctrine"))), sorted(outputs[0])
    assert sorted(outputs[0]) == sorted(outputs[1])
    for name in outputs[0]:
        assert outputs[0][name] == outputs[1][name], f"{name} differs between hash seeds"


def test_python_api_gives_the_cli_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    source = Path("doctrine") / "special_relationship_jensen.doctrine"
    written = compile_to(tmp_path, source)
    assert compiler.compile_file(source).encode("utf-8") == written[f"{source.stem}.py"]


def test_header_names_the_sources_and_their_sha256(tmp_path: Path) -> None:
    source = doctrine_file("state_created_danger")
    text = compile_to(tmp_path, source.relative_to(ROOT))["state_created_danger.py"].decode()
    header = ast.get_docstring(ast.parse(text))
    assert header is not None, "the module has no docstring"
    assert "from state_created_danger.doctrine." in header
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    assert digest in header
    # Every file the module was compiled from is listed with its digest: the file itself and
    # what it imports.
    listed = dict(re.findall(r"^\s*(\S+\.doctrine)\s+([0-9a-f]{64})\s*$", header, re.MULTILINE))
    assert listed["state_created_danger.doctrine"] == digest
    assert {"vocabulary.doctrine", "sources.doctrine"} <= set(listed)
    for name, listed_digest in listed.items():
        assert hashlib.sha256((LIBRARY / name).read_bytes()).hexdigest() == listed_digest, name


def test_output_does_not_depend_on_where_the_compiler_runs(tmp_path: Path) -> None:
    """The same file compiled by a relative path from the checkout and by an absolute path
    from elsewhere gives the same bytes: no path of this machine reaches the output."""
    here = compile_to(tmp_path / "here", Path("doctrine") / "custody.doctrine")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = run_cli("compile", LIBRARY / "custody.doctrine", "-o", tmp_path / "there", cwd=elsewhere)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "there" / "custody.py").read_bytes() == here["custody.py"]
    assert str(ROOT) not in here["custody.py"].decode()
