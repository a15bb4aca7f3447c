"""The checked program: names resolved, types known, ready for code generation."""

from __future__ import annotations

import datetime
from collections.abc import Mapping

import attrs

from ..errors import SourcePosition
from ..runtime.program import (
    And,
    AtLeast,
    Branch,
    Chain,
    Citation,
    Compare,
    Const,
    DoctrineRef,
    ElementRef,
    Expr,
    FactRef,
    FactType,
    FieldRef,
    FieldType,
    Not,
    Open,
    Or,
    Precedent,
    Presence,
    Quantified,
    RecordType,
    Switch,
    SwitchArm,
    Weighed,
    ambiguous_facts,
    walk,
)
from ..syntax.nodes import NOWHERE

# The expression nodes, their types and Citation are the runtime's program tree (defined once,
# in compiler.runtime.program, so compiled modules carry the very nodes the checker builds);
# the declarations below hold them, with the source positions only the compiler needs.
__all__ = [
    "And",
    "AtLeast",
    "Authority",
    "Branch",
    "Case",
    "Chain",
    "Citation",
    "Compare",
    "Const",
    "Doctrine",
    "DoctrineRef",
    "Element",
    "ElementRef",
    "Expr",
    "Fact",
    "FactRef",
    "FactType",
    "FieldRef",
    "FieldType",
    "Not",
    "Open",
    "Or",
    "Precedent",
    "Presence",
    "Presumption",
    "Program",
    "Quantified",
    "RecordType",
    "Rejected",
    "Switch",
    "SwitchArm",
    "Weighed",
    "ambiguous_of",
    "presumptions_of",
    "references",
    "walk",
]


@attrs.frozen(kw_only=True)
class Fact:
    name: str
    type: FactType
    meaning: str = ""
    favours: str = ""
    known_as: tuple[str, ...] = ()
    pos: SourcePosition = attrs.field(default=NOWHERE, eq=False)


# ---------------------------------------------------------------- declarations


@attrs.frozen(kw_only=True)
class Authority:
    name: str
    title: str
    reporter: str
    court: str
    year: int | None
    decided: datetime.date | None
    abrogated: datetime.date | None
    abrogated_by: str | None
    notes: tuple[str, ...]
    applied: str | None = None
    held: bool | None = None
    facts: tuple[tuple[str, object], ...] = ()
    en_banc: bool = False
    opinion: str = ""
    history: str = ""

    def citation(self, pinpoint: str = "") -> str:
        """A Bluebook-style citation: name, reporter, pinpoint, (court year), then (en banc),
        the separate opinion cited, and the subsequent history."""
        head = ", ".join(p for p in (self.title or self.name, self.reporter) if p)
        if pinpoint:
            head += f", {pinpoint}"
        court = "" if self.court in ("", "SCOTUS") else _court_abbrev(self.court)
        year = str(self.year or (self.decided.year if self.decided else ""))
        paren = " ".join(p for p in (court, year) if p)
        out = f"{head} ({paren})" if paren else head
        if self.en_banc:
            out += " (en banc)"
        if self.opinion:
            out += f" ({self.opinion})"
        if self.history:
            out += f", {self.history}"
        return out


def _court_abbrev(court: str) -> str:
    return f"{court} Cir." if court[:1].isdigit() else court


@attrs.frozen(kw_only=True)
class Presumption:
    """What a fact the case does not give counts as, when `cond` holds (a burden of proof), and
    why. The closed world is the same mechanism: every bool fact counts as false, always."""

    fact: str
    type: FactType
    value: object
    cond: Expr | None
    because: str
    cites: tuple[Citation, ...] = ()
    text: str = ""  # the condition, as written


@attrs.frozen(kw_only=True)
class Element:
    key: str
    name: str
    title: str
    expr: Expr
    text: str  # the requirement, written back as the author spelled it
    cites: tuple[Citation, ...] = ()
    met: str = ""
    unmet: str = ""
    notes: tuple[str, ...] = ()
    presumptions: tuple[Presumption, ...] = ()
    module: str = ""  # the module that declares it
    pos: SourcePosition = attrs.field(default=NOWHERE, eq=False)


@attrs.frozen(kw_only=True)
class Rejected:
    name: str
    title: str
    on: tuple[str, ...]
    because: str
    cites: tuple[Citation, ...]


@attrs.frozen(kw_only=True)
class Doctrine:
    name: str
    title: str
    module: str
    extends: str | None
    source: Citation | None
    court: str
    in_force_from: datetime.date | None
    in_force_until: datetime.date | None
    slots: tuple[tuple[str, str], ...]  # (label, element key)
    expr: Expr
    text: str
    rejects: tuple[Rejected, ...]
    cites: tuple[Citation, ...]
    notes: tuple[str, ...]
    facts_weighed: tuple[str, ...]
    closed_world: bool = False
    # The separate opinion the rule is taken from (its source's `opinion`), or "" for a
    # court's own rule; such a rule never governs (`doctrine which`).
    opinion: str = ""
    # When a case gives no list for `precedents[0]`, these decided cases are screened for it.
    precedents: tuple[str, tuple[Precedent, ...]] | None = None
    thresholds: tuple[str, ...] = ()  # labels of slots answered first: if one fails, the
    # doctrine fails and the other elements are not reached
    presumptions: tuple[Presumption, ...] = ()
    pos: SourcePosition = attrs.field(default=NOWHERE, eq=False)


@attrs.frozen(kw_only=True)
class Case:
    name: str
    doctrine: str
    title: str
    source: Citation | None
    notes: tuple[str, ...]
    given: tuple[tuple[str, object], ...]
    expect: tuple[tuple[str, object], ...]
    pos: SourcePosition = attrs.field(default=NOWHERE, eq=False)


@attrs.frozen(kw_only=True)
class Program:
    """Everything one compiled module needs, with nothing left to resolve."""

    name: str
    title: str
    path: str
    main: str | None
    facts: tuple[Fact, ...]
    elements: tuple[Element, ...]
    doctrines: tuple[Doctrine, ...]
    cases: tuple[Case, ...]
    sources: tuple[tuple[str, str], ...]  # (file name, sha256) of the file and its imports


def ambiguous_of(program: Program) -> tuple[str, ...]:
    """The program's facts whose rules read as unknown while they are (see
    `compiler.runtime.program.ambiguous_facts`): code generation and SQL read them alike."""
    rules: list[Element | Doctrine] = [*program.elements, *program.doctrines]
    conditional = [b.fact for r in rules for b in r.presumptions if b.cond is not None]
    return ambiguous_facts([r.expr for r in rules], conditional)


def presumptions_of(
    doctrine: Doctrine, elements: Mapping[str, Element], doctrines: Mapping[str, Doctrine]
) -> tuple[Presumption, ...]:
    """The burdens that apply when `doctrine` is evaluated: its own, then those of every
    element and doctrine it uses (a burden goes with the rule that states it), in order: those
    its test reaches, then those of its other elements (which the result reports too)."""
    out: list[Presumption] = list(doctrine.presumptions)
    seen: set[str] = set()

    def visit(expr: Expr) -> None:
        for node in walk(expr):
            if isinstance(node, ElementRef) and "e:" + node.key not in seen:
                seen.add("e:" + node.key)
                el = elements.get(node.key)
                if el is not None:
                    out.extend(el.presumptions)
                    visit(el.expr)
            elif isinstance(node, DoctrineRef) and "d:" + node.name not in seen:
                seen.add("d:" + node.name)
                d = doctrines.get(node.name)
                if d is not None:
                    out.extend(d.presumptions)
                    visit(d.expr)

    visit(doctrine.expr)
    visit(And(items=tuple(ElementRef(key=key) for _, key in doctrine.slots)))
    unique: list[Presumption] = []
    for p in out:
        if p not in unique:
            unique.append(p)
    return tuple(unique)


def references(expr: Expr) -> list[tuple[str, str]]:
    """The (kind, name) of every element, doctrine and fact an expression names, once each,
    in the order written (what graph and site draw and link)."""
    out: list[tuple[str, str]] = []
    for node in walk(expr):
        if isinstance(node, ElementRef):
            ref = ("element", node.key)
        elif isinstance(node, DoctrineRef):
            ref = ("doctrine", node.name)
        elif isinstance(node, FactRef):
            ref = ("fact", node.name)
        else:
            continue
        if ref not in out:
            out.append(ref)
    return out
