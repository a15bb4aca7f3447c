"""The fast path for plain facts: a dict whose values are already in runtime form is read as
given (no copy filled with the absent facts). It must answer exactly as the checked path does,
and refuse exactly what it refuses; a dict subclass always takes the checked path, so each
case is evaluated both ways and compared.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import doctrine_file, examples

import compiler
from compiler.runtime import Evaluator, FactsError


class Checked(dict):  # type: ignore[type-arg]
    """Not a plain dict: the evaluator checks and copies it the long way."""


class Word(str):
    """A str subclass: equal to an enum word, but not in runtime form as it is."""


def _main(name: str) -> Evaluator:
    module = compiler.load(doctrine_file(name))
    evaluator: Evaluator = module.DOCTRINES[module.DOCTRINE]
    return evaluator


DOCTRINES = [
    _main(name)
    for name in (
        "state_created_danger",
        "state_created_danger_ninth_circuit",
        "custodial_failure_to_protect",
    )
]


def outcome(evaluator: Evaluator, facts: dict[str, Any], how: str) -> Any:
    """What the evaluator makes of the facts: its result's fields, or the facts' problems."""
    try:
        if how == "holds":
            return evaluator.holds(facts)
        r = evaluator.evaluate(facts)
    except FactsError as exc:
        return ("refused", exc.problems)
    return (
        r.as_dict(),
        list(r.facts.items()),
        r.open,
        r.not_reached,
        r.presumed,
        r.precedents,
    )


def _values(evaluator: Evaluator) -> st.SearchStrategy[Any]:
    words = sorted(
        {
            w
            for kind, spec in evaluator.schema.facts.values()
            if kind in ("enum", "scale")
            for w in spec
        }
    )
    return st.one_of(
        st.none(),
        st.booleans(),
        st.sampled_from([0, 1, 1.0, 0.0, "true", "", datetime.date(2001, 9, 1), "2001-09-01"]),
        st.sampled_from(words),
        st.sampled_from(words).map(Word),
        st.text(max_size=4),
        st.lists(st.booleans(), max_size=2),
    )


@pytest.mark.property  # the property is built inside the test
@pytest.mark.parametrize("evaluator", DOCTRINES, ids=lambda e: e.name)
@pytest.mark.parametrize("how", ["holds", "evaluate"])
def test_plain_facts_answer_as_checked_facts(evaluator: Evaluator, how: str) -> None:
    names = st.sampled_from([*evaluator.schema.names, "nonsense"])

    @settings(
        max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    @given(st.dictionaries(names, _values(evaluator), max_size=8))
    def check(facts: dict[str, Any]) -> None:
        assert outcome(evaluator, facts, how) == outcome(evaluator, Checked(facts), how)

    check()


def test_numbers_and_str_subclasses_are_not_plain() -> None:
    danger = DOCTRINES[0]
    plain = danger.schema.plain
    assert plain({"affirmative_act": True, "culpability": "intent", "increased_risk": None})
    for facts in (
        {"affirmative_act": 1},
        {"affirmative_act": 1.0},
        {"affirmative_act": 0},
        {"culpability": Word("intent")},
        {"culpability": "Intent"},
        {"culpability": True},
        {"nonsense": True},
        {"nonsense": None},
        {("affirmative_act",): True},
        {"event_date": "2001-09-01"},  # a date still to be converted
    ):
        assert not plain(facts), facts
    with pytest.raises(FactsError, match="fact 'affirmative_act': expected true or false, got 1"):
        danger.holds({"affirmative_act": 1, "culpability": "intent"})
    # A str subclass is checked the long way, and counts as its word.
    assert danger.holds({"culpability": Word("negligence")}) is False


@pytest.mark.parametrize("culpability", ["intent", None])
def test_a_result_keeps_its_own_copy_of_plain_facts(culpability: str | None) -> None:
    # Every fact known (every element decided: the facts are filled only when read) or one not.
    danger = DOCTRINES[0]
    given: dict[str, Any] = {
        "directed_at_plaintiff": True,
        "affirmative_act": True,
        "but_for_cause": True,
        "harm_foreseeable": True,
        "danger_known_or_obvious": True,
        "culpability": culpability,
    }
    facts = dict(given)
    result = danger.evaluate(facts)
    assert result.holds is (True if culpability else None)
    facts["affirmative_act"] = False
    facts["increased_risk"] = True
    assert list(result.facts) == list(danger.schema.names)
    assert result.facts["affirmative_act"] is True
    assert result.facts["increased_risk"] is None
    assert result.facts == danger.prepare(given)
    assert result.facts is result.facts  # filled once
