"""The doctrine library against the public contract (spec/contract.md), through the real CLI."""

from __future__ import annotations

import datetime
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from support import (
    CONTRACT_ELEMENTS,
    CULPABILITY,
    CUSTODY,
    EVERY_FACT,
    LIBRARY,
    doctrine_file,
    eval_json,
    import_file,
    jsonable,
    run_cli,
    write_json,
    write_yaml,
)

import compiler
from compiler import runtime

DOCTRINES = sorted(CONTRACT_ELEMENTS)
CASE_DECLARATION = re.compile(r"^case\s+\w+\s+under\s+\w+", re.MULTILINE)


@cache
def loaded(name: str) -> Any:
    """The doctrine compiled and imported in this process by `compiler.load`."""
    return compiler.load(doctrine_file(name))


# ---------------------------------------------------------------- the library as a whole


def test_doctrine_test_passes_every_case() -> None:
    declared = sum(
        len(CASE_DECLARATION.findall(path.read_text(encoding="utf-8")))
        for path in LIBRARY.rglob("*.doctrine")
    )
    assert declared >= 23, "the library should carry at least the 23 precedents as cases"
    proc = run_cli("test", "-v", "doctrine/")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[-1] == f"{declared} passed, 0 failed"
    assert sum(1 for line in lines if line.startswith("PASS ")) == declared
    assert not any(line.startswith("FAIL ") for line in lines)


def test_doctrine_check_accepts_the_library() -> None:
    proc = run_cli("check", "doctrine/")
    assert proc.returncode == 0, proc.stderr
    assert "error" not in proc.stderr


@pytest.mark.parametrize("name", DOCTRINES)
def test_contract_doctrine_compiles_to_its_module(name: str, tmp_path: Path) -> None:
    proc = run_cli("compile", doctrine_file(name), "-o", tmp_path)
    assert proc.returncode == 0, proc.stderr
    written = tmp_path / f"{name}.py"
    assert sorted(p.name for p in tmp_path.iterdir()) == [written.name]
    module = import_file(written, f"_compiled_{name}")
    assert name == module.DOCTRINE
    labels = tuple(module.DOCTRINES[name].labels)
    assert set(CONTRACT_ELEMENTS[name]) <= set(labels), labels
    result = module.evaluate({})
    assert tuple(result.as_dict()["elements"]) == labels


@pytest.mark.parametrize("name", DOCTRINES)
def test_contract_doctrine_reports_its_elements(name: str, tmp_path: Path) -> None:
    result = eval_json(doctrine_file(name), write_json(tmp_path / "none.json", {}))
    assert result["doctrine"] == name
    assert set(CONTRACT_ELEMENTS[name]) <= set(result["elements"])
    # Nothing is known, so nothing is settled, and every element is unknown.
    assert result["holds"] is None
    assert result["missing"], "with no facts, some fact must be missing"
    assert result["missing"] == sorted(result["missing"])


# ---------------------------------------------------------------- the JSON of `doctrine eval`

# "Here the case gave every fact but culpability."
ALL_BUT_CULPABILITY = {k: v for k, v in EVERY_FACT.items() if k != "culpability"}


def test_json_shape(tmp_path: Path) -> None:
    proc = run_cli(
        "eval",
        doctrine_file("state_created_danger"),
        "--facts",
        write_json(tmp_path / "case.json", EVERY_FACT),
        "--format",
        "json",
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert list(result) == ["doctrine", "holds", "elements", "missing"]
    assert isinstance(result["doctrine"], str)
    assert result["holds"] in (True, False, None)
    assert isinstance(result["elements"], dict)
    assert all(v in (True, False, None) for v in result["elements"].values())
    assert isinstance(result["missing"], list)


def test_contract_example_unknown_culpability(tmp_path: Path) -> None:
    result = eval_json(
        doctrine_file("state_created_danger"),
        write_json(tmp_path / "case.json", ALL_BUT_CULPABILITY),
    )
    assert result == {
        "doctrine": "state_created_danger",
        "holds": None,
        "elements": {
            "specific_plaintiff": True,
            "affirmative_conduct": True,
            "causation": True,
            "culpability": None,
        },
        "missing": ["culpability"],
    }


def test_contract_example_without_but_for_cause(tmp_path: Path) -> None:
    facts = {**ALL_BUT_CULPABILITY, "but_for_cause": False}
    result = eval_json(
        doctrine_file("state_created_danger"), write_json(tmp_path / "c.json", facts)
    )
    assert result["holds"] is False
    assert result["elements"]["causation"] is False
    assert result["missing"] == []


@pytest.mark.parametrize("culpability", CULPABILITY)
def test_without_but_for_cause_culpability_does_not_matter(culpability: str) -> None:
    facts = {**ALL_BUT_CULPABILITY, "but_for_cause": False, "culpability": culpability}
    result = loaded("state_created_danger").evaluate(facts)
    assert result.holds is False
    assert result.as_dict()["missing"] == []


def test_python_api_matches_the_cli(tmp_path: Path) -> None:
    module = loaded("state_created_danger")
    result = module.evaluate(ALL_BUT_CULPABILITY)
    assert result.holds is None
    cli = eval_json(
        doctrine_file("state_created_danger"), write_json(tmp_path / "c.json", ALL_BUT_CULPABILITY)
    )
    assert result.as_dict() == cli
    assert json.loads(json.dumps(result.as_dict())) == cli


# ---------------------------------------------------------------- the vocabulary


@pytest.mark.parametrize("name", DOCTRINES)
def test_every_doctrine_accepts_the_whole_vocabulary(name: str, tmp_path: Path) -> None:
    result = eval_json(doctrine_file(name), write_yaml(tmp_path / "every.yaml", EVERY_FACT))
    assert result["doctrine"] == name


@pytest.mark.parametrize("name", DOCTRINES)
@pytest.mark.parametrize("fact", sorted(EVERY_FACT))
def test_every_doctrine_accepts_each_fact_alone(name: str, fact: str) -> None:
    result = loaded(name).evaluate({fact: EVERY_FACT[fact]})
    assert result.holds in (True, False, None)
    assert list(result.missing) == sorted(result.missing)


@pytest.mark.parametrize("value", CUSTODY)
def test_every_custody_value_is_accepted(value: str) -> None:
    assert loaded("special_relationship").evaluate({"custody": value}).holds is (value != "none")


# ---------------------------------------------------------------- errors in the facts


def facts_error(
    tmp_path: Path, facts: dict[str, Any] | str, doctrine: str = "state_created_danger"
) -> list[str]:
    """Run eval on bad facts; check exit 2, nothing on stdout, no traceback; the stderr lines."""
    if isinstance(facts, str):
        path = tmp_path / "case.yaml"
        path.write_text(facts, encoding="utf-8")
    else:
        path = write_json(tmp_path / "case.json", facts)
    proc = run_cli("eval", doctrine_file(doctrine), "--facts", path, "--format", "json")
    assert proc.returncode == 2, f"exit {proc.returncode}\n{proc.stdout}{proc.stderr}"
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert "internal error" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert lines, "an error must be explained"
    assert all(path.name in line for line in lines), lines
    return lines


def test_unknown_fact_suggests_the_close_one(tmp_path: Path) -> None:
    [line] = facts_error(tmp_path, {"custdy": "none", "affirmative_act": True})
    assert "custdy" in line
    assert "did you mean 'custody'?" in line


def test_unknown_fact_without_a_close_one(tmp_path: Path) -> None:
    [line] = facts_error(tmp_path, {"weather": "rain"})
    assert "weather" in line
    assert "did you mean" not in line


def test_value_outside_the_enum(tmp_path: Path) -> None:
    [line] = facts_error(tmp_path, {"culpability": "reckless"})
    assert "culpability" in line
    assert "deliberate_indifference" in line  # what was expected
    assert "'reckless'" in line
    assert "did you mean 'recklessness'?" in line


def test_custody_outside_the_enum(tmp_path: Path) -> None:
    [line] = facts_error(tmp_path, {"custody": "jail"}, doctrine="special_relationship")
    assert "custody" in line
    assert all(value in line for value in CUSTODY)


@pytest.mark.parametrize(
    ("fact", "value", "expected"),
    [
        ("affirmative_act", "yes", "true or false"),
        ("affirmative_act", 1, "true or false"),
        ("culpability", True, "deliberate_indifference"),
        ("circuit", 9, "text"),
        ("authorities", "Grubbs I", "list"),
        ("event_date", 1989, "date"),
    ],
)
def test_value_of_the_wrong_type(tmp_path: Path, fact: str, value: Any, expected: str) -> None:
    [line] = facts_error(tmp_path, {fact: value})
    assert fact in line
    assert expected in line


@pytest.mark.parametrize("value", ["1989-02-30", "March 10, 1989", "1989-3-10", "10/03/1989"])
def test_bad_date_string(tmp_path: Path, value: str) -> None:
    [line] = facts_error(tmp_path, {"event_date": value})
    assert "event_date" in line


def test_impossible_yaml_date(tmp_path: Path) -> None:
    # A YAML date that is no calendar day is an input error (exit 2), not a crash.
    [line] = facts_error(tmp_path, "event_date: 1989-02-30\n")
    assert "event_date" in line or "1989-02-30" in line


def test_bad_field_of_an_authority(tmp_path: Path) -> None:
    authority = {**jsonable(EVERY_FACT["authorities"][0])}
    authority["recognises_right"] = authority.pop("recognizes_right")
    [line] = facts_error(tmp_path, {"authorities": [authority]})
    assert "authorities" in line
    assert "did you mean 'recognizes_right'?" in line


def test_one_line_per_problem(tmp_path: Path) -> None:
    lines = facts_error(
        tmp_path, {"custdy": "none", "culpability": "bad", "affirmative_act": "yes"}
    )
    assert len(lines) == 3
    for name in ("custdy", "culpability", "affirmative_act"):
        assert sum(name in line for line in lines) == 1


def test_facts_file_that_is_not_a_mapping(tmp_path: Path) -> None:
    [line] = facts_error(tmp_path, "- custody\n- none\n")
    assert "mapping" in line


def test_facts_file_that_is_not_yaml(tmp_path: Path) -> None:
    [line] = facts_error(tmp_path, "custody: [none\n")
    assert "YAML" in line


def test_python_api_raises_facts_error_with_the_cli_lines(tmp_path: Path) -> None:
    facts = {"custdy": "none", "culpability": "bad"}
    with pytest.raises(runtime.FactsError) as info:
        loaded("state_created_danger").evaluate(facts)
    lines = facts_error(tmp_path, facts)
    prefix = f"error: {tmp_path / 'case.json'}: "
    assert [line.removeprefix(prefix) for line in lines] == info.value.problems
    assert str(info.value).splitlines() == info.value.problems


# ---------------------------------------------------------------- dates


PINDER_DATES: dict[str, Any] = {
    "custody": "none",
    "event_date": "1989-03-10",
    "circuit": "4th",
    "authorities": [
        {
            "name": "Jensen v. Conrad",
            "court": "4th",
            "decided": "1984-11-01",
            "recognizes_right": True,
            "materially_similar": True,
            "abrogated": "1989-02-22",
        }
    ],
}


def test_yaml_dates_and_iso_strings_agree(tmp_path: Path) -> None:
    doctrine = doctrine_file("qualified_immunity_special_relationship")
    as_json = eval_json(doctrine, write_json(tmp_path / "c.json", PINDER_DATES))
    yaml_dates = (
        "custody: none\nevent_date: 1989-03-10\ncircuit: 4th\nauthorities:\n"
        "  - {name: Jensen v. Conrad, court: 4th, decided: 1984-11-01,\n"
        "     recognizes_right: true, materially_similar: true, abrogated: 1989-02-22}\n"
    )
    (tmp_path / "dates.yaml").write_text(yaml_dates, encoding="utf-8")
    yaml_strings = yaml_dates.replace("1989-03-10", '"1989-03-10"').replace(
        "1984-11-01", "'1984-11-01'"
    )
    (tmp_path / "strings.yaml").write_text(yaml_strings, encoding="utf-8")
    assert eval_json(doctrine, tmp_path / "dates.yaml") == as_json
    assert eval_json(doctrine, tmp_path / "strings.yaml") == as_json
    assert as_json["holds"] is True
    # In the Fourth Circuit the routes nobody argued stay open (the defendant's burden).
    assert as_json["elements"]["clearly_established"] is None


def test_python_api_takes_dates_and_iso_strings() -> None:
    module = loaded("qualified_immunity_special_relationship")
    with_strings = module.evaluate(PINDER_DATES).as_dict()
    with_dates = module.evaluate(
        {
            **PINDER_DATES,
            "event_date": datetime.date(1989, 3, 10),
            "authorities": [
                {
                    **PINDER_DATES["authorities"][0],
                    "decided": datetime.date(1984, 11, 1),
                    "abrogated": datetime.date(1989, 2, 22),
                }
            ],
        }
    ).as_dict()
    assert with_strings == with_dates
