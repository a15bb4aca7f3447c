"""The syntax tree: frozen attrs nodes, each carrying the position it was written at.

Positions sit beside a node's fields and are left out of comparisons, so two nodes
that differ only in where they were written are equal.
"""

from __future__ import annotations

import datetime
from typing import Literal, Union

import attrs

from ..errors import SourcePosition

NOWHERE = SourcePosition("<nowhere>", 0, 0, 0, 0)


def _pos() -> SourcePosition:
    return attrs.field(default=NOWHERE, eq=False, repr=False)


# ---------------------------------------------------------------- types


@attrs.frozen(kw_only=True)
class SimpleType:
    kind: Literal["bool", "date", "text", "number"]
    pos: SourcePosition = _pos()


@attrs.frozen(kw_only=True)
class EnumType:
    values: tuple[str, ...]
    ordered: bool
    value_positions: tuple[SourcePosition, ...] = attrs.field(default=(), eq=False, repr=False)
    pos: SourcePosition = _pos()


@attrs.frozen(kw_only=True)
class ListType:
    record: str
    pos: SourcePosition = _pos()


TypeExpr = Union[SimpleType, EnumType, ListType]

# ---------------------------------------------------------------- expressions


@attrs.frozen(kw_only=True)
class Name:
    id: str
    pos: SourcePosition = _pos()


@attrs.frozen(kw_only=True)
class Field:
    var: str
    field: str
    pos: SourcePosition = _pos()


@attrs.frozen(kw_only=True)
class Literal_:
    value: str | int | float | bool | datetime.date
    pos: SourcePosition = _pos()


@attrs.frozen(kw_only=True)
class And:
    items: tuple[Expr, ...]
    pos: SourcePosition = _pos()


@attrs.frozen(kw_only=True)
class Or:
    items: tuple[Expr, ...]
    pos: SourcePosition = _pos()


@attrs.frozen(kw_only=True)
class Not:
    item: Expr
    pos: SourcePosition = _pos()


@attrs.frozen(kw_only=True)
class AtLeast:
    count: int
    items: tuple[Expr, ...]
    pos: SourcePosition = _pos()


@attrs.frozen(kw_only=True)
class Compare:
    op: str
    left: Expr
    right: Expr
    pos: SourcePosition = _pos()


@attrs.frozen(kw_only=True)
class Presence:
    operand: Expr
    present: bool
    pos: SourcePosition = _pos()


@attrs.frozen(kw_only=True)
class Quantified:
    quantifier: Literal["some", "every", "no"]
    var: str
    collection: Name
    body: Expr
    pos: SourcePosition = _pos()


Expr = Union[Name, Field, Literal_, And, Or, Not, AtLeast, Compare, Presence, Quantified]

# ---------------------------------------------------------------- values in cases


@attrs.frozen(kw_only=True)
class Value:
    """A literal in a case: a word, string, date, number, bool, unknown, list or mapping."""

    kind: Literal["word", "string", "date", "number", "bool", "unknown", "list", "mapping"]
    value: object
    pos: SourcePosition = _pos()


@attrs.frozen(kw_only=True)
class Pair:
    key: str
    value: Value
    pos: SourcePosition = _pos()


# ---------------------------------------------------------------- declarations


@attrs.frozen(kw_only=True)
class Import:
    module: str
    pos: SourcePosition = _pos()


@attrs.frozen(kw_only=True)
class FactDecl:
    name: str
    type: TypeExpr
    meaning: str = ""
    favours: str = ""  # the side the fact favours, where the doctrine says so
    known_as: tuple[str, ...] = ()  # other names for it, such as a CATO factor number
    pos: SourcePosition = _pos()


@attrs.frozen(kw_only=True)
class FieldDecl:
    name: str
    type: TypeExpr
    optional: bool = False
    meaning: str = ""
    pos: SourcePosition = _pos()


@attrs.frozen(kw_only=True)
class RecordDecl:
    name: str
    fields: tuple[FieldDecl, ...]
    pos: SourcePosition = _pos()


@attrs.frozen(kw_only=True)
class AuthorityDecl:
    name: str
    title: str = ""
    reporter: str = ""
    court: str = ""
    year: int | None = None
    decided: datetime.date | None = None
    abrogated: datetime.date | None = None
    abrogated_by: str | None = None
    notes: tuple[str, ...] = ()
    applied: Name | None = None  # the doctrine a decided case applied
    held: bool | None = None  # whether it found the right violated
    facts: tuple[Pair, ...] = ()  # its facts, in the vocabulary
    pos: SourcePosition = _pos()


@attrs.frozen(kw_only=True)
class Cite:
    authority: str
    pinpoint: str = ""
    purpose: str = ""
    pos: SourcePosition = _pos()


@attrs.frozen(kw_only=True)
class Condition:
    unless: bool
    expr: Expr
    pos: SourcePosition = _pos()


@attrs.frozen(kw_only=True)
class Open:
    """An outcome the law leaves open whatever the facts: unknown, for the reason given."""

    reason: str
    pos: SourcePosition = _pos()


Outcome = Union[bool, Open]


@attrs.frozen(kw_only=True)
class SwitchArm:
    """`LITERAL then RESULT`: the rule that applies when the switch fact has this value."""

    value: Value
    result: Expr | Open
    pos: SourcePosition = _pos()


@attrs.frozen(kw_only=True)
class Switch:
    """`holds by FACT { ... }`: the rule chosen by a fact's value, as a jurisdiction's test."""

    fact: Name
    arms: tuple[SwitchArm, ...]
    otherwise: Expr | Open | None = None
    otherwise_pos: SourcePosition = _pos()
    pos: SourcePosition = _pos()


@attrs.frozen(kw_only=True)
class Burden:
    """`absent FACT counts as VALUE when CONDITION because ...`: a burden of proof."""

    fact: Name
    value: Value
    condition: Expr | None = None
    because: str = ""
    cites: tuple[Cite, ...] = ()
    pos: SourcePosition = _pos()


@attrs.frozen(kw_only=True)
class GeneralRule:
    """The outcome when no exception applies, with the authority for it."""

    outcome: Outcome
    because: str = ""
    cites: tuple[Cite, ...] = ()
    pos: SourcePosition = _pos()


@attrs.frozen(kw_only=True)
class Exception_:
    """An exception to a general rule (or to another exception): when it applies, its outcome."""

    label: str
    condition: Expr
    outcome: Outcome
    because: str = ""
    cites: tuple[Cite, ...] = ()
    over: tuple[Name, ...] = ()
    exceptions: tuple[Exception_, ...] = ()
    pos: SourcePosition = _pos()


@attrs.frozen(kw_only=True)
class Branch:
    """One line of a first-match list; the `otherwise` line has no condition."""

    condition: Expr | None
    outcome: Outcome
    because: str = ""
    cites: tuple[Cite, ...] = ()
    pos: SourcePosition = _pos()


@attrs.frozen(kw_only=True)
class FirstMatch:
    branches: tuple[Branch, ...]
    otherwise: Branch
    pos: SourcePosition = _pos()


@attrs.frozen(kw_only=True)
class ElementDecl:
    name: str
    title: str = ""
    condition: Condition | None = None
    rule: GeneralRule | None = None
    exceptions: tuple[Exception_, ...] = ()
    first_match: FirstMatch | None = None
    switch: Switch | None = None
    burdens: tuple[Burden, ...] = ()
    cites: tuple[Cite, ...] = ()
    met: str = ""
    unmet: str = ""
    notes: tuple[str, ...] = ()
    pos: SourcePosition = _pos()


@attrs.frozen(kw_only=True)
class Slot:
    """An element of a doctrine, under the label the doctrine reports it by."""

    label: str
    target: str | None = None
    element: ElementDecl | None = None
    threshold: bool = False  # answered before the others, which are not reached if it fails
    pos: SourcePosition = _pos()
    target_pos: SourcePosition = _pos()


@attrs.frozen(kw_only=True)
class Rejects:
    """A theory the doctrine answers as insufficient, with the facts it rests on."""

    name: str
    title: str = ""
    on: tuple[Name, ...] = ()
    because: str = ""
    cites: tuple[Cite, ...] = ()
    pos: SourcePosition = _pos()


@attrs.frozen(kw_only=True)
class DoctrineDecl:
    name: str
    extends: Name | None = None
    title: str = ""
    source: Cite | None = None
    court: str = ""
    in_force_from: datetime.date | None = None
    in_force_until: datetime.date | None = None
    slots: tuple[Slot, ...] = ()
    condition: Condition | None = None
    rule: GeneralRule | None = None
    exceptions: tuple[Exception_, ...] = ()
    first_match: FirstMatch | None = None
    switch: Switch | None = None
    burdens: tuple[Burden, ...] = ()
    rejects: tuple[Rejects, ...] = ()
    dropped: tuple[Name, ...] = ()
    closed_world: bool = False
    precedents: tuple[Name, Name] | None = None  # (list fact, doctrine applied)
    cites: tuple[Cite, ...] = ()
    notes: tuple[str, ...] = ()
    pos: SourcePosition = _pos()


@attrs.frozen(kw_only=True)
class CaseDecl:
    name: str
    doctrine: Name
    title: str = ""
    source: Cite | None = None
    notes: tuple[str, ...] = ()
    given: tuple[Pair, ...] = ()
    expect: tuple[Pair, ...] = ()
    pos: SourcePosition = _pos()


Declaration = Union[FactDecl, RecordDecl, AuthorityDecl, ElementDecl, DoctrineDecl, CaseDecl]


@attrs.frozen(kw_only=True)
class Module:
    """One parsed `.doctrine` file."""

    path: str
    name: str
    title: str = ""
    imports: tuple[Import, ...] = ()
    declarations: tuple[Declaration, ...] = ()
    pos: SourcePosition = _pos()
