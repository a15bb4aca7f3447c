"""Explanations: what a doctrine decided on a set of facts and why, as plain data for templates.

Everything here is computed from the compiled module itself (its INFO: the trees, the authored
prose, the citations, the fact meanings) and from the evaluator's result; nothing is written
per case. The data is plain (dicts, lists, strings, numbers, booleans and None) so that a
user's own templates, which run sandboxed, see nothing but the explanation. `render.py` turns
it into markdown, HTML or text.
"""

from __future__ import annotations

import datetime
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from os import PathLike
from typing import Any

from ..runtime import ABSENT, Evaluator, Result, program
from .counterfactual import Counterfactual, Model, screened_list, search

__all__ = [
    "comparison",
    "describe",
    "documentation",
    "explain_result",
    "explanation",
    "module_documentation",
    "module_info",
    "render_comparison",
    "render_documentation",
    "render_explanation",
    "render_module_documentation",
]

Node = program.Expr
Data = dict[str, Any]

STATUS = {True: "met", False: "not met", None: "undetermined"}
OUTCOME = {True: "met", False: "not met", None: "undetermined"}

_ORDINALS = (
    "First",
    "Second",
    "Third",
    "Fourth",
    "Fifth",
    "Sixth",
    "Seventh",
    "Eighth",
    "Ninth",
    "Tenth",
    "Eleventh",
)


# ---------------------------------------------------------------- small helpers


def module_info(evaluator: Evaluator) -> program.ModuleInfo:
    """The INFO of the module that compiled `evaluator` (its elements, facts and doctrines),
    which the module hands each of its evaluators."""
    info = evaluator.program
    if not isinstance(info, program.ModuleInfo) or evaluator.name not in info.doctrines:
        raise ValueError(f"cannot find the compiled module of doctrine {evaluator.name!r}")
    return info


def words(name: str) -> str:
    """An identifier as words: `specific_plaintiff` -> "specific plaintiff"."""
    return name.replace("_", " ")


def court_words(court: str | None) -> str:
    """`9th` -> "Ninth Circuit", `SCOTUS` -> "Supreme Court"; anything else as given."""
    if not court:
        return ""
    if court.upper() == "SCOTUS":
        return "Supreme Court of the United States"
    match = re.fullmatch(r"(\d+)(st|nd|rd|th)", court)
    if match and 1 <= int(match.group(1)) <= len(_ORDINALS):
        return f"{_ORDINALS[int(match.group(1)) - 1]} Circuit"
    if court.upper() in ("DC", "D.C."):
        return "D.C. Circuit"
    return court


def lower_first(text: str) -> str:
    """Lower-case the first letter of a sentence used inside another, unless it starts a name."""
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        first = text.split(" ", 1)[0]
        if first in ("The", "A", "An", "Officials", "Either", "Every", "No", "Some", "All"):
            return text[0].lower() + text[1:]
    return text


def _join(items: Sequence[str], word: str) -> str:
    if len(items) <= 1:
        return "".join(items)
    if any("," in i for i in items):
        return "; ".join(items[:-1]) + f"; {word} " + items[-1]
    return ", ".join(items[:-1]) + f" {word} " + items[-1]


def literal(value: Any) -> str:
    """A value as a case file would give it."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return f"{len(value)} record{'' if len(value) == 1 else 's'}"
    return str(value)


def answer(value: Any, kind: str) -> str:
    """A value as an answer to the fact's question: yes, no, a word, a date."""
    if value is None:
        return "not found"
    if kind == "bool":
        return "yes" if value else "no"
    if kind in ("enum", "scale"):
        return words(str(value))
    return literal(value)


def cite(c: program.Citation | None) -> Data | None:
    """A citation split for typesetting: the case name (italic in print) and the rest."""
    if c is None:
        return None
    citation = c.citation
    match = re.match(r"^(.*?), (?=\d)", citation)
    # A case name is set in italics; anything else (an article, a web page) stays roman.
    if match and " v. " in match.group(1):
        name, rest = match.group(1), citation[match.end() :]
    else:
        name, rest = "", citation
    return {
        "authority": c.authority,
        "citation": citation,
        "name": name,
        "rest": rest,
        "sep": ", ",
        "form": "full",
        "pinpoint": c.pinpoint,
        "purpose": c.purpose,
    }


def _cites(cs: Sequence[program.Citation] | None) -> list[Data]:
    return [x for x in (cite(c) for c in cs or ()) if x is not None]


# ---------------------------------------------------------------- citation forms

# "Name v. Other, 54 F.3d 1169, 1175 (4th Cir. 1995) (en banc)": the parts a short form needs.
_CASE = re.compile(
    r"^(?P<name>.+? v\. .+?), (?P<volume>\d+) (?P<reporter>[A-Za-z][A-Za-z0-9.' ]*?) "
    r"(?P<first>\d+)(?:, (?P<pin>[^()]+?))?(?P<tail> \(.*)?$"
)
# Parties a short form passes over for the other side (Bluebook rule 10.9(a)(i)).
_GENERIC_PARTY = re.compile(
    r"^(?:United States|State|Commonwealth|People|City|County|Town|Village|Board|Department"
    r"|Dep't|Estate|In re)\b"
)


def _short_name(name: str) -> str:
    """The name a short form uses: the first party's, unless it is a government or the like."""
    first, _, second = name.partition(" v. ")
    # A government, or a party known by initials ("L.W. v. Grubbs"), gives way to the other.
    initials = re.fullmatch(r"(?:[A-Z]\.)+", first.strip())
    party = second if (_GENERIC_PARTY.match(first) or initials) and second else first
    # "Winnebago County Dep't of Social Servs." -> "Winnebago County"; "Grubbs (Grubbs I)"
    # -> "Grubbs"; "DeShaney" -> "DeShaney"
    party = re.split(r",| of | Dep't| Inc\.| Corp\.| \(", party, maxsplit=1)[0].strip()
    return party or first


def short_names(cites: Sequence[Data]) -> list[str]:
    """The short names of the cases among `cites`, as running text may mention them."""
    out: set[str] = set()
    for c in cites:
        match = _CASE.match(str(c.get("citation", "")))
        if match:
            out.add(_short_name(match.group("name")))
    return sorted(out)


def module_short_names(info: program.ModuleInfo) -> list[str]:
    """The short names of every case the module's elements and doctrines cite."""
    cites: list[program.Citation] = []
    for el in info.elements.values():
        cites.extend(el.cites)
    for d in info.doctrines.values():
        cites.extend(d.cites)
        if d.source is not None:
            cites.append(d.source)
        for r in d.rejects:
            cites.extend(r.cites)
    return short_names(_cites(cites))


def citation_forms(cites: Sequence[Data], header: Sequence[Data] = ()) -> None:
    """Give each citation, in the order a reader meets them, the form a clerk would write:
    in full the first time, a short form after ("Pinder, 54 F.3d at 1175"), and "Id." when
    it cites the same case as the citation just before it.

    The forms are set in place: `form` ("full", "short" or "id"), and `name` and `rest`
    (the italic and roman parts) rewritten for that form; `citation` keeps the full text.
    The `header`'s citations (a memo's Source line) stay in full and count as cited, but no
    "Id." of the text refers back to them: a heading is not the sentence before.
    """
    seen: set[str] = set()
    for c in header:
        match = _CASE.match(str(c.get("citation", "")))
        seen.add(str(c.get("authority") or (match.group("name") if match else c.get("citation"))))
    previous: tuple[str, str] | None = None
    for c in cites:
        match = _CASE.match(str(c.get("citation", "")))
        key = str(c.get("authority") or (match.group("name") if match else c.get("citation")))
        pin = (match.group("pin") or "") if match else ""
        c.setdefault("full_name", c.get("name", ""))
        c.setdefault("full_rest", c.get("rest", ""))
        if match is None:
            c["form"] = "full"
        elif previous is not None and previous[0] == key:
            c["form"], c["sep"] = "id", " "
            c["name"], c["rest"] = "Id.", "" if pin == previous[1] or not pin else f"at {pin}"
        elif key in seen:
            c["form"] = "short"
            volume, reporter = match.group("volume"), match.group("reporter")
            at = f" at {pin}" if pin else f" {match.group('first')}"
            c["name"], c["rest"] = _short_name(match.group("name")), f"{volume} {reporter}{at}"
        else:
            c["form"] = "full"
        seen.add(key)
        previous = (key, pin)


# ---------------------------------------------------------------- the tree in words


class _Words:
    """Conditions as prose, from the fact meanings and the element titles."""

    def __init__(
        self,
        info: program.ModuleInfo,
        schema: Mapping[str, tuple[str, Any]],
        labels: Mapping[str, str] | None = None,
    ):
        self.info = info
        self.schema = schema
        self.labels = labels or {}

    def __call__(self, node: Node, env: Mapping[int, str] | None = None) -> str:
        env = env or {}
        if isinstance(node, program.FactRef):
            fact = self.info.facts.get(node.name)
            return fact.meaning if fact is not None and fact.meaning else words(node.name)
        if isinstance(node, program.FieldRef):
            return words(node.field)
        if isinstance(node, program.Const):
            return answer(node.value, "bool" if isinstance(node.value, bool) else "enum")
        slots = self._slots(node)
        if slots is not None:
            # A doctrine's own test over its elements: "X, Y and Z are all met".
            if len(slots) == 1:
                return f"{slots[0]} is met"
            both = "both" if len(slots) == 2 else "all"
            if isinstance(node, program.And):
                return f"{_join(slots, 'and')} are {both} met"
            if isinstance(node, program.Or):
                return f"at least one of {_join(slots, 'or')} is met"
            assert isinstance(node, program.Not)
            if isinstance(node.item, program.And):
                return f"{_join(slots, 'and')} are not {both} met"
            return f"none of {_join(slots, 'or')} is met"
        if isinstance(node, (program.And, program.Or)):
            word = _junction(node)
            return _join([self._nested(i, env, word) for i in node.items], word)
        if isinstance(node, program.Not):
            return "it is not the case that " + self(node.item, env)
        if isinstance(node, program.AtLeast):
            return f"at least {node.count} of: " + "; ".join(self(i, env) for i in node.items)
        if isinstance(node, program.Compare):
            return self._compare(node, env)
        if isinstance(node, program.Presence):
            return f"{words(node.field.field)} is {'given' if node.present else 'not given'}"
        if isinstance(node, program.Quantified):
            lead = {
                "some": "at least one of the",
                "every": "every one of the",
                "no": "none of the",
            }[node.quantifier]
            list_fact = node.collection.name
            return f"{lead} {words(list_fact)} meets all of: " + self._items(
                node.body, {**env, node.var: list_fact}
            )
        if isinstance(node, program.ElementRef):
            if node.key in self.labels:
                return words(self.labels[node.key])
            return lower_first(self.info.elements[node.key].title)
        if isinstance(node, program.DoctrineRef):
            return f"the {words(node.name)} test is met"
        if isinstance(node, program.Chain):
            return self.chain(node)
        if isinstance(node, program.Open):
            return f"the law leaves it open ({lower_first(str(node.reason)).rstrip('.')})"
        if isinstance(node, program.Switch):
            return self.switch(node)
        return str(node)

    def switch(self, node: program.Switch) -> str:
        lines = [
            f"where {words(node.fact.name)} is {literal(arm.value.value)}, {self(arm.result)}"
            for arm in node.arms
        ]
        return "; ".join([*lines, f"otherwise, {self(node.otherwise)}"])

    def _slots(self, node: Node) -> list[str] | None:
        """The element labels of an `and`/`or` (or its negation) made only of slots."""
        if isinstance(node, program.Not) and isinstance(node.item, (program.And, program.Or)):
            node = node.item
        elif not isinstance(node, (program.And, program.Or)):
            return None
        keys = [i.key for i in node.items if isinstance(i, program.ElementRef)]
        if not node.items or len(keys) < len(node.items) or any(k not in self.labels for k in keys):
            return None
        return [words(self.labels[k]) for k in keys]

    def _items(self, node: Node, env: Mapping[int, str]) -> str:
        if isinstance(node, program.And):
            return "; ".join(self._nested(i, env, "and") for i in node.items)
        return self(node, env)

    def _nested(self, node: Node, env: Mapping[int, str], outer: str) -> str:
        text = self(node, env)
        if (
            isinstance(node, (program.And, program.Or))
            and _junction(node) != outer
            and len(node.items) > 1
        ):
            return ("either " if isinstance(node, program.Or) else "both ") + text
        return text

    def _operand(self, node: Node, env: Mapping[int, str]) -> tuple[str, str]:
        """(words, kind) of a compared value."""
        if isinstance(node, program.FactRef):
            return words(node.name), self.schema.get(node.name, ("text", None))[0]
        if isinstance(node, program.FieldRef):
            kind = "text"
            list_fact = env.get(node.var)
            if list_fact:
                for name, k, _spec, _optional in self.schema[list_fact][1]:
                    if name == node.field:
                        kind = k
            return words(node.field), kind
        assert isinstance(node, program.Const)
        value = node.value
        if isinstance(value, datetime.date):
            return value.isoformat(), "date"
        if isinstance(value, bool):
            return ("yes" if value else "no"), "bool"
        if isinstance(value, (int, float)):
            return str(value), "number"
        return words(str(value)) if "_" in str(value) else str(value), "const"

    def _compare(self, node: program.Compare, env: Mapping[int, str]) -> str:
        op, left, right = node.op, node.left, node.right
        lw, lk = self._operand(left, env)
        rw, rk = self._operand(right, env)
        kind = lk if lk != "const" else rk
        if kind == "date":
            verbs = {
                "<": "is before",
                "<=": "is on or before",
                ">": "is after",
                ">=": "is on or after",
                "==": "is",
                "!=": "is not",
            }
        elif kind in ("scale", "number"):
            verbs = {
                "<": "is below",
                "<=": "is at most",
                ">": "is above",
                ">=": "is at least",
                "==": "is",
                "!=": "is not",
            }
        else:
            verbs = {
                "==": "is",
                "!=": "is not",
                "<": "is less than",
                "<=": "is at most",
                ">": "is more than",
                ">=": "is at least",
            }
        constant = isinstance(left, program.Const) or isinstance(right, program.Const)
        if not constant and op in ("==", "!="):
            verbs = {"==": "is the same as", "!=": "differs from"}
        return f"{lw} {verbs[op]} {rw}"

    def chain(self, node: program.Chain) -> str:
        lines = [
            f"{_outcome_words(b.outcome, b.result)} when {self(b.cond)}" for b in node.branches
        ]
        otherwise = _outcome_words(node.default, node.default)
        if node.kind == "first_match":
            return "; ".join([*lines, f"otherwise {otherwise}"])
        return f"{otherwise} as a general rule, except that it is " + "; and it is ".join(lines)


def _outcome_words(outcome: Any, result: Any) -> str:
    """A rule's outcome in words: met, not met, or open (and why)."""
    if isinstance(outcome, bool):
        return "met" if outcome else "not met"
    if isinstance(result, program.Open):
        return f"open ({lower_first(str(result.reason)).rstrip('.')})"
    return "open"


def _junction(node: program.And | program.Or) -> str:
    return "and" if isinstance(node, program.And) else "or"


def describe(
    info: program.ModuleInfo,
    schema: Mapping[str, tuple[str, Any]],
    node: Node,
    labels: Mapping[str, str] | None = None,
) -> str:
    """A condition tree in words."""
    return _Words(info, schema, labels)(node)


# ---------------------------------------------------------------- why: the facts a value rests on


def support(
    model: Model,
    node: Node,
    *,
    stop: bool = False,
    env: Mapping[int, tuple[str, int]] | None = None,
) -> list[tuple[str, str]]:
    """The leaves a node's present value rests on: ("fact", name), and with `stop` the
    ("element", key) and ("doctrine", name) it refers to, rather than their facts.

    A value that is true because of all its parts rests on all of them; false because of one
    part, on the parts that are false; unknown, on the parts that are unknown.
    """
    env = env or {}
    out: list[tuple[str, str]] = []
    value = model.value(node, env)

    def add(leaves: list[tuple[str, str]]) -> None:
        for leaf in leaves:
            if leaf not in out:
                out.append(leaf)

    def pick(items: Sequence[Node], inner: Mapping[int, tuple[str, int]], all_when: Any) -> None:
        for item in items:
            v = model.value(item, inner)
            if value is all_when or v is value:
                add(support(model, item, stop=stop, env=inner))

    if isinstance(node, program.FactRef):
        add([("fact", node.name)])
    elif isinstance(node, program.FieldRef):
        add([("fact", env[node.var][0])])
    elif isinstance(node, program.Compare):
        for side in (node.left, node.right):
            if isinstance(side, program.FactRef):
                add([("fact", side.name)])
            elif isinstance(side, program.FieldRef):
                add([("fact", env[side.var][0])])
    elif isinstance(node, program.Presence):
        add([("fact", env[node.field.var][0])])
    elif isinstance(node, program.And):
        pick(node.items, env, True)
    elif isinstance(node, program.Or):
        pick(node.items, env, False)
    elif isinstance(node, program.AtLeast):
        pick(node.items, env, object())
    elif isinstance(node, program.Not):
        add(support(model, node.item, stop=stop, env=env))
    elif isinstance(node, program.Quantified):
        list_fact = node.collection.name
        add([("fact", list_fact)])
        items = model.facts.get(list_fact) or ()
        some_value = value if node.quantifier != "no" else (None if value is None else not value)
        all_when = node.quantifier not in ("some", "no")
        for i in range(len(items)):
            inner = {**env, node.var: (list_fact, i)}
            v = model.value(node.body, inner)
            if some_value is all_when or v is some_value:
                add(support(model, node.body, stop=stop, env=inner))
    elif isinstance(node, (program.ElementRef, program.DoctrineRef)):
        leaf = _leaf(node)
        if stop:
            add([leaf])
        else:
            # Once per element: a chain of elements each using the one before twice would
            # otherwise be walked exponentially often.
            memo = model.support_memo
            if leaf not in memo:
                memo[leaf] = support(model, model.tree(node))
            add(memo[leaf])
    elif isinstance(node, program.Switch):
        rule = model.switch_arm(node)
        add([("fact", node.fact.name)])
        if rule is None:  # the fact unknown: it, and the alternatives that leave it open
            for arm in node.arms:
                if model.value(arm.result) is value or value is None:
                    add(support(model, arm.result, stop=stop))
        else:
            add(support(model, rule, stop=stop))
    elif isinstance(node, program.Chain):
        decided = model.chain_branch(node)
        branches = node.branches
        upto = len(branches) if decided in (-1, None) else decided + 1
        for i, branch in enumerate(branches[:upto]):
            if decided is None and model.value(branch.cond) is False:
                continue
            add(support(model, branch.cond, stop=stop))
            if i == decided:
                add(support(model, branch.result, stop=stop))
    return out


def _leaf(node: program.ElementRef | program.DoctrineRef) -> tuple[str, str]:
    """("element", key) or ("doctrine", name): a reference as `support` reports it."""
    if isinstance(node, program.ElementRef):
        return ("element", node.key)
    return ("doctrine", node.name)


# ---------------------------------------------------------------- facts quoted from the case


def type_words(fact: program.FactInfo | None, kind: str | None = None) -> str:
    """A fact's type as a user would ask for it: "yes or no", "one of: ..." (`kind`, when
    given, in place of the fact's own)."""
    kind = kind or (fact.kind if fact is not None else None)
    described = fact.type if fact is not None else ""
    values = [words(str(v)) for v in (fact.values if fact is not None else ())]
    if kind == "bool":
        return "yes or no"
    if kind == "enum":
        return "one of: " + ", ".join(values)
    if kind == "scale":
        return "one of, from least to most: " + ", ".join(values)
    if kind == "date":
        return "a date"
    if kind == "list":
        return (described or "a list").replace("a list of ", "a list of records: ")
    return described or kind or ""


class _Facts:
    def __init__(
        self,
        info: program.ModuleInfo,
        schema: Mapping[str, tuple[str, Any]],
        facts: Mapping[str, Any],
        presumed: Iterable[str] = (),
    ):
        self.info = info
        self.schema = schema
        self.facts = facts
        self.presumed = frozenset(presumed)
        """Facts the case did not give that a burden of proof made count one way."""

    def quote(self, name: str) -> Data:
        """One fact as the case gave it, with its meaning and the answer it gives."""
        kind = self.schema[name][0]
        value = self.facts.get(name)
        meta = self.info.facts.get(name)
        records = []
        if kind == "list" and value is not None:
            for i, record in enumerate(value):
                fields = [
                    {"name": field, "value": literal(v)}
                    for field, v in record.items()
                    if v is not ABSENT
                ]
                title = record.get("name")
                records.append(
                    {
                        "title": title if isinstance(title, str) and title else f"item {i + 1}",
                        "fields": fields,
                    }
                )
        shown = answer(value, kind) if kind != "list" else literal(value)
        if value is None:
            shown = "not given"
        return {
            "name": name,
            "words": words(name),
            "shown": shown,
            "kind": kind,
            "given": value is not None and name not in self.presumed,
            "value": "not given"
            if value is None
            else f"{literal(value)}, as the burden of proof counts it (not given)"
            if name in self.presumed
            else literal(value),
            "answer": answer(value, kind)
            if kind != "list"
            else ("not found" if value is None else literal(value)),
            "meaning": meta.meaning if meta is not None else "",
            "type": type_words(meta),
            "choices": list(meta.values) if meta is not None else [],
            "records": records,
        }


# ---------------------------------------------------------------- doctrine summaries


def _period(doctrine: program.DoctrineInfo, facts: Mapping[str, Any] | None) -> Data:
    began, ended = doctrine.in_force_from, doctrine.in_force_until
    start = began.isoformat() if began is not None else None
    until = ended.isoformat() if ended is not None else None
    text = ""
    if start and until:
        text = f"from {start} until {until}"
    elif start:
        text = f"from {start}"
    elif until:
        text = f"until {until}"
    event = facts.get("event_date") if facts is not None else None
    applies: bool | None = None
    if text and isinstance(event, datetime.date):
        applies = not ((began and event < began) or (ended and event >= ended))
    return {
        "start": start,
        "until": until,
        "text": text,
        "bounded": bool(text),
        "event_date": event.isoformat() if isinstance(event, datetime.date) else None,
        "applies": applies,
    }


def _summary(
    info: program.ModuleInfo,
    name: str,
    facts: Mapping[str, Any] | None,
    schema: Mapping[str, tuple[str, Any]],
) -> Data:
    d = info.doctrines[name]
    labels = {slot.key: slot.label for slot in d.elements}
    parent = d.extends
    parent_info = info.doctrines.get(parent) if parent else None
    return {
        "name": name,
        "title": d.title,
        "module": info.module,
        "module_title": info.title,
        "court": d.court,
        "court_words": court_words(d.court),
        "source": cite(d.source),
        "cites": _cites(d.cites),
        "notes": list(d.notes),
        "period": _period(d, facts),
        "extends": {"name": parent, "title": parent_info.title if parent_info else ""}
        if parent
        else None,
        "requirement": describe(info, schema, d.tree, labels),
        "requirement_source": d.requirement,
        "module_only": False,
    }


def _governing(info: program.ModuleInfo, name: str, facts: Mapping[str, Any]) -> Data:
    """Which court's law the memo states, as of which day, and the rule's standing there."""
    d = info.doctrines[name]
    rule_court = d.court
    circuit = facts.get("circuit")
    circuit = circuit if isinstance(circuit, str) and circuit else None
    event = facts.get("event_date")
    day = event.isoformat() if isinstance(event, datetime.date) else None
    opinion = d.opinion
    period = _period(d, facts)
    if opinion:
        standing = "a separate opinion's rule, the law of no court"
    elif rule_court.upper() == "SCOTUS":
        standing = "Supreme Court law, binding in every circuit"
    elif not rule_court:
        standing = "a rule of no one court"
    elif circuit is None:
        standing = f"the {court_words(rule_court)}'s rule; the case names no circuit"
    elif circuit == rule_court:
        standing = f"the {court_words(rule_court)}'s own rule"
    else:
        standing = (
            f"the {court_words(rule_court)}'s rule, which does not bind the {court_words(circuit)}"
        )
    binds = None
    if not opinion and circuit is not None:
        binds = rule_court.upper() == "SCOTUS" or not rule_court or rule_court == circuit
    cautions = []
    if binds is False:
        cautions.append(
            f"This rule does not bind the {court_words(circuit)}; it is stated for comparison only."
        )
    if period["applies"] is False:
        cautions.append(
            "The conduct falls outside this rule's period: another rule governed on that day"
            " (`doctrine which` names it)."
        )
    # Plain sentences (the templates escape them for their format), so that text from the case
    # (a circuit, say) never reaches a memo unescaped.
    return {
        "separate": (
            f"This test is the rule of a separate opinion,"
            f" {(d.source.citation if d.source else '') or opinion}."
            " A separate opinion is the law of no court: the memo states what that opinion would"
            " require, for comparison with the rule that governs, and its answer is not the law's."
        )
        if opinion
        else "",
        "whose": f"The law binding in the {court_words(circuit)} (the case gives circuit"
        f" {circuit})."
        if circuit
        else "No circuit given: the memo states the rule without asking whether it binds the"
        " court that would hear the case.",
        "as_of": f"{day}, the date of the conduct (event_date)."
        if day
        else "No date of the conduct given: the rule as the library states it now.",
        "rule": f"{name}: {standing}"
        + (f", in force {period['text']}." if period["text"] else "."),
        "caution": " ".join(cautions),
    }


# ---------------------------------------------------------------- explanations


def _status_groups(items: list[Data]) -> list[Data]:
    groups: list[Data] = []
    for status in ("met", "not met", "undetermined"):
        labels = [i["words"] for i in items if i["status"] == status]
        if labels:
            groups.append({"status": status, "labels": labels, "count": len(labels)})
    return groups


def _quantified(node: Node) -> list[program.Quantified]:
    """The quantifiers of a tree, outside the elements and doctrines it refers to."""
    if isinstance(node, program.Quantified):
        return [node]
    if isinstance(node, (program.And, program.Or, program.AtLeast)):
        return [q for item in node.items for q in _quantified(item)]
    if isinstance(node, program.Not):
        return _quantified(node.item)
    return []


def _items(model: Model, words_: _Words, tree: Node) -> list[Data]:
    """Each record a quantifier ranges over, and which of the requirements it fails."""
    out = []
    for q in _quantified(tree):
        list_fact, var, body = q.collection.name, q.var, q.body
        records = model.facts.get(list_fact) or ()
        parts = body.items if isinstance(body, program.And) else (body,)
        for i, record in enumerate(records):
            env = {var: (list_fact, i)}
            checks = [(model.value(part, env), words_(part, {var: list_fact})) for part in parts]
            title = record.get("name")
            out.append(
                {
                    "list": list_fact,
                    "quantifier": q.quantifier,
                    "title": title if isinstance(title, str) and title else f"item {i + 1}",
                    "status": STATUS[model.value(body, env)],
                    "unmet": [w for v, w in checks if v is False],
                    "open": [w for v, w in checks if v is None],
                }
            )
    return out


def _element_data(
    model: Model, quote: _Facts, words_: _Words, label: str, key: str, value: bool | None
) -> Data:
    el = model.info.elements[key]
    facts = [leaf[1] for leaf in support(model, el.tree) if leaf[0] == "fact"]
    parts: list[Data] = []
    for leaf in support(model, el.tree, stop=True):
        if leaf[0] == "element":
            sub = model.info.elements[leaf[1]]
            v = model.value(program.ElementRef(leaf[1]))
            parts.append(
                {
                    "kind": "element",
                    "name": sub.name,
                    "title": sub.title,
                    "status": STATUS[v],
                    "prose": sub.met if v else sub.unmet if v is False else "",
                    "requirement": words_(sub.tree),
                    "elements": [],
                }
            )
        elif leaf[0] == "doctrine":
            d = model.info.doctrines[leaf[1]]
            v = model.value(program.DoctrineRef(leaf[1]))
            parts.append(
                {
                    "kind": "doctrine",
                    "name": leaf[1],
                    "title": d.title,
                    "status": STATUS[v],
                    "prose": "",
                    "requirement": "",
                    "elements": [
                        {
                            "label": s.label,
                            "words": words(s.label),
                            "status": STATUS[model.value(program.ElementRef(s.key))],
                        }
                        for s in d.elements
                    ],
                }
            )
    return {
        "label": label,
        "words": words(label),
        "key": key,
        "name": el.name,
        "title": el.title,
        "status": STATUS[value],
        "value": value,
        "requirement": words_(el.tree),
        "requirement_source": el.requirement,
        "prose": el.met if value else el.unmet if value is False else "",
        "met": el.met,
        "unmet": el.unmet,
        "notes": list(el.notes),
        "facts": [quote.quote(f) for f in facts],
        "cites": _cites(el.cites),
        "parts": parts,
        "members": _items(model, words_, el.tree),
    }


def _rules(model: Model, tree: Node, words_: _Words, with_status: bool) -> Data | None:
    if not isinstance(tree, program.Chain):
        return None
    decided = model.chain_branch(tree) if with_status else None
    rows = []
    for i, b in enumerate(tree.branches):
        applies = model.value(b.cond) if with_status else None
        condition = words_(b.cond)
        if isinstance(b.cond, program.ElementRef):
            condition += " is met"
        rows.append(
            {
                "label": b.label,
                "words": words(b.label),
                "condition": condition,
                "outcome": _outcome_words(b.outcome, b.result)
                if b.outcome is None
                else OUTCOME[bool(b.outcome)],
                "because": b.because,
                "cites": _cites(b.cites),
                "status": {True: "applies", False: "does not apply", None: "undetermined"}[applies],
                "decides": decided == i,
            }
        )
    default = tree.default
    return {
        "kind": tree.kind,
        "first_match": tree.kind == "first_match",
        "default": {
            "outcome": OUTCOME[default]
            if isinstance(default, bool)
            else _outcome_words(default, default),
            "because": tree.because,
            "cites": _cites(tree.cites),
            "decides": decided == -1,
        },
        "branches": rows,
        "settled": decided is not None,
    }


def _referenced(info: program.ModuleInfo, tree: Node) -> list[str]:
    """The doctrines a tree refers to, directly or through its elements, in order."""
    out: list[str] = []
    seen: set[str] = set()

    def walk(node: Node) -> None:
        for inner in program.walk(node):
            if isinstance(inner, program.ElementRef) and inner.key not in seen:
                seen.add(inner.key)
                walk(info.elements[inner.key].tree)
            elif isinstance(inner, program.DoctrineRef) and inner.name not in out:
                out.append(inner.name)
                walk(info.doctrines[inner.name].tree)

    walk(tree)
    return out


def _rejects(d: program.DoctrineInfo, quote: _Facts | None, under: str = "") -> list[Data]:
    out = []
    for r in d.rejects:
        on = [quote.quote(f) if quote else {"name": f} for f in r.on]
        raised = bool(quote) and all(
            q["given"] and (q["kind"] != "bool" or q["answer"] == "yes") for q in on
        )
        out.append(
            {
                "name": r.name,
                "title": r.title,
                "on": on,
                "raised": raised,
                "because": r.because,
                "cites": _cites(r.cites),
                "under": under,
            }
        )
    return out


def _counterfactual_data(cf: Counterfactual, schema: Mapping[str, tuple[str, Any]]) -> Data:
    changes = []
    for c in cf.changes:
        changes.append(
            {
                "path": c.path,
                "fact": c.fact,
                "item": c.item,
                "field": c.field,
                "before": "not given" if c.before is None else literal(c.before),
                "after": c.clause,
                "value": literal(c.value),
                "choices": [literal(v) for v in c.values],
            }
        )
    return {
        "holds": cf.holds,
        "outcome": OUTCOME[cf.holds],
        "phrase": cf.phrase,
        "size": len(cf.changes),
        "changes": changes,
    }


def heading(
    to: str | None = None,
    from_: str | None = None,
    date: str | None = None,
    subject: str | None = None,
) -> Data | None:
    """A memorandum's To / From / Date / Re block, or None when none of them is given.

    A date given as YYYY-MM-DD is written out ("December 4, 2026"); anything else is kept.
    """
    if not any((to, from_, date, subject)):
        return None
    shown = date or ""
    try:
        day = datetime.date.fromisoformat(shown)
    except ValueError:
        pass
    else:
        shown = f"{day:%B} {day.day}, {day.year}"
    return {"to": to or "", "from": from_ or "", "date": shown, "re": subject or ""}


def explanation(
    result: Result,
    *,
    case: str | None = None,
    limit: int = 8,
    memo: Mapping[str, str] | None = None,
) -> Data:
    """Everything an explanation document says about one result, as plain data.

    `case` names the case (a facts file's `title`, else its name); `memo` is a `heading()`.
    """
    evaluator = result.evaluator
    info = module_info(evaluator)
    schema = evaluator.schema.facts
    d = info.doctrines[result.doctrine]
    model = Model(info, schema, result.facts)
    presumed_facts = {note.fact for note in result.presumed}
    quote = _Facts(info, schema, result.facts, presumed_facts)
    labels = {slot.key: slot.label for slot in d.elements}
    words_ = _Words(info, schema, labels)
    elements = [
        _element_data(
            model, quote, _Words(info, schema), s.label, s.key, result.elements.get(s.label)
        )
        for s in d.elements
    ]
    not_reached = set(getattr(result, "not_reached", ()) or ())
    for e in elements:
        if e["label"] in not_reached:  # a threshold failed: the court never reached it
            e["status"], e["prose"], e["facts"], e["parts"] = "not reached", "", [], []
    by_key = {s.key: e for s, e in zip(d.elements, elements, strict=True)}
    decisive: list[Data] = []
    for leaf in support(model, d.tree, stop=True):
        if leaf[0] == "element" and leaf[1] in by_key and by_key[leaf[1]] not in decisive:
            decisive.append(by_key[leaf[1]])
    weighed = set(d.facts_weighed)
    rejects = _rejects(d, quote)
    for other in _referenced(info, d.tree):
        # A theory the doctrines it rests on reject, on facts this one does not weigh itself.
        for r in _rejects(info.doctrines[other], quote, under=other):
            if not {o["name"] for o in r["on"]} & weighed and (
                r["title"],
                tuple(o["name"] for o in r["on"]),
            ) not in {(x["title"], tuple(o["name"] for o in x["on"])) for x in rejects}:
                rejects.append(r)
    unweighed = []
    for name in schema:
        if result.facts.get(name) is not None and name not in weighed | presumed_facts:
            q = quote.quote(name)
            q["answered_by"] = [r["title"] for r in rejects if name in [o["name"] for o in r["on"]]]
            unweighed.append(q)
    stage = getattr(result, "stage", None)
    record = [
        {
            "fact": str(note.get("fact", "")),
            "words": words(str(note.get("fact", ""))),
            "used": "unknown" if note.get("used") is None else literal(note.get("used")),
            "why": str(note.get("why", "")),
        }
        for note in getattr(result, "record", ()) or ()
    ]
    filled = screened_list(result)
    supplied = [
        {"name": str(note.get("name", "")), "reason": str(note.get("reason", ""))}
        for note in getattr(result, "precedents", ()) or ()
    ]
    found = search(result, info, limit=limit) if limit > 0 else ()
    cfs = [_counterfactual_data(cf, schema) for cf in found]
    summary = _summary(info, result.doctrine, result.facts, schema)
    citation_forms(
        [*(c for e in elements for c in e["cites"]), *(c for r in rejects for c in r["cites"])],
        header=[summary["source"]] if summary["source"] else [],
    )
    return {
        "kind": "explain",
        "case": case or "",
        "memo": dict(memo) if memo else None,
        "doctrine": summary,
        "governing": _governing(info, result.doctrine, result.facts),
        "holds": result.holds,
        "outcome": OUTCOME[result.holds],
        "conclusion": {
            "outcome": OUTCOME[result.holds],
            "groups": _status_groups(decisive),
            "decisive": [
                {
                    "label": e["label"],
                    "words": e["words"],
                    "status": e["status"],
                    "title": e["title"],
                }
                for e in decisive
            ],
            "missing": list(result.missing),
            "missing_words": [words(name) for name in result.missing],
        },
        "elements": elements,
        "rules": _rules(model, d.tree, words_, True),
        "rejects": rejects,
        "unweighed": unweighed,
        "missing": [quote.quote(name) for name in result.missing],
        "counterfactuals": {
            "met": [c for c in cfs if c["holds"]],
            "not_met": [c for c in cfs if not c["holds"]],
            "all": cfs,
            "searched": limit > 0,
        },
        "given": [
            quote.quote(name)
            for name in schema
            if result.facts.get(name) is not None and name not in presumed_facts
        ],
        "stage": {"name": stage, "words": stage.replace("-", " "), "record": record}
        if stage
        else None,
        "supplied": {"list": filled, "words": words(filled), "cases": supplied} if filled else None,
        "case_short_names": module_short_names(info),
        # Why the outcome is open whatever the facts, one line each (`open "..."`).
        "open": list(getattr(result, "open", ()) or ()),
        # The facts the case did not give that a burden made count one way, and why.
        "presumed": [
            {
                "fact": note.fact,
                "words": words(note.fact),
                "value": literal(note.value) if note.value != () else "none",
                "when": note.when,
                "because": note.because,
                "cites": _cites(note.cites),
            }
            for note in result.presumed
        ],
        "thresholds": [words(t) for t in d.thresholds],
        "not_reached": [words(label) for label in result.elements if label in not_reached],
    }


# ---------------------------------------------------------------- documentation


def _element_doc(
    info: program.ModuleInfo, words_: _Words, label: str, key: str, seen: set[str]
) -> Data:
    el = info.elements[key]
    seen.add(key)
    parts = []
    for sub in el.uses:
        if sub not in seen and sub in info.elements:
            parts.append(_element_doc(info, words_, info.elements[sub].name, sub, seen))
    return {
        "label": label,
        "words": words(label),
        "key": key,
        "name": el.name,
        "title": el.title,
        "requirement": words_(el.tree),
        "requirement_source": el.requirement,
        "met": el.met,
        "unmet": el.unmet,
        "notes": list(el.notes),
        "cites": _cites(el.cites),
        "facts": sorted(el.facts),
        "parts": parts,
    }


def _variant(info: program.ModuleInfo, d: program.DoctrineInfo, words_: _Words) -> Data | None:
    parent_name = d.extends
    if not parent_name or parent_name not in info.doctrines:
        return None
    p = info.doctrines[parent_name]
    mine = {s.label: s.key for s in d.elements}
    theirs = {s.label: s.key for s in p.elements}
    changes = []

    def side(key: str | None) -> Data | None:
        if key is None:
            return None
        el = info.elements[key]
        return {"title": el.title, "requirement": words_(el.tree)}

    for label in [*theirs, *(lb for lb in mine if lb not in theirs)]:
        before, after = theirs.get(label), mine.get(label)
        if before == after:
            continue
        change = "added" if before is None else "removed" if after is None else "replaced"
        changes.append(
            {
                "label": label,
                "words": words(label),
                "change": change,
                "before": side(before),
                "after": side(after),
            }
        )
    my_rejects = {r.name: r for r in d.rejects}
    their_rejects = {r.name: r for r in p.rejects}
    accepts = [
        {"title": r.title, "because": r.because, "on": list(r.on), "cites": _cites(r.cites)}
        for name, r in their_rejects.items()
        if name not in my_rejects
    ]
    rejects = [
        {
            "title": r.title,
            "on": list(r.on),
            "replaces": their_rejects[name].title if name in their_rejects else "",
        }
        for name, r in my_rejects.items()
        if name not in their_rejects or their_rejects[name] != r
    ]
    labels_p = {s.key: s.label for s in p.elements}
    labels_d = {s.key: s.label for s in d.elements}
    req_before = _Words(info, words_.schema, labels_p)(p.tree)
    req_after = _Words(info, words_.schema, labels_d)(d.tree)
    period_before, period_after = _period(p, None)["text"], _period(d, None)["text"]
    src_before, src_after = cite(p.source), cite(d.source)
    return {
        "parent": {"name": parent_name, "title": p.title, "source": src_before},
        "elements": changes,
        "requirement": {"before": req_before, "after": req_after}
        if p.requirement != d.requirement
        else None,
        "accepts": accepts,
        "rejects": rejects,
        "period": {
            "before": period_before or "without limit",
            "after": period_after or "without limit",
        }
        if period_before != period_after
        else None,
        "source": {"before": src_before, "after": src_after}
        if (src_before or {}).get("citation") != (src_after or {}).get("citation")
        else None,
    }


def _fact_docs(info: program.ModuleInfo, names: Sequence[str]) -> list[Data]:
    out = []
    for f in names:
        meta = info.facts.get(f)
        out.append(
            {
                "name": f,
                "meaning": meta.meaning if meta is not None else "",
                "type": type_words(meta),
                "choices": list(meta.values) if meta is not None else [],
            }
        )
    return out


def module_documentation(info: program.ModuleInfo, schema: Mapping[str, tuple[str, Any]]) -> Data:
    """A file that declares no doctrine (elements, facts) as a readable document."""
    module = info.module
    words_ = _Words(info, schema)
    seen: set[str] = set()
    own = [k for k in info.elements if k.startswith(module + ".")]
    elements = []
    for key in own:
        if key not in seen:
            elements.append(_element_doc(info, words_, info.elements[key].name, key, seen))
    read = sorted({f for k in own for f in info.elements[k].facts})
    period: Data = {
        "start": None,
        "until": None,
        "text": "",
        "bounded": False,
        "event_date": None,
        "applies": None,
    }
    summary: Data = {
        "name": module,
        "title": info.title or module,
        "module": module,
        "module_title": "",
        "court": "",
        "court_words": "",
        "source": None,
        "cites": [],
        "notes": [],
        "period": period,
        "extends": None,
        "requirement": "",
        "requirement_source": "",
        "module_only": True,
    }
    return {
        "kind": "doc",
        "case_short_names": module_short_names(info),
        "doctrine": summary,
        "elements": elements,
        "facts": _fact_docs(info, read if own else list(info.facts)),
        "rules": None,
        "rejects": [],
        "variant": None,
    }


def documentation(
    info: program.ModuleInfo, name: str, schema: Mapping[str, tuple[str, Any]]
) -> Data:
    """A doctrine as a readable document: no facts needed."""
    d = info.doctrines[name]
    words_ = _Words(info, schema)
    seen: set[str] = set()
    elements = [_element_doc(info, words_, s.label, s.key, seen) for s in d.elements]
    labels = {s.key: s.label for s in d.elements}
    model = Model(info, schema, dict.fromkeys(schema))
    summary = _summary(info, name, None, schema)
    rejects = _rejects(d, None)

    def element_cites(items: list[Data]) -> list[Data]:
        return [c for e in items for c in (*e["cites"], *element_cites(e["parts"]))]

    citation_forms(
        [
            *summary["cites"],
            *element_cites(elements),
            *(c for r in rejects for c in r["cites"]),
        ],
        header=[summary["source"]] if summary["source"] else [],
    )
    return {
        "kind": "doc",
        "case_short_names": module_short_names(info),
        "doctrine": summary,
        "elements": elements,
        "facts": _fact_docs(info, d.facts_weighed),
        "rules": _rules(model, d.tree, _Words(info, schema, labels), False),
        "rejects": rejects,
        "variant": _variant(info, d, words_),
    }


# ---------------------------------------------------------------- comparisons


def comparison(a: Result, b: Result, *, case: str | None = None) -> Data:
    """Two doctrines on the same facts: where they agree, and the first place they part."""
    ea, eb = explanation(a, case=case, limit=0), explanation(b, case=case, limit=0)
    rows = []
    by_a = {e["label"]: e for e in ea["elements"]}
    by_b = {e["label"]: e for e in eb["elements"]}
    for label in [*by_a, *(lb for lb in by_b if lb not in by_a)]:
        x, y = by_a.get(label), by_b.get(label)
        rows.append(
            {
                "label": label,
                "words": words(label),
                "a": x["status"] if x else None,
                "b": y["status"] if y else None,
                "a_title": x["title"] if x else "",
                "b_title": y["title"] if y else "",
                "same_test": bool(x and y and x["key"] == y["key"]),
                "agree": bool(x and y and x["status"] == y["status"]),
            }
        )
    parting = None
    for row in rows:
        if row["agree"]:
            continue
        x, y = by_a.get(row["label"]), by_b.get(row["label"])
        facts = {q["name"] for e in (x, y) if e for q in e["facts"]}
        answers = []
        for side_name, other, mine in (("a", eb, x), ("b", ea, y)):
            # The other doctrine's answer to a theory this side accepts on these facts.
            if mine is None or mine["status"] != "met":
                continue
            for r in other["rejects"]:
                if facts & {o["name"] for o in r["on"]}:
                    answers.append(
                        {
                            **r,
                            "by": "b" if side_name == "a" else "a",
                            "doctrine": other["doctrine"]["name"],
                        }
                    )
        parting = {
            "label": row["label"],
            "words": row["words"],
            "a": x,
            "b": y,
            "same_test": row["same_test"],
            "answers": answers,
        }
        break
    return {
        "kind": "diff",
        "case_short_names": sorted(set(ea["case_short_names"]) | set(eb["case_short_names"])),
        "case": case or "",
        "a": {
            "doctrine": ea["doctrine"],
            "holds": a.holds,
            "outcome": ea["outcome"],
            "conclusion": ea["conclusion"],
        },
        "b": {
            "doctrine": eb["doctrine"],
            "holds": b.holds,
            "outcome": eb["outcome"],
            "conclusion": eb["conclusion"],
        },
        "same_outcome": a.holds is b.holds,
        "rows": rows,
        "agree": [r for r in rows if r["agree"]],
        "parting": parting,
        "requirement_differs": ea["doctrine"]["requirement"] != eb["doctrine"]["requirement"],
    }


# ---------------------------------------------------------------- rendering


def render_explanation(
    result: Result,
    format: str = "markdown",
    templates: str | PathLike[str] | None = None,
    case: str | None = None,
    memo: Mapping[str, str] | None = None,
) -> str:
    """The explanation of one result as a document (markdown, html or text)."""
    from .render import render

    return render("explain", format, explanation(result, case=case, memo=memo), templates)


def explain_result(result: Any, format: str = "markdown", templates: str | None = None) -> str:
    """`Result.explain()`: the runtime's one entry point into this layer.

    A result of a module compiled with --standalone comes from a copy of the runtime, not
    `compiler.runtime`: the module's own source is loaded again over the compiler's runtime
    and the case evaluated there, so the explanation is the compiler's own, exactly.
    """
    if isinstance(result, Result):
        return render_explanation(result, format=format, templates=templates)
    from ..codegen.compile import module_from_source

    own_runtime = sys.modules[type(result).__module__]
    namespace = getattr(result.evaluator._values, "__globals__", {})
    path = namespace.get("__file__")
    if not path:
        raise ImportError("Result.explain(): cannot find the source of this compiled module")
    with open(path, encoding="utf-8") as handle:
        source = handle.read()
    ours = f"import {own_runtime.__name__} as _rt\n"
    if ours not in source:
        raise ImportError(f"Result.explain(): {path} does not import this runtime")
    source = source.replace(ours, "from compiler import runtime as _rt\n", 1)
    # ... and its program tree, whose nodes must be the compiler's own classes.
    tree = f"from {own_runtime.__name__} import program as _pt\n"
    source = source.replace(tree, "from compiler.runtime import program as _pt\n", 1)
    module = module_from_source(source, str(namespace.get("__name__", "doctrine")), path)
    absent = own_runtime.ABSENT

    def given(value: Any) -> Any:  # the facts as a case would give them: absent fields left out
        if isinstance(value, (list, tuple)):
            return [
                {k: v for k, v in item.items() if v is not absent}
                if isinstance(item, dict)
                else item
                for item in value
            ]
        return value

    facts = {name: given(value) for name, value in result.facts.items() if value is not None}
    again = module.DOCTRINES[result.doctrine].evaluate(facts)
    return render_explanation(again, format=format, templates=templates)


def render_documentation(
    evaluator: Evaluator, format: str = "markdown", templates: str | PathLike[str] | None = None
) -> str:
    """A doctrine as a readable document (markdown, html or text)."""
    from .render import render

    data = documentation(module_info(evaluator), evaluator.name, evaluator.schema.facts)
    return render("doc", format, data, templates)


def render_module_documentation(
    info: program.ModuleInfo,
    schema: Mapping[str, tuple[str, Any]],
    format: str = "markdown",
    templates: str | PathLike[str] | None = None,
) -> str:
    """A file of elements and facts, with no doctrine, as a readable document."""
    from .render import render

    return render("doc", format, module_documentation(info, schema), templates)


def render_comparison(
    a: Result,
    b: Result,
    format: str = "markdown",
    templates: str | PathLike[str] | None = None,
    case: str | None = None,
) -> str:
    """Two doctrines side by side on the same facts (markdown, html or text)."""
    from .render import render

    return render("diff", format, comparison(a, b, case=case), templates)
