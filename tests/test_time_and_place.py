"""Which rule governed, clearly-established from the library's decided cases, and the
record at a stage of the proceedings (issue 5)."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

import compiler
from tests.support import EXAMPLES, doctrine_file, eval_json, run_cli, write_json, write_yaml

# ---------------------------------------------------------------- which rule governed


@pytest.mark.parametrize(
    ("day", "governing", "other", "why"),
    [
        ("1980-01-01", "special_relationship", "special_relationship_jensen", "not yet in force"),
        ("1984-11-01", "special_relationship_jensen", "special_relationship", "the Supreme Court"),
        ("1989-02-21", "special_relationship_jensen", "special_relationship", "the Supreme Court"),
        ("1989-02-22", "special_relationship", "special_relationship_jensen", "no longer in force"),
        ("1989-03-10", "special_relationship", "special_relationship_jensen", "no longer in force"),
    ],
)
def test_which_rule_governed_the_special_relationship(
    day: str, governing: str, other: str, why: str
) -> None:
    proc = run_cli("which", "special_relationship", "--court", "4th", "--date", day)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == f"{governing} governed in the 4th Circuit on {day}:"
    assert any(line.strip().startswith(f"{other}: {why}") for line in lines), proc.stdout


def test_which_names_the_question_by_any_of_its_variants() -> None:
    proc = run_cli("which", "special_relationship_jensen", "--court", "4th", "--date", "1989-03-10")
    assert proc.stdout.splitlines()[0].startswith("special_relationship governed")


def test_another_circuits_rule_does_not_govern() -> None:
    proc = run_cli("which", "special_relationship", "--court", "9th", "--date", "1985-03-10")
    assert proc.returncode == 0
    assert proc.stdout.startswith("special_relationship governed in the 9th Circuit")
    assert "the 4th Circuit's rule does not bind the 9th Circuit" in proc.stdout


def test_the_custodial_duty_binds_every_circuit_from_estelle() -> None:
    for court in ("1st", "9th", "11th"):
        proc = run_cli("which", "special_relationship", "--court", court, "--date", "1976-11-30")
        assert proc.stdout.splitlines()[0].startswith("special_relationship governed"), court
    early = run_cli("which", "special_relationship", "--court", "9th", "--date", "1976-11-29")
    assert early.returncode == 1
    assert "not yet in force: it governs from 1976-11-30" in early.stdout


@pytest.mark.parametrize("day", ["1995-01-01", "2005-07-01", "2024-06-01"])
def test_the_ninth_circuit_rule_governs_never_the_dissent(day: str) -> None:
    proc = run_cli("which", "state_created_danger", "--court", "9th", "--date", day)
    lines = proc.stdout.splitlines()
    assert any(
        line.startswith("  state_created_danger_ninth_circuit: State-created danger in the Ninth")
        for line in lines[: lines.index("The others did not:")]
    ), proc.stdout
    assert (
        "  state_created_danger: a separate opinion's rule (Bybee, J., concurring in part and "
        "dissenting in part): the law of no court"
    ) in lines


def test_the_fourth_circuit_has_its_own_test() -> None:
    proc = run_cli("which", "state_created_danger", "--court", "4th", "--date", "2020-01-01")
    assert proc.stdout.splitlines()[0] == (
        "state_created_danger_fourth_circuit governed in the 4th Circuit on 2020-01-01:"
    )
    assert "state_created_danger_ninth_circuit: the 9th Circuit's rule does not bind" in proc.stdout


def test_which_rejects_a_bad_date() -> None:
    proc = run_cli("which", "special_relationship", "--court", "4th", "--date", "1989-02-30")
    assert proc.returncode == 2
    assert "expected a date" in proc.stderr and "Traceback" not in proc.stderr


def test_evaluating_a_rule_out_of_its_period_warns(tmp_path: Path) -> None:
    facts = write_yaml(
        tmp_path / "pinder.yaml",
        {
            "custody": "none",
            "promise_of_protection": True,
            "event_date": datetime.date(1989, 3, 10),
        },
    )
    proc = run_cli(
        "eval", doctrine_file("special_relationship_jensen"), "--facts", facts, "--format", "json"
    )
    assert proc.returncode == 0
    assert (
        "warning: special_relationship_jensen was no longer in force on 1989-03-10 "
        "(it governed only until 1989-02-22); on that day special_relationship governed"
    ) in proc.stderr
    in_time = write_yaml(tmp_path / "early.yaml", {"event_date": datetime.date(1989, 2, 21)})
    quiet = run_cli("eval", doctrine_file("special_relationship_jensen"), "--facts", in_time)
    assert "warning" not in quiet.stderr


# ---------------------------------------------------------------- clearly established


def _notes(name: str, facts: dict[str, Any]) -> tuple[Any, dict[str, dict[str, Any]]]:
    result = compiler.load(doctrine_file(name)).evaluate(facts)
    return result, {n["authority"]: n for n in result.precedents}


PINDER = {
    "custody": "none",
    "promise_of_protection": True,
    "relied_on_promise": True,
    "state_aware_of_danger": True,
    "event_date": "1989-03-10",
    "circuit": "4th",
}
KENNEDY_DISSENT = {
    "directed_at_plaintiff": True,
    "affirmative_act": True,
    "but_for_cause": False,
    "harm_foreseeable": False,
    "danger_known_or_obvious": False,
    "culpability": "negligence",
    "event_date": "1998-09-24",
    "circuit": "9th",
}
GRUBBS_I = {
    "directed_at_plaintiff": True,
    "affirmative_act": True,
    "but_for_cause": True,
    "harm_foreseeable": True,
    "danger_known_or_obvious": True,
    "culpability": "deliberate_indifference",
    "promise_of_protection": True,
    "time_to_deliberate": True,
    "event_date": "1998-09-24",
    "circuit": "9th",
}


def test_pinder_decided_from_the_library() -> None:
    result, notes = _notes("qualified_immunity_special_relationship", PINDER)
    # No custody, so no duty and no violation: immune, whatever the law was.
    assert (result.holds, result.elements["violation"]) == (True, False)
    assert "abrogated (1989-02-22)" in notes["jensen_v_conrad"]["reason"]
    assert "recognizes_right (false)" in notes["deshaney_v_winnebago"]["reason"]
    assert "recognizes_right (false)" in notes["youngberg_v_romeo"]["reason"]
    assert "decided (1995-12-31) < event_date (1989-03-10)" in notes["pinder_v_johnson"]["reason"]
    assert not any(n.get("controls") for n in notes.values())


def test_kennedy_dissent_decided_from_the_library() -> None:
    result, notes = _notes("qualified_immunity_state_created_danger", KENNEDY_DISSENT)
    assert (result.holds, result.elements["violation"]) == (True, False)
    assert notes["grubbs_i"]["reason"] == "it differs on but_for_cause: true there, false here"
    assert (
        "decided (2001-09-01) < event_date (1998-09-24)"
        in notes["nicholas_v_wallenstein"]["reason"]
    )
    assert "court (7th)" in notes["jackson_v_joliet"]["reason"]
    assert "recognizes_right (false)" in notes["grubbs_ii"]["reason"]


def test_the_library_never_finds_material_similarity() -> None:
    # Grubbs I's own facts in 1998: it binds, came before, and held such conduct unlawful, and
    # every fact it relied on agrees; still only a candidate.
    result, notes = _notes("qualified_immunity_state_created_danger", GRUBBS_I)
    assert result.elements["violation"] is True
    assert not result.facts["authorities"]  # none filled in (the burden counts it empty)
    note = notes["grubbs_i"]
    assert note["materially_similar"] is None and note["controls"] is None
    assert note["reason"].startswith("it meets every other requirement")
    assert "a judgment on the specific facts that the library does not make" in note["reason"]
    assert not any(n.get("controls") for n in notes.values())
    assert not any(n.get("materially_similar") for n in notes.values())


def test_authorities_given_by_the_case_take_precedence(tmp_path: Path) -> None:
    facts = {**GRUBBS_I, "authorities": []}
    result, notes = _notes("qualified_immunity_state_created_danger", facts)
    assert result.elements["clearly_established"] is False
    assert notes == {}


def test_no_facts_leave_immunity_open(tmp_path: Path) -> None:
    for name in (
        "qualified_immunity_special_relationship",
        "qualified_immunity_state_created_danger",
    ):
        result = eval_json(doctrine_file(name), write_json(tmp_path / "none.json", {}))
        assert result["holds"] is None, name
        assert {"authorities", "circuit"} <= set(result["missing"]), name


# ---------------------------------------------------------------- the record at a stage


@pytest.mark.parametrize(
    ("doctrine", "stage", "holds"),
    [
        ("state_created_danger_kennedy_majority", "summary-judgment", True),
        ("state_created_danger", "summary-judgment", False),
        ("state_created_danger_kennedy_majority", "trial", False),
        ("state_created_danger", "trial", False),
    ],
)
def test_kennedy_with_disputed_facts(doctrine: str, stage: str, holds: bool) -> None:
    proc = run_cli(
        "eval",
        doctrine_file(doctrine),
        "--facts",
        EXAMPLES / "kennedy-disputed.yaml",
        "--stage",
        stage,
    )
    assert proc.returncode == 0, proc.stderr
    assert ("  holds" if holds else "  does not hold") in proc.stdout.splitlines()[1]
    words = "at summary judgment:" if stage == "summary-judgment" else "at trial:"
    assert words in proc.stdout
    version = (
        "the plaintiff's version, the light most favourable"
        if stage == "summary-judgment"
        else "the defendant's version, as found at trial"
    )
    assert (
        f"culpability = {'deliberate_indifference' if stage != 'trial' else 'negligence'}: "
        f"disputed: {version}" in proc.stdout
    )


def test_marked_facts_need_a_stage() -> None:
    proc = run_cli(
        "eval", doctrine_file("state_created_danger"), "--facts", EXAMPLES / "kennedy-disputed.yaml"
    )
    assert proc.returncode == 2
    assert "fact 'culpability' is marked disputed: say which version counts with a stage" in (
        proc.stderr
    )


@pytest.mark.parametrize(
    ("mark", "stage", "counted"),
    [
        ({"alleged": True}, "dismissal", True),
        ({"alleged": True}, "summary-judgment", None),
        ({"alleged": True}, "trial", None),
        ({"established": False}, "trial", False),
        ({"disputed": {"plaintiff": True, "defendant": False}}, "dismissal", True),
        ({"disputed": {"plaintiff": True, "defendant": False}}, "trial", None),
        (
            {"disputed": {"plaintiff": True, "defendant": False, "found": "plaintiff"}},
            "trial",
            True,
        ),
    ],
)
def test_which_version_counts(mark: dict[str, Any], stage: str, counted: bool | None) -> None:
    result = compiler.load(doctrine_file("state_created_danger")).evaluate(
        {"affirmative_act": mark}, stage=stage
    )
    assert result.facts["affirmative_act"] is counted
    assert result.record[0]["fact"] == "affirmative_act"


def test_unmarked_facts_are_unchanged_by_a_stage(tmp_path: Path) -> None:
    facts = yaml.safe_load((EXAMPLES / "kennedy-dissent.yaml").read_text())
    plain = compiler.load(doctrine_file("state_created_danger")).evaluate(facts)
    staged = compiler.load(doctrine_file("state_created_danger")).evaluate(facts, stage="trial")
    assert plain.as_dict() == staged.as_dict()


def test_a_bad_disputed_mark_names_the_fact(tmp_path: Path) -> None:
    facts = write_yaml(
        tmp_path / "bad.yaml", {"culpability": {"disputed": {"plaintiff": "intent"}}}
    )
    proc = run_cli(
        "eval", doctrine_file("state_created_danger"), "--facts", facts, "--stage", "trial"
    )
    assert proc.returncode == 2
    assert "fact 'culpability': disputed: give both" in proc.stderr
