"""The checked project: what checking a set of files found, frozen, read by the tools."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

import attrs

from ..errors import Diagnostic, SourcePosition
from ..syntax import nodes as n
from ..syntax.loader import Loaded, display_path, sha256
from . import ir

T = TypeVar("T")

Kind = Literal["fact", "record", "authority", "element", "doctrine", "case"]

_KINDS: dict[type, Kind] = {
    n.FactDecl: "fact",
    n.RecordDecl: "record",
    n.AuthorityDecl: "authority",
    n.ElementDecl: "element",
    n.DoctrineDecl: "doctrine",
    n.CaseDecl: "case",
}


def kind_of(decl: n.Declaration) -> Kind:
    """The kind of a top-level declaration (the checker's entries and the editor's outline)."""
    return _KINDS[type(decl)]


@attrs.frozen
class Entry:
    """A top-level declaration as seen from some module: its kind, its syntax, its file."""

    kind: Kind
    decl: Any  # the syntax node (nodes.FactDecl, nodes.ElementDecl, ...) of that kind
    module: Path


@attrs.frozen
class Declared(Generic[T]):
    """A piece of syntax with the module whose names it is read in (a variant reads what it
    inherits in the module of the doctrine it inherits from)."""

    item: T
    module: Path


@attrs.frozen
class RuleDecision:
    """A general rule and its exceptions (the rule is None when only exceptions are written)."""

    rule: n.GeneralRule | None
    exceptions: tuple[n.Exception_, ...]


@attrs.frozen
class Decision:
    """How an element or a doctrine states its outcome: `holds when` (a condition), a rule
    with exceptions, a `first match` list or a `holds by` switch; the kind names which."""

    kind: Literal["holds", "rule", "first", "switch"]
    payload: n.Condition | RuleDecision | n.FirstMatch | n.Switch
    pos: SourcePosition


@attrs.frozen
class Effective:
    """A doctrine's declarations together with those it inherits through `extends`: the
    nearest declaration of each wins (a period is replaced whole; cites and notes are never
    inherited; burdens and rejected theories accumulate)."""

    slots: Mapping[str, Declared[n.Slot]]
    decision: Declared[Decision] | None
    rejects: Mapping[str, Declared[n.Rejects]]
    title: str
    source: Declared[n.Cite] | None
    court: str
    in_force_from: datetime.date | None
    in_force_until: datetime.date | None
    cites: tuple[Declared[n.Cite], ...]
    notes: tuple[str, ...]
    closed_world: bool
    precedents: Declared[tuple[n.Name, n.Name]] | None
    burdens: tuple[Declared[n.Burden], ...]


EMPTY = Effective(
    slots={},
    decision=None,
    rejects={},
    title="",
    source=None,
    court="",
    in_force_from=None,
    in_force_until=None,
    cites=(),
    notes=(),
    closed_world=False,
    precedents=None,
    burdens=(),
)


@attrs.frozen
class ExceptionChain:
    """A chain of exceptions as the checker built it, with the syntax of each exception: what
    the conflict check (D0312) and the lints (D0602, D0603) reason about."""

    chain: ir.Chain
    exceptions: tuple[n.Exception_, ...]  # in the chain's order (by rank)
    # For each exception's label, the labels ranked below it, directly or not.
    ranked_below: Mapping[str, frozenset[str]]
    # The condition a nested chain holds under (its parent exceptions'), None at the top.
    parent: ir.Expr | None
    module: Path
    # For a rule's top chain: what the rule belongs to ("element `x`", "doctrine `y`") and its
    # `general rule` line; empty and None for nested chains.
    owner: str = ""
    rule: n.GeneralRule | None = None


@attrs.frozen
class FirstMatchList:
    """A `first match` list as the checker built it, with the syntax of each line (D0602)."""

    chain: ir.Chain
    lines: tuple[n.Branch, ...]  # the lines with a condition, in order (not `otherwise`)
    module: Path


ChainSite = ExceptionChain | FirstMatchList


@attrs.frozen
class CheckedProject:
    """Everything checking found, for every module loaded: names in scope, the checked
    elements, doctrines, authorities and cases, and the diagnostics.

    The tools read it through the methods below; the fields are read-only mappings.
    `ok` is false when there were errors: then the parts that did not check are missing.
    """

    loaded: Loaded
    module_names: Mapping[Path, str]
    declarations: Mapping[Path, Mapping[str, Entry]]  # each module's own, cases apart
    case_declarations: Mapping[Path, Mapping[str, Entry]]
    scopes: Mapping[Path, Mapping[str, Entry]]  # own and imported
    vocabularies: Mapping[Path, Mapping[str, ir.Fact]]
    fact_types: Mapping[tuple[Path, str], ir.FactType]  # by (declaring module, name)
    authorities: Mapping[tuple[Path, str], ir.Authority]
    elements: Mapping[str, ir.Element]  # by key (`module.name`, `module.doctrine.label`)
    doctrines: Mapping[str, ir.Doctrine]
    cases: Mapping[Path, tuple[ir.Case, ...]]
    doctrine_declarations: Mapping[str, Entry]
    effective: Mapping[str, Effective]  # by doctrine name
    chains: tuple[ChainSite, ...]
    # True when every declaration checked without error (cases aside): the reasoning about
    # chains of exceptions needs every condition resolved.
    sound: bool
    # Every diagnostic, the lints' included, each once: errors first, then by file and position.
    diagnostics: tuple[Diagnostic, ...]

    # -------------------------------------------------------------- reading
    @property
    def ok(self) -> bool:
        """Whether checking found no error."""
        return not any(d.severity == "error" for d in self.diagnostics)

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        """The diagnostics that are warnings."""
        return tuple(d for d in self.diagnostics if d.severity == "warning")

    def module_name(self, path: Path) -> str:
        """The name a module goes by inside the project (its file's stem, made unique)."""
        return self.module_names[path]

    def scope(self, path: Path) -> Mapping[str, Entry]:
        """The top-level names visible in a module: its own and those it imports."""
        return self.scopes.get(path, {})

    def own(self, path: Path) -> Mapping[str, Entry]:
        """A module's own top-level declarations (cases apart)."""
        return self.declarations.get(path, {})

    def vocabulary(self, path: Path) -> Mapping[str, ir.Fact]:
        """Every fact of a module and of what it imports."""
        return self.vocabularies.get(path, {})

    def fact_type(self, entry: Entry) -> ir.FactType | None:
        """The type of the fact an entry declares."""
        return self.fact_types.get((entry.module, entry.decl.name))

    def authority(self, entry: Entry) -> ir.Authority | None:
        """The checked authority an entry declares."""
        return self.authorities.get((entry.module, entry.decl.name))

    def element(self, entry: Entry) -> ir.Element | None:
        """The checked element a top-level entry declares."""
        return self.elements.get(f"{self.module_name(entry.module)}.{entry.decl.name}")

    def family(self, name: str) -> str:
        """The question a doctrine answers: the rule it is a variant of, or whose question it
        `answers`, followed to the root."""
        return family(name, self.doctrine_declarations)

    def program(self, path: Path) -> ir.Program:
        """The program of one file: its doctrines, what they need, its cases."""
        module = self.loaded.modules[path]
        own_doctrines = [e.decl.name for e in self.own(path).values() if e.kind == "doctrine"]
        main = None
        if own_doctrines:
            main = path.stem if path.stem in own_doctrines else own_doctrines[-1]
        needed_d: list[str] = []
        needed_e: list[str] = []

        def need_doctrine(name: str) -> None:
            if name in needed_d or name not in self.doctrines:
                return
            needed_d.append(name)
            d = self.doctrines[name]
            if d.extends:
                need_doctrine(d.extends)
            for _, key in d.slots:
                need_element(key)
            need_expr(d.expr)

        def need_element(key: str) -> None:
            if key in needed_e or key not in self.elements:
                return
            needed_e.append(key)
            need_expr(self.elements[key].expr)

        def need_expr(expr: ir.Expr) -> None:
            for node in ir.walk(expr):
                if isinstance(node, ir.ElementRef):
                    need_element(node.key)
                elif isinstance(node, ir.DoctrineRef):
                    need_doctrine(node.name)

        for name in own_doctrines:
            need_doctrine(name)
        for case in self.cases.get(path, ()):
            need_doctrine(case.doctrine)
        sources = tuple(
            (Path(display_path(p)).name, sha256(self.loaded.sources[display_path(p)]))
            for p in self.loaded.closure(path)
        )
        return ir.Program(
            name=module.name or path.stem,
            title=module.title,
            # The module's path within its library, not the machine's: the output must not
            # depend on where the checkout is or where the compiler was run from.
            path="/".join((module.name or path.stem).split(".")) + ".doctrine",
            main=main,
            facts=tuple(self.vocabulary(path).values()),
            elements=tuple(self.elements[k] for k in needed_e),
            doctrines=tuple(self.doctrines[d] for d in needed_d),
            cases=tuple(self.cases.get(path, ())),
            sources=sources,
        )


def decisions(d: n.ElementDecl | n.DoctrineDecl) -> list[Decision]:
    """Every way a declaration states its outcome (one is right; the parser allows several)."""
    ways: list[Decision] = []
    if d.condition is not None:
        ways.append(Decision("holds", d.condition, d.condition.pos))
    if d.rule is not None or d.exceptions:
        pos = d.rule.pos if d.rule is not None else d.exceptions[0].pos
        ways.append(Decision("rule", RuleDecision(d.rule, d.exceptions), pos))
    if d.first_match is not None:
        ways.append(Decision("first", d.first_match, d.first_match.pos))
    if d.switch is not None:
        ways.append(Decision("switch", d.switch, d.switch.pos))
    return ways


def outcome_word(value: bool | n.Open | ir.Open | None) -> str:
    """An outcome as the language writes it: `true`, `false`, `open "REASON"`."""
    if isinstance(value, (n.Open, ir.Open)):
        return f'open "{value.reason}"'
    if value is None:
        return "open"
    return "true" if value else "false"


def family(name: str, declarations: Mapping[str, Entry]) -> str:
    """The root of a doctrine's `extends` and `answers` links (a loop stops where it closes)."""
    seen = set()
    while name not in seen:
        seen.add(name)
        entry = declarations.get(name)
        parent = None if entry is None else entry.decl.extends or entry.decl.answers
        if parent is None:
            return name
        name = parent.id
    return name


__all__ = [
    "ChainSite",
    "CheckedProject",
    "Decision",
    "Declared",
    "Effective",
    "Entry",
    "ExceptionChain",
    "FirstMatchList",
    "RuleDecision",
    "decisions",
    "family",
    "kind_of",
    "outcome_word",
]
