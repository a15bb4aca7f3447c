"""`ast.unparse`, faster, for the modules code generation builds.

`ast.unparse` spends most of its time on the nesting of contexts that decides where
parentheses go. This module writes the expressions of a generated module itself, taking the
same decisions in the same order (down to the precedence it remembers for each node), and
hands the statements, with each expression written in as a name, to `ast.unparse`. The text is
the same, byte for byte (tests/test_pysource.py checks it on the library and on generated
projects); a tree with any node this module does not know is given to `ast.unparse` whole.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["unparse"]

# ast._Precedence, as numbers.
NAMED_EXPR, TUPLE, YIELD, TEST, OR, AND, NOT, CMP, EXPR = range(1, 10)
ARITH, FACTOR, ATOM = 13, 15, 18

_INFSTR = "1e" + repr(sys.float_info.max_10_exp + 1)
_CMP = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.In: "in",
    ast.NotIn: "not in",
}
_BINARY = {ast.Add: "+", ast.Sub: "-"}  # left-associative, as generated code writes them
_UNARY = {ast.Not: ("not", NOT), ast.Invert: ("~", FACTOR), ast.UAdd: ("+", FACTOR)}
_UNARY[ast.USub] = ("-", FACTOR)


class _Unknown(Exception):
    """A node this module does not write: the whole tree goes to `ast.unparse`."""


def _constant(value: Any) -> str:
    if isinstance(value, (float, complex)):
        return repr(value).replace("inf", _INFSTR).replace("nan", f"({_INFSTR}-{_INFSTR})")
    return repr(value)


class _Writer:
    def __init__(self) -> None:
        self.precedence: dict[ast.AST, int] = {}  # as ast._Unparser remembers it, per node
        self.done: list[tuple[Any, str, int | None, str]] = []

    def set(self, level: int, *nodes: ast.AST) -> None:
        for node in nodes:
            self.precedence[node] = level

    def items(self, items: list[Any], write: Callable[[Any], str]) -> str:
        if len(items) == 1:
            return write(items[0]) + ","
        return ", ".join([write(item) for item in items])

    def expr(self, node: Any) -> str:
        kind = type(node)
        if kind is ast.Name:
            return str(node.id)
        level = self.precedence.get(node, TEST)
        if kind is ast.Constant:
            value = node.value
            if isinstance(value, tuple):
                return "(" + self.items(list(value), _constant) + ")"
            if value is ...:
                return "..."
            return ("u" if node.kind == "u" else "") + _constant(value)
        if kind is ast.IfExp:
            self.set(OR, node.body, node.test)
            body = self.expr(node.body)
            test = self.expr(node.test)
            self.set(TEST, node.orelse)
            text = f"{body} if {test} else {self.expr(node.orelse)}"
            return f"({text})" if level > TEST else text
        if kind is ast.Compare:
            self.set(CMP + 1, node.left, *node.comparators)
            parts = [self.expr(node.left)]
            for op, right in zip(node.ops, node.comparators):
                parts.append(_CMP[type(op)])
                parts.append(self.expr(right))
            text = " ".join(parts)
            return f"({text})" if level > CMP else text
        if kind is ast.BoolOp:
            word, own = ("and", AND) if type(node.op) is ast.And else ("or", OR)
            step = own
            values = []
            for value in node.values:
                step = min(step + 1, ATOM)
                self.set(step, value)
                values.append(self.expr(value))
            text = f" {word} ".join(values)
            return f"({text})" if level > own else text
        if kind is ast.BinOp:
            symbol = _BINARY.get(type(node.op))
            if symbol is None:
                raise _Unknown
            self.set(ARITH, node.left)
            self.set(ARITH + 1, node.right)
            text = f"{self.expr(node.left)} {symbol} {self.expr(node.right)}"
            return f"({text})" if level > ARITH else text
        if kind is ast.UnaryOp:
            word, own = _UNARY[type(node.op)]
            self.set(own, node.operand)
            text = word + (" " if own != FACTOR else "") + self.expr(node.operand)
            return f"({text})" if level > own else text
        if kind is ast.NamedExpr:
            self.set(ATOM, node.target, node.value)
            text = f"{self.expr(node.target)} := {self.expr(node.value)}"
            return f"({text})" if level > NAMED_EXPR else text
        if kind is ast.Call:
            if node.keywords:
                raise _Unknown
            self.set(ATOM, node.func)
            func = self.expr(node.func)
            return func + "(" + ", ".join([self.expr(a) for a in node.args]) + ")"
        if kind is ast.Attribute:
            self.set(ATOM, node.value)
            value = self.expr(node.value)
            gap = (
                " "
                if type(node.value) is ast.Constant and isinstance(node.value.value, int)
                else ""
            )
            return f"{value}{gap}.{node.attr}"
        if kind is ast.Subscript:
            self.set(ATOM, node.value)
            value = self.expr(node.value)
            index = node.slice
            if type(index) is ast.Tuple and index.elts:
                return value + "[" + self.items(index.elts, self.expr) + "]"
            return value + "[" + self.expr(index) + "]"
        if kind is ast.Tuple:
            text = self.items(node.elts, self.expr)
            return f"({text})" if not node.elts or level > TUPLE else text
        if kind is ast.Dict:
            pairs = []
            for key, value in zip(node.keys, node.values):
                if key is None:
                    self.set(EXPR, value)
                    pairs.append("**" + self.expr(value))
                else:
                    pairs.append(f"{self.expr(key)}: {self.expr(value)}")
            return "{" + ", ".join(pairs) + "}"
        if kind is ast.Set:
            if not node.elts:
                return "{*()}"
            return "{" + ", ".join([self.expr(e) for e in node.elts]) + "}"
        if kind is ast.Lambda:
            a = node.args
            if a.posonlyargs or a.vararg or a.kwonlyargs or a.kwarg or a.defaults:
                raise _Unknown
            if any(arg.annotation for arg in a.args):
                raise _Unknown
            names = ", ".join(arg.arg for arg in a.args)
            self.set(TEST, node.body)
            text = "lambda" + (" " + names if names else "") + ": " + self.expr(node.body)
            return f"({text})" if level > TEST else text
        raise _Unknown

    def put(self, owner: Any, field: str, index: int | None, node: Any) -> None:
        self.done.append((owner, field, index, self.expr(node)))

    def body(self, statements: list[ast.stmt], docstring: bool) -> None:
        for i, s in enumerate(statements):
            if (
                i == 0
                and docstring
                and type(s) is ast.Expr
                and type(s.value) is ast.Constant
                and isinstance(s.value.value, str)
            ):
                continue  # a docstring: ast.unparse writes it in its own way
            self.statement(s)

    def statement(self, s: ast.stmt) -> None:
        if isinstance(s, ast.FunctionDef):
            a = s.args
            if s.decorator_list or s.returns or a.posonlyargs or a.vararg or a.kwonlyargs:
                raise _Unknown
            if a.kwarg or any(arg.annotation for arg in a.args):
                raise _Unknown
            for i, default in enumerate(a.defaults):
                self.put(a.defaults, "", i, default)
            self.body(s.body, docstring=True)
        elif isinstance(s, ast.Return):
            if s.value is not None:
                self.put(s, "value", None, s.value)
        elif isinstance(s, ast.Assign):
            for target in s.targets:
                self.set(TUPLE, target)
                self.expr(target)
            self.put(s, "value", None, s.value)
        elif isinstance(s, ast.Expr):
            self.set(YIELD, s.value)
            self.put(s, "value", None, s.value)
        elif isinstance(s, ast.If):
            self.put(s, "test", None, s.test)
            self.body(s.body, docstring=False)
            self.body(s.orelse, docstring=False)
        elif isinstance(s, ast.Try):
            self.body(s.body, docstring=False)
            for handler in s.handlers:
                if handler.type is not None:
                    self.put(handler, "type", None, handler.type)
                self.body(handler.body, docstring=False)
            self.body(s.orelse, docstring=False)
            self.body(s.finalbody, docstring=False)
        elif isinstance(s, ast.For):
            self.set(TUPLE, s.target)
            self.put(s, "target", None, s.target)
            self.put(s, "iter", None, s.iter)
            self.body(s.body, docstring=False)
            self.body(s.orelse, docstring=False)
        elif not isinstance(s, (ast.Pass, ast.Import, ast.ImportFrom)):
            raise _Unknown


def unparse(module: ast.Module) -> str:
    """The source of `module`, as `ast.unparse(module)` writes it. Replaces the expressions of
    the tree's statements with names holding their text: use a tree once."""
    writer = _Writer()
    try:
        writer.body(module.body, docstring=True)
    except _Unknown:
        return ast.unparse(module)
    for owner, field, index, text in writer.done:
        name = ast.Name(id=text, ctx=ast.Load())
        if index is None:
            setattr(owner, field, name)
        else:
            owner[index] = name
    return ast.unparse(module)
