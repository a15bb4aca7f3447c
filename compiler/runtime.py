"""The small runtime that compiled doctrines import: fact checking, three-valued helpers, results.

It needs nothing but the standard library, so a compiled module runs wherever this file does.
"""

from __future__ import annotations

import datetime
import itertools
import math
import re
from collections.abc import Callable, Iterable, Mapping
from difflib import get_close_matches
from typing import Any

__all__ = [
    "ABSENT",
    "OPEN",
    "Evaluator",
    "FactsError",
    "Result",
    "Schema",
    "at_least",
    "every",
    "merge",
    "some",
    "value_problem",
]

Truth = bool | None


class _Absent:
    """An optional field a record leaves out: known not to be there, unlike an unknown fact."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "ABSENT"

    def __reduce__(self) -> str:
        return "ABSENT"


ABSENT = _Absent()
# Markers of fact kinds for the quick path of Schema.validate (_OTHER: always the full check).
_BOOL, _TEXT, _DATE, _OTHER = object(), object(), object(), object()


class FactsError(ValueError):
    """The facts of a case do not fit the doctrine's vocabulary; one line per problem."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


# Beyond this many completions, `missing` keeps the facts on the unknown paths as they are.
_ENUMERATION_LIMIT = 4096
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_KIND_WORDS = {
    "bool": "true or false",
    "date": "a date (YYYY-MM-DD)",
    "text": "text",
    "number": "a number",
}


def _show(value: object) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    return repr(value) if isinstance(value, (int, float)) else type(value).__name__


def _close(word: object, options: Iterable[str]) -> str:
    if not isinstance(word, str):
        return ""
    close = get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def _convert(kind: str, spec: Any, value: Any) -> tuple[Any, str | None]:
    """The value in the runtime's form, or a problem saying what was expected."""
    if kind == "bool":
        return (
            (value, None)
            if isinstance(value, bool)
            else (None, f"expected true or false, got {_show(value)}")
        )
    if kind in ("enum", "scale"):
        if isinstance(value, str) and value in spec:
            return value, None
        return None, f"expected one of {', '.join(spec)}, got {_show(value)}{_close(value, spec)}"
    if kind == "date":
        if isinstance(value, datetime.datetime):
            return None, f"expected a date (YYYY-MM-DD), got a date and time {value.isoformat()}"
        if isinstance(value, datetime.date):
            return value, None
        if isinstance(value, str) and _ISO_DATE.fullmatch(value):
            try:
                return datetime.date.fromisoformat(value), None
            except ValueError:
                return None, f"{value!r} is not a calendar date"
        return None, f"expected a date (YYYY-MM-DD), got {_show(value)}"
    if kind == "text":
        return (
            (value, None)
            if isinstance(value, str)
            else (None, f"expected text, got {_show(value)}")
        )
    if kind == "number":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if isinstance(value, float) and not math.isfinite(value):
                return None, f"expected a finite number, got {value!r}"
            return value, None
        return None, f"expected a number, got {_show(value)}"
    if kind == "list":
        if not isinstance(value, (list, tuple)):
            return None, f"expected a list of records, got {_show(value)}"
        items = []
        for i, item in enumerate(value, 1):
            record, problem = _record(spec, item)
            if problem:
                return None, f"item {i}: {problem}"
            items.append(record)
        return tuple(items), None
    raise AssertionError(f"unknown kind {kind}")


def _record(fields: tuple[tuple[str, str, Any, bool], ...], item: Any) -> tuple[Any, str | None]:
    if not isinstance(item, Mapping):
        return None, f"expected a record (a mapping of fields), got {_show(item)}"
    names = [f[0] for f in fields]
    for key in item:
        if key not in names:
            return (
                None,
                f"unknown field {_show(key)}{_close(key, names)}; fields are {', '.join(names)}",
            )
    out: dict[str, Any] = {}
    for name, kind, spec, optional in fields:
        if name not in item or item[name] is None:
            if optional:
                out[name] = ABSENT
                continue
            return None, f"field '{name}' is required"
        value, problem = _convert(kind, spec, item[name])
        if problem:
            return None, f"field '{name}': {problem}"
        out[name] = value
    return out, None


def value_problem(kind: str, spec: Any, value: Any) -> str | None:
    """What is wrong with `value` as a fact of this type, or None if it fits."""
    return _convert(kind, spec, value)[1]


class Schema:
    """A doctrine's vocabulary: (name, kind, spec) for each fact it accepts."""

    __slots__ = ("_blank", "_quick", "facts", "names")

    def __init__(self, facts: tuple[tuple[str, str, Any], ...]):
        self.facts = {name: (kind, spec) for name, kind, spec in facts}
        self.names = tuple(self.facts)
        self._blank = dict.fromkeys(self.names)
        # For the quick path of `validate`: what each fact takes as it is, without conversion.
        self._quick: dict[str, Any] = {}
        for name, (kind, spec) in self.facts.items():
            if kind == "bool":
                self._quick[name] = _BOOL
            elif kind in ("enum", "scale"):
                self._quick[name] = frozenset(spec)
            else:
                self._quick[name] = {"text": _TEXT, "date": _DATE}.get(kind, _OTHER)

    def validate(self, facts: Mapping[str, Any]) -> dict[str, Any]:
        """The facts as the evaluator reads them, every name present, None where unknown."""
        if facts.__class__ is not dict and not isinstance(facts, Mapping):
            raise FactsError(
                [f"facts: expected a mapping of fact names to values, got {_show(facts)}"]
            )
        # The quick path: bools, words of an enum, text and dates, all taken as they are. It
        # accepts nothing the full check would not, and leaves anything else to it.
        quick = self._quick
        try:
            for name, value in facts.items():
                ok = quick[name]
                if ok is _BOOL:
                    if value is True or value is False or value is None:
                        continue
                elif ok.__class__ is frozenset:
                    if value is None or (value.__class__ is str and value in ok):
                        continue
                elif value is None:
                    continue
                elif ok is _TEXT:
                    if value.__class__ is str:
                        continue
                elif ok is _DATE and value.__class__ is datetime.date:
                    continue
                return self._validate(facts)
        except (KeyError, TypeError):  # a name outside the vocabulary (or not even hashable)
            return self._validate(facts)
        return {**self._blank, **facts}

    def _validate(self, facts: Mapping[str, Any]) -> dict[str, Any]:
        out = self._blank.copy()
        problems = []
        for name, value in facts.items():
            entry = self.facts.get(name) if isinstance(name, str) else None
            if entry is None:
                problems.append(
                    f"fact {_show(name)}: not in the vocabulary{_close(name, self.names)}"
                )
                continue
            if value is None:
                continue
            converted, problem = _convert(entry[0], entry[1], value)
            if problem:
                problems.append(f"fact '{name}': {problem}")
            else:
                out[name] = converted
        if problems:
            raise FactsError(problems)
        return out


# ---------------------------------------------------------------- three-valued helpers


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


# ---------------------------------------------------------------- results


class Result:
    """The outcome of a doctrine on one set of facts, with each element and what is missing."""

    __slots__ = ("doctrine", "elements", "evaluator", "facts", "holds", "missing")

    def __init__(
        self,
        evaluator: Evaluator,
        holds: Truth,
        elements: dict[str, Truth],
        missing: tuple[str, ...],
        facts: dict[str, Any],
    ):
        self.evaluator = evaluator
        self.doctrine = evaluator.name
        self.holds = holds
        self.elements = elements
        self.missing = missing
        self.facts = facts

    def as_dict(self) -> dict[str, Any]:
        """The result as the contract's JSON object."""
        return {
            "doctrine": self.doctrine,
            "holds": self.holds,
            "elements": dict(self.elements),
            "missing": list(self.missing),
        }

    def __repr__(self) -> str:
        return f"<Result {self.doctrine} holds={self.holds} missing={list(self.missing)}>"


class Evaluator:
    """One compiled doctrine: its schema, its element labels and its generated functions."""

    __slots__ = (
        "_check",
        "_holds",
        "_missing",
        "_values",
        "closed",
        "info",
        "labels",
        "name",
        "schema",
    )

    def __init__(
        self,
        name: str,
        labels: tuple[str, ...],
        schema: Schema,
        values: Callable[[dict[str, Any]], tuple[Truth, Any]],
        holds: Callable[[dict[str, Any]], Truth],
        missing: Callable[[dict[str, Any], set[str]], None],
        info: Mapping[str, Any],
        closed: tuple[str, ...] = (),
    ):
        self.name = name
        self.closed = closed
        self.labels = labels
        self.schema = schema
        self._values = values
        self._holds = holds
        self._missing = missing
        self.info = info
        # The facts in runtime form: checked only, unless a closed world fills absent bools.
        self._check = self.prepare if closed else schema.validate

    def prepare(self, facts: Mapping[str, Any]) -> dict[str, Any]:
        """The facts checked and in runtime form; under a closed world, absent bools are false."""
        f = self.schema.validate(facts)
        for name in self.closed:
            if f[name] is None:
                f[name] = False
        return f

    def evaluate(self, facts: Mapping[str, Any]) -> Result:
        """Check the facts and evaluate every element and the doctrine."""
        f = self._check(facts)
        holds, values = self._values(f)
        missing: tuple[str, ...] = ()
        if holds is None:
            found: set[str] = set()
            self._missing(f, found)
            missing = tuple(sorted(self._could_change(f, found)))
        # Generated modules give the elements as a dict of labels; older ones as a tuple.
        elements = values if values.__class__ is dict else dict(zip(self.labels, values))
        return Result(self, holds, elements, missing, f)

    def _could_change(self, f: dict[str, Any], candidates: set[str]) -> set[str]:
        """Of the unknown facts found along the unknown paths, those that can change the outcome.

        The paths over-approximate (in `(a and b) or (a and c)` with `b` true, `c` lies on an
        unknown path yet cannot matter), so when the candidates are few bools and enums, every
        completion is tried and a fact is kept only if changing it alone changes the outcome.
        """
        names = sorted(candidates)
        domains: list[tuple[Any, ...]] = []
        size = 1
        for name in names:
            kind, spec = self.schema.facts[name]
            if kind == "bool":
                domains.append((True, False))
            elif kind in ("enum", "scale"):
                domains.append(tuple(spec))
            else:
                return candidates  # a date, text, number or list cannot be enumerated
            size *= len(domains[-1])
            if size > _ENUMERATION_LIMIT:
                return candidates
        outcomes: dict[tuple[Any, ...], Truth] = {}
        for combo in itertools.product(*domains):
            g = dict(f)
            g.update(zip(names, combo))
            outcomes[combo] = self._holds(g)
        relevant: set[str] = set()
        for i, name in enumerate(names):
            for combo, outcome in outcomes.items():
                if any(
                    outcomes[(*combo[:i], alt, *combo[i + 1 :])] != outcome
                    for alt in domains[i]
                    if alt != combo[i]
                ):
                    relevant.add(name)
                    break
        return relevant

    def holds(self, facts: Mapping[str, Any], *, validate: bool = True) -> Truth:
        """The outcome alone. With validate=False the facts must already be in runtime form
        (every fact present, None when unknown, dates as `date`): the fast path for batches."""
        return self._holds(self._check(facts) if validate else facts)  # type: ignore[arg-type]
