"""Whether conditions can hold together, asked by trying every value of the facts they read.

The checker uses it to find exceptions that can never apply and exceptions that can both
apply with different outcomes. Only facts with finitely many values (bools and enums) are
enumerated, each combination evaluated by the runtime's tree evaluator; a question about dates,
text, numbers or lists, or an outcome the law leaves open, answers None: cannot tell.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from ..runtime import Tree
from . import ir


class _Infinite(Exception):
    """The question involves a fact that cannot be enumerated."""


def _facts(
    expr: ir.Expr,
    elements: Mapping[str, ir.Element],
    doctrines: Mapping[str, ir.Doctrine],
    out: dict[str, ir.FactType],
    seen: set[str],
) -> None:
    def visit(tree: ir.Expr) -> None:
        for e in ir.walk(tree):
            if isinstance(e, ir.FactRef):
                out[e.name] = e.type
            elif isinstance(e, (ir.Quantified, ir.FieldRef, ir.Presence, ir.Open)):
                raise _Infinite  # an open outcome is neither true nor false: cannot tell
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
    trees = {key: el.expr for key, el in elements.items()}
    tests = {name: d.expr for name, d in doctrines.items()}
    try:
        for combo in itertools.product(*domains):
            tree = Tree(trees, tests, dict(zip(names, combo)))
            for e in exprs:
                value = tree.value(e)
                if value is None:
                    return None  # an outcome the law leaves open: neither true nor false
                if not value:
                    break
            else:
                return True
    except RecursionError:
        return None
    return False
