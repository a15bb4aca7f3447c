"""Two-valued evaluation of checked expressions, to ask whether conditions can hold together.

The checker uses it to find exceptions that can never apply and exceptions that can both
apply with different outcomes. Only facts with finitely many values (bools and enums) are
enumerated; a question about dates, text, numbers or lists answers None: cannot tell.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Mapping
from typing import Any

from . import ir

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


class _Infinite(Exception):
    """The question involves a fact that cannot be enumerated."""


def _facts(
    expr: ir.Expr,
    elements: Mapping[str, ir.Element],
    doctrines: Mapping[str, ir.Doctrine],
    out: dict[str, ir.FactType],
    seen: set[str],
) -> None:
    def visit(e: ir.Expr) -> None:
        if isinstance(e, ir.FactRef):
            out[e.name] = e.type
        elif isinstance(e, (ir.Quantified, ir.FieldRef, ir.Presence, ir.Open)):
            raise _Infinite  # an open outcome is neither true nor false: cannot tell
        elif isinstance(e, ir.Switch):
            visit(e.fact)
            for arm in e.arms:
                visit(arm.result)
            visit(e.otherwise)
        elif isinstance(e, (ir.And, ir.Or, ir.AtLeast)):
            for i in e.items:
                visit(i)
        elif isinstance(e, ir.Not):
            visit(e.item)
        elif isinstance(e, ir.Compare):
            visit(e.left)
            visit(e.right)
        elif isinstance(e, ir.Chain):
            for b in e.branches:
                visit(b.cond)
                visit(b.result)
        elif isinstance(e, ir.ElementRef) and e.key not in seen:
            seen.add(e.key)
            if e.key not in elements:
                raise _Infinite
            visit(elements[e.key].expr)
        elif isinstance(e, ir.DoctrineRef) and "d:" + e.name not in seen:
            seen.add("d:" + e.name)
            if e.name not in doctrines:
                raise _Infinite
            visit(doctrines[e.name].expr)

    visit(expr)


def evaluate(
    expr: ir.Expr,
    facts: Mapping[str, Any],
    elements: Mapping[str, ir.Element],
    doctrines: Mapping[str, ir.Doctrine],
) -> bool:
    """The value of `expr` when every fact it reads is known."""
    memo: dict[str, Any] = {}  # each element once: elements may use elements many times

    def value(e: ir.Expr) -> Any:
        if isinstance(e, ir.Const):
            return e.value
        if isinstance(e, ir.FactRef):
            return facts[e.name]
        if isinstance(e, ir.And):
            return all(value(i) for i in e.items)
        if isinstance(e, ir.Or):
            return any(value(i) for i in e.items)
        if isinstance(e, ir.Not):
            return not value(e.item)
        if isinstance(e, ir.AtLeast):
            return sum(1 for i in e.items if value(i)) >= e.count
        if isinstance(e, ir.Compare):
            left, right = value(e.left), value(e.right)
            if e.type.kind == "scale":
                left, right = e.type.values.index(left), e.type.values.index(right)
            return _OPS[e.op](left, right)
        if isinstance(e, ir.Chain):
            for b in e.branches:
                if value(b.cond):
                    return value(b.result)
            if isinstance(e.default, ir.Open):
                raise _Infinite
            return e.default
        if isinstance(e, ir.Switch):
            chosen = facts[e.fact.name]
            for arm in e.arms:
                if arm.value.value == chosen:
                    return value(arm.result)
            return value(e.otherwise)
        if isinstance(e, ir.ElementRef):
            if e.key not in memo:
                memo[e.key] = value(elements[e.key].expr)
            return memo[e.key]
        if isinstance(e, ir.DoctrineRef):
            if "d:" + e.name not in memo:
                memo["d:" + e.name] = value(doctrines[e.name].expr)
            return memo["d:" + e.name]
        raise _Infinite

    return bool(value(expr))


def satisfiable(
    exprs: list[ir.Expr],
    elements: Mapping[str, ir.Element],
    doctrines: Mapping[str, ir.Doctrine],
    limit: int = 1 << 14,
) -> bool | None:
    """Whether some facts make every expression true; None when that cannot be told."""
    types: dict[str, ir.FactType] = {}
    try:
        for e in exprs:
            _facts(e, elements, doctrines, types, set())
    except _Infinite:
        return None
    domains: list[tuple[Any, ...]] = []
    size = 1
    for t in types.values():
        if t.kind == "bool":
            domains.append((True, False))
        elif t.kind in ("enum", "scale"):
            domains.append(t.values)
        else:
            return None
        size *= len(domains[-1])
        if size > limit:
            return None
    names = list(types)
    try:
        for combo in itertools.product(*domains):
            facts = dict(zip(names, combo))
            if all(evaluate(e, facts, elements, doctrines) for e in exprs):
                return True
    except (_Infinite, RecursionError):
        return None
    return False
