"""Hostile facts files: wrong types, NaN and infinities, dates out of range, very deep or very
large JSON, YAML alias bombs, duplicate keys, tags that would run code. Each ends in a clear
error naming the fact (or the line of the file), within bounded time and memory, through the
API (facts.parse_facts, Evaluator.evaluate) and through the command line.
"""

from __future__ import annotations

import contextlib
import json
import math
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import doctrine_file, examples, run_cli

import compiler
from compiler.runtime import FactsError
from compiler.tools.facts import MAX_BYTES, FactsFileError, parse_facts, read_facts

DANGER = compiler.load(doctrine_file("state_created_danger")).DOCTRINES["state_created_danger"]


@contextlib.contextmanager
def peak_memory() -> Iterator[list[int]]:
    """The most memory Python held at once inside the block, in bytes, above what it held before
    (read after the block, from the one-item list it yields)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        peak = [0]
        yield peak
        peak[0] = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def problems(facts: Any) -> list[str]:
    """The evaluator's complaints about these facts (none: it evaluated them)."""
    try:
        DANGER.evaluate(facts)
    except FactsError as exc:
        assert exc.problems and all(p.strip() for p in exc.problems)
        return exc.problems
    return []


def refusal(text: str, name: str = "case.yaml") -> str:
    """The message a facts file is refused with, by the reader or by the evaluator."""
    try:
        facts = parse_facts(text, name)
    except FactsFileError as exc:
        assert str(exc).strip()
        return str(exc)
    found = problems(facts)
    assert found, f"accepted: {facts!r}"
    return "\n".join(found)


# ---------------------------------------------------------------- wrong types


@pytest.mark.parametrize(
    ("fact", "value", "words"),
    [
        ("affirmative_act", "yes", "expected true or false, got 'yes'"),
        ("affirmative_act", 1, "expected true or false, got 1"),
        ("affirmative_act", [True], "expected true or false, got a list"),
        ("culpability", 3, "expected one of none,"),
        ("culpability", "Intent", "did you mean 'intent'?"),
        ("culpability", {"x": 1}, "got a mapping"),
        ("event_date", 19980924, "expected a date (YYYY-MM-DD), got 19980924"),
        ("event_date", "24/09/1998", "expected a date"),
        ("circuit", 9, "expected text, got 9"),
        ("circuit", True, "expected text, got true"),
        ("authorities", {"name": "x"}, "expected a list of records"),
        ("authorities", [1], "item 1: expected a record"),
        ("authorities", [{"name": 1}], "item 1: field 'name': expected text, got 1"),
        ("authorities", [{"nmae": "x"}], "did you mean 'name'?"),
    ],
)
def test_a_value_of_the_wrong_type_names_the_fact(fact: str, value: Any, words: str) -> None:
    (problem,) = problems({fact: value})
    assert problem.startswith(f"fact '{fact}': "), problem
    assert words in problem, problem


def test_every_wrong_fact_is_reported_at_once() -> None:
    found = problems({"affirmative_act": "no", "circuit": 4, "nonsense": True, 7: 1})
    assert len(found) == 4
    assert "fact 'nonsense': not in the vocabulary" in found
    assert "fact 7: not in the vocabulary" in found


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_nan_and_infinities(value: float) -> None:
    for fact in ("affirmative_act", "culpability", "event_date", "circuit"):
        (problem,) = problems({fact: value})
        assert problem.startswith(f"fact '{fact}'")
    text = json.dumps({"culpability": value, "circuit": value})
    message = refusal(text, "case.json")
    assert "fact 'culpability'" in message and "fact 'circuit'" in message


def test_nan_and_infinities_in_yaml() -> None:
    message = refusal("culpability: .nan\ncircuit: -.inf\nevent_date: .inf\n")
    for fact in ("culpability", "circuit", "event_date"):
        assert f"fact '{fact}'" in message


@pytest.mark.parametrize(
    "written",
    ["0000-01-01", "10000-01-01", "99999-12-31", "1989-02-30", "2001-02-29", "1998-13-01"],
)
def test_dates_out_of_range(written: str) -> None:
    for text, name in (
        (f"event_date: {written}\n", "case.yaml"),
        (json.dumps({"event_date": written}), "case.json"),
    ):
        message = refusal(text, name)
        assert "fact 'event_date'" in message and written in message, message


def test_a_date_and_time_is_not_a_date() -> None:
    assert "date and time" in refusal("event_date: 1998-09-24T10:00:00\n")


def test_whole_numbers_too_long_to_read() -> None:
    for text, name in (
        ('{"culpability": ' + "9" * 5000 + "}", "case.json"),
        ("culpability: " + "9" * 5000 + "\n", "case.yaml"),
    ):
        message = refusal(text, name)
        assert "a whole number of 5000 digits" in message


# ---------------------------------------------------------------- deep and large


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ('{"authorities": ' + "[" * 100_000 + "]" * 100_000 + "}", "case.json"),
        ("authorities: " + "[" * 50_000 + "]" * 50_000 + "\n", "case.yaml"),
        ("authorities: " + "{a: " * 5_000 + "1" + "}" * 5_000 + "\n", "case.yaml"),
        ('{"a": ' * 50_000 + "1" + "}" * 50_000, "case.json"),
    ],
    ids=["json lists", "yaml lists", "yaml mappings", "json mappings"],
)
def test_very_deep_files(text: str, name: str) -> None:
    message = refusal(text, name)
    assert "nested too deeply" in message or "fact 'authorities'" in message, message


def test_a_very_large_json_file(tmp_path: Path) -> None:
    record = {
        "name": "x",
        "court": "9th",
        "decided": "1990-01-01",
        "recognizes_right": True,
        "materially_similar": False,
    }
    path = tmp_path / "case.json"
    path.write_text(json.dumps({"authorities": [record] * 100_000}), encoding="utf-8")
    # (How the time grows with the records: `python -m bench --only hostile`.)
    result = DANGER.evaluate(read_facts(path))
    assert result.holds is None


def test_many_records_and_many_unknowns_end_soon(tmp_path: Path) -> None:
    # Finding what is missing tries every completion of the unknown facts; each may read
    # every record. With 100,000 records that is bounded by the records, not by patience.
    bools = [f"b{i}" for i in range(10)]
    source = "record r { level: enum (lo < mid < hi) }\nfact items: list of r\n"
    source += "fact s0: enum (lo < mid < hi)\n" + "".join(f"fact {b}: bool\n" for b in bools)
    source += "doctrine q { element e { holds when (some x in items where x.level >= s0) and "
    source += " and ".join(bools) + " } }\n"
    path = tmp_path / "q.doctrine"
    path.write_text(source, encoding="utf-8")
    evaluator = compiler.load(path).DOCTRINES["q"]
    result = evaluator.evaluate({"items": [{"level": "lo"}] * 100_000})
    assert (result.holds, result.missing) == (None, (*bools, "s0"))


def test_a_file_past_the_limit_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "case.json"
    with path.open("wb") as handle:
        handle.truncate(MAX_BYTES + 1)  # sparse: no disk to speak of
    with pytest.raises(FactsFileError, match="larger than"):
        read_facts(path)


def test_a_file_that_never_ends_is_refused_soon() -> None:
    # Facts may come through a pipe (--facts /dev/stdin), so a file is read as it comes,
    # and no further than the limit.
    # Refused at the limit: no more than MAX_BYTES + 1 bytes are ever read.
    with pytest.raises(FactsFileError, match="larger than"):
        read_facts(Path("/dev/zero"))


# ---------------------------------------------------------------- YAML's own hazards

BILLION_LAUGHS = "".join(
    f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]\n"
    for prev, name in zip("abcdefgh", "bcdefghi")
)


def test_a_yaml_alias_bomb_under_a_fact() -> None:
    text = "a: &a [x, x, x, x, x, x, x, x, x]\n" + BILLION_LAUGHS + "authorities: *i\n"
    # Expanded, the bomb would be 387 million items; refused, it costs what its text does.
    with peak_memory() as peak:
        message = refusal(text)
    assert peak[0] < 5_000_000, f"{peak[0]:,} bytes"
    assert "fact 'authorities': item 1: expected a record" in message
    assert "fact 'a': not in the vocabulary" in message


def test_a_yaml_alias_bomb_of_records() -> None:
    record = "{name: x, court: 9th, decided: 1990-01-01, recognizes_right: true, "
    record += "materially_similar: true}"
    text = f"r: &r {record}\n" + "authorities: [" + ", ".join(["*r"] * 2000) + "]\n"
    facts = parse_facts(text, "case.yaml")
    del facts["r"]
    # One record shared 2,000 times is read as 2,000 records, not copied into them.
    with peak_memory() as peak:
        assert DANGER.evaluate(facts).holds is None
    assert peak[0] < 20_000_000, f"{peak[0]:,} bytes"


def test_recursive_yaml() -> None:
    assert "expected a record" in refusal("authorities: &a [*a]\n")
    assert "recursive" in refusal("circuit: &a {k: *a}\n")


def test_duplicate_keys() -> None:
    assert refusal("circuit: 9th\ncircuit: 4th\n") == "line 2: `circuit` is given twice"
    assert refusal('{"circuit": "9th", "circuit": "4th"}', "case.json") == (
        "`circuit` is given twice"
    )
    assert "given twice" in refusal("authorities:\n  - {name: a, name: b}\n")


@pytest.mark.parametrize(
    "text",
    [
        'circuit: !!python/object/apply:os.system ["touch PWNED"]\n',
        "circuit: !!python/name:os.system\n",
        'circuit: !!python/object/new:subprocess.Popen [["touch", "PWNED"]]\n',
    ],
)
def test_tags_that_would_run_code_are_refused(text: str, tmp_path: Path) -> None:
    assert "not valid YAML" in refusal(text)
    assert not Path("PWNED").exists()


def test_yaml_words_that_are_not_bools() -> None:
    (problem,) = problems(parse_facts("affirmative_act: yes\n", "case.yaml"))
    assert problem == "fact 'affirmative_act': expected true or false, got 'yes'"


# ---------------------------------------------------------------- random hostile facts

_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=10),
    st.sampled_from(["0000-01-01", "9999-12-31", "1989-02-30", "intent", "true"]),
)
_LISTS = st.lists(_SCALARS, max_size=3)
_VALUES = st.one_of(
    _SCALARS,
    _LISTS,
    st.dictionaries(st.text(max_size=6), _SCALARS | _LISTS, max_size=3),
    st.lists(st.dictionaries(st.text(max_size=6), _SCALARS, max_size=3), max_size=3),
)


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    facts=st.dictionaries(
        st.sampled_from([*DANGER.schema.names, "alleged", "x"]) | st.text(max_size=5),
        _VALUES,
        max_size=5,
    )
)
def test_any_facts_evaluate_or_are_refused_by_name(facts: dict[str, Any]) -> None:
    for name in ("case.json", "case.yaml"):
        try:
            text = json.dumps(facts) if name.endswith("json") else _yaml(facts)
        except (TypeError, ValueError):
            continue
        try:
            parsed = parse_facts(text, name)
        except FactsFileError as exc:
            assert str(exc).strip()
            continue
        for problem in problems(parsed):
            assert problem.startswith("fact ") or "stage" in problem, problem


def _yaml(facts: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(facts, allow_unicode=True)


# ---------------------------------------------------------------- the command line


@pytest.mark.parametrize(
    ("text", "name", "expected"),
    [
        ('{"culpability": NaN}', "nan.json", "fact 'culpability'"),
        ("event_date: 10000-01-01\n", "date.yaml", "fact 'event_date'"),
        ('{"culpability": ' + "9" * 5000 + "}", "long.json", "a whole number of 5000 digits"),
        ("a: &a [1]\n" + BILLION_LAUGHS.replace("b: &b [*a", "b: &b [*a"), "bomb.yaml", "fact 'b'"),
        ("circuit: 9th\ncircuit: 4th\n", "dup.yaml", "`circuit` is given twice"),
        ("authorities: " + "[" * 50_000 + "]" * 50_000, "deep.yaml", "nested too deeply"),
    ],
    ids=["nan", "date", "digits", "bomb", "duplicate", "deep"],
)
def test_the_command_line_reports_each_clearly(
    tmp_path: Path, text: str, name: str, expected: str
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    proc = run_cli("eval", doctrine_file("state_created_danger"), "--facts", path)
    assert proc.returncode == 2, proc.stderr
    assert expected in proc.stderr and f"{name}:" in proc.stderr, proc.stderr
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr
