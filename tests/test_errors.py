"""One registry of diagnostic codes, and one exception base for all the package raises."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest
from support import ROOT, run_cli

import compiler
from compiler.errors import CODES, DoctrineException, diagnostics_page

RAISED = re.compile(r'"(D\d{4})"')


def codes_in_the_compiler() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "compiler").rglob("*.py"):
        if path != ROOT / "compiler" / "errors.py":
            found |= set(RAISED.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_code_the_compiler_gives_is_registered_and_every_registered_one_is_given() -> None:
    assert codes_in_the_compiler() == set(CODES)
    assert list(CODES) == sorted(CODES)


def test_docs_diagnostics_is_written_from_the_registry() -> None:
    page = (ROOT / "docs" / "diagnostics.md").read_text(encoding="utf-8")
    assert page == diagnostics_page(), "run `python -m compiler.errors` to rewrite it"


def test_the_table_of_codes_lists_the_registry() -> None:
    table = (ROOT / "docs" / "codes.md").read_text(encoding="utf-8")
    assert set(re.findall(r"^\| (D\d{4}) \|", table, re.MULTILINE)) == set(CODES)


@pytest.mark.parametrize("code", [c for c in CODES if CODES[c].example])
def test_each_example_gives_its_code(tmp_path: Path, code: str) -> None:
    entry = CODES[code]
    first, *others = entry.example.split("--- ")
    (tmp_path / "example.doctrine").write_text(first, encoding="utf-8")
    for other in others:
        name, _, text = other.partition("\n")
        (tmp_path / name).write_text(text, encoding="utf-8")
    proc = run_cli("check", tmp_path / "example.doctrine")
    assert f"{entry.severity}[{code}]" in proc.stderr, proc.stderr
    assert proc.returncode == (2 if entry.severity == "error" else 0), proc.stderr


# Top-level packages of the extras that `dev` does not install (docs: Sphinx; spark: PySpark).
OPTIONAL_EXTRAS = {"sphinx", "docutils", "myst_parser", "pyspark"}


def test_every_exception_the_package_raises_shares_one_base() -> None:
    public = []
    for info in pkgutil.walk_packages(compiler.__path__, "compiler."):
        if info.name.endswith("__main__"):
            continue
        try:
            module = importlib.import_module(info.name)
        except ModuleNotFoundError as exc:
            # Only a package of an optional extra outside `dev` may be missing; any other
            # import error is a broken module, and fails here rather than being skipped.
            if (exc.name or "").split(".")[0] not in OPTIONAL_EXTRAS:
                raise
            continue
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == module.__name__
                and not name.startswith("_")
            ):
                public.append(value)
    assert public
    assert [c.__qualname__ for c in public if not issubclass(c, DoctrineException)] == []
