"""The small runtime that compiled doctrines import: fact checking, three-valued helpers, results.

It needs nothing but the standard library, so a compiled module runs wherever this file does.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NoReturn

from . import program
from .logic import ABSENT, OPEN, Truth, at_least, every, merge, some
from .tree import Tree

__all__ = [
    "ABSENT",
    "OPEN",
    "DoctrineException",
    "Evaluator",
    "FactsError",
    "IncompatibleModule",
    "NoDoctrine",
    "Reason",
    "Result",
    "Schema",
    "Tree",
    "at_least",
    "every",
    "merge",
    "program",
    "require_format",
    "some",
    "value_problem",
]

# Every element decided: a set test in C is cheaper than `None in` (which compares by ==).
_DECIDED = frozenset((True, False))

# Markers of fact kinds for the quick path of Schema.validate (_OTHER: always the full check).
_BOOL, _TEXT, _DATE, _OTHER = object(), object(), object(), object()


class DoctrineException(Exception):
    """The base of every exception the doctrine package raises on purpose.

    It lives here, in the layer compiled modules import, so that `FactsError` has it too;
    `compiler.errors.DoctrineException` is the same class.
    """


class FactsError(DoctrineException, ValueError):
    """The facts of a case do not fit the doctrine's vocabulary; one line per problem."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class IncompatibleModule(DoctrineException, ImportError):
    """A compiled module whose program tree has another shape than this runtime's: it was
    compiled by another version of doctrine and must be compiled again."""


class NoDoctrine(DoctrineException, LookupError):
    """`evaluate` or `holds` called on a module that declares no doctrine (only facts and
    elements, say): there is no test to apply."""


def no_doctrine(module: str) -> NoReturn:
    """What a compiled module without a doctrine answers to `evaluate` and `holds`."""
    raise NoDoctrine(
        f"module {module!r} declares no doctrine, so there is no test to evaluate: add"
        " `doctrine NAME { ... }`, or evaluate a module that imports this one"
    )


def require_format(format: int, version: str, module: str) -> None:
    """Refuse, on import, a module compiled for another format of the program tree.

    Generated modules call this before they build any node, so a mismatch is reported as
    what it is rather than as a failure inside the module.
    """
    if format != program.FORMAT:
        raise IncompatibleModule(
            f"{module} was compiled by doctrine {version} (program format {format}), but this"
            f" runtime reads program format {program.FORMAT}: compile it again with this"
            " version of doctrine (`doctrine compile`)"
        )


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
    from difflib import get_close_matches  # only a refused fact needs it: spare every import

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


def convert(kind: str, spec: Any, value: Any) -> tuple[Any, str | None]:
    """`value` as a fact of this type in the runtime's form, or a problem saying what is wrong."""
    return _convert(kind, spec, value)


def value_problem(kind: str, spec: Any, value: Any) -> str | None:
    """What is wrong with `value` as a fact of this type, or None if it fits."""
    return _convert(kind, spec, value)[1]


class Schema:
    """A doctrine's vocabulary: (name, kind, spec) for each fact it accepts."""

    __slots__ = ("_blank", "_bools", "_quick", "facts", "names")

    def __init__(self, facts: tuple[tuple[str, str, Any], ...]):
        self.facts = {name: (kind, spec) for name, kind, spec in facts}
        self.names = tuple(self.facts)
        self._blank = dict.fromkeys(self.names)
        # For the quick path of `validate`: what each fact takes as it is, without conversion.
        self._quick: dict[str, Any] = {}
        self._bools = frozenset(name for name, (kind, _) in self.facts.items() if kind == "bool")
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
        out = self.quick(facts)
        return self._validate(facts) if out is None else out

    def quick(self, facts: Mapping[str, Any]) -> dict[str, Any] | None:
        """The facts in runtime form if each is a bool, a word of its enum, text or a `date`
        (or None) under a name of the vocabulary, as they mostly are; else None, and
        `validate` checks and converts them one by one. Accepts nothing `validate` would not."""
        return {**self._blank, **facts} if self.plain(facts) else None

    def plain(self, facts: Mapping[str, Any], checked: frozenset[str] = frozenset()) -> bool:
        """Whether the facts are already in runtime form as given (`quick`'s test), so that
        generated code, which reads each fact with `.get`, may read them without a copy.
        Facts named in `checked` are skipped: generated code has checked those itself.

        One pass. Bools, the commonest values, cost two identity tests and a set lookup of the
        name; a str is looked up in its fact's words (text takes any str)."""
        quick, bools = self._quick, self._bools
        try:
            for name, value in facts.items():
                if name in checked:
                    continue
                if value is True or value is False:
                    if name in bools:
                        continue
                    return False
                if value is None:
                    if name in quick:
                        continue
                    return False
                ok = quick[name]
                cls = value.__class__
                if cls is str:
                    if ok is _TEXT or (ok.__class__ is frozenset and value in ok):
                        continue
                elif cls is datetime.date and ok is _DATE:
                    continue
                return False
        except (KeyError, TypeError, AttributeError):  # a name outside the vocabulary, etc.
            return False
        return True

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


class Reason(str):
    """Why an outcome is open whatever the facts (`open "..."`): collected beside the missing
    facts, and reported in the result's `open` list rather than in `missing`."""

    __slots__ = ()


# ---------------------------------------------------------------- decided cases as data


def _show_value(value: Any) -> str:
    return "true" if value is True else "false" if value is False else str(value)


def open_facts_of(record: Mapping[str, Any]) -> tuple[str, ...]:
    """The facts a library record's unknown field waits on (see `precedent_records`)."""
    return tuple(record.get("#open", ()))


def similar(
    candidate: program.Precedent, f: Mapping[str, Any]
) -> tuple[Truth, str, tuple[str, ...]]:
    """Whether a decided case may be materially similar to these facts, why, and the facts
    still open.

    Material similarity is a judgment about the specific facts of the two cases, which the
    element-level facts of the vocabulary cannot settle: so this never answers `True`. It
    answers `False` when the decision relied on a fact favouring the plaintiff that this case
    lacks (or this case adds one favouring the defendant), and otherwise `None`, saying which
    facts agree: a candidate for the user's judgment, not a finding.
    """
    theirs_all = candidate.facts
    open_facts: list[str] = []
    agreeing: list[str] = []
    for weighed in candidate.relied:
        fact, kind, values = weighed.fact, weighed.kind, weighed.values
        theirs, ours = theirs_all[fact], f.get(fact)
        if weighed.favours != "plaintiff":
            continue
        if kind == "bool":
            if theirs is not True or ours is True:
                agreeing.extend([fact] if theirs is True else [])
                continue
        elif kind == "scale":
            if ours is not None and values.index(ours) >= values.index(theirs):
                agreeing.append(fact)
                continue
        elif kind == "enum":
            if theirs == values[0] or (ours is not None and ours != values[0]):
                agreeing.extend([] if theirs == values[0] else [fact])
                continue
        else:
            continue
        if ours is None:
            open_facts.append(fact)
            continue
        return (
            False,
            f"it differs on {fact}: {_show_value(theirs)} there, {_show_value(ours)} here",
            (),
        )
    for weighed in candidate.against:
        fact, kind, values = weighed.fact, weighed.kind, weighed.values
        theirs, ours = theirs_all.get(fact), f.get(fact)
        stronger = (kind == "bool" and ours is True and theirs is not True) or (
            kind == "scale"
            and ours is not None
            and (theirs is None or values.index(ours) > values.index(theirs))
        )
        if stronger:
            return (
                False,
                f"this case adds {fact} ({_show_value(ours)}), which favours the defendant",
                (),
            )
        if ours is None and theirs is not True:
            open_facts.append(fact)
    if open_facts:
        return (
            None,
            "a candidate: this case leaves " + ", ".join(open_facts) + " open",
            tuple(open_facts),
        )
    return (
        None,
        "a candidate: the facts it relied on agree here"
        + (f" ({', '.join(agreeing)})" if agreeing else "")
        + "; whether its facts are materially similar to these is a judgment on the specific"
        " facts that the library does not make",
        (),
    )


def precedent_records(
    candidates: tuple[program.Precedent, ...], f: Mapping[str, Any]
) -> tuple[tuple[dict[str, Any], ...], tuple[dict[str, Any], ...]]:
    """The library's decided cases as records of a list fact, and a note on each."""
    records = []
    notes = []
    for c in candidates:
        decided, approximate = c.decided, False
        if decided is None and c.year is not None:
            # Only the year is known: assume its last day, so that a decision is never
            # taken to have come earlier than it may have.
            decided, approximate = datetime.date(c.year, 12, 31), True
        if decided is None:
            notes.append(
                {
                    "authority": c.key,
                    "name": c.name,
                    "used": False,
                    "materially_similar": None,
                    "reason": "the library does not record the day it was decided",
                }
            )
            continue
        is_similar, reason, waiting = similar(c, f)
        if approximate:
            reason += f" (the library records only the year, {c.year}, of the decision)"
        records.append(
            {
                "name": c.name,
                "court": c.court,
                "decided": decided,
                "recognizes_right": c.held,
                "materially_similar": is_similar,
                "abrogated": ABSENT if c.abrogated is None else c.abrogated,
                "#open": waiting,
            }
        )
        notes.append(
            {
                "authority": c.key,
                "name": c.name,
                "used": True,
                "materially_similar": is_similar,
                "reason": reason,
            }
        )
    return tuple(records), tuple(notes)


class _Opaque(Exception):
    """A condition `_tree_text` does not write out."""


def _tree_text(t: program.Expr, f: Mapping[str, Any], env: Mapping[int, Any]) -> str:
    """A requirement written out with the values it read: `decided (2001-09-01) < event_date
    (1998-09-24)`."""
    if isinstance(t, program.FactRef):
        value = f.get(t.name)
        return f"{t.name} ({_show_value(value) if value is not None else 'unknown'})"
    if isinstance(t, program.FieldRef):
        value = env[t.var][t.field]
        return f"its {t.field} ({'absent' if value is ABSENT else _show_value(value)})"
    if isinstance(t, program.Const):
        return f'"{t.value}"' if isinstance(t.value, str) else _show_value(t.value)
    if isinstance(t, (program.And, program.Or)):
        word = " and " if isinstance(t, program.And) else " or "
        return word.join(_tree_text(i, f, env) for i in t.items)
    if isinstance(t, program.Not):
        return f"not ({_tree_text(t.item, f, env)})"
    if isinstance(t, program.Presence):
        return f"{_tree_text(t.field, f, env)} is {'present' if t.present else 'absent'}"
    if isinstance(t, program.Compare):
        return f"{_tree_text(t.left, f, env)} {t.op} {_tree_text(t.right, f, env)}"
    raise _Opaque(type(t).__name__)


def _is_similarity(node: program.Expr, var: int) -> bool:
    """Whether `node` is the record's `materially_similar` field, which the library leaves open."""
    return (
        isinstance(node, program.FieldRef)
        and node.var == var
        and node.field == "materially_similar"
    )


def _why(
    notes: tuple[dict[str, Any], ...],
    records: tuple[dict[str, Any], ...],
    tests: tuple[program.ScreeningTest, ...],
    f: Mapping[str, Any],
) -> tuple[dict[str, Any], ...]:
    """Say, for each decided case, the first requirement of the doctrine it fails, if any."""
    by_name = {r["name"]: r for r in records}
    out = []
    for note in notes:
        note = dict(note)
        record = by_name.get(note["name"])
        tree = Tree({}, {}, f)  # the tests read the case's facts and the record alone
        for test in tests if record is not None else ():
            var, body = test.var, test.body
            parts = body.items if isinstance(body, program.And) else (body,)
            env = {var: record or {}}
            try:
                failing = next((p for p in parts if tree.value(p, env) is False), None)
                if failing is None:
                    note["controls"] = tree.value(body, env)
                    undecided = [p for p in parts if tree.value(p, env) is None]
                    similar_only = len(undecided) == 1 and _is_similarity(undecided[0], var)
                    if note["controls"] is None and similar_only:
                        note["reason"] = (
                            "it meets every other requirement (it binds here, came before the"
                            " conduct, was not overruled, and held conduct of its kind unlawful);"
                            " " + note["reason"]
                        )
                elif not _is_similarity(failing, var):
                    note["controls"] = False
                    note["reason"] = "it fails " + _tree_text(failing, f, env)
                else:
                    note["controls"] = False
            except (_Opaque, KeyError, ValueError, TypeError):
                continue
            break
        out.append(note)
    return tuple(out)


# ---------------------------------------------------------------- the record at a stage

STAGES = ("dismissal", "summary-judgment", "trial")
_MARKS = ("alleged", "disputed", "established")


def _mark(value: Any) -> str | None:
    if isinstance(value, Mapping) and len(value) == 1:
        (key,) = value
        return key if key in _MARKS else None
    return None


def _has_marks(facts: Any) -> bool:
    return isinstance(facts, Mapping) and any(_mark(v) for v in facts.values())


def read_record(
    facts: Mapping[str, Any], stage: str | None
) -> tuple[dict[str, Any], tuple[dict[str, Any], ...]]:
    """The facts that count at a stage of the proceedings, and a note on each marked one.

    A fact may be written `{alleged: V}`, `{established: V}`, or `{disputed: {plaintiff: V1,
    defendant: V2, found: plaintiff|defendant}}` (`found` once a trial has settled it). On a
    motion to dismiss the complaint's allegations are taken as true; at summary judgment the
    evidence is taken in the light most favourable to the party asserting the injury, but a
    bare allegation is not evidence; at trial only what is established or found counts.
    """
    if not isinstance(facts, Mapping):
        return facts, ()  # the schema reports it
    if stage is not None and stage not in STAGES:
        raise FactsError([f"stage {stage!r}: expected one of {', '.join(STAGES)}"])
    out: dict[str, Any] = {}
    notes: list[dict[str, Any]] = []
    problems: list[str] = []
    for name, value in facts.items():
        mark = _mark(value)
        if mark is None:
            out[name] = value
            continue
        if stage is None:
            problems.append(
                f"fact '{name}' is marked {mark}: say which version counts with a stage "
                f"({', '.join(STAGES)})"
            )
            continue
        inner = value[mark]
        used, why = _version(mark, inner, stage)
        if isinstance(used, _Problem):
            problems.append(f"fact '{name}': {used.text}")
            continue
        if used is not None:
            out[name] = used
        notes.append({"fact": name, "mark": mark, "value": inner, "used": used, "why": why})
    if problems:
        raise FactsError(problems)
    return out, tuple(notes)


class _Problem:
    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text


def _version(mark: str, inner: Any, stage: str) -> tuple[Any, str]:
    if mark == "established":
        return inner, "established"
    if mark == "alleged":
        if stage == "dismissal":
            return inner, "alleged, and taken as true on a motion to dismiss"
        if stage == "summary-judgment":
            return None, "only alleged: an allegation is not evidence at summary judgment"
        return None, "only alleged, never proven at trial"
    if not isinstance(inner, Mapping) or set(inner) - {"plaintiff", "defendant", "found"}:
        return _Problem("disputed: expected {plaintiff: ..., defendant: ..., found: ...}"), ""
    if "plaintiff" not in inner or "defendant" not in inner:
        return _Problem("disputed: give both the plaintiff's and the defendant's version"), ""
    found = inner.get("found")
    if found not in (None, "plaintiff", "defendant"):
        return _Problem(f"disputed: found {found!r}: expected plaintiff or defendant"), ""
    if stage == "dismissal":
        return inner["plaintiff"], "the plaintiff's version, taken as true on a motion to dismiss"
    if stage == "summary-judgment":
        return inner["plaintiff"], (
            "disputed: the plaintiff's version, the light most favourable to the party "
            "asserting the injury"
        )
    if found is None:
        return None, "disputed, and not found at trial"
    return inner[found], f"disputed: the {found}'s version, as found at trial"


# ---------------------------------------------------------------- results


class Result:
    """The outcome of a doctrine on one set of facts, with each element and what is missing."""

    __slots__ = (
        "_blank",
        "_facts",
        "doctrine",
        "elements",
        "evaluator",
        "holds",
        "missing",
        "not_reached",
        "open",
        "precedents",
        "presumed",
        "record",
        "stage",
    )

    def __init__(
        self,
        evaluator: Evaluator,
        holds: Truth,
        elements: dict[str, Truth],
        missing: tuple[str, ...],
        facts: dict[str, Any],
        blank: dict[str, Any] | None = None,
    ):
        self.evaluator = evaluator
        self.doctrine = evaluator.name
        self.holds = holds
        self.elements = elements
        self.missing = missing
        self._facts = facts
        # When set, `_facts` holds only the facts the case gave: `facts` fills in the others
        # (None) on first reading, so that an evaluation whose facts nobody reads skips it.
        self._blank = blank
        # When the library's decided cases stood in for a list the case did not give: a note
        # on each (its name, whether it is materially similar here, and why).
        self.precedents: tuple[dict[str, Any], ...] = ()
        # The stage of the proceedings, and for each marked fact the version that counted.
        self.stage: str | None = None
        self.record: tuple[dict[str, Any], ...] = ()
        # Why the outcome is open whatever the facts, one line per reason (`open "..."`).
        self.open: tuple[str, ...] = ()
        # The facts the case did not give that a burden made count one way: each the
        # doctrine's note (fact, value, when, because, cites). The closed world is not listed.
        self.presumed: tuple[program.Burden, ...] = ()
        # Elements a failed threshold kept the court from reaching (null in `elements`).
        self.not_reached: tuple[str, ...] = ()

    @property
    def facts(self) -> dict[str, Any]:
        """The facts as the evaluation read them: every fact of the vocabulary, None where
        unknown (burdens and a closed world applied)."""
        if self._blank is not None:
            self._facts = {**self._blank, **self._facts}
            self._blank = None
        return self._facts

    @facts.setter
    def facts(self, value: dict[str, Any]) -> None:
        self._facts, self._blank = value, None

    def as_dict(self) -> dict[str, Any]:
        """The result as the contract's JSON object (`open` only when there is a reason)."""
        out = {
            "doctrine": self.doctrine,
            "holds": self.holds,
            "elements": dict(self.elements),
            "missing": list(self.missing),
        }
        if self.open:
            out["open"] = list(self.open)
        return out

    def __repr__(self) -> str:
        return f"<Result {self.doctrine} holds={self.holds} missing={list(self.missing)}>"

    def explain(self, format: str = "markdown", templates: str | None = None) -> str:
        """This result as an explanation document: "markdown", "html" or "text".

        `templates` names a folder of one's own Jinja templates (run sandboxed; ours fill the
        gaps). Needs jinja2, which the runtime itself does not: it is imported only here.
        """
        # The runtime's one way up to the compiler (which needs jinja2): a function-level import
        # of one function, by its absolute name, so that a standalone copy of the runtime
        # (`doctrine compile --standalone`) reaches the installed compiler the same way.
        try:
            from compiler.explain.explanation import explain_result
        except ImportError:
            raise ImportError(
                "Result.explain() writes explanations with the doctrine compiler, which is not "
                "installed here (this module was compiled with --standalone and evaluates on the "
                "standard library alone): pip install doctrine"
            ) from None
        return explain_result(self, format, templates)

    def _repr_html_(self) -> str:
        """Jupyter shows a result as its memo: the memo's article alone, without the page's
        stylesheet, so that the notebook keeps its own look."""
        html = self.explain(format="html")
        found = re.search(r"<article\b.*</article>", html, re.S)
        return found.group(0) if found else html


def _beyond(stop: Exception) -> str:
    """The `open` line when the exact analysis stopped: the outcome stays unknown, and
    `missing` lists every unknown fact on an unknown path, some of which may not matter."""
    from . import exact as _exact

    if isinstance(stop, _exact._Budget):
        why = (
            f"its size budget ({stop}; the budget is {_exact.NODE_BUDGET:,} nodes and"
            f" {_exact.WORK_BUDGET:,} steps)"
        )
    else:
        why = f"a part of the doctrine it does not model ({stop})"
    return (
        f"not settled exactly: the analysis of the unknown facts stopped at {why}; `missing`"
        " lists every unknown fact the outcome reads, some of which may not matter"
    )


class Evaluator:
    """One compiled doctrine: its schema, its element labels and its generated functions."""

    __slots__ = (
        "_check",
        "_direct",
        "_fused",
        "_holds",
        "_missing",
        "_values",
        "closed",
        "info",
        "labels",
        "name",
        "precedents",
        "presume",
        "program",
        "schema",
    )

    def __init__(
        self,
        name: str,
        labels: tuple[str, ...],
        schema: Schema,
        values: Callable[[dict[str, Any]], tuple[Truth, dict[str, Truth]]],
        holds: Callable[[dict[str, Any]], Truth],
        missing: Callable[[dict[str, Any], set[str]], None],
        info: program.DoctrineInfo,
        presume: tuple[tuple[str, Any, Any, int], ...] = (),
        precedents: program.Screening | None = None,
        module: program.ModuleInfo | None = None,
        fused: tuple[Callable[..., Truth], Callable[..., Result]] | None = None,
    ):
        self.name = name
        # The module's INFO: the trees of every element and doctrine, for the exact analysis.
        self.program = module
        # What facts the case does not give count as: (fact, value, condition or None, index
        # of the doctrine's note on it, -1 for the closed world).
        self.presume: tuple[tuple[str, Any, Any, int], ...] = presume
        self.closed = tuple(p[0] for p in self.presume if p[3] == -1)
        self.precedents = precedents
        self.labels = labels
        self.schema = schema
        self._values = values
        self._holds = holds
        self._missing = missing
        if not isinstance(info, program.DoctrineInfo):
            # A module compiled before program formats were recorded: its INFO is plain dicts.
            raise IncompatibleModule(
                f"doctrine {name!r} was compiled by an earlier doctrine, before program formats"
                f" were recorded, but this runtime reads program format {program.FORMAT}:"
                " compile it again with this version of doctrine (`doctrine compile`)"
            )
        self.info = info
        # The facts in runtime form: checked only, unless a closed world fills absent bools.
        self._check = self.prepare if self.presume or precedents else schema.validate
        # Plain facts (a dict whose values are in runtime form) are read as given: no copy is
        # filled with the absent facts, since the generated code reads each with `.get`. Not
        # where burdens or the library's precedents give absent facts values of their own.
        self._direct = None if self.presume or precedents else schema.plain
        # Generated `holds(facts)` and `evaluate(facts, stage)` that check, as they read them,
        # the facts the doctrine names, and the rest with `schema.plain`; anything else they
        # hand to `checked_holds` and `checked_evaluate`. Only where `_direct` applies.
        self._fused = fused if self._direct is not None else None

    def prepare(self, facts: Mapping[str, Any]) -> dict[str, Any]:
        """The facts checked and in runtime form, with what absent facts count as (burdens;
        under a closed world, absent bools are false)."""
        return self._prepare(facts)[0]

    def presumed(self, f: dict[str, Any]) -> tuple[program.Burden, ...]:
        """Give the absent facts the values the burdens say they count as, in `f`; return the
        notes of those applied. Conditions read the facts as the case gave them."""
        given = f.copy() if any(p[2] is not None for p in self.presume) else f
        applied: list[program.Burden] = []
        notes = self.info.presumptions
        pending: set[str] = set()  # facts an earlier burden may yet decide
        for name, value, cond, index in self.presume:
            if f[name] is not None or given[name] is not None or name in pending:
                continue
            if cond is not None:
                applies = cond(given)
                if applies is not True:
                    if applies is None:
                        # The first burden whose condition holds wins: while this one's is
                        # unknown, a later one cannot settle the fact (it stays unknown, and
                        # the exact analysis weighs both burdens).
                        pending.add(name)
                    continue
            f[name] = value
            if index >= 0:
                applied.append(notes[index])
        return tuple(applied)

    def _prepare(
        self, facts: Mapping[str, Any]
    ) -> tuple[dict[str, Any], tuple[dict[str, Any], ...]]:
        f, notes, _ = self._prepare_all(facts)
        return f, notes

    def _prepare_all(
        self, facts: Mapping[str, Any]
    ) -> tuple[dict[str, Any], tuple[dict[str, Any], ...], tuple[program.Burden, ...]]:
        f = self.schema.validate(facts)
        # Screened when the case gives no list, even where a burden then counts it as empty.
        screen = self.precedents is not None and f[self.precedents.list_fact] is None
        presumed = self.presumed(f) if self.presume else ()
        notes: tuple[dict[str, Any], ...] = ()
        if screen and self.precedents is not None:
            # A screening aid only: each decided case is reported with what agrees and what it
            # fails, but none fills the list, since none can be found materially similar from
            # element-level facts; the list stays as the case (and any burden) leaves it.
            records, notes = precedent_records(self.precedents.candidates, f)
            notes = _why(notes, records, self.precedents.tests, f)
        return f, notes, presumed

    def evaluate(
        self, facts: Mapping[str, Any], stage: str | None = None, *, validate: bool = True
    ) -> Result:
        """Check the facts and evaluate every element and the doctrine.

        Facts may be marked alleged, disputed or established (see `read_record`); `stage`
        says which version counts. Unmarked facts are established. With validate=False the
        facts must already be as `prepare` gives them (no marks, no stage): the fast path for
        batches of facts checked before (not for a doctrine the library's precedents fill).
        """
        if validate:
            if stage is None and self._fused is not None:
                return self._fused[1](facts)
        elif stage is None and self.precedents is None:
            # Prepared facts, as batches give them: every element decided is the common case,
            # and its Result is all there is to make (the facts are the caller's, as given).
            # A failed threshold leaves the elements after it unknown, so none is unreached.
            holds, values = self._values(facts)  # type: ignore[arg-type]
            if holds is not None and _DECIDED.issuperset(values.values()):
                return Result(self, holds, values, (), facts)  # type: ignore[arg-type]
        return self.checked_evaluate(facts, stage, validate=validate)

    def checked_evaluate(
        self, facts: Mapping[str, Any], stage: str | None = None, *, validate: bool = True
    ) -> Result:
        """`evaluate` by the runtime's own check of the facts: what the generated one falls
        back to when the facts are not a plain dict (or not plain in its sense)."""
        record: tuple[dict[str, Any], ...] = ()
        notes: tuple[dict[str, Any], ...] = ()
        presumed: tuple[program.Burden, ...] = ()
        if not validate:
            if stage is not None or self.precedents is not None:
                raise ValueError(
                    "a stage, or the library's precedents, need the facts as given:"
                    " evaluate with validate=True"
                )
            f: dict[str, Any] = facts  # type: ignore[assignment]
        elif (
            stage is None
            and self._direct is not None
            and facts.__class__ is dict
            and self._direct(facts)
        ):
            return self._evaluate_plain(facts)
        else:
            # Plain facts (bools, words, text, dates) carry no marks and need no conversion.
            plain = self.schema.quick(facts) if stage is None else None
            if plain is None and (stage is not None or _has_marks(facts)):
                facts, record = read_record(facts, stage)
            if self.precedents is not None or self.presume:
                f, notes, presumed = self._prepare_all(facts)
            elif plain is not None:
                f = plain
            else:
                f = self._check(facts)
        holds, values = self._values(f)
        missing: tuple[str, ...] = ()
        reasons: tuple[str, ...] = ()
        elements = values
        if holds is None or not _DECIDED.issuperset(elements.values()):
            holds, elements, missing, reasons = self._exact(f, holds, elements, facts)
        return self._result(
            holds, elements, missing, reasons, f, None, presumed, notes, record, stage
        )

    def _evaluate_plain(self, facts: dict[str, Any]) -> Result:
        """`evaluate` on plain facts (see `Schema.plain`), as they mostly are: read as given
        (from a copy of the few the case gives, since the result keeps them), filled with the
        absent facts only where the exact analysis needs them or the result's facts are read."""
        f = facts.copy()
        holds, values = self._values(f)
        if holds is None or not _DECIDED.issuperset(values.values()):
            f = {**self.schema._blank, **f}
            holds, values, missing, reasons = self._exact(f, holds, values)
            return self._result(holds, values, missing, reasons, f, None, (), (), (), None)
        if self.info.thresholds:
            return self._result(holds, values, (), (), f, self.schema._blank, (), (), (), None)
        return Result(self, holds, values, (), f, self.schema._blank)

    def _result(
        self,
        holds: Truth,
        elements: dict[str, Truth],
        missing: tuple[str, ...],
        reasons: tuple[str, ...],
        f: dict[str, Any],
        blank: dict[str, Any] | None,
        presumed: tuple[program.Burden, ...],
        notes: tuple[dict[str, Any], ...],
        record: tuple[dict[str, Any], ...],
        stage: str | None,
    ) -> Result:
        """The Result of an evaluation; with `blank`, `f` holds only the facts given, and the
        result fills in the absent ones when its facts are first read."""
        result = Result(self, holds, elements, missing, f)
        if blank is not None:
            result._blank = blank
        result.open = reasons
        result.presumed = presumed
        thresholds = self.info.thresholds
        if thresholds and any(elements.get(t) is False for t in thresholds):
            first = next(i for i, t in enumerate(thresholds) if elements.get(t) is False)
            reached = set(thresholds[: first + 1])
            result.not_reached = tuple(label for label in elements if label not in reached)
        if notes:
            result.precedents = notes
        if stage is not None or record:
            result.stage, result.record = stage, record
        return result

    def _exact(
        self,
        f: dict[str, Any],
        holds: Truth,
        elements: dict[str, Truth],
        given: Mapping[str, Any] | None = None,
    ) -> tuple[Truth, dict[str, Truth], tuple[str, ...], tuple[str, ...]]:
        """The outcome, elements, `missing` and `open` reasons made exact where Kleene's values
        left them unknown (see compiler/runtime/exact.py): `x or not x` holds with `x` unknown,
        and `missing` keeps only the unknown facts the outcome still depends on."""
        found: set[str] = set()
        if holds is None:
            self._missing(f, found)
        reasons = tuple(sorted({str(x) for x in found if x.__class__ is Reason}))
        candidates = tuple(sorted(x for x in found if x.__class__ is not Reason))
        thresholds = self.info.thresholds
        keys = {slot.label: slot.key for slot in self.info.elements}
        # A failed threshold leaves the other elements unknown by design (not reached).
        reached = not any(elements.get(t) is False for t in thresholds)
        labels = [
            label
            for label, value in elements.items()
            if value is None and reached and label in keys
        ]
        module = self.program
        if module is None:  # an Evaluator built without its module's INFO: Kleene's answer
            return holds, elements, candidates, reasons
        # Imported here, not with the runtime: only a result Kleene's logic leaves unknown
        # needs the analysis (and its `fractions`), and every compiled module imports the runtime.
        from .exact import Exact, Stopped

        notes = self.info.presumptions
        burdens = []
        for name, value, cond, index in self.presume:
            tree = notes[index].cond if cond is not None and 0 <= index < len(notes) else None
            if cond is not None and tree is None:
                continue  # a module without the condition's tree: read as not applying
            burdens.append((name, value, tree))
        # The burdens' conditions read the facts as the case gave them.
        as_given = self.schema.validate(given) if burdens and given is not None else None
        wanted = ([self.info.tree] if holds is None else []) + [
            module.elements[keys[label]].tree for label in labels
        ]
        try:
            # One analysis per question: a fact the rule in question chooses by (`holds by`)
            # ranges over the values its arms name, which may differ from one rule to another.
            verdicts = [
                Exact(
                    self.schema.facts,
                    lambda key: module.elements[key].tree,
                    lambda name: module.doctrines[name].tree,
                    f,
                    burdens if as_given is not None and given is not f else (),
                    as_given if given is not f else None,
                ).judge([tree])[0]
                for tree in wanted
            ]
        except Stopped as stop:
            if holds is None:
                reasons = (*reasons, _beyond(stop))
            return holds, elements, candidates, reasons
        missing: tuple[str, ...] = ()
        if holds is None:
            verdict = verdicts.pop(0)
            if verdict.settled:
                holds, reasons = verdict.value, ()
            else:
                missing = tuple(sorted(verdict.depends))
                # A reason stands only if some way the facts could go leaves the law open.
                reasons = reasons if verdict.may_be_open else ()
        out = dict(elements)
        for label, verdict in zip(labels, verdicts):
            if verdict.settled:
                out[label] = verdict.value
        return holds, out, missing, reasons

    def holds(self, facts: Mapping[str, Any], *, validate: bool = True) -> Truth:
        """The outcome alone, as `evaluate(facts).holds`. With validate=False the facts must
        already be in runtime form (every fact present, None when unknown, dates as `date`):
        the fast path for batches."""
        if not validate:
            value = self._holds(facts)  # type: ignore[arg-type]
            return value if value is not None else self._settled(facts, None)
        if self._fused is not None:
            return self._fused[0](facts)
        return self.checked_holds(facts)

    def checked_holds(self, facts: Mapping[str, Any], *, validate: bool = True) -> Truth:
        """`holds` by the runtime's own check of the facts (see `checked_evaluate`)."""
        given = facts
        if validate:
            direct = self._direct
            if direct is None or facts.__class__ is not dict or not direct(facts):
                facts = self._check(facts)
        value = self._holds(facts)  # type: ignore[arg-type]
        if value is None:
            value = self._settled(facts, given if validate else None)
        return value

    def _settled(self, facts: Mapping[str, Any], given: Mapping[str, Any] | None) -> Truth:
        """The outcome where Kleene's tables leave it unknown: the exact analysis may settle
        it (`x or not x`). `facts` are checked; `given` as the case gave them, if it did."""
        f = {**self.schema._blank, **facts}
        return self._exact(f, None, {}, given)[0]
