"""Hostile inputs, second round (issue 17): how files are written, and the small ones.

Each input that showed a problem is here: `doctrine fmt` writing in place, permissions of
modules and caches, module names that would overwrite files with a meaning of their own, two
files writing one module. Nothing may end in a traceback or exit status 3.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest
from support import run_cli

from compiler.tools.importhook import cache_path, source_of

FACTS = 'fact a: bool means "a"\n'


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def usual_umask() -> object:
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_fmt_rewrites_by_rename_and_keeps_the_permissions(tmp_path: Path) -> None:
    source = tmp_path / "m.doctrine"
    source.write_text("fact   a :bool\n", encoding="utf-8")
    os.chmod(source, 0o640)
    inode = source.stat().st_ino
    proc = run_cli("fmt", source)
    assert proc.returncode == 0, proc.stderr
    assert source.read_text(encoding="utf-8") == "fact a: bool\n"
    assert mode(source) == 0o640
    assert source.stat().st_ino != inode  # a new file renamed over the old: never half-written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.doctrine"]


def test_fmt_that_cannot_write_leaves_the_source_whole(tmp_path: Path) -> None:
    source = tmp_path / "m.doctrine"
    source.write_text("fact   a :bool\n", encoding="utf-8")
    # A name longer than the file system takes makes the temporary file impossible to create.
    long_name = tmp_path / ("x" * 240 + ".doctrine")
    long_name.write_text("fact   a :bool\n", encoding="utf-8")
    proc = run_cli("fmt", long_name, source)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert long_name.read_text(encoding="utf-8") == "fact   a :bool\n"
    assert source.read_text(encoding="utf-8") == "fact a: bool\n"
    assert f"error: {long_name}: File name too long" in proc.stderr
    assert "1 file(s) reformatted, 0 unchanged, 1 not formatted" in proc.stderr


def test_compiled_modules_get_the_usual_permissions_even_on_a_recompile(tmp_path: Path) -> None:
    source = tmp_path / "m.doctrine"
    source.write_text(FACTS, encoding="utf-8")
    out = tmp_path / "out"
    assert run_cli("compile", source, "-o", out).returncode == 0
    assert mode(out / "m.py") == 0o644
    assert run_cli("compile", source, "-o", out).returncode == 0
    assert mode(out / "m.py") == 0o644


def test_the_import_hook_cache_gets_the_usual_permissions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.dont_write_bytecode", False)
    source = tmp_path / "m.doctrine"
    source.write_text(FACTS, encoding="utf-8")
    source_of(source)
    assert mode(cache_path(source)) == 0o644


@pytest.mark.parametrize(
    ("name", "written"),
    [("app.__init__", "app/__init__.py"), ("setup", "setup.py"), ("__main__", "__main__.py")],
)
def test_a_module_name_that_would_overwrite_a_special_file_is_refused(
    tmp_path: Path, name: str, written: str
) -> None:
    source = tmp_path / "m.doctrine"
    source.write_text(f'module {name} "m"\n{FACTS}', encoding="utf-8")
    out = tmp_path / "out"
    (out / "app").mkdir(parents=True)
    (out / written).write_text("# mine\n", encoding="utf-8")
    proc = run_cli("compile", source, "-o", out)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"module {name}" in proc.stderr and "Traceback" not in proc.stderr
    assert (out / written).read_text(encoding="utf-8") == "# mine\n"


def test_two_files_writing_the_same_module_are_refused_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    for stem in ("a", "b"):
        (tmp_path / f"{stem}.doctrine").write_text(f'module x "x"\n{FACTS}', encoding="utf-8")
    out = tmp_path / "out"
    proc = run_cli("compile", tmp_path / "a.doctrine", tmp_path / "b.doctrine", "-o", out)
    assert proc.returncode == 2, proc.stderr
    assert "b.doctrine: module x is also the module of" in proc.stderr
    assert not out.exists() or list(out.iterdir()) == []


def test_mermaid_keeps_apart_names_that_differ_only_in_dots_and_underscores(
    tmp_path: Path,
) -> None:
    (tmp_path / "a.doctrine").write_text(
        'module a "a"\nfact x: bool means "x"\nelement b_c { holds when x }\n', encoding="utf-8"
    )
    (tmp_path / "a_b.doctrine").write_text(
        'module a_b "a_b"\nfact y: bool means "y"\nelement c { holds when y }\n', encoding="utf-8"
    )
    (tmp_path / "main.doctrine").write_text(
        'module main "main"\nimport a, a_b\n'
        "doctrine d {\n  element one = b_c\n  element two = c\n"
        "  holds when all of (one, two)\n}\n",
        encoding="utf-8",
    )
    dot = run_cli("graph", tmp_path / "main.doctrine")
    mermaid = run_cli("graph", tmp_path / "main.doctrine", "--format", "mermaid")
    assert dot.returncode == mermaid.returncode == 0, dot.stderr + mermaid.stderr
    node = re.compile(r"^\s*(\w+)[\[(/{>]", re.MULTILINE)
    dot_nodes = re.findall(r'^\s*"([^"]+)" \[', dot.stdout, re.MULTILINE)
    assert len(set(node.findall(mermaid.stdout))) == len(set(dot_nodes)) > 0


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("9" * 5_000, "D0107"),
        ("9" * 5_000 + ".5", "D0107"),
        ("1" + "0" * 400, "D0107"),
    ],
    ids=["5000 digits", "a 5000-digit decimal", "401 digits"],
)
def test_numbers_too_long_to_read_are_diagnosed(tmp_path: Path, text: str, code: str) -> None:
    source = tmp_path / "m.doctrine"
    source.write_text(f"{FACTS}fact n: number\nelement e {{ holds when n > {text} }}\n")
    proc = run_cli("check", source)
    assert proc.returncode == 2, proc.stderr
    assert f"error[{code}]" in proc.stderr and "m.doctrine:3:" in proc.stderr


@pytest.mark.parametrize("year", ["10000", "0", "9" * 5_000])
def test_a_year_outside_the_calendar_is_diagnosed(tmp_path: Path, year: str) -> None:
    source = tmp_path / "m.doctrine"
    source.write_text(
        f'authority a {{\n  name "A v. B"\n  court "4th"\n  year {year}\n}}\n{FACTS}',
        encoding="utf-8",
    )
    for command in ("check", "doc", "graph"):
        proc = run_cli(command, source)
        assert proc.returncode == 2, (command, proc.stderr)
        assert "error[D0104]" in proc.stderr and "m.doctrine:4:8" in proc.stderr
