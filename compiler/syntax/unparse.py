"""Writes expressions back as doctrine source, in one canonical spelling."""

from __future__ import annotations

import datetime

from . import nodes as n

_PRECEDENCE = {n.Quantified: 0, n.Or: 1, n.And: 2, n.Not: 3}


def quote(text: str) -> str:
    """A string literal for `text`, escaped as the grammar reads it back."""
    escaped = (
        text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    )
    return f'"{escaped}"'


def literal(value: object) -> str:
    """A literal value as the language spells it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def unparse(e: n.Expr, parent: int = 0) -> str:
    """The expression as source text, parenthesised only where precedence needs it."""
    level = _PRECEDENCE.get(type(e), 4)
    if isinstance(e, n.Name):
        text = e.id
    elif isinstance(e, n.Field):
        text = f"{e.var}.{e.field}"
    elif isinstance(e, n.Literal_):
        text = literal(e.value)
    elif isinstance(e, n.Or):
        text = " or ".join(unparse(i, level + 1) for i in e.items)
    elif isinstance(e, n.And):
        text = " and ".join(unparse(i, level + 1) for i in e.items)
    elif isinstance(e, n.Not):
        text = f"not {unparse(e.item, level)}"
    elif isinstance(e, n.AtLeast):
        text = f"at least {e.count} of (" + ", ".join(unparse(i) for i in e.items) + ")"
    elif isinstance(e, n.Compare):
        op = {"==": "is", "!=": "is not"}.get(e.op, e.op) if isinstance(e.right, n.Name) else e.op
        text = f"{unparse(e.left, 5)} {op} {unparse(e.right, 5)}"
    elif isinstance(e, n.Presence):
        text = f"{unparse(e.operand, 5)} is {'present' if e.present else 'absent'}"
    elif isinstance(e, n.Quantified):
        text = f"{e.quantifier} {e.var} in {e.collection.id} where {unparse(e.body)}"
    else:
        raise AssertionError(f"unexpected node {e!r}")
    return f"({text})" if level < parent and level < 4 else text
