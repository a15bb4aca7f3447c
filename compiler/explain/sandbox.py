"""Jinja's sandbox with bounds on what a user's template may build and how long it may run.

Jinja's sandbox stops a template reaching Python's internals, but not exhausting memory or
time: `''.ljust(10**9)`, `(9**64)**64`, `'%0999999999d' % 1`, a string doubled in a loop, or
nested `range(100000)` loops. A C-level operation cannot be interrupted once started, so every
operation that can build a large value is checked *before* it runs, from the sizes of its
operands; and the work of a render is counted (loop iterations and calls) against a budget.
Going over a bound is a `jinja2.exceptions.SecurityError` that names the operation.
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

__all__ = ["MAX_OUTPUT", "MAX_SIZE", "MAX_STEPS", "BoundedSandbox", "budget"]

MAX_SIZE = 1_000_000
"""The longest string, list or text a template may build in one operation (characters, items)."""

MAX_BITS = 4096 * 8
"""The largest whole number a template may build, in bits (about 9,900 digits)."""

MAX_STEPS = 2_000_000
"""Loop iterations, calls and filters one render may take, all together."""

MAX_OUTPUT = 16 * 1024 * 1024
"""The longest document a user's template may write (characters)."""

_steps: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "template_steps", default=None
)


class budget:
    """The work one render may do: `with budget(): ...` around the rendering."""

    def __enter__(self) -> None:
        self._token = _steps.set([MAX_STEPS])

    def __exit__(self, *exc: object) -> None:
        _steps.reset(self._token)


def _step(count: int = 1) -> None:
    left = _steps.get()
    if left is None:
        return
    left[0] -= count
    if left[0] < 0:
        raise SecurityError(
            f"the template does more than {MAX_STEPS:,} steps (loops, calls and filters)"
        )


def _size(value: Any, limit: int = MAX_SIZE) -> int:
    """How long a value would print: characters, items and digits, counted through lists and
    dicts (a list holding one long string a million times is long), but no further than just
    past `limit`, so that the count itself stays cheap."""
    total = 0
    stack = [value]
    while stack and total <= limit:
        item = stack.pop()
        if isinstance(item, (str, bytes)):
            total += len(item)
        elif isinstance(item, (list, tuple, set, frozenset)):
            total += len(item)
            stack.extend(list(item)[: limit + 1])
        elif isinstance(item, dict):
            total += len(item)
            stack.extend(list(item.items())[: limit + 1])
        elif isinstance(item, int) and not isinstance(item, bool):
            total += item.bit_length() // 3 + 1  # about the digits it prints as
        else:
            total += 1
    return total


def _refuse(what: str) -> SecurityError:
    return SecurityError(f"{what} would be too large for a template (the bound is {MAX_SIZE:,})")


def _check_int(value: Any, what: str) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SIZE:
        raise _refuse(f"{what} with {value}")


_WIDTH = re.compile(r"\d{7,}")  # a width or precision of a million or more in a format


def _check_format(spec: Any, what: str) -> None:
    if isinstance(spec, str):
        for digits in _WIDTH.findall(spec):
            if int(digits) > MAX_SIZE:
                raise _refuse(f"{what} with a width of {digits}")


def _check_call(name: str, obj: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    """Refuse a call that would build a value past the bounds, judged from its arguments.

    `obj` is the string, list or value a method is called on (None for a plain function).
    """
    for value in (*args, *kwargs.values()):
        _check_int(value, name)
    if isinstance(obj, str):
        if name == "expandtabs":
            size = args[0] if args else kwargs.get("tabsize", 8)
            if isinstance(size, int) and obj.count("\t") * size + len(obj) > MAX_SIZE:
                raise _refuse("expandtabs")
        elif name == "replace" and len(args) >= 2:
            old, new = str(args[0]), str(args[1])
            count = obj.count(old) if old else len(obj) + 1
            if len(obj) + count * len(new) > MAX_SIZE:
                raise _refuse("replace")
        elif name == "join":
            parts = args[0] if args else ()
            if isinstance(parts, (list, tuple)):
                total = sum(_size(p) for p in parts) + len(obj) * len(parts)
                if total > MAX_SIZE:
                    raise _refuse("join")
        elif name in ("format", "format_map"):
            _check_format(obj, name)
            for value in (*args, *kwargs.values()):
                if _size(value) > MAX_SIZE:
                    raise _refuse(name)


class BoundedSandbox(SandboxedEnvironment):
    """Jinja's sandbox, with every operation that can build a large value checked first, the
    render's work counted, and the length of what it writes bounded (see `render_bounded`)."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.globals["range"] = self._range
        lipsum: Callable[..., Any] = self.globals["lipsum"]  # type: ignore[assignment]

        def bounded_lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> Any:
            # Up to n * max words of about seven characters each.
            if n * max * 8 > MAX_SIZE:
                raise _refuse(f"lipsum of {n} paragraphs of up to {max} words")
            return lipsum(n=n, html=html, min=min, max=max)

        self.globals["lipsum"] = bounded_lipsum
        self.filters = {name: _bounded_filter(name, f) for name, f in self.filters.items()}
        self.filters["_bounded_iter"] = _bounded_iter
        self.filters["_bounded_concat"] = _bounded_concat
        self.finalize = _bounded_output

    def add_filters(self, filters: Mapping[str, Callable[..., Any]]) -> None:
        """Add filters of our own, bounded like Jinja's."""
        self.filters.update({name: _bounded_filter(name, f) for name, f in filters.items()})

    def _range(self, *args: int) -> Iterator[int]:
        for value in args:
            _check_int(value, "range")
        rng = range(*args)
        if len(rng) > MAX_SIZE:
            raise _refuse(f"a range of {len(rng):,} numbers")
        return iter(rng)

    def call_binop(self, context: Any, operator_: str, left: Any, right: Any) -> Any:
        _step()
        whole = isinstance(left, int) and isinstance(right, int)
        if operator_ == "**" and whole and right > 0 and abs(left) > 1:
            # Floats overflow at once (an error, not a long computation); whole numbers grow.
            if abs(left).bit_length() * right > MAX_BITS:
                raise _refuse("`**`")
        elif operator_ == "*":
            for seq, count in ((left, right), (right, left)):
                sized = isinstance(seq, (str, list, tuple)) and isinstance(count, int)
                if sized and _size(seq) * count > MAX_SIZE:
                    raise _refuse("`*` of a sequence")
            if (
                isinstance(left, int)
                and isinstance(right, int)
                and left.bit_length() + right.bit_length() > MAX_BITS
            ):
                raise _refuse("`*` of two numbers")
        elif operator_ == "+":
            if isinstance(left, (str, list, tuple)) and _size(left) + _size(right) > MAX_SIZE:
                raise _refuse("`+`")
        elif operator_ == "%" and isinstance(left, str):
            _check_format(left, "`%` formatting")
            for value in right if isinstance(right, (tuple, list)) else (right,):
                if _size(value) > MAX_SIZE:
                    raise _refuse("`%` formatting")
        return super().call_binop(context, operator_, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _step()
        name = getattr(__obj, "__name__", "")
        _check_call(name, getattr(__obj, "__self__", None), args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        # Every `for` counts its iterations, and every `~` checks the length it would join.
        for loop in tree.find_all(nodes.For):
            loop.iter = nodes.Filter(loop.iter, "_bounded_iter", [], [], None, None)
        for concat in list(tree.find_all(nodes.Concat)):
            concat.nodes = [
                nodes.Filter(nodes.List(list(concat.nodes)), "_bounded_concat", [], [], None, None)
            ]
        return tree


def _bounded_iter(items: Iterable[Any]) -> Iterator[Any]:
    for item in items:
        _step()
        yield item


def _bounded_concat(parts: list[Any]) -> str:
    if sum(_size(p) for p in parts) > MAX_SIZE:
        raise _refuse("`~`")
    return "".join(str(p) for p in parts)


def _bounded_output(value: Any) -> Any:
    """Every `{{ ... }}` passes here before it is turned into text."""
    if _size(value) > MAX_SIZE:
        raise _refuse("the text of a `{{ }}` expression")
    return value


# Filters whose result grows with a number argument or a count of lines, and how big.
_GROWTH: dict[str, Callable[[Any, tuple[Any, ...], Mapping[str, Any]], int]] = {
    "indent": lambda s, a, k: (
        len(str(s)) + (str(s).count("\n") + 1) * _as_int(a[0] if a else k.get("width", 4))
    ),
    "center": lambda s, a, k: max(len(str(s)), _as_int(a[0] if a else k.get("width", 80))),
    "wordwrap": lambda s, a, k: len(str(s)) * 2,
    "replace": lambda s, a, k: (
        len(str(s))
        + (str(s).count(str(a[0])) if a and str(a[0]) else len(str(s)) + 1)
        * (len(str(a[1])) if len(a) > 1 else 0)
    ),
    "format": lambda s, a, k: len(str(s)) + sum(_size(v) for v in (*a, *k.values())),
    "join": lambda s, a, k: sum(_size(v) for v in s) * 2 if isinstance(s, (list, tuple)) else 0,
}


def _as_int(value: Any) -> int:
    return len(value) if isinstance(value, str) else value if isinstance(value, int) else 0


def _bounded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """A filter that counts as a step and refuses, before it runs, a result past the bounds."""
    pass_arg = getattr(function, "jinja_pass_arg", None)

    def bounded(*args: Any, **kwargs: Any) -> Any:
        _step()
        plain = args[1:] if pass_arg is not None else args
        value, rest = (plain[0], plain[1:]) if plain else (None, ())
        for arg in (*rest, *kwargs.values()):
            _check_int(arg, f"the {name} filter")
        if name == "format":
            _check_format(value, "the format filter")
        grow = _GROWTH.get(name)
        if grow is not None and value is not None and grow(value, rest, kwargs) > MAX_SIZE:
            raise _refuse(f"the {name} filter")
        return function(*args, **kwargs)

    if pass_arg is not None:
        bounded.jinja_pass_arg = pass_arg  # type: ignore[attr-defined]
    bounded.__name__ = getattr(function, "__name__", name)
    return bounded


def render_bounded(template: jinja2.Template, data: Mapping[str, Any]) -> str:
    """Render under a step budget, refusing output past MAX_OUTPUT characters."""
    out: list[str] = []
    total = 0
    with budget():
        for chunk in template.generate(**data):
            total += len(chunk)
            if total > MAX_OUTPUT:
                raise SecurityError(
                    f"the template writes more than {MAX_OUTPUT // (1024 * 1024)} MB"
                )
            out.append(chunk)
    return "".join(out)
