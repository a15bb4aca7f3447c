"""The import hook, in fresh interpreters: `import NAME` compiles NAME.doctrine, caches it and
compiles again when the file, or a file it imports, changes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support import clean_env

BASE = """\
module base "The facts"
fact a: bool means "a"
fact b: bool means "b"
element first { holds when a }
"""

RULES = """\
module rules "The doctrine"
import base
doctrine rules { element first }
"""

PROBE = """
import json, sys
sys.path.insert(0, {lib!r})
import compiler
compiler.install()
import {name} as m
print(json.dumps({{
    "file": m.__file__,
    "cached": getattr(m, "__cached__", None),
    "holds": m.holds({{"a": True}}),
    "compiled": "lark" in sys.modules,
    "compiler": compiler.__file__,
}}))
"""


def environment(**extra: str) -> dict[str, str]:
    """A child's environment in which Python writes __pycache__ unless `extra` says not to."""
    env = clean_env(**extra)
    if "PYTHONDONTWRITEBYTECODE" not in extra:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def probe(lib: Path, name: str = "rules", **env: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(lib=str(lib), name=name)],
        cwd=lib.parent,
        env=environment(**env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert isinstance(result, dict)
    return result


@pytest.fixture
def lib(tmp_path: Path) -> Path:
    folder = tmp_path / "lib"
    folder.mkdir()
    (folder / "base.doctrine").write_text(BASE, encoding="utf-8")
    (folder / "rules.doctrine").write_text(RULES, encoding="utf-8")
    return folder


def test_import_compiles_and_then_uses_the_cache(lib: Path) -> None:
    first = probe(lib)
    assert first["holds"] is True
    assert first["file"] == str(lib / "rules.doctrine")
    assert first["compiled"] is True
    cache = Path(first["cached"])
    assert cache.is_file() and cache.parent == lib / "__pycache__"
    assert cache.name.startswith("rules.doctrine.")

    second = probe(lib)
    assert second == {**first, "compiled": False}  # no parser loaded: the cache was used


def test_a_change_to_the_file_recompiles(lib: Path) -> None:
    probe(lib)
    (lib / "rules.doctrine").write_text(
        RULES.replace("{ element first }", "{ element first holds unless first }"),
        encoding="utf-8",
    )
    changed = probe(lib)
    assert changed["compiled"] is True
    assert changed["holds"] is False
    assert probe(lib)["compiled"] is False


def test_a_change_to_an_imported_file_recompiles(lib: Path) -> None:
    probe(lib)
    (lib / "base.doctrine").write_text(
        BASE.replace("holds when a", "holds when a and b"), encoding="utf-8"
    )
    changed = probe(lib)
    assert changed["compiled"] is True
    assert changed["holds"] is None  # b is unknown now


def test_no_cache_is_written_when_python_writes_none(lib: Path) -> None:
    result = probe(lib, PYTHONDONTWRITEBYTECODE="1")
    assert result["holds"] is True
    assert not (lib / "__pycache__").exists()


def test_a_python_module_of_the_same_name_wins(lib: Path) -> None:
    (lib / "rules.py").write_text("def holds(facts):\n    return 'python'\n", encoding="utf-8")
    assert probe(lib)["holds"] == "python"


def test_a_doctrine_inside_a_package(lib: Path) -> None:
    package = lib / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "base.doctrine").write_text(BASE, encoding="utf-8")
    (package / "inner.doctrine").write_text(
        RULES.replace("module rules", "module inner").replace("doctrine rules", "doctrine inner"),
        encoding="utf-8",
    )
    assert probe(lib, "pkg.inner")["holds"] is True


def test_a_doctrine_that_does_not_compile_raises_its_diagnostics(lib: Path) -> None:
    (lib / "rules.doctrine").write_text(RULES.replace("element first", "element frist"), "utf-8")
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(lib=str(lib), name="rules")],
        env=environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1
    assert "compiler.errors.DoctrineError" in proc.stderr
    assert "unknown element `frist`" in proc.stderr


def test_reload_in_the_same_interpreter(lib: Path) -> None:
    script = f"""
import importlib, sys
sys.path.insert(0, {str(lib)!r})
from compiler.tools.importhook import install, uninstall
install()
import rules
before = rules.holds({{"a": True}})
open({str(lib / "rules.doctrine")!r}, "w").write({RULES!r}.replace(
    "doctrine rules {{ element first }}", "doctrine rules {{ element first holds unless first }}"))
importlib.reload(rules)
print(before, rules.holds({{"a": True}}))
uninstall()
sys.modules.pop("base", None)
try:
    import base
except ImportError:
    print("gone")
"""
    proc = subprocess.run(
        [sys.executable, "-c", script],
        env=environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["True", "False", "gone"]


def test_a_change_to_the_compiler_itself_recompiles(lib: Path, tmp_path: Path) -> None:
    # Issue 13: the cache was keyed on the version alone, so a compiler being edited (same
    # version) served modules compiled by its former self. A copy of the package stands in for
    # the compiler being edited.
    root = Path(__file__).resolve().parent.parent
    copy = tmp_path / "copy"
    shutil.copytree(root / "compiler", copy / "compiler", ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copytree(root / "grammar", copy / "grammar")
    first = probe(lib, PYTHONPATH=str(copy))
    assert first["compiled"] is True
    assert first["compiler"] == str(copy / "compiler" / "__init__.py")
    assert probe(lib, PYTHONPATH=str(copy))["compiled"] is False  # the same compiler: cached
    generator = copy / "compiler" / "codegen" / "generator.py"
    generator.write_text(generator.read_text(encoding="utf-8") + "\n# edited\n", "utf-8")
    again = probe(lib, PYTHONPATH=str(copy))
    assert again["compiled"] is True  # same version, other content: compiled afresh
    assert again["holds"] is True
