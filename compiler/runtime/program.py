"""The program tree, defined once: the checker builds these nodes and compiled modules carry them.

Every class is a slotted frozen dataclass of plain values and other nodes, needing only the
standard library, so a compiled module (even a `--standalone` one) can hold its own program and
the runtime, explanations and counterfactuals can read it by attribute. `FORMAT` numbers the
shape of these classes: a module records the number it was compiled with, and the runtime
refuses a module of another (see `compiler.runtime.require_format`).
"""

from __future__ import annotations

import datetime
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Union

# Raised whenever a class below gains, loses or reorders a field, or a node changes meaning
# (compiled modules build these nodes by position), and whenever generated code and the runtime
# change how they call each other (5: generated code reads the facts a case gives with
# `f.get`, and the runtime no longer fills in the absent ones before calling it; 6: a module
# names its `ambiguous` facts, whose rules Kleene's reading leaves unknown while they are; 7:
# generated `holds` and `evaluate` check the facts they read and hand the rest to
# `Schema.plain`, and the Evaluator takes them as `fused`, falling back on `checked_holds`,
# `checked_evaluate` and, for an outcome Kleene's tables leave unknown, `_settled`; 8: the
# library's decided cases are `Precedent` records, no longer mappings).
FORMAT = 8


# The comparison operators, by the symbol a doctrine writes: what each computes on two known
# values (a scale's by rank), the operator with its sides swapped, and its negation. Code
# generation, the tree evaluator, the checker and the counterfactual search read these tables.
COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
MIRRORED = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
NEGATED = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}


class _Node:
    """Equality, hashing and repr by a class's fields in order, written once for every class
    below: each is a slotted frozen dataclass that leaves these to this base (`eq=False,
    repr=False`), since generating them per class is most of what importing this module costs,
    and compiled modules import it."""

    __slots__ = ()

    def _names(self) -> tuple[str, ...]:
        names: tuple[str, ...] = self.__slots__  # a dataclass's slots are its fields, in order
        return names

    def _values(self) -> tuple[Any, ...]:
        return tuple(map(self.__getattribute__, self._names()))

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, _Node)
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={v!r}" for n, v in zip(self._names(), self._values()))
        return f"{self.__class__.__name__}({fields})"


# ---------------------------------------------------------------- types


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class FactType(_Node):
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


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class FieldType(_Node):
    """One field of a record: its name, type, whether a record may leave it out, and meaning."""

    name: str
    type: FactType
    optional: bool
    meaning: str = ""


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class RecordType(_Node):
    """The record a list fact holds: its name and fields."""

    name: str
    fields: tuple[FieldType, ...]

    def field(self, name: str) -> FieldType | None:
        """The field called `name`, if the record has one."""
        return next((f for f in self.fields if f.name == name), None)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Citation(_Node):
    """An authority cited for a rule: its key, its citation as written, pinpoint and purpose."""

    authority: str
    citation: str
    pinpoint: str = ""
    purpose: str = ""
    opinion: str = ""  # the cited authority's separate opinion, if it is one


# ---------------------------------------------------------------- expressions


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class FactRef(_Node):
    """A fact of the case, by name: unknown (None) when the case does not give it."""

    name: str
    type: FactType


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class FieldRef(_Node):
    """A field of the record a quantifier's variable (numbered `var`) stands for."""

    var: int
    field: str
    type: FactType
    optional: bool


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Const(_Node):
    """A literal: a bool, a word of an enum, text, a number or a date."""

    value: str | int | float | bool | datetime.date
    type: FactType


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class ElementRef(_Node):
    """An element, by its key (`module.name`)."""

    key: str


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class DoctrineRef(_Node):
    """Whether another doctrine holds, by name."""

    name: str


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class And(_Node):
    """Every item holds (Kleene: false wins, then unknown)."""

    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Or(_Node):
    """Some item holds (Kleene: true wins, then unknown)."""

    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Not(_Node):
    """The item does not hold (unknown stays unknown)."""

    item: Expr


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class AtLeast(_Node):
    """At least `count` of the items hold."""

    count: int
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Compare(_Node):
    """`left op right`, over values of `type` (a scale compares by rank)."""

    op: str
    left: Expr
    right: Expr
    type: FactType


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Presence(_Node):
    """Whether an optional field is given (`present`) or left out."""

    field: FieldRef
    present: bool


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Quantified(_Node):
    """`every`, `some` or `no` record of a list fact satisfies `body` (the record is `var`)."""

    quantifier: str
    var: int
    collection: FactRef
    body: Expr


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Open(_Node):
    """An outcome the law leaves open whatever the facts: unknown, and the reason is reported
    in the result's `open` list. No fact can settle it, so it adds nothing to `missing`."""

    reason: str


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class SwitchArm(_Node):
    """One arm of a switch: the rule that applies when the fact has `value`."""

    value: Const
    result: Expr


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Switch(_Node):
    """The rule chosen by a fact's value: the arm whose value the fact has, else `otherwise`.

    With the fact unknown, the arms are the doctrine's stated alternatives and the value is
    their agreement: true if every arm is true, false if every arm is false, else unknown;
    unknown outright where the fact is one of the module's `ambiguous` ones (see there).
    """

    fact: FactRef
    arms: tuple[SwitchArm, ...]
    otherwise: Expr


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Branch(_Node):
    """An exception, or a line of a first-match list: when `cond` holds, `result` decides."""

    label: str
    cond: Expr
    result: Expr  # a Const or Open outcome, or a Chain of the exception's own exceptions
    outcome: bool | None  # None: the outcome is open (`result` is an Open)
    because: str = ""
    cites: tuple[Citation, ...] = ()


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Chain(_Node):
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


def ambiguous_facts(trees: Iterable[Expr], conditional: Iterable[str]) -> tuple[str, ...]:
    """The facts whose rules (`holds by FACT`) Kleene's reading leaves unknown while the fact is.

    An unknown fact ranges over the alternatives the rules a question reaches name (their
    union), so a rule's agreement over its own arms is sound only when every rule chosen by
    that fact names the same alternatives, and no burden may fill it, on a condition, with a
    value outside them. Otherwise the rule reads as unknown, and the exact analysis (which
    weighs the alternatives of the whole question) decides. `trees` are every element's and
    doctrine's tree of a module; `conditional` the facts a burden with a condition fills."""
    arms: dict[str, set[frozenset[object]]] = {}
    for tree in trees:
        for node in walk(tree):
            if isinstance(node, Switch):
                values = frozenset(arm.value.value for arm in node.arms)
                arms.setdefault(node.fact.name, set()).add(values)
    filled = set(conditional)
    return tuple(sorted(n for n, sets in arms.items() if len(sets) > 1 or n in filled))


# ---------------------------------------------------------------- what a module says of itself
# A compiled module's INFO: its vocabulary, elements and doctrines with the prose, citations
# and trees that explanations, front ends and the runtime read.


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class FactInfo(_Node):
    """A fact of the vocabulary: its type (kind, values, and in words), meaning and party."""

    name: str
    kind: str
    type: str  # the type in words, as messages name it: "an enum (none, incarceration)"
    values: tuple[str, ...] = ()
    meaning: str = ""
    favours: str = ""
    known_as: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class ElementInfo(_Node):
    """An element: its requirement (as written, and as a tree), its prose and citations."""

    key: str  # module.name
    name: str
    title: str
    requirement: str  # the requirement as the author wrote it
    tree: Expr
    met: str = ""
    unmet: str = ""
    notes: tuple[str, ...] = ()
    cites: tuple[Citation, ...] = ()
    facts: tuple[str, ...] = ()  # the facts its own tree reads, sorted
    uses: tuple[str, ...] = ()  # the elements its tree names, in order
    line: int = 0


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Slot(_Node):
    """An element of a doctrine: the doctrine's label for it and the element's key."""

    label: str
    key: str


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Rejection(_Node):
    """A theory the doctrine rejects: the facts it would rest on, and why it fails."""

    name: str
    title: str
    on: tuple[str, ...]
    because: str
    cites: tuple[Citation, ...] = ()


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Burden(_Node):
    """What a fact the case does not give counts as, on what condition (as written), and why:
    a burden of proof. The runtime reports the ones it applied in `Result.presumed`."""

    fact: str
    value: object
    when: str
    because: str
    cites: tuple[Citation, ...] = ()
    # The condition's tree (None: always): the exact analysis applies the burden on the
    # completions of the unknown facts where it holds (compiler/runtime/exact.py).
    cond: Expr | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class DoctrineInfo(_Node):
    """A doctrine: its test (as written, and as a tree), its elements, court and period, what
    it rejects, and what the runtime needs beyond the generated code."""

    name: str
    title: str
    module: str
    extends: str | None
    court: str
    opinion: str  # the separate opinion its rule is taken from, "" for a court's own rule
    source: Citation | None
    in_force_from: datetime.date | None
    in_force_until: datetime.date | None
    requirement: str
    tree: Expr
    elements: tuple[Slot, ...]
    rejects: tuple[Rejection, ...] = ()
    cites: tuple[Citation, ...] = ()
    notes: tuple[str, ...] = ()
    facts_weighed: tuple[str, ...] = ()
    # The facts each element reads (by label), through the elements and doctrines it uses:
    # the runtime settles an unknown element by trying their values.
    element_facts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    closed_world: bool = False
    thresholds: tuple[str, ...] = ()  # labels answered first: one failing decides
    presumptions: tuple[Burden, ...] = ()  # the burdens that apply, in the order applied
    line: int = 0


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class ScreeningTest(_Node):
    """A requirement a decided case must meet to count: the body of a quantifier over the list
    the library's cases stand for, its record the variable numbered `var`."""

    var: int
    body: Expr


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Weighed(_Node):
    """A fact a decided case is compared on: its kind, the side it favours ("plaintiff" or
    "defendant"), and its words in order (an enum's or a scale's; empty for a bool)."""

    fact: str
    kind: str
    favours: str
    values: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Precedent(_Node):
    """One of the library's decided cases, as the precedent screening reads it: the authority
    (`key`, and `name` as cited), its court, when it was decided (the day, or only the `year`),
    whether it `held` the right recognized, the doctrine it `applied`, when it was abrogated,
    the facts it found, the facts it `relied` on that favour a side, and the facts favouring
    the defendant that the asking doctrine weighs (`against`)."""

    key: str
    name: str
    court: str
    decided: datetime.date | None
    year: int | None
    held: bool | None
    applied: str | None
    abrogated: datetime.date | None
    facts: Mapping[str, Any]
    relied: tuple[Weighed, ...] = ()
    against: tuple[Weighed, ...] = ()


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Screening(_Node):
    """The library's decided cases offered for a list fact a case leaves out (`precedents for
    LIST from DOCTRINE`), screened as candidates and never filling the list."""

    list_fact: str
    candidates: tuple[Precedent, ...]
    tests: tuple[ScreeningTest, ...]


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class ModuleInfo(_Node):
    """Everything a compiled module says of itself (its INFO)."""

    module: str
    title: str
    path: str
    main: str | None
    facts: Mapping[str, FactInfo]
    elements: Mapping[str, ElementInfo]
    doctrines: Mapping[str, DoctrineInfo]
    # The facts whose rules read as unknown while they are (`ambiguous_facts`).
    ambiguous: tuple[str, ...] = ()
