"""Hostile inputs, second round (issue 17): how files are written, and the small ones.

Each input that showed a problem is here: `doctrine fmt` writing in place, permissions of
modules and caches, module names that would overwrite files with a meaning of their own, two
files writing one module. Nothing may end in a traceback or exit status 3.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
from pathlib import Path

import pytest
from support import LIBRARY, run_cli

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


def test_the_import_hook_cache_follows_a_copied_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 17.7: the cache named absolute paths, so edits in a copy were never seen.
    monkeypatch.setattr("sys.dont_write_bytecode", False)
    first = tmp_path / "first"
    first.mkdir()
    (first / "m.doctrine").write_text(
        'module m "m"\nimport v\nelement e { holds when a }\n', encoding="utf-8"
    )
    (first / "v.doctrine").write_text(f'module v "v"\n{FACTS}', encoding="utf-8")
    text, _ = source_of(first / "m.doctrine")
    copy = tmp_path / "copy"
    shutil.copytree(first, copy)  # the cache travels with it
    assert source_of(copy / "m.doctrine")[0] == text  # unchanged: the copied cache serves
    (copy / "v.doctrine").write_text(
        f'module v "v"\n{FACTS}fact b: bool means "b"\n', encoding="utf-8"
    )
    again, _ = source_of(copy / "m.doctrine")
    assert (again != text and "'b'" in again) or '"b"' in again
    assert source_of(first / "m.doctrine")[0] == text


def test_the_import_hook_cache_is_keyed_on_the_compiler_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from compiler.tools import importhook

    monkeypatch.setattr("sys.dont_write_bytecode", False)
    source = tmp_path / "m.doctrine"
    source.write_text(FACTS, encoding="utf-8")
    text, cache = source_of(source)
    assert importhook.compiler_digest() in text.splitlines()[-1]
    marked = text.replace(importhook.compiler_digest(), "0.0.0+edited")
    cache.write_text(marked, encoding="utf-8")
    assert source_of(source)[0] == text  # a cache from another compiler is not used


def test_many_unknown_names_are_each_reported_and_suggestions_stop_at_a_hundred(
    tmp_path: Path,
) -> None:
    # Issue 17.9: 4,000 unknown names took 39 s, each weighing every known name.
    count = 600
    lines = [f'fact f{i}: bool means "f"' for i in range(count)]
    lines += [f"element e{i} {{ holds when g{i} }}" for i in range(count)]
    source = tmp_path / "many.doctrine"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    proc = run_cli("check", source)
    assert proc.returncode == 2
    assert proc.stderr.count("error[D0201]") == count
    # The first hundred unknown names get a suggestion where one is close; the rest do not.
    assert 0 < proc.stderr.count("did you mean") <= 100
    last = proc.stderr.split("unknown name `g599`")[1]
    assert "did you mean" not in last


def test_a_suggestion_from_a_large_vocabulary_is_still_the_close_one() -> None:
    from compiler.errors import did_you_mean

    names = [f"fact_{i:05d}" for i in range(20_000)] + ["culpability"]
    assert did_you_mean("culpabilty", names) == "did you mean `culpability`?"
    assert did_you_mean("fact_01234x", names) == "did you mean `fact_01234`?"


@pytest.mark.parametrize("where", ["facts", "missing", "id"])
def test_a_yaml_alias_bomb_in_a_case_file_is_refused_before_it_is_expanded(
    tmp_path: Path, where: str
) -> None:
    # Issue 17.9: nested aliases in a case file took 50 s and 3 GB; facts files refused them.
    laughs = "".join(
        f"    {name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]\n"
        for prev, name in zip("abcdefgh", "bcdefghi")
    )
    facts = "  facts:\n    a: &a [x, x, x, x, x, x, x, x, x]\n" + laughs
    expect = "  expect: {holds: false" + (", missing: *i}" if where == "missing" else "}")
    case_id = "*i" if where == "id" else "bomb"
    text = f"- id: {case_id}\n  doctrine: state_created_danger\n{facts}{expect}\n"
    if where == "id":  # the anchors must come before the alias
        text = f"- id: first\n  doctrine: state_created_danger\n{facts}{expect}\n" + text.replace(
            facts, "  facts: {}\n"
        )
    cases = tmp_path / "cases.yaml"
    cases.write_text(text, encoding="utf-8")
    proc = run_cli("test", LIBRARY / "state_created_danger.doctrine", cases)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "more than 1,000,000 values once its YAML aliases are expanded" in proc.stderr


def test_the_period_warning_reads_only_the_doctrines_family(tmp_path: Path) -> None:
    # Issue 17.9: the warning compiled every doctrine below the folder, so a broken sibling
    # (or a large tree) cost it seconds and its answer.
    library = tmp_path / "doctrine"
    shutil.copytree(LIBRARY, library)
    (library / "broken.doctrine").write_text("element {\n", encoding="utf-8")
    (library / "deeper").mkdir()
    (library / "deeper" / "also_broken.doctrine").write_text("fact x:\n", encoding="utf-8")
    facts = tmp_path / "pinder.yaml"
    facts.write_text(
        "custody: none\npromise_of_protection: true\nevent_date: 1989-03-10\n", encoding="utf-8"
    )
    proc = run_cli("eval", library / "special_relationship_jensen.doctrine", "--facts", facts)
    assert proc.returncode == 0, proc.stderr
    assert (
        "warning: special_relationship_jensen was no longer in force on 1989-03-10 "
        "(it governed only until 1989-02-22); on that day special_relationship governed"
    ) in proc.stderr
