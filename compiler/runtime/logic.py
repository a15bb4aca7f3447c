"""Three-valued logic: the primitives generated code and the tree evaluator both use.

True, False and None (unknown), as Kleene reads them; ABSENT for an optional field a record
leaves out; and the pending outcome of a rule with exceptions (OPEN, `merge`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["ABSENT", "OPEN", "Truth", "at_least", "every", "merge", "some"]

Truth = bool | None


class _Absent:
    """An optional field a record leaves out: known not to be there, unlike an unknown fact."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "ABSENT"

    def __reduce__(self) -> str:
        return "ABSENT"


ABSENT = _Absent()


def some(items: Iterable[Any], test: Callable[[Any], Truth]) -> Truth:
    """True if the test holds for some item; None if it may; False if for none."""
    result: Truth = False
    for item in items:
        value = test(item)
        if value:
            return True
        if value is None:
            result = None
    return result


def every(items: Iterable[Any], test: Callable[[Any], Truth]) -> Truth:
    """True if the test holds for every item; None if it may; False if it fails for one."""
    result: Truth = True
    for item in items:
        value = test(item)
        if value is False:
            return False
        if value is None:
            result = None
    return result


def at_least(count: int, values: tuple[Truth, ...]) -> Truth:
    """True when `count` values are true, False when too few can be, None otherwise."""
    true = sum(1 for v in values if v is True)
    if true >= count:
        return True
    unknown = sum(1 for v in values if v is None)
    return None if true + unknown >= count else False


class _Open:
    """No branch of a rule has possibly applied yet."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "OPEN"


OPEN = _Open()


def merge(pending: Any, value: Truth) -> Truth:
    """Join the outcomes a rule may have: the same value if every way agrees, else unknown."""
    if pending is OPEN:
        return value
    return pending if pending is value else None
