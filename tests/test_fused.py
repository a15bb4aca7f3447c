"""The generated `holds` and `evaluate`, which check the facts a doctrine names as they read them
(codegen/generator.py, `Generator.fused`): on any dict of facts they answer, and refuse, exactly
as the runtime's full check does. A dict subclass always takes the runtime's checked path, so
each case is evaluated both ways, through the module's functions and through each Evaluator.
"""

from __future__ import annotations

import datetime
import math
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import examples, import_file, run_cli

from compiler.runtime import FactsError

# Every kind of fact read by the test, a fact only a rejected theory names, one no doctrine
# names, a second doctrine of the module and one with a threshold.
SOURCE = """
fact flag: bool means "a"
fact other: bool means "b"
fact level: enum(low < mid < high) means "a level"
fact colour: enum(red, green) means "a colour"
fact circuit: text means "a circuit"
fact filed: date means "when it was filed"
fact amount: number means "an amount"
fact cases: list of case means "decided cases"
fact theory: bool means "a theory the doctrine rejects"
fact unnamed: bool means "a fact no doctrine names"

record case {
  name: text
}

doctrine side {
  element only { holds when other and colour is red }
}

doctrine gated {
  threshold gate { holds when flag }
  element later { holds when other }
}

doctrine main {
  element first { holds when flag and level >= mid }
  element second { holds when circuit == "9th" or filed < 2001-09-01 }
  element third { holds when amount > 10 or (some c in cases where c.name == "x") }
  element fourth { holds when side }
  rejects theory {
    title "A theory"
    on theory
    because "It does not suffice."
  }
}
"""

FACTS = ["flag", "other", "level", "colour", "circuit", "filed", "amount", "cases", "theory"]
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(["low", "mid", "high", "red", "green", "9th", "", "2001-08-01", "Mid"]),
    st.sampled_from([0, 1, 1.0, 11, 10.5, -3, math.inf, math.nan, 2**70]),
    st.sampled_from([datetime.date(2001, 8, 1), datetime.date(2002, 1, 1)]),
    st.just(datetime.datetime(2001, 8, 1, 12, 0)),
    st.sampled_from([[], [{"name": "x"}], [{"name": 1}], ({"name": "y"},), [1]]),
)


# A case giving every fact the tests read, to which the property below adds a few more: the
# generated functions take only such a case, and count the facts to know it gives no others.
FULL = {
    "flag": True,
    "other": True,
    "level": "high",
    "colour": "red",
    "circuit": "9th",
    "filed": datetime.date(2001, 8, 1),
    "amount": 11,
    "cases": None,  # a list of records is always the runtime's to check and convert
}
# The same for each doctrine: just the facts its test reads.
READS = {
    "main": FULL,
    "side": {"other": True, "colour": "red"},
    "gated": {"flag": True, "other": False},
}


class Checked(dict):  # type: ignore[type-arg]
    """Not a plain dict: the evaluator checks and copies it the long way."""


def compiled(folder: Path, name: str, source: str) -> Any:
    """The module `doctrine compile` writes for the source, imported as any Python file."""
    path = folder / f"{name}.doctrine"
    path.write_text(source, encoding="utf-8")
    done = run_cli("compile", path, "-o", folder / "out")
    assert done.returncode == 0, done.stderr
    return import_file(folder / "out" / f"{name}.py", f"fused_{name}")


@pytest.fixture(scope="module")
def module(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return compiled(tmp_path_factory.mktemp("fused"), "fused", textwrap.dedent(SOURCE))


def answer(run: Any, facts: Any) -> Any:
    """What a call makes of the facts: the outcome, the result's fields, or the problems."""
    try:
        out = run(facts)
    except FactsError as exc:
        return ("refused", exc.problems)
    if isinstance(out, bool) or out is None:
        return out
    return (out.as_dict(), list(out.facts.items()), out.open, out.not_reached)


def test_each_doctrine_has_the_generated_functions(module: Any) -> None:
    for name, evaluator in module.DOCTRINES.items():
        assert evaluator._fused is not None, name
    assert module.DOCTRINES["main"]._fused == (module.holds, module.evaluate)


@pytest.mark.property  # the property is built inside the test
@pytest.mark.parametrize("doctrine", ["main", "side", "gated"])
@pytest.mark.parametrize("how", ["holds", "evaluate"])
def test_generated_functions_answer_and_refuse_as_the_full_check(
    module: Any, doctrine: str, how: str
) -> None:
    evaluator = module.DOCTRINES[doctrine]
    fast = getattr(evaluator, how)
    slow = getattr(evaluator, f"checked_{how}")
    entry = getattr(module, how) if doctrine == "main" else fast
    names = st.sampled_from([*FACTS, "unnamed", "nonsense"])
    some = st.dictionaries(names, VALUES, max_size=10)

    @settings(
        max_examples=examples(80), deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    @given(st.one_of(some, some.map(lambda more: {**READS[doctrine], **more})))
    def check(facts: dict[str, Any]) -> None:
        expected = answer(slow, Checked(facts))
        assert answer(entry, dict(facts)) == expected
        assert answer(fast, dict(facts)) == expected

    check()


@pytest.mark.parametrize(
    ("fact", "value"),
    [
        ("flag", 1),
        ("flag", 0.0),
        ("level", "Mid"),
        ("level", True),
        ("colour", ["red"]),  # unhashable: must not reach the set of words
        ("circuit", 9),
        ("filed", datetime.datetime(2001, 8, 1, 12, 0)),
        ("filed", "2001-02-30"),
        ("amount", True),
        ("amount", math.nan),
        ("amount", -math.inf),
        ("cases", [{"name": 1}]),
        ("theory", 1),
        ("unnamed", "yes"),
        ("nonsense", None),
    ],
)
def test_a_wrong_fact_is_refused_by_name(module: Any, fact: str, value: Any) -> None:
    facts = {"flag": True, "level": "high", "other": True, fact: value}
    with pytest.raises(FactsError) as caught:
        module.holds(facts)
    assert f"'{fact}'" in str(caught.value)
    with pytest.raises(FactsError) as again:
        module.evaluate(facts)
    assert again.value.problems == caught.value.problems


def test_values_to_convert_take_the_checked_path(module: Any) -> None:
    # A date written as text is read as that date; a tuple of records as a list of them.
    facts = {
        "flag": True,
        "level": "mid",
        "other": True,
        "colour": "red",
        "circuit": "1st",
        "filed": "2001-08-01",
        "amount": 3,
        "cases": ({"name": "x"},),
        "theory": False,
        "unnamed": False,
    }
    assert module.holds(facts) is True
    result = module.evaluate(facts)
    assert result.holds is True
    assert result.facts["filed"] == datetime.date(2001, 8, 1)
    assert result.facts["cases"] == ({"name": "x"},)
    assert facts["filed"] == "2001-08-01"  # the caller's dict is left as it was


def test_a_plain_result_keeps_its_own_copy(module: Any) -> None:
    facts = {
        "flag": True,
        "level": "high",
        "other": True,
        "colour": "red",
        "circuit": "9th",
        "amount": 11,
        "unnamed": True,
    }
    result = module.evaluate(facts)
    assert result.holds is True and result.missing == ()
    facts["flag"] = False
    assert result.facts["flag"] is True
    assert result.facts["unnamed"] is True
    assert list(result.facts) == list(module.DOCTRINES["main"].schema.names)


def test_a_doctrine_naming_many_facts_is_left_to_the_runtime(tmp_path: Path) -> None:
    # Past FUSED_FACTS, reading every named fact would cost more than the loop over the few a
    # case gives: the module's functions hand the facts to the Evaluator.
    facts = "".join(f'fact f{i}: bool means "f{i}"\n' for i in range(70))
    test = " and ".join(f"f{i}" for i in range(70))
    wide = compiled(
        tmp_path, "wide", facts + f"doctrine wide {{ element e {{ holds when {test} }} }}\n"
    )
    assert wide.DOCTRINES["wide"]._fused is None
    assert wide.holds({"f3": False}) is False
    with pytest.raises(FactsError, match="'f3'"):
        wide.holds({"f3": 1})


def test_a_read_fact_left_out_beside_others_is_read_as_unknown(module: Any) -> None:
    # As many facts as the test reads, one of them left out: the generated functions read the
    # facts the test reads by subscription, and hand such a case to the runtime.
    evaluator = module.DOCTRINES["main"]
    facts = {
        "flag": True,
        "level": "high",
        "circuit": "9th",
        "amount": 11,
        "cases": [],
        "other": True,
        "theory": True,
        "unnamed": False,
    }
    assert len(facts) >= len([f for f in FACTS if f != "theory"])
    assert module.holds(facts) is None
    result = module.evaluate(facts)
    assert (result.holds, result.missing) == (None, ("colour",))
    assert answer(module.evaluate, facts) == answer(evaluator.checked_evaluate, Checked(facts))


@pytest.mark.parametrize(
    ("more", "wrong"),
    [
        ({"nonsense": None}, "nonsense"),
        ({"unnamed": 1}, "unnamed"),
        ({"theory": 1}, "theory"),
        ({"theory": None, "nonsense": True}, "nonsense"),
        ({"unnamed": None, "theory": True, "nonsense": False}, "nonsense"),
    ],
)
@pytest.mark.parametrize("doctrine", list(READS))
def test_a_full_case_with_a_wrong_fact_beside_is_refused(
    module: Any, doctrine: str, more: dict[str, Any], wrong: str
) -> None:
    evaluator = module.DOCTRINES[doctrine]
    for run in (evaluator.holds, evaluator.evaluate):
        with pytest.raises(FactsError) as caught:
            run({**READS[doctrine], **more})
        [problem] = caught.value.problems
        assert problem.startswith(f"fact '{wrong}': "), problem


@pytest.mark.property  # the property is built inside the test
@pytest.mark.parametrize("doctrine", list(READS))
def test_prepared_facts_give_the_result_the_facts_give(module: Any, doctrine: str) -> None:
    # `evaluate(prepare(facts), validate=False)`, for facts checked ahead, makes the Result
    # itself when every element is decided, and leaves the rest to the checked path.
    evaluator = module.DOCTRINES[doctrine]
    names = st.sampled_from([*FACTS, "unnamed"])

    @settings(
        max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    @given(st.dictionaries(names, st.one_of(st.none(), st.booleans(), st.just("red")), max_size=6))
    def check(drawn: dict[str, Any]) -> None:
        facts = {**READS[doctrine], **drawn}
        try:
            prepared = evaluator.prepare(facts)
        except FactsError:
            return
        fast = evaluator.evaluate(prepared, validate=False)
        slow = evaluator.checked_evaluate(prepared, validate=False)
        assert answer(lambda given: given, fast) == answer(lambda given: given, slow)
        assert fast.as_dict() == evaluator.evaluate(facts).as_dict()
        assert fast.facts == prepared

    check()
