"""Interviews: which fact to ask next, from the doctrine's own `missing` (for ask, serve, mcp).

Nothing here decides a legal question. The compiled doctrine evaluates the answers so far; its
result's `missing` lists the unknown facts that can still change the outcome, and the next
question is one of those the user has not yet been asked. Which one is the only choice made
here: in declaration order, or the one expected to leave the fewest questions after it (see
`choose`). An answer of "don't know" is kept as the fact given as None: asked, and unknown.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs

from ..explain.explanation import module_info, type_words
from ..runtime import DoctrineException, Evaluator, FactsError, Result, program

__all__ = [
    "STRATEGIES",
    "Field",
    "Question",
    "Reason",
    "Step",
    "element_facts",
    "next_step",
    "question_for",
    "replay",
]

# Kinds of fact whose values can be listed, so that the choice can look at each answer.
_ENUMERABLE = ("bool", "enum", "scale")
# How many evaluations one choice may spend looking ahead before it settles for less.
_BUDGET = 4000


@attrs.frozen
class Reason:
    """An element of the doctrine, still unknown, that the asked fact can decide."""

    element: str
    title: str

    def as_dict(self) -> dict[str, str]:
        return {"element": self.element, "title": self.title}


@attrs.frozen
class Field:
    """One field of the records of a list fact (an authority's `court`, `decided`, ...)."""

    name: str
    kind: str
    values: tuple[str, ...]
    optional: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "values": list(self.values),
            "optional": self.optional,
        }


@attrs.frozen
class Question:
    """The next fact to ask: its type, its allowed values, its meaning, and why it is asked."""

    fact: str
    kind: str  # bool, enum, scale (an ordered enum), date, text, number or list
    type: str  # the type in words, as the explanations say it
    values: tuple[str, ...]  # an enum's words (lowest first for a scale); empty otherwise
    meaning: str
    reasons: tuple[Reason, ...]
    fields: tuple[Field, ...] = ()  # a list's record fields

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "fact": self.fact,
            "kind": self.kind,
            "type": self.type,
            "values": list(self.values),
            "meaning": self.meaning,
            "reasons": [r.as_dict() for r in self.reasons],
        }
        if self.fields:
            out["fields"] = [f.as_dict() for f in self.fields]
        return out


@attrs.frozen
class Step:
    """Where an interview stands: the next question, or done with the result."""

    result: Result
    question: Question | None
    asked: tuple[str, ...]  # the facts already answered, "don't know" included, in order

    @property
    def done(self) -> bool:
        return self.question is None

    def as_dict(self) -> dict[str, Any]:
        """`{"done": false, "question": {...}}` or `{"done": true, "result": {...}}`."""
        if self.question is None:
            return {"done": True, "result": self.result.as_dict()}
        return {
            "done": False,
            "question": self.question.as_dict(),
            "result": self.result.as_dict(),
        }


# ---------------------------------------------------------------- what each element reads


def element_facts(evaluator: Evaluator) -> dict[str, frozenset[str]]:
    """For each element label of the doctrine, the facts it reads, through the elements and
    doctrines it refers to."""
    return dict(_element_facts(evaluator))


@functools.lru_cache(maxsize=64)
def _element_facts(evaluator: Evaluator) -> tuple[tuple[str, frozenset[str]], ...]:
    info = module_info(evaluator)
    elements, doctrines = info.elements, info.doctrines

    def walk(tree: program.Expr, out: set[str], seen: set[str]) -> None:
        for node in program.walk(tree):
            if isinstance(node, program.FactRef):
                out.add(node.name)
            elif isinstance(node, program.ElementRef):
                if node.key in seen or node.key not in elements:
                    continue
                seen.add(node.key)
                out.update(elements[node.key].facts)
                walk(elements[node.key].tree, out, seen)
            elif isinstance(node, program.DoctrineRef):
                if "doctrine:" + node.name in seen or node.name not in doctrines:
                    continue
                seen.add("doctrine:" + node.name)
                out.update(doctrines[node.name].facts_weighed)
                walk(doctrines[node.name].tree, out, seen)

    result = []
    for entry in doctrines[evaluator.name].elements:
        own = elements.get(entry.key)
        found: set[str] = set(own.facts if own is not None else ())
        walk(program.ElementRef(entry.key), found, set())
        result.append((entry.label, frozenset(found)))
    return tuple(result)


def question_for(
    evaluator: Evaluator, fact: str, result: Result, facts: Mapping[str, Any] | None = None
) -> Question:
    """The question about `fact`, with the elements still unknown in `result` that it can
    decide. Under a closed world, where every element is settled, those are the elements
    unknown while the facts not yet answered (`facts` gives the answers) are taken as unknown.
    """
    if evaluator.closed and facts is not None and evaluator.precedents is None:
        with contextlib.suppress(FactsError, ValueError):
            result = evaluator.evaluate(evaluator.schema.validate(facts), validate=False)
    info = module_info(evaluator)
    meta = info.facts.get(fact)
    kind, spec = evaluator.schema.facts[fact]
    reads = element_facts(evaluator)
    doctrine = info.doctrines[evaluator.name]
    titles = {
        e.label: (info.elements[e.key].title if e.key in info.elements else "") or e.label
        for e in doctrine.elements
    }
    reasons = tuple(
        Reason(label, titles.get(label, label))
        for label, value in result.elements.items()
        if value is None and fact in reads.get(label, frozenset())
    )
    fields: tuple[Field, ...] = ()
    if kind == "list":
        fields = tuple(
            Field(name, k, tuple(s) if k in ("enum", "scale") else (), optional)
            for name, k, s, optional in spec
        )
    return Question(
        fact=fact,
        kind=kind,
        type=type_words(meta, kind),
        values=tuple(spec) if kind in ("enum", "scale") else (),
        meaning=meta.meaning if meta is not None else "",
        reasons=reasons,
        fields=fields,
    )


# ---------------------------------------------------------------- choosing the next question


def _open(
    evaluator: Evaluator, facts: Mapping[str, Any], stage: str | None
) -> tuple[Result, list[str]]:
    """The result on the answers so far, and the facts that still matter and were not asked.

    Under a closed world (`closed world` in the doctrine) a fact not given counts as absent,
    so the result is always settled and its `missing` empty; but in an interview a fact not
    yet asked is not yet known to be absent. The facts worth asking are then those the
    doctrine's `missing` names when the closed facts not yet asked are taken as unknown; the
    result reported stays the closed world's.
    """
    result = evaluator.evaluate(facts, stage=stage)
    if evaluator.closed and stage is None and evaluator.precedents is None:
        open_world = evaluator.evaluate(evaluator.schema.validate(facts), validate=False)
        if open_world.holds is None:
            return result, [f for f in open_world.missing if f not in facts]
        return result, []
    # A burden makes an absent fact count one way (`absent F counts as V when C`); in an
    # interview a fact not yet asked is not yet known to be absent, so it is still asked.
    presumed = [n.fact for n in result.presumed if n.fact not in facts]
    if result.holds is not None:
        return result, presumed
    return result, [f for f in result.missing if f not in facts] + [
        f for f in presumed if f not in result.missing
    ]


def _declared(evaluator: Evaluator, candidates: Sequence[str]) -> list[str]:
    order = {name: i for i, name in enumerate(evaluator.schema.names)}
    return sorted(candidates, key=lambda f: order.get(f, len(order)))


class _Lookahead:
    """Expected questions left, looking `depth` answers ahead, each answer taken as equally
    likely; past the depth (or the budget), the facts that still matter stand in for it."""

    def __init__(self, evaluator: Evaluator, stage: str | None, depth: int):
        self.evaluator = evaluator
        self.stage = stage
        self.depth = depth
        self.spent = 0
        self.memo: dict[tuple[frozenset[tuple[str, Any]], int], float] = {}

    def open(self, facts: dict[str, Any]) -> list[str]:
        self.spent += 1
        return _open(self.evaluator, facts, self.stage)[1]

    def after(self, facts: dict[str, Any], fact: str, depth: int) -> float:
        """Expected questions after asking `fact`, this one included."""
        kind, spec = self.evaluator.schema.facts[fact]
        if kind not in _ENUMERABLE:
            # A date, text or list cannot be tried value by value: assume it settles only
            # itself, as "don't know" would.
            return 1 + self.left({**facts, fact: None}, depth - 1)
        values = (True, False) if kind == "bool" else tuple(spec)
        return 1 + sum(self.left({**facts, fact: v}, depth - 1) for v in values) / len(values)

    def left(self, facts: dict[str, Any], depth: int) -> float:
        key = (frozenset((k, _hashable(v)) for k, v in facts.items()), depth)
        if key in self.memo:
            return self.memo[key]
        candidates = self.open(facts)
        if depth <= 0 or not candidates or self.spent > _BUDGET:
            value = float(len(candidates))
        else:
            value = min(self.after(facts, f, depth) for f in candidates)
        self.memo[key] = value
        return value


def _hashable(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, Mapping):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    return value


def choose_informed(
    evaluator: Evaluator,
    facts: Mapping[str, Any],
    candidates: Sequence[str],
    stage: str | None = None,
    depth: int = 1,
) -> str:
    """The candidate expected to leave the fewest questions (ties: declaration order).

    Looking one answer ahead asks no more questions over the library's cases than looking two
    or three ahead, at a seventh of the cost or less (docs/interview.md)."""
    ordered = _declared(evaluator, candidates)
    if len(ordered) == 1:
        return ordered[0]
    look = _Lookahead(evaluator, stage, depth)
    scores = {f: look.after(dict(facts), f, depth) for f in ordered}
    return min(ordered, key=lambda f: scores[f])  # min keeps the first of equals


def choose_declared(
    evaluator: Evaluator,
    facts: Mapping[str, Any],
    candidates: Sequence[str],
    stage: str | None = None,
) -> str:
    """The first candidate in the vocabulary's order."""
    return _declared(evaluator, candidates)[0]


Chooser = Callable[[Evaluator, Mapping[str, Any], Sequence[str], str | None], str]
STRATEGIES: dict[str, Chooser] = {
    "informed": choose_informed,
    "declared": choose_declared,
}
# The strategy the interviews use; docs/interview.md gives the counts that chose it.
DEFAULT_STRATEGY = "informed"


def next_step(
    evaluator: Evaluator,
    facts: Mapping[str, Any],
    *,
    stage: str | None = None,
    strategy: str = DEFAULT_STRATEGY,
    asked: Iterable[str] = (),
) -> Step:
    """The next question on the answers so far, or done with the result.

    `facts` maps each fact answered to its value, or to None for "don't know" (asked, and
    not asked again). Raises `FactsError` (one line per problem, naming the fact) when the
    answers do not fit the doctrine.
    """
    if not isinstance(facts, Mapping):
        raise FactsError(["facts: expected a mapping of fact names to values"])
    result, candidates = _open(evaluator, facts, stage)
    order = tuple(asked) or tuple(facts)
    if not candidates:
        return Step(result, None, order)
    fact = STRATEGIES[strategy](evaluator, facts, candidates, stage)
    return Step(result, question_for(evaluator, fact, result, facts), order)


def replay(
    evaluator: Evaluator,
    case: Mapping[str, Any],
    *,
    start: Mapping[str, Any] | None = None,
    strategy: str = DEFAULT_STRATEGY,
    stage: str | None = None,
) -> tuple[Result, list[str]]:
    """Run an interview answering each question from `case` ("don't know" where it has no
    value); return the final result and the facts asked, in order."""
    answers: dict[str, Any] = dict(start or {})
    asked: list[str] = []
    while True:
        step = next_step(evaluator, answers, stage=stage, strategy=strategy)
        if step.question is None:
            return step.result, asked
        fact = step.question.fact
        asked.append(fact)
        answers[fact] = case.get(fact)


# ---------------------------------------------------------------- answers typed as text

DONT_KNOW_WORDS = ("?", "don't know", "dont know", "do not know", "unknown", "dk")
_YES = ("yes", "y", "true", "t")
_NO = ("no", "n", "false", "f")


class AnswerError(DoctrineException, ValueError):
    """A typed answer that does not fit the question; the message says what would."""


def parse_value(kind: str, values: Sequence[str], text: str) -> Any:
    """A typed answer as a fact's value (bool, a word of the enum, an ISO date as text...).

    Raises AnswerError saying what was expected. An enum's word may be given by its number in
    the list (from 1) or with spaces for underscores.
    """
    answer = text.strip()
    low = answer.lower()
    if kind == "bool":
        if low in _YES:
            return True
        if low in _NO:
            return False
        raise AnswerError("answer yes or no (or ? for don't know)")
    if kind in ("enum", "scale"):
        if low.isdigit() and 1 <= int(low) <= len(values):
            return values[int(low) - 1]
        word = low.replace(" ", "_")
        if word in values:
            return word
        raise AnswerError(
            f"answer one of {', '.join(values)}, or its number 1-{len(values)}"
            " (or ? for don't know)"
        )
    if kind == "date":
        import datetime

        try:
            return datetime.date.fromisoformat(answer).isoformat()
        except ValueError:
            raise AnswerError("answer a date as YYYY-MM-DD, such as 1998-09-24") from None
    if kind == "number":
        try:
            number = float(answer)
        except ValueError:
            raise AnswerError("answer a number") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise AnswerError("answer a finite number")
        return int(number) if number.is_integer() and "." not in answer else number
    if kind == "text":
        if not answer:
            raise AnswerError("answer some text (or ? for don't know)")
        return answer
    raise AnswerError(f"a {kind} is not answered as one line")


def is_dont_know(text: str) -> bool:
    """Whether a typed answer means "don't know"."""
    return text.strip().lower().replace("\u2019", "'") in DONT_KNOW_WORDS


def show_value(value: Any) -> str:
    """A fact's value as an answer reads."""
    if value is None:
        return "don't know"
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if isinstance(value, list | tuple):
        return f"{len(value)} record(s)" if value else "none"
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)
