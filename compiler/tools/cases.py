"""Runs worked cases against their compiled doctrines.

Cases come from two places: `case` blocks in `.doctrine` files, and case files (YAML or
JSON), a list of entries in the shape of precedents.yaml:

    - id: deshaney
      doctrine: special_relationship     # a doctrine name, or a path to a .doctrine file
      facts: {custody: none, promise_of_protection: true}
      expect: {holds: false, elements: {custody: false}}

`expect` may also name elements at its top level, as a `case` block does, and may list
`missing`. A doctrine name is looked up among the doctrines of the `.doctrine` files run
with the case file, then in the folder of the case file (and in any folders the caller
adds, as the pytest plugin's `doctrine_path`): NAME.doctrine, or a file there that declares
`doctrine NAME`.
"""

from __future__ import annotations

import re
import types
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import yaml

from ..codegen.compile import Compiled, compile_files, module_from_source
from ..errors import DoctrineException
from ..syntax.loader import display_path

CASE_FILE_SUFFIXES = (".yaml", ".yml", ".json")


@attrs.frozen
class CaseOutcome:
    """One case: whether it passed, and each disagreement when it did not."""

    name: str
    where: str
    passed: bool
    problems: tuple[str, ...]
    expected: dict[str, object]
    actual: dict[str, object]
    doctrine: str = ""
    path: str = ""
    line: int = 0
    # (what, expected, actual, agrees) for every value the case states, in its order
    rows: tuple[tuple[str, object, object, bool], ...] = ()


class CaseFileError(DoctrineException):
    """A case file that cannot be read or run; the message says where and why."""


def show(value: object) -> str:
    """A value as the language writes it: true, false, unknown, [a, b]."""
    if value is None:
        return "unknown"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(show(v) for v in value) + "]"
    return "true" if value is True else "false" if value is False else str(value)


_show = show


def judge(
    name: str,
    doctrine: str,
    evaluator: Any,
    given: Mapping[str, Any],
    expect: Mapping[str, Any],
    path: str,
    line: int,
) -> CaseOutcome:
    """Evaluate one case and compare every value it expects with the result."""
    from ..runtime import FactsError

    where = f"{path}:{line}" if line else path
    try:
        result = evaluator.evaluate(given)
    except FactsError as exc:
        bad = tuple(f"facts: {p}" for p in exc.problems)
        return CaseOutcome(name, where, False, bad, dict(expect), {}, doctrine, path, line, ())
    actual: dict[str, object] = {
        "holds": result.holds,
        **result.elements,
        "missing": tuple(result.missing),
    }
    problems: list[str] = []
    rows: list[tuple[str, object, object, bool]] = []
    for key, want in expect.items():
        if key == "missing":
            wanted, found = tuple(want), tuple(result.missing)
            agrees = wanted == found
            rows.append((key, wanted, found, agrees))
            if not agrees:
                problems.append(f"missing: expected {show(wanted)}, got {show(found)}")
            continue
        if key not in actual:
            rows.append((key, want, None, False))
            problems.append(f"{key}: expected {show(want)}, but `{doctrine}` has no such element")
            continue
        got = actual[key]
        agrees = got is want
        rows.append((key, want, got, agrees))
        if not agrees:
            problems.append(f"{key}: expected {show(want)}, got {show(got)}")
    return CaseOutcome(
        name=name,
        where=where,
        passed=not problems,
        problems=tuple(problems),
        expected=dict(expect),
        actual=actual,
        doctrine=doctrine,
        path=path,
        line=line,
        rows=tuple(rows),
    )


def _modules(compiled: Sequence[Compiled]) -> list[tuple[Compiled, types.ModuleType]]:
    return [(c, module_from_source(c.source, c.program.name, str(c.path))) for c in compiled]


def _file_cases(compiled: Compiled, module: types.ModuleType) -> list[CaseOutcome]:
    return [
        judge(
            case["name"],
            case["doctrine"],
            module.DOCTRINES[case["doctrine"]],
            case["given"],
            case["expect"],
            compiled.program.path,
            case["line"],
        )
        for case in module.CASES
    ]


def run_cases(paths: list[Path]) -> list[CaseOutcome]:
    """Compile the files and run every case they declare, in order."""
    outcomes: list[CaseOutcome] = []
    for compiled in compile_files(paths):
        if compiled.program.cases:
            module = module_from_source(compiled.source, compiled.program.name, str(compiled.path))
            outcomes.extend(_file_cases(compiled, module))
    return outcomes


# ---------------------------------------------------------------- case files


@attrs.frozen
class CaseSpec:
    """One entry of a case file."""

    name: str
    doctrine: str
    facts: dict[str, Any]
    expect: dict[str, Any]
    path: Path
    line: int


def _truth(value: object, where: str) -> bool | None:
    if value is None or value == "unknown":
        return None
    if isinstance(value, bool):
        return value
    raise CaseFileError(f"{where}: expected true, false or unknown, found {value!r}")


def _expect(raw: object, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise CaseFileError(f"{where}: `expect` must be a mapping such as {{holds: true}}")
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "elements":
            if not isinstance(value, dict):
                raise CaseFileError(f"{where}: `expect.elements` must be a mapping")
            for label, truth in value.items():
                out[str(label)] = _truth(truth, f"{where}: {label}")
        elif key == "missing":
            if not isinstance(value, list):
                raise CaseFileError(f"{where}: `expect.missing` must be a list of fact names")
            out["missing"] = tuple(str(v) for v in value)
        else:
            out[str(key)] = _truth(value, f"{where}: {key}")
    return out


# A case file's values, counted with every YAML alias expanded: far past any real file, and
# small enough that a file of nested aliases (a "billion laughs") is refused at once.
MAX_VALUES = 1_000_000


def _expanded_size(root: yaml.Node) -> int:
    """How many values the document holds with its aliases expanded, in time linear in its
    nodes (an alias is the same node object: its size is worked out once; a node inside
    itself, a recursive alias, counts once)."""
    sizes: dict[int, int] = {}
    visiting: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes or (not children_done and id(node) in visiting):
            continue
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        else:
            sizes[id(node)] = 1
            continue
        if children_done:
            total = 1 + sum(sizes.get(id(c), 0) for c in children)
            sizes[id(node)] = min(total, MAX_VALUES + 1)
            visiting.discard(id(node))
        else:
            visiting.add(id(node))
            stack.append((node, True))
            stack.extend((c, False) for c in children)
    return sizes[id(root)]


def _load(text: str, shown: str) -> tuple[Any, list[int]]:
    """The document, and the line each top-level list item starts on."""
    from .facts import FactsFileError, _UniqueKeyLoader

    loader = _UniqueKeyLoader(text)
    try:
        node = loader.get_single_node()
        if node is not None and _expanded_size(node) > MAX_VALUES:
            raise CaseFileError(
                f"{shown}: more than {MAX_VALUES:,} values once its YAML aliases are expanded"
            )
        data = loader.construct_document(node) if node is not None else None
    except FactsFileError as exc:
        raise CaseFileError(f"{shown}: {exc}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        at = f":{mark.line + 1}" if mark else ""
        raise CaseFileError(f"{shown}{at}: not valid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise CaseFileError(f"{shown}: not valid YAML: {exc}") from None
    finally:
        loader.dispose()
    if isinstance(data, dict) and "cases" in data and isinstance(node, yaml.MappingNode):
        node = next((v for k, v in node.value if k.value == "cases"), None)
        data = data["cases"]
    elif isinstance(data, dict):
        return [data], [node.start_mark.line + 1] if node is not None else [0]
    lines = (
        [item.start_mark.line + 1 for item in node.value]
        if isinstance(node, yaml.SequenceNode)
        else []
    )
    return data, lines


def read_case_file(path: Path) -> list[CaseSpec]:
    """The entries of a YAML or JSON case file, each with the line it starts on."""
    shown = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CaseFileError(f"{shown}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CaseFileError(f"{shown}: cannot read: {exc}") from None
    entries, lines = _load(text, shown)
    if not isinstance(entries, list):
        raise CaseFileError(f"{shown}: expected a list of cases")
    specs = []
    for i, entry in enumerate(entries):
        line = lines[i] if i < len(lines) else 0
        where = f"{shown}:{line}" if line else f"{shown}: case {i + 1}"
        if not isinstance(entry, dict):
            raise CaseFileError(f"{where}: a case is a mapping with doctrine, facts and expect")
        for key in ("doctrine", "expect"):
            if key not in entry:
                raise CaseFileError(f"{where}: the case has no `{key}`")
        facts = entry.get("facts") or {}
        if not isinstance(facts, dict):
            raise CaseFileError(f"{where}: `facts` must be a mapping of fact names to values")
        specs.append(
            CaseSpec(
                name=str(entry.get("id") or entry.get("name") or f"case {i + 1}"),
                doctrine=str(entry["doctrine"]),
                facts=facts,
                expect=_expect(entry["expect"], where),
                path=path,
                line=line,
            )
        )
    return specs


class Doctrines:
    """Finds the evaluator of a doctrine named in a case file."""

    def __init__(
        self, modules: Sequence[types.ModuleType] = (), search: Sequence[Path] = ()
    ) -> None:
        self.search = tuple(search)
        self.by_name: dict[str, Any] = {}
        for module in modules:
            for name, evaluator in module.DOCTRINES.items():
                self.by_name.setdefault(name, evaluator)
        self._files: dict[Path, types.ModuleType] = {}

    def _file(self, path: Path) -> types.ModuleType:
        key = path.resolve()
        if key not in self._files:
            compiled = compile_files([path])[0]
            self._files[key] = module_from_source(
                compiled.source, compiled.program.name, str(compiled.path)
            )
        return self._files[key]

    def find(self, spec: CaseSpec) -> tuple[str, Any]:
        """The doctrine's name and evaluator; raises CaseFileError when there is none."""
        where = f"{display_path(spec.path)}:{spec.line}"
        if spec.doctrine.endswith(".doctrine"):
            target = spec.path.parent / spec.doctrine
            if not target.is_file():
                raise CaseFileError(f"{where}: no file {display_path(target)}")
            module = self._file(target)
            if module.DOCTRINE is None:
                raise CaseFileError(f"{where}: {display_path(target)} declares no doctrine")
            return module.DOCTRINE, module.DOCTRINES[module.DOCTRINE]
        if spec.doctrine in self.by_name:
            return spec.doctrine, self.by_name[spec.doctrine]
        declares = re.compile(rf"^\s*doctrine\s+{re.escape(spec.doctrine)}\b", re.MULTILINE)
        for folder in (spec.path.parent, *self.search):
            named = folder / f"{spec.doctrine}.doctrine"
            others = sorted(p for p in folder.glob("*.doctrine") if p != named)
            for candidate in [named] if named.is_file() else []:
                module = self._file(candidate)
                if spec.doctrine in module.DOCTRINES:
                    return spec.doctrine, module.DOCTRINES[spec.doctrine]
            for candidate in others:  # a file that declares it under another name
                try:
                    text = candidate.read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError):
                    continue
                if declares.search(text):
                    module = self._file(candidate)
                    if spec.doctrine in module.DOCTRINES:
                        return spec.doctrine, module.DOCTRINES[spec.doctrine]
        raise CaseFileError(
            f"{where}: no doctrine `{spec.doctrine}`: give the .doctrine file that declares it "
            f"(or write `doctrine: FILE.doctrine`)"
        )


def run_tests(paths: Sequence[Path]) -> list[CaseOutcome]:
    """Run the cases of `.doctrine` files and of case files, in the order given.

    Raises DoctrineError when a doctrine does not compile, CaseFileError for a case file
    that cannot be read or names no doctrine that can be found.
    """
    doctrine_files = [p for p in paths if p.suffix not in CASE_FILE_SUFFIXES]
    case_files = [p for p in paths if p.suffix in CASE_FILE_SUFFIXES]
    compiled = compile_files(list(doctrine_files)) if doctrine_files else []
    needed = [c for c in compiled if c.program.cases or case_files]
    modules = _modules(needed)
    outcomes: list[CaseOutcome] = []
    for c, module in modules:
        outcomes.extend(_file_cases(c, module))
    doctrines = Doctrines([m for _, m in modules])
    for path in case_files:
        for spec in read_case_file(path):
            name, evaluator = doctrines.find(spec)
            outcomes.append(
                judge(
                    spec.name,
                    name,
                    evaluator,
                    spec.facts,
                    spec.expect,
                    display_path(spec.path),
                    spec.line,
                )
            )
    return outcomes


__all__ = [
    "CASE_FILE_SUFFIXES",
    "CaseFileError",
    "CaseOutcome",
    "CaseSpec",
    "Doctrines",
    "judge",
    "read_case_file",
    "run_cases",
    "run_tests",
    "show",
]
