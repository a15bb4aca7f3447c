"""A pytest plugin: the `case` blocks of `.doctrine` files (and case files) as test items.

Installed with the package through the `pytest11` entry point, so a plain `pytest` run
collects every `.doctrine` file that declares a case: one test item per case, named after
it, failing with a table of what the case expected and what the doctrine gave, element by
element, and the position of the case in its file. A file that does not compile is a
collection error showing the compiler's diagnostics.

Settings (pytest.ini, or `[tool.pytest.ini_options]` in pyproject.toml):

    doctrine_collect = false       # collect nothing (the plugin stays loaded)
    doctrine_case_files = precedents/*.yaml
                                   # also collect YAML/JSON case files matching these globs
    doctrine_path = doctrine       # folders where case files find NAME.doctrine

Disable the plugin altogether with `-p no:doctrine`.
"""

from __future__ import annotations

import fnmatch
import re
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..errors import DoctrineException

_CASE = re.compile(r"^\s*case\s+\w+\s+under\s+\w+", re.MULTILINE)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "doctrine_collect",
        type="bool",
        default=True,
        help="collect the cases of .doctrine files as test items (default: true)",
    )
    parser.addini(
        "doctrine_case_files",
        type="args",
        default=[],
        help="glob patterns of YAML or JSON case files to collect as well",
    )
    parser.addini(
        "doctrine_path",
        type="paths",
        default=[],
        help="folders where a case file looks for the NAME.doctrine of a doctrine it names",
    )


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    config = parent.config
    if not config.getini("doctrine_collect"):
        return None
    if file_path.suffix == ".doctrine":
        try:
            text = file_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            text = "case x under y"  # let the compiler report it
        if _CASE.search(text):
            return DoctrineFile.from_parent(parent, path=file_path)
        return None
    from .cases import CASE_FILE_SUFFIXES

    if file_path.suffix in CASE_FILE_SUFFIXES:
        patterns: list[str] = config.getini("doctrine_case_files")
        rel = _relative(file_path, config.rootpath)
        if any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(file_path.name, p) for p in patterns):
            return CaseFile.from_parent(parent, path=file_path)
    return None


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


class CaseFailed(DoctrineException):
    """A case whose doctrine disagreed with what it expects."""

    def __init__(self, outcome: Any) -> None:
        self.outcome = outcome
        super().__init__(f"case {outcome.name} failed")


def report(outcome: Any, title: str = "") -> str:
    """The failure of a case as a table: each value it expects, the value found, a mark."""
    from .cases import show

    lines = [f"case {outcome.name} under {outcome.doctrine} failed", f"  --> {outcome.where}"]
    if title:
        lines.append(f"  {title}")
    lines.append("")
    facts_problems = [p for p in outcome.problems if p.startswith("facts: ")]
    if facts_problems:
        lines += ["the facts do not fit the doctrine:", *(f"  {p[7:]}" for p in facts_problems)]
        return "\n".join(lines)
    rows = [("element", "expected", "actual", "")] + [
        (what, show(want), show(got), "" if agrees else "<-- differs")
        for what, want, got, agrees in outcome.rows
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for r in rows:
        lines.append(
            f"  {r[0].ljust(widths[0])}  {r[1].ljust(widths[1])}  {r[2].ljust(widths[2])}  {r[3]}"
        )
    return "\n".join(line.rstrip() for line in lines)


class _CaseItem(pytest.Item):
    """One case; `check` evaluates it and returns its outcome."""

    def __init__(self, *, line: int, title: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.line = line
        self.title = title

    def check(self) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def runtest(self) -> None:
        outcome = self.check()
        if not outcome.passed:
            raise CaseFailed(outcome)

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> str | Any:
        if isinstance(excinfo.value, CaseFailed):
            return report(excinfo.value.outcome, self.title)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, self.line - 1 if self.line else None, f"case {self.name}"


class DoctrineCase(_CaseItem):
    """A `case` block of a `.doctrine` file."""

    def __init__(self, *, case: dict[str, Any], module: types.ModuleType, **kwargs: Any) -> None:
        super().__init__(line=case["line"], title=case.get("title", ""), **kwargs)
        self.case = case
        self.module = module

    def check(self) -> Any:
        from ..syntax.loader import display_path
        from .cases import judge

        case = self.case
        return judge(
            case["name"],
            case["doctrine"],
            self.module.DOCTRINES[case["doctrine"]],
            case["given"],
            case["expect"],
            display_path(self.path),
            case["line"],
        )


class _DoctrineCollector(pytest.File):
    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> str | Any:
        from ..errors import DoctrineError
        from .cases import CaseFileError

        if isinstance(excinfo.value, DoctrineError):
            return excinfo.value.render()
        if isinstance(excinfo.value, CaseFileError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


class DoctrineFile(_DoctrineCollector):
    """A `.doctrine` file: compiled once, one item per case."""

    def collect(self) -> Iterator[pytest.Item]:
        from ..codegen.compile import compile_files, module_from_source

        compiled = compile_files([self.path])[0]
        module = module_from_source(compiled.source, compiled.program.name, str(self.path))
        for case in module.CASES:
            yield DoctrineCase.from_parent(self, name=case["name"], case=case, module=module)


class CaseFileItem(_CaseItem):
    """An entry of a YAML or JSON case file."""

    def __init__(self, *, spec: Any, doctrines: Any, **kwargs: Any) -> None:
        super().__init__(line=spec.line, **kwargs)
        self.spec = spec
        self.doctrines = doctrines

    def check(self) -> Any:
        from ..syntax.loader import display_path
        from .cases import judge

        name, evaluator = self.doctrines.find(self.spec)
        spec = self.spec
        return judge(
            spec.name, name, evaluator, spec.facts, spec.expect, display_path(spec.path), spec.line
        )

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> str | Any:
        from ..errors import DoctrineError
        from .cases import CaseFileError

        if isinstance(excinfo.value, DoctrineError):
            return excinfo.value.render()
        if isinstance(excinfo.value, CaseFileError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


class CaseFile(_DoctrineCollector):
    """A YAML or JSON case file: one item per entry."""

    def collect(self) -> Iterator[pytest.Item]:
        from .cases import Doctrines, read_case_file

        search = [Path(p) for p in self.config.getini("doctrine_path")]
        doctrines = Doctrines(search=search)
        seen: dict[str, int] = {}
        for spec in read_case_file(self.path):
            seen[spec.name] = seen.get(spec.name, 0) + 1
            name = spec.name if seen[spec.name] == 1 else f"{spec.name}[{seen[spec.name]}]"
            yield CaseFileItem.from_parent(self, name=name, spec=spec, doctrines=doctrines)
