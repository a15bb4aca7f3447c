"""What would change the outcome: the smallest sets of fact changes that flip a result.

The search works over the condition trees that a compiled module keeps in its INFO. For each
node it finds the minimal sets of changes that make the node true and those that make it false,
combining its children's sets: `and` made true needs every child made true (one set from each,
united), `or` made true needs one child (the best of theirs); a quantifier treats each item of
the list as a child, and a rule with exceptions as the branches tried in order. Only minimal
sets are kept, and at most CAP of them at each node, so the work grows polynomially with the
number of facts rather than with the number of their combinations.

A change is a constraint on one fact (or on one yes/no field of one record of a list): a
choice among finitely many values, a range of dates or numbers, or "anything but" some texts.
Every candidate is then checked by running the compiled evaluator itself on the changed facts,
shrunk until no change can be dropped, and kept only if it settles the outcome the other way.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..runtime import ABSENT, Result, Tree, program

__all__ = [
    "CAP",
    "Change",
    "Counterfactual",
    "Model",
    "NoneOf",
    "OneOf",
    "Range",
    "apply_changes",
    "input_facts",
    "screened_list",
    "search",
]

CAP = 24
"""The most change sets kept at any node of the tree (the smallest first)."""

Node = program.Expr
Truth = bool | None
Path = tuple[str, int, str]
"""(fact, item index, field); a plain fact is (fact, -1, "")."""

_FINITE = ("bool", "enum", "scale")


# ---------------------------------------------------------------- constraints


@dataclass(frozen=True)
class OneOf:
    """The fact takes one of these values (in the order of its type)."""

    values: tuple[Any, ...]

    @functools.cached_property
    def text(self) -> str:
        return "|".join(_literal(v) for v in self.values)

    def __str__(self) -> str:
        return self.text

    def __hash__(self) -> int:
        return hash(self.text)


@dataclass(frozen=True)
class NoneOf:
    """A text fact takes any value but these."""

    values: tuple[str, ...]

    @functools.cached_property
    def text(self) -> str:
        return "not " + "|".join(self.values)

    def __str__(self) -> str:
        return self.text

    def __hash__(self) -> int:
        return hash(self.text)


@dataclass(frozen=True)
class Range:
    """A date or number between two bounds; None is unbounded."""

    low: Any
    low_open: bool
    high: Any
    high_open: bool

    @functools.cached_property
    def text(self) -> str:
        low = "" if self.low is None else ("(" if self.low_open else "[") + _literal(self.low)
        high = "" if self.high is None else _literal(self.high) + (")" if self.high_open else "]")
        return f"{low}..{high}"

    def __str__(self) -> str:
        return self.text

    def __hash__(self) -> int:
        return hash(self.text)

    def contains(self, value: Any) -> bool:
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return False
        return not (
            self.high is not None and (value > self.high or (self.high_open and value == self.high))
        )

    def empty(self) -> bool:
        if self.low is None or self.high is None:
            return False
        if self.low > self.high:
            return True
        return self.low == self.high and (self.low_open or self.high_open)


Constraint = OneOf | NoneOf | Range


def _literal(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def _intersect(a: Constraint, b: Constraint) -> Constraint | None:
    """Both constraints at once, or None when no value meets both."""
    if isinstance(a, OneOf):
        if isinstance(b, OneOf):
            kept = tuple(v for v in a.values if v in b.values)
        elif isinstance(b, NoneOf):
            kept = tuple(v for v in a.values if v not in b.values)
        else:
            kept = tuple(v for v in a.values if b.contains(v))
        return OneOf(kept) if kept else None
    if isinstance(b, OneOf):
        return _intersect(b, a)
    if isinstance(a, NoneOf) and isinstance(b, NoneOf):
        return NoneOf(tuple(sorted(set(a.values) | set(b.values))))
    if isinstance(a, Range) and isinstance(b, Range):
        low, low_open = a.low, a.low_open
        if b.low is not None and (low is None or b.low > low or (b.low == low and b.low_open)):
            low, low_open = b.low, b.low_open
        high, high_open = a.high, a.high_open
        if b.high is not None and (
            high is None or b.high < high or (b.high == high and b.high_open)
        ):
            high, high_open = b.high, b.high_open
        merged = Range(low, low_open, high, high_open)
        return None if merged.empty() else merged
    return None


def _covers(a: Constraint, b: Constraint) -> bool:
    """Whether every value that meets `b` meets `a` (`a` asks no more than `b`)."""
    if isinstance(a, OneOf) and isinstance(b, OneOf):
        return set(b.values) <= set(a.values)
    if isinstance(a, NoneOf) and isinstance(b, NoneOf):
        return set(a.values) <= set(b.values)
    if isinstance(a, NoneOf) and isinstance(b, OneOf):
        return not set(b.values) & set(a.values)
    if isinstance(a, Range) and isinstance(b, OneOf):
        return all(a.contains(v) for v in b.values)
    if isinstance(a, Range) and isinstance(b, Range):
        return _intersect(a, b) == b
    return a == b


# ---------------------------------------------------------------- change sets

ChangeSet = tuple[tuple[Path, Constraint], ...]
"""Constraints on distinct paths, sorted by path."""

_EMPTY: ChangeSet = ()


def _merge(a: ChangeSet, b: ChangeSet) -> ChangeSet | None:
    if not a:
        return b
    if not b:
        return a
    out = dict(a)
    for path, constraint in b:
        if path in out:
            both = _intersect(out[path], constraint)
            if both is None:
                return None
            out[path] = both
        else:
            out[path] = constraint
    return tuple(sorted(out.items(), key=lambda kv: kv[0]))


def _sort_key(cs: ChangeSet) -> tuple[int, tuple[tuple[Path, str], ...]]:
    return len(cs), tuple((path, c.text) for path, c in cs)


def _dominates(a: ChangeSet, b: ChangeSet) -> bool:
    """Whether `a` changes no more than `b`: its paths are among b's, each asking no more."""
    if len(a) > len(b):
        return False
    mine = dict(b)
    return all(path in mine and _covers(c, mine[path]) for path, c in a)


def _minimal(sets: Iterable[ChangeSet], cap: int = CAP) -> list[ChangeSet]:
    """The sets no other set dominates, smallest first, at most `cap` of them."""
    ordered = sorted(set(sets), key=_sort_key)
    kept: list[ChangeSet] = []
    kept_paths: list[frozenset[Path]] = []
    for cs in ordered:
        paths = frozenset(path for path, _ in cs)
        if any(kp <= paths and _dominates(k, cs) for k, kp in zip(kept, kept_paths, strict=True)):
            continue
        kept.append(cs)
        kept_paths.append(paths)
        if len(kept) >= cap:
            break
    return kept


def _product(groups: Sequence[list[ChangeSet]], cap: int = CAP) -> list[ChangeSet]:
    """One set from each group, united; inconsistent unions are dropped."""
    acc: list[ChangeSet] = [_EMPTY]
    for group in groups:
        if not group:
            return []
        joined = []
        for a in acc:
            for b in group:
                m = _merge(a, b)
                if m is not None:
                    joined.append(m)
        acc = _minimal(joined, cap)
        if not acc:
            return []
    return acc


def _union(groups: Iterable[list[ChangeSet]], cap: int = CAP) -> list[ChangeSet]:
    return _minimal((cs for g in groups for cs in g), cap)


# ---------------------------------------------------------------- the model of a module


class Model:
    """A compiled module's trees and vocabulary, evaluated three-valued on one set of facts.

    `facts` are in the runtime's form (every fact present, None when unknown, dates as `date`,
    lists as tuples of records). Values come from the runtime's tree evaluator (`Tree`), which
    the differential tests hold to the generated code; here a quantifier's variable is named by
    the (list fact, index) of its record, so that a change can say which record it is to.
    """

    def __init__(
        self,
        info: program.ModuleInfo,
        schema: Mapping[str, tuple[str, Any]],
        facts: Mapping[str, Any],
    ):
        self.info = info
        self.schema = schema
        self.facts = facts
        self.support_memo: dict[tuple[str, str], list[tuple[str, str]]] = {}
        """The leaves each element's and doctrine's value rests on (see explanation.support)."""
        self.evaluator = Tree(
            {key: el.tree for key, el in info.elements.items()},
            {name: d.tree for name, d in info.doctrines.items()},
            facts,
            frozenset(info.ambiguous),
        )

    # -------------------------------------------------------------- types
    def kind(self, operand: Node, env: Mapping[int, tuple[str, int]]) -> tuple[str, Any]:
        """The (kind, spec) of an operand: a fact's, a record field's, or a constant's."""
        if isinstance(operand, program.FactRef):
            return self.schema[operand.name]
        if isinstance(operand, program.FieldRef):
            list_fact, _ = env[operand.var]
            for name, kind, spec, _optional in self.schema[list_fact][1]:
                if name == operand.field:
                    return kind, spec
            raise KeyError(operand.field)
        assert isinstance(operand, program.Const)
        value = operand.value
        if isinstance(value, bool):
            return "bool", None
        if isinstance(value, datetime.date):
            return "date", None
        if isinstance(value, (int, float)):
            return "number", None
        return "text", None

    def record(self, list_fact: str, index: int) -> Mapping[str, Any]:
        items = self.facts[list_fact]
        record: Mapping[str, Any] = items[index]
        return record

    def tree(self, node: program.ElementRef | program.DoctrineRef) -> Node:
        """The requirement of the element or doctrine a reference names."""
        return self.evaluator.tree(node)

    def records(self, env: Mapping[int, tuple[str, int]]) -> dict[int, Mapping[str, Any]]:
        """The record each variable stands for, from its (list fact, index)."""
        return {var: self.record(list_fact, index) for var, (list_fact, index) in env.items()}

    def operand(self, node: Node, env: Mapping[int, tuple[str, int]]) -> Any:
        """A compared value as it is (a constant's, a fact's, a record field's)."""
        return self.evaluator.value(node, self.records(env) if env else {})

    # -------------------------------------------------------------- values
    def value(self, node: Node, env: Mapping[int, tuple[str, int]] | None = None) -> Truth:
        """The node's truth value on the facts: True, False or None (unknown), by the
        runtime's one tree evaluator."""
        v = self.evaluator.value(node, self.records(env) if env else {})
        return None if v is None else bool(v)

    def switch_arm(self, node: program.Switch) -> Node | None:
        """The rule a switch chooses on these facts (an arm's or `otherwise`), None when its
        fact is unknown."""
        return self.evaluator.switch_arm(node)

    @staticmethod
    def ranked(node: program.Compare) -> tuple[Any, ...] | None:
        """The order of an ordered enum compared by this node, or None."""
        return node.type.values if node.type.kind == "scale" else None

    @staticmethod
    def holds_op(op: str, left: Any, right: Any, ranks: tuple[Any, ...] | None) -> bool:
        if ranks is not None:
            left, right = ranks.index(left), ranks.index(right)
        return program.COMPARISONS[op](left, right)

    def chain_branch(self, node: program.Chain) -> int | None:
        """Which branch of a rule decides it on these facts: its index, -1 for the general
        rule, None when that is not yet settled."""
        return self.evaluator.chain_branch(node)


# ---------------------------------------------------------------- the search over trees


class _Search:
    """Minimal change sets making each node true or false."""

    def __init__(self, model: Model, cap: int = CAP):
        self.model = model
        self.cap = cap
        self.memo: dict[tuple[str, str, bool], list[ChangeSet]] = {}

    def make(self, node: Node, target: bool, env: Mapping[int, tuple[str, int]]) -> list[ChangeSet]:
        if self.model.value(node, env) is target:
            return [_EMPTY]
        if isinstance(node, (program.ElementRef, program.DoctrineRef)):
            if isinstance(node, program.ElementRef):
                memo_key = ("element", node.key, target)
            else:
                memo_key = ("doctrine", node.name, target)
            if memo_key not in self.memo:
                self.memo[memo_key] = []  # a cycle (none survive the checker) finds nothing
                self.memo[memo_key] = self.make(self.model.tree(node), target, {})
            return self.memo[memo_key]
        if isinstance(node, program.FactRef):
            kind, _ = self.model.schema[node.name]
            return [(((node.name, -1, ""), OneOf((target,))),)] if kind == "bool" else []
        if isinstance(node, program.FieldRef):
            list_fact, index = env[node.var]
            if self.model.kind(node, env)[0] != "bool":
                return []
            return [(((list_fact, index, node.field), OneOf((target,))),)]
        if isinstance(node, program.Not):
            return self.make(node.item, not target, env)
        if isinstance(node, (program.And, program.Or)):
            parts = [self.make(i, target, env) for i in node.items]
            needs_all = isinstance(node, program.And) == target
            return _product(parts, self.cap) if needs_all else _union(parts, self.cap)
        if isinstance(node, program.AtLeast):
            count = node.count if target else len(node.items) - node.count + 1
            return self._at_least(count, [self.make(i, target, env) for i in node.items])
        if isinstance(node, program.Compare):
            return self._compare(node, target, env)
        if isinstance(node, program.Quantified):
            return self._quantified(node, target, env)
        if isinstance(node, program.Chain):
            return self._chain(node, target)
        if isinstance(node, program.Switch):
            rule = self.model.switch_arm(node)
            if rule is not None:
                return self.make(rule, target, {})
            # The fact unknown: every stated alternative brought to the target.
            return _product([self.make(arm.result, target, {}) for arm in node.arms], self.cap)
        # A constant, a field's presence, or an open question: no fact settles it.
        return []

    def _at_least(self, count: int, parts: list[list[ChangeSet]]) -> list[ChangeSet]:
        # Items already at the target count for nothing; the rest are chosen by a knapsack.
        count -= sum(1 for part in parts if part == [_EMPTY])
        parts = [part for part in parts if part and part != [_EMPTY]]
        if count <= 0:
            return [_EMPTY]
        # reach[j]: the sets that bring j more of the items to the target.
        reach: list[list[ChangeSet]] = [[_EMPTY]] + [[] for _ in range(count)]
        for seen, part in enumerate(parts, 1):
            for j in range(min(count, seen), 0, -1):
                if reach[j - 1]:
                    more = _product([reach[j - 1], part], self.cap)
                    reach[j] = _union([reach[j], more], self.cap) if reach[j] else more
        return reach[count]

    def _quantified(
        self, node: program.Quantified, target: bool, env: Mapping[int, tuple[str, int]]
    ) -> list[ChangeSet]:
        quantifier, var, list_fact, body = (
            node.quantifier,
            node.var,
            node.collection.name,
            node.body,
        )
        items = self.model.facts[list_fact]
        if items is None:
            return []  # records cannot be invented
        if quantifier == "no":
            quantifier, target = "some", not target
        parts = [self.make(body, target, {**env, var: (list_fact, i)}) for i in range(len(items))]
        needs_all = (quantifier == "every") == target
        return _product(parts, self.cap) if needs_all else _union(parts, self.cap)

    def _chain(self, node: program.Chain, target: bool) -> list[ChangeSet]:
        options: list[list[ChangeSet]] = []
        earlier: list[ChangeSet] = [_EMPTY]  # every earlier branch made not to apply
        for branch in node.branches:
            result = self.make(branch.result, target, {})
            if result:
                options.append(
                    _product([earlier, self.make(branch.cond, True, {}), result], self.cap)
                )
            earlier = _product([earlier, self.make(branch.cond, False, {})], self.cap)
            if not earlier:
                break
        if node.default is target and earlier:
            options.append(earlier)
        return _union(options, self.cap)

    def _compare(
        self, node: program.Compare, target: bool, env: Mapping[int, tuple[str, int]]
    ) -> list[ChangeSet]:
        op, left, right = node.op, node.left, node.right
        if not target:
            op = program.NEGATED[op]
        ranks = self.model.ranked(node)
        out: list[ChangeSet] = []
        for side, other, side_op in ((left, right, op), (right, left, program.MIRRORED[op])):
            path = self._path(side, env)
            if path is None:
                continue
            o = self.model.operand(other, env)
            if o is None or o is ABSENT:
                continue
            kind, spec = self.model.kind(side, env)
            for constraint in _constraints(kind, spec, side_op, o, ranks):
                out.append(((path, constraint),))
        return _minimal(out, self.cap)

    def _path(self, side: Node, env: Mapping[int, tuple[str, int]]) -> Path | None:
        if isinstance(side, program.FactRef) and self.model.schema[side.name][0] != "list":
            return side.name, -1, ""
        if isinstance(side, program.FieldRef) and self.model.kind(side, env)[0] == "bool":
            list_fact, index = env[side.var]
            return list_fact, index, side.field
        return None


def _constraints(
    kind: str, spec: Any, op: str, other: Any, ranks: tuple[Any, ...] | None
) -> list[Constraint]:
    """The constraints on one side of `side op other` that make the comparison true."""
    if kind in _FINITE:
        domain: tuple[Any, ...] = (False, True) if kind == "bool" else tuple(spec)
        values = tuple(v for v in domain if Model.holds_op(op, v, other, ranks))
        return [OneOf(values)] if values else []
    if kind in ("date", "number"):
        if op == "==":
            return [Range(other, False, other, False)]
        if op == "!=":
            return [Range(None, False, other, True), Range(other, True, None, False)]
        return [
            {
                "<": Range(None, False, other, True),
                "<=": Range(None, False, other, False),
                ">": Range(other, True, None, False),
                ">=": Range(other, False, None, False),
            }[op]
        ]
    if kind == "text":
        if op == "==":
            return [OneOf((other,))]
        if op == "!=":
            return [NoneOf((other,))]
    return []


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class Change:
    """One fact (or one field of one record) set to a value the outcome needs."""

    fact: str
    index: int | None
    field: str | None
    item: str | None
    """The record's name, for a change to a field of one record of a list."""
    kind: str
    before: Any
    """The value the case gave (runtime form), None when it gave none."""
    constraint: Constraint
    values: tuple[Any, ...]
    """Values checked to work, each with the other changes; for a range, its ends."""
    value: Any
    """The value used when the change was checked (runtime form)."""
    clause: str
    """The change in words, to follow "had": "culpability been at least deliberate
    indifference"."""

    @property
    def path(self) -> str:
        if self.index is None:
            return self.fact
        return f"{self.fact}[{self.index}].{self.field}"


@dataclass(frozen=True)
class Counterfactual:
    """A set of changes and the settled outcome it gives."""

    holds: bool
    changes: tuple[Change, ...]
    phrase: str
    """The changes in words: "had it been found that ..., and had culpability been ..."."""

    def facts(self, facts: Mapping[str, Any]) -> dict[str, Any]:
        """The given facts (input or runtime form) with these changes made."""
        return apply_changes(
            facts,
            {
                (c.fact, -1 if c.index is None else c.index, c.field or ""): c.value
                for c in self.changes
            },
        )


def screened_list(result: Result) -> str | None:
    """The list fact for which the library's decided cases were screened as candidates, if any.

    The candidates never fill the list (none can be found materially similar from the
    element-level facts), so counterfactuals treat the list as the case left it."""
    screening = result.evaluator.precedents
    if screening is not None and result.precedents:
        return screening.list_fact
    return None


def apply_changes(facts: Mapping[str, Any], values: Mapping[Path, Any]) -> dict[str, Any]:
    """A copy of `facts` with each path set to its value (records are copied, not changed)."""
    out = dict(facts)
    for (fact, index, field), value in values.items():
        if index < 0:
            out[fact] = value
            continue
        items = list(out[fact])
        record = dict(items[index])
        record[field] = value
        items[index] = record
        out[fact] = tuple(items) if isinstance(facts[fact], tuple) else items
    return out


def input_facts(facts: Mapping[str, Any]) -> dict[str, Any]:
    """Facts in runtime form turned back into what a case file gives: unknown facts dropped,
    optional record fields left absent (to re-evaluate a counterfactual's `facts`)."""
    out: dict[str, Any] = {}
    for name, value in facts.items():
        if value is None:
            continue
        if isinstance(value, tuple):
            value = [{k: v for k, v in record.items() if v is not ABSENT} for record in value]
        out[name] = value
    return out


def _words(name: str) -> str:
    return name.replace("_", " ")


def _nearest(values: tuple[Any, ...], domain: tuple[Any, ...], before: Any) -> Any:
    if before in domain:
        here = domain.index(before)
        return min(values, key=lambda v: (abs(domain.index(v) - here), domain.index(v)))
    return values[0]


def _step(value: Any, up: bool) -> Any:
    if isinstance(value, datetime.date):
        return value + datetime.timedelta(days=1 if up else -1)
    return value + (1 if up else -1)


def _between(low: Any, high: Any) -> Any:
    """A value strictly between two others, or None when there is none (adjacent days)."""
    if isinstance(low, datetime.date):
        return low + (high - low) // 2 if (high - low).days > 1 else None
    return (low + high) / 2 if low < high else None


def _critical_points(model: Model, tree: Node, fact: str) -> list[Any]:
    """The values `fact` is compared with anywhere in the tree: constants, the fields of the
    records a quantifier ranges over, and other facts' given values."""
    out: list[Any] = []
    seen: set[tuple[str, str]] = set()

    def walk(node: Node, env: dict[int, str]) -> None:
        if isinstance(node, program.Compare):
            for side, other in ((node.left, node.right), (node.right, node.left)):
                if not (isinstance(side, program.FactRef) and side.name == fact):
                    continue
                if isinstance(other, program.Const):
                    out.append(other.value)
                elif isinstance(other, program.FactRef) and model.facts.get(other.name) is not None:
                    out.append(model.facts[other.name])
                elif isinstance(other, program.FieldRef) and other.var in env:
                    for record in model.facts.get(env[other.var]) or ():
                        if record[other.field] is not ABSENT:
                            out.append(record[other.field])
        elif isinstance(node, (program.And, program.Or, program.AtLeast)):
            for item in node.items:
                walk(item, env)
        elif isinstance(node, program.Not):
            walk(node.item, env)
        elif isinstance(node, program.Quantified):
            walk(node.body, {**env, node.var: node.collection.name})
        elif isinstance(node, (program.ElementRef, program.DoctrineRef)):
            key = (
                ("element", node.key)
                if isinstance(node, program.ElementRef)
                else ("doctrine", node.name)
            )
            if key not in seen:
                seen.add(key)
                walk(model.tree(node), {})
        elif isinstance(node, program.Chain):
            for branch in node.branches:
                walk(branch.cond, {})
                walk(branch.result, {})
        elif isinstance(node, program.Switch):
            if node.fact.name == fact:
                out.extend(arm.value.value for arm in node.arms)
            for arm in node.arms:
                walk(arm.result, {})
            walk(node.otherwise, {})

    walk(tree, {})
    return out


def _range_ends(r: Range) -> list[Any]:
    """The values nearest each end of a range: the first of them is used to check it."""
    ends = []
    if r.low is not None:
        ends.append(_step(r.low, True) if r.low_open else r.low)
    if r.high is not None:
        ends.append(_step(r.high, False) if r.high_open else r.high)
    ends = [e for e in ends if r.contains(e)]
    if (
        not ends
        and r.low is not None
        and r.high is not None
        and not isinstance(r.low, datetime.date)
    ):
        ends = [(r.low + r.high) / 2]
    return list(dict.fromkeys(ends))


class _Checker:
    """Checks candidate change sets with the compiled evaluator itself."""

    def __init__(self, result: Result, model: Model):
        self.evaluator = result.evaluator
        self.facts = result.facts
        self.model = model

    def holds(self, values: Mapping[Path, Any]) -> Truth:
        # The facts are in runtime form already (the result's own), so no validation.
        return self.evaluator.holds(apply_changes(self.facts, values), validate=False)

    def domain(self, path: Path) -> tuple[Any, ...]:
        kind, spec = self.kind(path)
        if kind == "bool":
            return (False, True)
        return tuple(spec) if kind in ("enum", "scale") else ()

    def kind(self, path: Path) -> tuple[str, Any]:
        fact, index, field = path
        if index < 0:
            return self.model.schema[fact]
        for name, kind, spec, _optional in self.model.schema[fact][1]:
            if name == field:
                return kind, spec
        raise KeyError(field)

    def before(self, path: Path) -> Any:
        fact, index, field = path
        if index < 0:
            return self.facts[fact]
        return self.model.record(fact, index)[field]

    def choices(self, path: Path, constraint: Constraint) -> list[Any]:
        """Values to try for a path, the likeliest first."""
        if isinstance(constraint, OneOf):
            domain = self.domain(path) or constraint.values
            first = _nearest(constraint.values, domain, self.before(path))
            return [first, *(v for v in constraint.values if v != first)]
        if isinstance(constraint, Range):
            return _range_ends(constraint)
        return ["other than " + ", ".join(constraint.values)]

    def check(self, cs: ChangeSet, target: bool) -> tuple[dict[Path, Any], ChangeSet] | None:
        """Values for the set that give `target`, and the set shrunk to what is needed."""
        values: dict[Path, Any] = {}
        for path, constraint in cs:
            options = self.choices(path, constraint)
            if not options:
                return None
            values[path] = options[0]
        if self.holds(values) is not target:
            # Another value of one finite choice may be the one that works.
            for path, constraint in cs:
                for option in self.choices(path, constraint)[1:]:
                    if self.holds({**values, path: option}) is target:
                        values[path] = option
                        break
                else:
                    continue
                break
            else:
                return None
        kept = dict(cs)
        for path in sorted(values):
            trial = {p: v for p, v in values.items() if p != path}
            if trial and self.holds(trial) is target:
                del values[path]
                del kept[path]
        return values, tuple(sorted(kept.items(), key=lambda kv: kv[0]))

    def widen(
        self, path: Path, values: Mapping[Path, Any], target: bool, points: list[Any]
    ) -> Range:
        """The widest range of values for `path`, around the one checked, that gives `target`
        with the other changes as they are. The outcome can change only at the values the
        fact is compared with, so one probe in each stretch between them settles it."""
        chosen = values[path]
        cuts = sorted(
            {
                p
                for p in points
                if isinstance(p, type(chosen))
                or (isinstance(p, (int, float)) and isinstance(chosen, (int, float)))
            }
        )
        # Stretches in order: (-inf, c0), [c0], (c0, c1), [c1], ..., (cn, +inf).
        stretches: list[
            tuple[Any, bool, Any, bool, Any]
        ] = []  # low, low_open, high, high_open, probe
        previous = None
        for cut in cuts:
            probe = _step(cut, False) if previous is None else _between(previous, cut)
            if probe is not None:
                stretches.append((previous, True, cut, True, probe))
            stretches.append((cut, False, cut, False, cut))
            previous = cut
        stretches.append((previous, True, None, True, _step(previous, True) if cuts else chosen))
        passing = [self.holds({**values, path: s[4]}) is target for s in stretches]
        here = next(
            (i for i, s in enumerate(stretches) if Range(s[0], s[1], s[2], s[3]).contains(chosen)),
            None,
        )
        if here is None or not passing[here]:
            return Range(chosen, False, chosen, False)
        first = last = here
        while first > 0 and passing[first - 1]:
            first -= 1
        while last < len(stretches) - 1 and passing[last + 1]:
            last += 1
        low, low_open = stretches[first][0], stretches[first][1]
        high, high_open = stretches[last][2], stretches[last][3]
        return Range(low, low_open and low is not None, high, high_open and high is not None)

    def confirmed(
        self, path: Path, constraint: Constraint, values: Mapping[Path, Any], target: bool
    ) -> tuple[Any, ...]:
        """The values for `path` that give `target` with the other changes as they are."""
        return tuple(
            v for v in self.choices(path, constraint) if self.holds({**values, path: v}) is target
        )


def _clause(
    checker: _Checker, path: Path, constraint: Constraint, values: tuple[Any, ...], chosen: Any
) -> tuple[str, str]:
    """(group, words): how one change reads after "had"."""
    fact, index, field = path
    kind, spec = checker.kind(path)
    if index >= 0:
        item = _item_name(checker.model.record(fact, index), fact, index)
        return "item", f"{_words(field)} been {'yes' if chosen else 'no'} for {item}"
    if kind == "bool":
        described = checker.model.info.facts.get(fact)
        meaning = (described.meaning if described is not None else "") or _words(fact)
        return ("found" if chosen else "untrue"), f"that {meaning}"
    name = _words(fact)
    if isinstance(constraint, OneOf):
        shown = values or (chosen,)
        domain = tuple(spec) if kind in ("enum", "scale") else shown
        if kind == "scale" and len(shown) > 1:
            ranks = sorted(domain.index(v) for v in shown)
            if ranks == list(range(ranks[0], len(domain))):
                return "other", f"{name} been at least {_words(str(domain[ranks[0]]))}"
            if ranks == list(range(0, ranks[-1] + 1)):
                return "other", f"{name} been at most {_words(str(domain[ranks[-1]]))}"
        return "other", f"{name} been {_or([_words(_literal(v)) for v in shown])}"
    if isinstance(constraint, NoneOf):
        return "other", f"{name} been other than {_or(list(constraint.values))}"
    return "other", f"{name} been {_range_words(constraint, kind)}"


def _range_words(r: Range, kind: str) -> str:
    is_date = kind == "date"
    if r.low is not None and r.high is not None and r.low == r.high:
        return ("on " if is_date else "") + _literal(r.low)
    parts = []
    if r.low is not None:
        word = (
            ("after" if r.low_open else "on or after")
            if is_date
            else ("more than" if r.low_open else "at least")
        )
        parts.append(f"{word} {_literal(r.low)}")
    if r.high is not None:
        word = (
            ("before" if r.high_open else "on or before")
            if is_date
            else ("less than" if r.high_open else "at most")
        )
        parts.append(f"{word} {_literal(r.high)}")
    return " and ".join(parts)


def _or(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " or " + words[-1]


def _and(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    if any("," in w for w in words):
        return "; ".join(words[:-1]) + "; and " + words[-1]
    return ", ".join(words[:-1]) + " and " + words[-1]


def _item_name(record: Mapping[str, Any], fact: str, index: int) -> str:
    name = record.get("name")
    return name if isinstance(name, str) and name else f"item {index + 1} of {_words(fact)}"


def _phrase(groups: list[tuple[str, str]]) -> str:
    """The clauses as one conditional: "had it been found that A and that B, and had C"."""
    found = [w for g, w in groups if g == "found"]
    untrue = [w for g, w in groups if g == "untrue"]
    pieces = []
    if found:
        pieces.append("had it been found " + _and(found))
    if untrue:
        pieces.append("had it been found untrue " + _and(untrue))
    pieces += ["had " + w for g, w in groups if g in ("item", "other")]
    if len(pieces) <= 1:
        return "".join(pieces)
    return ", ".join(pieces[:-1]) + ", and " + pieces[-1]


def search(
    result: Result, info: program.ModuleInfo, *, limit: int = 8, cap: int = CAP
) -> tuple[Counterfactual, ...]:
    """The smallest sets of fact changes that settle `result` the other way.

    A result that holds is searched for sets that make it fail, and the reverse; an
    undetermined result for sets that settle it either way. `info` is the module's INFO.
    Every set returned was checked with the compiled evaluator; at most `limit` per outcome,
    sorted by size and then by the names of the facts changed.
    """
    doctrine = info.doctrines[result.doctrine]
    model = Model(info, result.evaluator.schema.facts, result.facts)
    finder = _Search(model, cap)
    checker = _Checker(result, model)
    cache: dict[str, list[Any]] = {}

    def points(fact: str) -> list[Any]:
        if fact not in cache:
            cache[fact] = _critical_points(model, doctrine.tree, fact)
        return cache[fact]

    targets = [not result.holds] if result.holds is not None else [True, False]
    found: list[Counterfactual] = []
    for target in targets:
        verified: dict[tuple[Path, ...], tuple[ChangeSet, dict[Path, Any]]] = {}
        for candidate in finder.make(doctrine.tree, target, {}):
            checked = checker.check(candidate, target)
            if checked is None:
                continue
            values, shrunk = checked
            paths = tuple(p for p, _ in shrunk)
            if paths not in verified or _sort_key(shrunk) < _sort_key(verified[paths][0]):
                verified[paths] = (shrunk, values)
        # Each set is irreducible (no change can be dropped); smallest first.
        for paths in sorted(verified, key=lambda k: (len(k), k))[:limit]:
            shrunk, values = verified[paths]
            changes = []
            clauses = []
            for path, constraint in shrunk:
                fact, index, field = path
                if isinstance(constraint, Range):
                    constraint = checker.widen(path, values, target, points(fact))
                    ok = tuple(_range_ends(constraint)) or (values[path],)
                elif isinstance(constraint, OneOf):
                    ok = checker.confirmed(path, constraint, values, target)
                else:
                    ok = (values[path],)
                if isinstance(constraint, OneOf):
                    constraint = OneOf(ok)
                group, words = _clause(checker, path, constraint, ok, values[path])
                clauses.append((group, words))
                record = checker.model.record(fact, index) if index >= 0 else None
                changes.append(
                    Change(
                        fact=fact,
                        index=None if index < 0 else index,
                        field=field or None,
                        item=_item_name(record, fact, index) if record is not None else None,
                        kind=checker.kind(path)[0],
                        before=checker.before(path),
                        constraint=constraint,
                        values=ok,
                        value=values[path],
                        clause=words,
                    )
                )
            found.append(
                Counterfactual(holds=target, changes=tuple(changes), phrase=_phrase(clauses))
            )
    return tuple(found)
