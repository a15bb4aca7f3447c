"""Exact `holds`, element values and `missing`: a decision diagram over the doctrine's conditions.

The generated code evaluates a doctrine in three-valued (Kleene) logic, which is sound but not
exact: `x or not x` is unknown there with `x` unknown, though every value of `x` makes it true.
This module answers the exact questions instead. It reads the doctrine's tree with the case's
known facts put in, and builds a reduced ordered multi-valued decision diagram of the outcome
as a function of the unknown facts, with three leaves (true, false, open):

- each unknown fact is one level of the diagram, with one branch per value it can take: a bool
  two, an enum or scale its words; a date, number or text fact a finite set of representatives
  that stands for every value (each constant it is compared with, and enough points in each gap
  between them for the facts compared with one another), so comparisons and the orderings of
  scales, numbers and dates constrain one another by construction, not by enumeration;
- a quantifier over a list the case gives is expanded over its records; over a list the case
  does not give, it is one opaque condition (a level of two branches) settled by that list;
- a burden (`absent F counts as V when C`) whose condition is unknown makes F count as V on the
  branches where C holds, and leaves F free elsewhere.

Reduced, the diagram is a leaf exactly when the outcome is settled, and a fact depends the
outcome exactly when a level of it remains. Past NODE_BUDGET nodes or WORK_BUDGET steps the
analysis stops rather than guess; the evaluator then reports that in `open`.
Standard library only, like the rest of the runtime.
"""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from fractions import Fraction
from typing import Any

from . import program as pt
from .logic import ABSENT, OPEN, merge
from .program import COMPARISONS

__all__ = ["NODE_BUDGET", "WORK_BUDGET", "Exact", "Stopped", "Verdict"]

# The most diagram nodes one analysis may build, and the most steps its operations may take:
# together they bound an analysis to about a second and some tens of megabytes.
NODE_BUDGET = 200_000
WORK_BUDGET = 2_000_000

_FALSE, _TRUE, _OPEN = 0, 1, 2  # the leaves' node numbers
_LEAF_LEVEL = 1 << 60  # below every real level
_VALUE = (False, True, None)


class _Budget(Exception):
    """The analysis would pass its size budget: the outcome is not settled exactly."""


class _Unsupported(Exception):
    """A corner of the language the analysis does not model (the evaluator says so)."""


# What `Exact.judge` may raise: the evaluator reports either in the result's `open`. Private,
# since neither leaves the runtime.
Stopped = (_Budget, _Unsupported)


class Verdict:
    """What the diagram says of one expression: its value whatever the unknown facts are
    (`settled`, with `value`), the unknown facts it depends on, and whether some completion
    leaves it open (an `open` outcome of the law)."""

    __slots__ = ("depends", "may_be_open", "settled", "value")

    def __init__(
        self, settled: bool, value: bool | None, depends: frozenset[str], may_be_open: bool
    ):
        self.settled = settled
        self.value = value
        self.depends = depends
        self.may_be_open = may_be_open

    def __repr__(self) -> str:
        return f"<Verdict settled={self.settled} value={self.value} depends={sorted(self.depends)}>"


# ---------------------------------------------------------------- the diagram


class _Diagram:
    """A reduced ordered multi-valued decision diagram: node 0, 1, 2 are the leaves false,
    true and open; every other node is (level, children), one child per value of its level."""

    __slots__ = ("kids", "level", "memo", "unique", "widths", "work")

    def __init__(self) -> None:
        self.level: list[int] = [_LEAF_LEVEL] * 3
        self.kids: list[tuple[int, ...]] = [(), (), ()]
        self.unique: dict[tuple[int, tuple[int, ...]], int] = {}
        self.memo: dict[tuple[Any, tuple[int, ...]], int] = {}
        self.widths: list[int] = []
        self.work = 0

    def new_level(self, width: int) -> int:
        self.widths.append(width)
        return len(self.widths) - 1

    def node(self, level: int, kids: tuple[int, ...]) -> int:
        first = kids[0]
        if all(k == first for k in kids):
            return first  # a test whose branches agree is no test: the diagram stays reduced
        key = (level, kids)
        found = self.unique.get(key)
        if found is not None:
            return found
        if len(self.level) >= NODE_BUDGET:
            raise _Budget(f"more than {NODE_BUDGET:,} decision-diagram nodes")
        self.level.append(level)
        self.kids.append(kids)
        self.unique[key] = len(self.level) - 1
        return len(self.level) - 1

    def apply(self, key: Any, fn: Callable[..., bool | None], ops: tuple[int, ...]) -> int:
        """The diagram of `fn` applied pointwise to the operands' values. Iterative, so that a
        diagram over thousands of facts needs no deep recursion; memoized under `key`."""
        memo, level, kids, widths = self.memo, self.level, self.kids, self.widths
        top = memo.get((key, ops))
        if top is not None:
            return top
        # Each frame: operands, the level split on (or -1 before it is chosen), results so far.
        stack: list[tuple[tuple[int, ...], int, list[int]]] = [(ops, -1, [])]
        result = 0
        while stack:
            frame_ops, at, done = stack[-1]
            if at < 0:
                at = min(level[o] for o in frame_ops)
                if at == _LEAF_LEVEL:
                    stack.pop()
                    value = fn(*(_VALUE[o] for o in frame_ops))
                    result = _TRUE if value is True else _FALSE if value is False else _OPEN
                    memo[(key, frame_ops)] = result
                    if stack:
                        stack[-1][2].append(result)
                    continue
                stack[-1] = (frame_ops, at, done)
            if len(done) == widths[at]:
                stack.pop()
                result = self.node(at, tuple(done))
                memo[(key, frame_ops)] = result
                if stack:
                    stack[-1][2].append(result)
                continue
            i = len(done)
            sub = tuple(kids[o][i] if level[o] == at else o for o in frame_ops)
            found = memo.get((key, sub))
            if found is None and key in _DECIDES and len(sub) == 2:
                found = _decided(key, sub)
            if found is not None:
                done.append(found)
                continue
            self.work += 1
            if self.work > WORK_BUDGET:
                raise _Budget(f"more than {WORK_BUDGET:,} steps")
            stack.append((sub, -1, []))
        return result

    def support(self, root: int) -> tuple[set[int], bool]:
        """The levels the diagram tests, and whether the open leaf is reachable."""
        seen: set[int] = set()
        levels: set[int] = set()
        todo = [root]
        may_be_open = False
        while todo:
            n = todo.pop()
            if n in seen:
                continue
            seen.add(n)
            if n == _OPEN:
                may_be_open = True
            if n > _OPEN:
                levels.add(self.level[n])
                todo.extend(self.kids[n])
        return levels, may_be_open


# ---------------------------------------------------------------- pointwise operations


# For `and` and `or`, the leaf that decides alone (false, true), and the one that leaves the
# other side as it is (true, false): a walk stops there, so that a junction of n conditions,
# built from its last item up, takes time in proportion to n, not n squared.
_DECIDES = {"and": (_FALSE, _TRUE), "or": (_TRUE, _FALSE)}


def _decided(key: str, ops: tuple[int, ...]) -> int | None:
    decides, neutral = _DECIDES[key]
    a, b = ops
    if a == decides or b == decides:
        return decides
    if a == neutral:
        return b
    if b == neutral:
        return a
    return None


def _and(a: bool | None, b: bool | None) -> bool | None:
    if a is False or b is False:
        return False
    return None if a is None or b is None else True


def _or(a: bool | None, b: bool | None) -> bool | None:
    if a is True or b is True:
        return True
    return None if a is None or b is None else False


def _not(a: bool | None) -> bool | None:
    return None if a is None else not a


def _is_true(a: bool | None) -> bool:
    return a is True


def _not_false(a: bool | None) -> bool:
    return a is not False


def _ite(c: bool | None, a: bool | None, b: bool | None) -> bool | None:
    return a if c is True else b


def _pick(first: bool | None, alone: bool | None) -> bool | None:
    """At least k of n, from (k of the items surely true, k of them possibly true)."""
    return True if first else None if alone else False


# ---------------------------------------------------------------- formulas

# The tree, with the known facts put in, becomes a formula: nodes interned by their shallow
# tuple (so shared sub-formulas are built once), each a tuple whose first item says its kind:
#   ("k", value)                       a constant: True, False or None (open)
#   ("cmp", op, left, right, ranks)    a comparison; each side ("f", fact) or ("v", value)
#   ("opaque", key, facts)             a condition decided by the facts named only
#   ("and", ids) ("or", ids) ("not", id) ("atleast", count, ids)
#   ("chain", ((cond, result), ...), default)   first applying branch decides
#   ("switch", fact, ((value, id), ...), otherwise)
#   ("ite", cond, then, else)          `then` where cond is true, else `else` (burdens)

_FREE = object()  # in a substitution: the fact is unknown, and no burden fills it
_UNGIVEN = object()  # read by a burden's condition: not given, filled by another burden


class Exact:
    """The exact analysis of one evaluation: a doctrine's tree over one case's facts.

    `kinds` gives each fact's (kind, spec) as the schema has them; `element` and `doctrine`
    give the tree of an element (by key) or doctrine (by name); `facts` are the case's facts in
    runtime form, after the burdens that applied (None: unknown); `burdens` are the doctrine's,
    (fact, value, condition tree or None for always), in the order the evaluator applies them;
    those on the facts still unknown apply where a completion makes their condition true.
    `given` are the facts before any burden, which the conditions read.
    """

    def __init__(
        self,
        kinds: Mapping[str, tuple[str, Any]],
        element: Callable[[str], Any],
        doctrine: Callable[[str], Any],
        facts: Mapping[str, Any],
        burdens: Sequence[tuple[str, Any, Any]] = (),
        given: Mapping[str, Any] | None = None,
    ):
        self.kinds = kinds
        self.element = element
        self.doctrine = doctrine
        self.facts = facts
        self.given = given  # the facts as the case gave them, before any burden (None: facts)
        self.formulas: list[tuple[Any, ...]] = []
        self.interned: dict[tuple[Any, ...], int] = {}
        self.const = {v: self._intern(("k", v)) for v in (False, True, None)}
        self.refs: dict[tuple[str, str, bool], int] = {}
        self.raw = False  # while translating a burden's condition (it reads facts as given)
        self.burdens: dict[str, list[tuple[Any, Any]]] = {}
        # The burdens on the facts still unknown (a fact a burden filled counts as known).
        for name, value, cond in burdens:
            if facts.get(name) is None:
                self.burdens.setdefault(name, []).append((cond, value))
        self._conds: dict[tuple[str, int], int] = {}
        self.diagram: _Diagram | None = None
        self.levels: dict[Any, int] = {}  # fact name or opaque key -> level
        self.domains: dict[str, tuple[Any, ...]] = {}
        self.level_facts: list[frozenset[str]] = []
        self.built: dict[int, int] = {}
        self.roots: list[int] = []

    # ------------------------------------------------------------ formulas from the tree
    def _intern(self, shape: tuple[Any, ...]) -> int:
        found = self.interned.get(shape)
        if found is None:
            found = self.interned[shape] = len(self.formulas)
            self.formulas.append(shape)
        return found

    def _junction(self, kind: str, items: Iterable[int]) -> int:
        settle = kind == "or"
        out: list[int] = []
        for i in items:
            shape = self.formulas[i]
            if shape[0] == "k" and shape[1] is settle:
                return self.const[settle]
            if shape[0] == "k" and shape[1] is (not settle):
                continue
            if shape[0] == kind:
                out.extend(shape[1])  # Kleene `and` and `or` are associative
            else:
                out.append(i)
        if not out:
            return self.const[not settle]
        if len(out) == 1:
            return out[0]
        return self._intern((kind, tuple(dict.fromkeys(out))))

    def _not(self, i: int) -> int:
        shape = self.formulas[i]
        if shape[0] == "k":
            return self.const[_not(shape[1])]
        if shape[0] == "not":
            return int(shape[1])
        return self._intern(("not", i))

    def _ite(self, c: int, a: int, b: int) -> int:
        shape = self.formulas[c]
        if shape[0] == "k":
            return a if shape[1] is True else b
        return a if a == b else self._intern(("ite", c, a, b))

    def translate(self, expr: pt.Expr, env: Mapping[int, Any] | None = None) -> int:
        """The formula of a program tree node, with the known facts and records put in."""
        env = env or {}
        match expr:
            case pt.And(items):
                return self._junction("and", [self.translate(i, env) for i in items])
            case pt.Or(items):
                return self._junction("or", [self.translate(i, env) for i in items])
            case pt.Not(item):
                return self._not(self.translate(item, env))
            case pt.AtLeast(count, items):
                parts = [self.translate(i, env) for i in items]
                values = [self.formulas[i] for i in parts]
                if all(v[0] == "k" for v in values):
                    true = sum(1 for v in values if v[1] is True)
                    unknown = sum(1 for v in values if v[1] is None)
                    return self.const[
                        True if true >= count else None if true + unknown >= count else False
                    ]
                return self._intern(("atleast", count, tuple(parts)))
            case pt.Const(value):
                if value is True or value is False:
                    return self.const[value]
                raise _Unsupported("a constant that is not a truth value, used as a condition")
            case pt.Open():
                return self.const[None]
            case pt.ElementRef(key):
                return self._ref("e", key)
            case pt.DoctrineRef(name):
                return self._ref("d", name)
            case pt.Chain(branches=branches, default=default):
                conds = tuple(
                    (self.translate(b.cond, env), self.translate(b.result, env)) for b in branches
                )
                return self._chain(
                    conds, self.const[default if isinstance(default, bool) else None]
                )
            case pt.FactRef() | pt.Compare() | pt.Switch() | pt.Quantified():
                return self._leaf(expr, env, {})
            case pt.FieldRef(var, field):
                value = env[var][field]
                if value is True or value is False:
                    return self.const[value]
                if value is None:  # a judgment the case must still make about this record
                    return self._opaque(("field", id(env[var]), field), _open_facts(env[var]))
                raise _Unsupported("an optional field used as a condition")
            case pt.Presence(field, present):
                return self.const[(env[field.var][field.field] is not ABSENT) == present]
        raise _Unsupported(f"a {type(expr).__name__} node")

    def _ref(self, tag: str, name: str) -> int:
        key = (tag, name, self.raw)
        found = self.refs.get(key)
        if found is None:
            tree = self.element(name) if tag == "e" else self.doctrine(name)
            found = self.refs[key] = self.translate(tree)
        return found

    def _chain(self, branches: tuple[tuple[int, int], ...], default: int) -> int:
        live: list[tuple[int, int]] = []
        for cond, result in branches:
            shape = self.formulas[cond]
            if shape[0] == "k" and shape[1] is False:
                continue  # never applies
            live.append((cond, result))
            if shape[0] == "k" and shape[1] is True:
                break  # applies whenever reached: later branches and the default never decide
        if not live:
            return default
        if len(live) == 1 and self.formulas[live[0][0]] == ("k", True):
            return live[0][1]
        return self._intern(("chain", tuple(live), default))

    def _opaque(self, key: Any, facts: Iterable[str]) -> int:
        return self._intern(("opaque", key, tuple(sorted(set(facts)))))

    def _value(self, name: str, subst: Mapping[str, Any]) -> Any:
        given = self.given
        if self.raw and given is not None and given.get(name) is None:
            # A burden's condition reads the facts as the case gave them: a fact that another
            # burden filled (and so no completion gives) stays unknown there.
            return _UNGIVEN if self.facts.get(name) is not None else None
        value = subst.get(name, self.facts.get(name))
        return None if value is _FREE else value

    def _leaf(
        self,
        expr: pt.FactRef | pt.Compare | pt.Switch | pt.Quantified,
        env: Mapping[int, Any],
        subst: dict[str, Any],
    ) -> int:
        """A node that reads facts directly. Where one it reads has a pending burden, the node
        is the burden's value where the condition holds, and the fact free elsewhere."""
        if not self.raw and self.burdens:
            for name in _reads(expr):
                if name in self.burdens and name not in subst:
                    out = self._leaf(expr, env, {**subst, name: _FREE})
                    for i, (cond, value) in reversed(list(enumerate(self.burdens[name]))):
                        then = self._leaf(expr, env, {**subst, name: value})
                        out = self._ite(self._condition(name, i, cond), then, out)
                    return out
        if any(self._value(name, subst) is _UNGIVEN for name in _reads(expr)):
            if isinstance(expr, (pt.FactRef, pt.Compare, pt.Quantified)):
                return self.const[None]  # Kleene's unknown, whatever the completion
            raise _Unsupported("a burden's condition choosing by a fact another burden fills")
        if isinstance(expr, pt.FactRef):
            value = self._value(expr.name, subst)
            if value is None:
                return self._intern(("cmp", "==", ("f", expr.name), ("v", True), None))
            if value is True or value is False:
                return self.const[value]
            raise _Unsupported("a fact used as a condition that is not a bool")
        if isinstance(expr, pt.Compare):
            return self._compare(expr, env, subst)
        if isinstance(expr, pt.Switch):
            value = self._value(expr.fact.name, subst)
            if value is not None:
                for arm in expr.arms:
                    if value == arm.value.value:
                        return self.translate(arm.result, env)
                return self.translate(expr.otherwise, env)
            arms = tuple((arm.value.value, self.translate(arm.result, env)) for arm in expr.arms)
            otherwise = self.translate(expr.otherwise, env)
            if all(a[1] == otherwise for a in arms):
                return otherwise
            return self._intern(("switch", expr.fact.name, arms, otherwise))
        # A quantifier.
        items = self._value(expr.collection.name, subst)
        if items is None:
            # The list is not given: one condition, settled by the list.
            return self._opaque(("list", expr), (expr.collection.name,))
        bodies = [self.translate(expr.body, {**env, expr.var: record}) for record in items]
        if expr.quantifier == "every":
            return self._junction("and", bodies)
        some = self._junction("or", bodies)
        return self._not(some) if expr.quantifier == "no" else some

    def _condition(self, name: str, index: int, cond: pt.Expr | None) -> int:
        if cond is None:
            return self.const[True]  # a burden without a condition (or the closed world)
        key = (name, index)
        if key not in self._conds:
            raw, self.raw = self.raw, True
            try:
                self._conds[key] = self.translate(cond)
            finally:
                self.raw = raw
        return self._conds[key]

    def _compare(self, expr: pt.Compare, env: Mapping[int, Any], subst: Mapping[str, Any]) -> int:
        ranks = expr.type.values if expr.type.kind == "scale" else None
        sides: list[tuple[str, Any]] = []
        unknown_judgment: list[Any] = []
        for side in (expr.left, expr.right):
            if isinstance(side, pt.Const):
                sides.append(("v", side.value))
            elif isinstance(side, pt.FieldRef):
                record = env[side.var]
                value = record[side.field]
                if value is ABSENT:
                    return self.const[False]  # an absent field fails every comparison
                if value is None:
                    unknown_judgment.append(record)
                sides.append(("v", value))
            elif isinstance(side, pt.FactRef):
                value = self._value(side.name, subst)
                sides.append(("v", value) if value is not None else ("f", side.name))
            else:  # the checker compares facts, fields and constants only
                raise _Unsupported(f"a comparison with a {type(side).__name__}")
        if unknown_judgment:
            facts = [f for r in unknown_judgment for f in _open_facts(r)]
            facts += [s[1] for s in sides if s[0] == "f"]
            return self._opaque(("cmp", expr, tuple(id(r) for r in unknown_judgment)), facts)
        (lk, left), (rk, right) = sides
        if lk == "v" and rk == "v":
            return self.const[_compare(expr.op, left, right, ranks)]
        if expr.type.kind == "text" and expr.op not in ("==", "!="):
            raise _Unsupported("text compared by order")
        return self._intern(("cmp", expr.op, (lk, left), (rk, right), ranks))

    # ------------------------------------------------------------ the diagram of a formula
    def _prepare(self, roots: Sequence[int], trees: Sequence[Any]) -> None:
        """Choose each unknown fact's values and the order of levels: facts in the order the
        formulas first read them, each opaque condition a level of its own."""
        order: list[Any] = []
        opaque: dict[Any, tuple[str, ...]] = {}
        constants: dict[str, set[Any]] = {}
        partners: dict[str, set[str]] = {}
        switched = self._switched(trees)
        seen: set[int] = set()
        for root in roots:
            stack = [root]
            while stack:
                i = stack.pop()
                if i in seen:
                    continue
                seen.add(i)
                shape = self.formulas[i]
                tag = shape[0]
                if tag == "cmp":
                    names = [s[1] for s in (shape[2], shape[3]) if s[0] == "f"]
                    for n in names:
                        order.append(n)
                        constants.setdefault(n, set())
                        partners.setdefault(n, set())
                    for s in (shape[2], shape[3]):
                        if s[0] == "v":
                            for n in names:
                                constants[n].add(s[1])
                    if len(names) == 2:
                        partners[names[0]].add(names[1])
                        partners[names[1]].add(names[0])
                elif tag == "opaque":
                    order.append(("opaque", shape[1]))
                    opaque[("opaque", shape[1])] = shape[2]
                elif tag == "switch":
                    order.append(shape[1])
                    constants.setdefault(shape[1], set()).update(v for v, _ in shape[2])
                    partners.setdefault(shape[1], set())
                    stack.extend(reversed([a[1] for a in shape[2]] + [shape[3]]))
                elif tag in ("and", "or", "atleast"):
                    stack.extend(reversed(shape[-1]))
                elif tag == "not":
                    stack.append(shape[1])
                elif tag == "ite":
                    stack.extend((shape[3], shape[2], shape[1]))
                elif tag == "chain":
                    stack.append(shape[2])
                    for cond, result in reversed(shape[1]):
                        stack.extend((result, cond))
        diagram = self.diagram = _Diagram()
        groups = _groups(partners)
        for key in dict.fromkeys(order):
            if key in self.levels:
                continue
            if isinstance(key, tuple):
                self.levels[key] = diagram.new_level(2)
                self.level_facts.append(frozenset(opaque[key]))
                self.domains[key] = (True, False)  # type: ignore[index]
                continue
            kind, spec = self.kinds[key]
            domain: tuple[Any, ...]
            if switched.get(key):
                # A fact a rule is chosen by ranges over the rules' stated alternatives (a
                # switch on an unknown fact is their agreement: docs/language.md), so that
                # `circuit` is missing only where the circuits' tests disagree.
                domain = tuple(switched[key])
                if kind in ("enum", "scale"):
                    domain = tuple(v for v in spec if v in switched[key])
            elif kind == "bool":
                domain = (True, False)
            elif kind in ("enum", "scale"):
                domain = tuple(spec)
            elif kind in ("date", "number", "text"):
                group = groups[key]
                domain = _representatives(
                    kind, set().union(*(constants[g] for g in group)), len(group)
                )
            else:
                raise _Unsupported(f"a {kind} fact compared")
            self.domains[key] = domain
            self.levels[key] = diagram.new_level(len(domain))
            self.level_facts.append(frozenset((key,)))

    def _switched(self, trees: Sequence[Any]) -> dict[str, dict[Any, None]]:
        """The values the arms name of each rule chosen by an unknown fact (`holds by`), the
        doctrine's stated alternatives: found through the elements and doctrines the trees
        use, and through a rule chosen by a known fact only along the arm it chooses."""
        out: dict[str, dict[Any, None]] = {}
        seen: set[Any] = set()
        todo = list(trees)
        while todo:
            e = todo.pop()
            kind = type(e).__name__
            if kind == "Switch":
                value = self.facts.get(e.fact.name)
                if value is None:
                    out.setdefault(e.fact.name, {}).update(
                        dict.fromkeys(a.value.value for a in e.arms)
                    )
                    todo += [*(a.result for a in e.arms), e.otherwise]
                else:
                    todo.append(
                        next((a.result for a in e.arms if a.value.value == value), e.otherwise)
                    )
            elif kind in ("ElementRef", "DoctrineRef"):
                key = (kind, e.key if kind == "ElementRef" else e.name)
                if key not in seen:
                    seen.add(key)
                    todo.append(
                        self.element(key[1]) if kind == "ElementRef" else self.doctrine(key[1])
                    )
            elif kind in ("And", "Or", "AtLeast"):
                todo.extend(e.items)
            elif kind == "Not":
                todo.append(e.item)
            elif kind == "Quantified":
                todo.append(e.body)
            elif kind == "Chain":
                for branch in e.branches:
                    todo += [branch.cond, branch.result]
        return out

    def _build(self, i: int) -> int:
        """The diagram of formula `i` (memoized: shared sub-formulas are built once)."""
        found = self.built.get(i)
        if found is not None:
            return found
        d = self.diagram
        assert d is not None
        shape = self.formulas[i]
        tag = shape[0]
        if tag == "k":
            out = _TRUE if shape[1] is True else _FALSE if shape[1] is False else _OPEN
        elif tag == "cmp":
            out = self._atom(shape)
        elif tag == "opaque":
            out = d.node(self.levels[("opaque", shape[1])], (_TRUE, _FALSE))
        elif tag in ("and", "or"):
            fn = _and if tag == "and" else _or
            parts = [self._build(j) for j in shape[1]]
            out = parts[-1]
            for p in reversed(parts[:-1]):  # from the last: see _DECIDES
                out = d.apply(tag, fn, (p, out))
        elif tag == "not":
            out = d.apply("not", _not, (self._build(shape[1]),))
        elif tag == "ite":
            out = d.apply("ite", _ite, tuple(self._build(j) for j in shape[1:]))
        elif tag == "atleast":
            out = self._at_least(shape[1], [self._build(j) for j in shape[2]])
        elif tag == "chain":
            out = self._chain_diagram(shape[1], self._build(shape[2]))
        else:  # switch
            out = self._switch(shape)
        self.built[i] = out
        return out

    def _atom(self, shape: tuple[Any, ...]) -> int:
        d = self.diagram
        assert d is not None
        _, op, left, right, ranks = shape
        if left[0] == "f" and right[0] == "f" and left[1] != right[1]:
            outer, inner = (
                (left, right) if self.levels[left[1]] < self.levels[right[1]] else (right, left)
            )
            kids = []
            for value in self.domains[outer[1]]:
                fixed = ("v", value)
                pair = (fixed, inner) if outer is left else (inner, fixed)
                kids.append(self._atom(("cmp", op, pair[0], pair[1], ranks)))
            return d.node(self.levels[outer[1]], tuple(kids))
        name = left[1] if left[0] == "f" else right[1]
        kids = []
        for value in self.domains[name]:
            a = value if left[0] == "f" else left[1]
            b = value if right[0] == "f" else right[1]
            kids.append(_TRUE if _compare(op, a, b, ranks) else _FALSE)
        return d.node(self.levels[name], tuple(kids))

    def _at_least(self, count: int, parts: list[int]) -> int:
        """True when `count` items are surely true, false when fewer than `count` can be."""
        d = self.diagram
        assert d is not None
        sure = [d.apply("true?", _is_true, (p,)) for p in parts]
        maybe = [d.apply("not false?", _not_false, (p,)) for p in parts]

        def threshold(items: list[int]) -> int:
            # row[j]: at least j of the items seen so far are true (a boolean diagram).
            row = [_TRUE] + [_FALSE] * count
            for item in items:
                new = [_TRUE]
                for j in range(1, count + 1):
                    took = d.apply("and", _and, (item, row[j - 1]))
                    new.append(d.apply("or", _or, (took, row[j])))
                row = new
            return row[count]

        return d.apply("atleast", _pick, (threshold(sure), threshold(maybe)))

    def _chain_diagram(self, branches: tuple[tuple[int, int], ...], default: int) -> int:
        """The runtime's rule with exceptions, pointwise: the first branch whose condition is
        true decides (merged with what earlier unknown branches left pending); a branch whose
        condition is open leaves its result pending, and the outcome open if they differ."""
        d = self.diagram
        assert d is not None
        pendings = (OPEN, True, False)
        after = {p: d.apply(("merge", p), lambda v, p=p: merge(p, v), (default,)) for p in pendings}
        for cond, result in reversed(branches):
            c, r = self._build(cond), self._build(result)
            now = {}
            for p in pendings:

                def step(a: Any, v: Any, if_true: Any, if_false: Any, rest: Any, p: Any = p) -> Any:
                    merged = merge(p, v)
                    if a is True:
                        return merged
                    if a is None:
                        return None if merged is None else if_true if merged else if_false
                    return rest

                now[p] = d.apply(("branch", p), step, (c, r, after[True], after[False], after[p]))
            after = now
        return after[OPEN]

    def _switch(self, shape: tuple[Any, ...]) -> int:
        d = self.diagram
        assert d is not None
        _, name, arms, otherwise = shape
        level = self.levels[name]
        kids = []
        for value in self.domains[name]:
            chosen = next((a for v, a in arms if v == value), otherwise)
            kids.append(self._build(chosen))
        # The fact's level may lie below the arms' own: choose pointwise, by the fact's value.
        out = _FALSE
        for j, kid in enumerate(kids):
            chosen = d.node(level, tuple(_TRUE if k == j else _FALSE for k in range(len(kids))))
            out = d.apply("ite", _ite, (chosen, kid, out))
        return out

    # ------------------------------------------------------------ answers
    def judge(self, trees: Sequence[Any]) -> list[Verdict]:
        """The verdict on each tree, over one diagram (so shared parts are built once)."""
        try:
            roots = [self.translate(t) for t in trees]
            conds = [c for cs in self.burdens.values() for c, _ in cs if c is not None]
            self._prepare(roots, [*trees, *conds])
            out = []
            for root in roots:
                top = self._build(root)
                assert self.diagram is not None
                levels, may_be_open = self.diagram.support(top)
                depends = frozenset().union(*(self.level_facts[lv] for lv in levels))
                settled = top in (_TRUE, _FALSE)
                out.append(Verdict(settled, _VALUE[top] if settled else None, depends, may_be_open))
            return out
        except RecursionError:
            raise _Budget("elements nested too deep to analyse") from None


def _open_facts(record: Any) -> tuple[str, ...]:
    return tuple(record.get("#open", ())) if isinstance(record, Mapping) else ()


def _reads(expr: pt.FactRef | pt.Compare | pt.Switch | pt.Quantified) -> list[str]:
    """The facts a node reads directly (a burden on one of them splits the node)."""
    match expr:
        case pt.FactRef(name):
            return [name]
        case pt.Compare(left=left, right=right):
            return [s.name for s in (left, right) if isinstance(s, pt.FactRef)]
        case pt.Switch(fact):
            return [fact.name]
        case pt.Quantified(collection=collection):
            return [collection.name]
    return []


def _compare(op: str, a: Any, b: Any, ranks: tuple[str, ...] | None) -> bool:
    if ranks is not None:
        a, b = ranks.index(a), ranks.index(b)
    elif isinstance(a, (int, float, Fraction)) and not isinstance(a, bool):
        a, b = Fraction(a), Fraction(b)
    return bool(COMPARISONS[op](a, b))  # the program's one table of comparisons


def _groups(partners: Mapping[str, set[str]]) -> dict[str, tuple[str, ...]]:
    """The facts compared with one another, in connected groups."""
    out: dict[str, tuple[str, ...]] = {}
    for start in partners:
        if start in out:
            continue
        group: list[str] = []
        todo = [start]
        while todo:
            n = todo.pop()
            if n in group:
                continue
            group.append(n)
            todo.extend(partners[n])
        for n in group:
            out[n] = tuple(group)
    return out


def _representatives(kind: str, constants: set[Any], size: int) -> tuple[Any, ...]:
    """Values that stand for every value of a date, number or text fact of a group of `size`
    facts compared with one another and with `constants`: each constant, and in each gap
    between them (and beyond them) `size + 1` points where the gap has room. Any two
    assignments of the group and its neighbours that differ in one fact embed, order kept,
    in these, so a comparison's outcome depends on a fact exactly when it does here."""
    room = size + 1
    if kind == "text":
        fresh: list[str] = []
        n = 0
        while len(fresh) < room:
            word = f"\x00other {n}"
            n += 1
            if word not in constants:
                fresh.append(word)
        return (*sorted(constants), *fresh)
    if kind == "number":
        points = sorted({Fraction(c) for c in constants})
        if not points:
            return tuple(Fraction(j) for j in range(room))
        out = [points[0] - j for j in range(room, 0, -1)]
        for a, b in itertools.pairwise(points):
            out.append(a)
            out.extend(a + (b - a) * j / (room + 1) for j in range(1, room + 1))
        out.append(points[-1])
        out.extend(points[-1] + j for j in range(1, room + 1))
        return tuple(out)
    days = sorted(constants)
    if not days:
        return tuple(datetime.date(2000, 1, 1) + datetime.timedelta(days=j) for j in range(room))
    one = datetime.timedelta(days=1)
    below: list[datetime.date] = []
    day = days[0]
    for _ in range(room):
        if day == datetime.date.min:
            break
        day -= one
        below.append(day)
    result: list[datetime.date] = list(reversed(below))
    for a, b in itertools.pairwise(days):
        result.append(a)
        day = a
        for _ in range(room):
            day += one
            if day >= b:
                break
            result.append(day)
    result.append(days[-1])
    day = days[-1]
    for _ in range(room):
        if day == datetime.date.max:
            break
        day += one
        result.append(day)
    return tuple(result)
