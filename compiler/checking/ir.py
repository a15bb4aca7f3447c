"""The checked program: names resolved, types known, ready for code generation."""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Mapping
from typing import Any, Union

import attrs

from ..errors import SourcePosition
from ..syntax.nodes import NOWHERE


@attrs.frozen(kw_only=True)
class FactType:
    """bool, date, text, number, enum, scale (an ordered enum) or list (of a record)."""

    kind: str
    values: tuple[str, ...] = ()
    record: RecordType | None = None
    name: str = ""  # the fact or field that declared an enum, for messages

    def describe(self) -> str:
        """The type in words, as an error message names it."""
        if self.kind in ("enum", "scale"):
            sep = " < " if self.kind == "scale" else ", "
            word = "an ordered enum" if self.kind == "scale" else "an enum"
            return f"{word} ({sep.join(self.values)})"
        if self.kind == "list":
            return f"a list of {self.record.name if self.record else '?'}"
        return {"bool": "a bool", "date": "a date", "text": "text", "number": "a number"}[self.kind]

    def spec(self) -> object:
        """The runtime's description of the type: plain tuples, emitted as constants."""
        if self.kind in ("enum", "scale"):
            return self.values
        if self.kind == "list" and self.record is not None:
            return tuple(
                (f.name, f.type.kind, f.type.spec(), f.optional) for f in self.record.fields
            )
        return None


@attrs.frozen(kw_only=True)
class FieldType:
    name: str
    type: FactType
    optional: bool
    meaning: str = ""


@attrs.frozen(kw_only=True)
class RecordType:
    name: str
    fields: tuple[FieldType, ...]

    def field(self, name: str) -> FieldType | None:
        """The field called `name`, if the record has one."""
        return next((f for f in self.fields if f.name == name), None)


@attrs.frozen(kw_only=True)
class Fact:
    name: str
    type: FactType
    meaning: str = ""
    favours: str = ""
    known_as: tuple[str, ...] = ()
    pos: SourcePosition = attrs.field(default=NOWHERE, eq=False)


# ---------------------------------------------------------------- expressions


@attrs.frozen(kw_only=True)
class FactRef:
    name: str
    type: FactType


@attrs.frozen(kw_only=True)
class FieldRef:
    var: int
    field: str
    type: FactType
    optional: bool


@attrs.frozen(kw_only=True)
class Const:
    value: str | int | float | bool | datetime.date
    type: FactType


@attrs.frozen(kw_only=True)
class ElementRef:
    key: str


@attrs.frozen(kw_only=True)
class DoctrineRef:
    name: str


@attrs.frozen(kw_only=True)
class And:
    items: tuple[Expr, ...]


@attrs.frozen(kw_only=True)
class Or:
    items: tuple[Expr, ...]


@attrs.frozen(kw_only=True)
class Not:
    item: Expr


@attrs.frozen(kw_only=True)
class AtLeast:
    count: int
    items: tuple[Expr, ...]


@attrs.frozen(kw_only=True)
class Compare:
    op: str
    left: Expr
    right: Expr
    type: FactType


@attrs.frozen(kw_only=True)
class Presence:
    field: FieldRef
    present: bool


@attrs.frozen(kw_only=True)
class Quantified:
    quantifier: str
    var: int
    collection: FactRef
    body: Expr


@attrs.frozen(kw_only=True)
class Open:
    """An outcome the law leaves open whatever the facts: unknown, and the reason is reported
    in the result's `open` list. No fact can settle it, so it adds nothing to `missing`."""

    reason: str


@attrs.frozen(kw_only=True)
class SwitchArm:
    value: Const
    result: Expr


@attrs.frozen(kw_only=True)
class Switch:
    """The rule chosen by a fact's value: the arm whose value the fact has, else `otherwise`.

    With the fact unknown, the arms are the doctrine's stated alternatives and the value is
    their agreement: true if every arm is true, false if every arm is false, else unknown.
    """

    fact: FactRef
    arms: tuple[SwitchArm, ...]
    otherwise: Expr


@attrs.frozen(kw_only=True)
class Branch:
    """An exception, or a line of a first-match list: when `cond` holds, `result` decides."""

    label: str
    cond: Expr
    result: Expr  # a Const or Open outcome, or a Chain of the exception's own exceptions
    outcome: bool | None  # None: the outcome is open (`result` is an Open)
    because: str = ""
    cites: tuple[Citation, ...] = ()


@attrs.frozen(kw_only=True)
class Chain:
    """Branches tried in priority order; the first that applies decides, else the default.

    Three-valued: a branch whose condition is unknown leaves the outcome unknown unless
    every way it could go gives the same result.
    """

    kind: str  # "exceptions" or "first_match"
    branches: tuple[Branch, ...]
    default: bool | Open
    because: str = ""
    cites: tuple[Citation, ...] = ()


Expr = Union[
    FactRef,
    FieldRef,
    Const,
    ElementRef,
    DoctrineRef,
    And,
    Or,
    Not,
    AtLeast,
    Compare,
    Presence,
    Quantified,
    Chain,
    Open,
    Switch,
]

# ---------------------------------------------------------------- declarations


@attrs.frozen(kw_only=True)
class Citation:
    authority: str
    citation: str
    pinpoint: str = ""
    purpose: str = ""
    opinion: str = ""  # the cited authority's separate opinion, if it is one


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
    # When a case gives no list for `precedents[0]`, these decided cases fill it: each a
    # plain mapping (name, court, decided, held, abrogated, facts, relied: favoured facts).
    precedents: tuple[str, tuple[dict[str, Any], ...]] | None = None
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


def walk(expr: Expr) -> Iterator[Expr]:
    """Every node of an expression, the expression first (not through element references)."""
    yield expr
    if isinstance(expr, (And, Or, AtLeast)):
        for item in expr.items:
            yield from walk(item)
    elif isinstance(expr, Not):
        yield from walk(expr.item)
    elif isinstance(expr, Compare):
        yield from walk(expr.left)
        yield from walk(expr.right)
    elif isinstance(expr, Quantified):
        yield expr.collection
        yield from walk(expr.body)
    elif isinstance(expr, Chain):
        for branch in expr.branches:
            yield from walk(branch.cond)
            yield from walk(branch.result)
    elif isinstance(expr, Switch):
        yield expr.fact
        for arm in expr.arms:
            yield from walk(arm.result)
        yield from walk(expr.otherwise)


def presumptions_of(
    doctrine: Doctrine, elements: Mapping[str, Element], doctrines: Mapping[str, Doctrine]
) -> tuple[Presumption, ...]:
    """The burdens that apply when `doctrine` is evaluated: its own, then those of every
    element and doctrine it uses (a burden goes with the rule that states it), in order."""
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
