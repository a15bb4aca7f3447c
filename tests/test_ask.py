"""`doctrine ask` and the interview core: only questions that can still change the outcome,
"don't know", --facts, --save (also when interrupted), --replay and --format json."""

from __future__ import annotations

import functools
import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import EXAMPLES, LIBRARY, jsonable, load_precedents

from compiler import load
from compiler.tools import cli, interview

SCD = LIBRARY / "state_created_danger.doctrine"


@functools.cache
def evaluator(name: str) -> Any:
    return load(LIBRARY / f"{name}.doctrine").DOCTRINES[name]


def ask(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    *args: str | Path,
    stdin: str = "",
) -> tuple[int, str, str]:
    """`doctrine ask ARGS` in this process, with `stdin` as the typed answers."""
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    status = cli.main(["ask", *map(str, args)])
    out, err = capsys.readouterr()
    return status, out, err


def test_every_precedent_replayed_reaches_the_doctrines_answer() -> None:
    from compiler.tools.ask import Answerer, run

    for p in load_precedents():
        ev = evaluator(p["doctrine"])
        err = io.StringIO()
        result, asked = run(ev, Answerer(err, replay=p["facts"], menus=False), {})
        assert result.holds == ev.evaluate(p["facts"]).holds, p["id"]
        assert len(asked) == len(set(asked))
        # The result is the doctrine's on the answers given, as they were given.
        answers = {f: p["facts"].get(f) for f in asked}
        assert result.as_dict() == ev.evaluate(answers).as_dict(), p["id"]
        assert err.getvalue().count("Question ") == len(asked)


@pytest.mark.parametrize("pid", ["kennedy-dissent", "pinder-immunity", "youngberg"])
def test_replay_json_is_the_eval_object_plus_asked(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, pid: str
) -> None:
    (p,) = [p for p in load_precedents() if p["id"] == pid]
    case = tmp_path / f"{pid}.json"
    case.write_text(json.dumps(jsonable(p["facts"])))
    doctrine = LIBRARY / f"{p['doctrine']}.doctrine"
    status, out, err = ask(capsys, monkeypatch, doctrine, "--replay", case, "--format", "json")
    assert status == 0, err
    got = json.loads(out)
    asked = got.pop("asked")
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({f: jsonable(p["facts"]).get(f) for f in asked}))
    assert cli.main(["eval", str(doctrine), "--facts", str(answers), "--format", "json"]) == 0
    assert got == json.loads(capsys.readouterr().out)


def test_the_replay_transcript_names_each_answer_and_its_source(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    status, out, err = ask(capsys, monkeypatch, SCD, "--replay", EXAMPLES / "kennedy-dissent.yaml")
    assert status == 0
    assert "Question 1: culpability (culpability)" in err
    assert "Meaning: the official's state of mind toward the danger" in err
    assert "Asked because it can still decide:\n    - culpability: The official acted" in err
    assert "> negligence (from " in err
    assert "1 question(s) asked; state_created_danger does not hold" in err
    # The memo (text) goes to standard output.
    assert "state_created_danger" in out and "Question" not in out


def test_typed_answers_dont_know_and_a_wrong_answer_asked_again(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # culpability first (5 = deliberate_indifference), then the rest; "maybe" is refused.
    lines = ["5", "maybe", "yes", "?", "y", "y", "y", "y", "y", "y"]
    status, out, err = ask(
        capsys, monkeypatch, SCD, "--format", "json", stdin="\n".join(lines) + "\n"
    )
    assert status == 0, err
    assert "answer yes or no (or ? for don't know)" in err
    got = json.loads(out)
    assert got["asked"][0] == "culpability"
    dont_know = got["asked"][2]
    assert got["holds"] is None and dont_know in got["missing"]
    assert got["asked"].count(dont_know) == 1  # never asked again


def test_save_when_input_ends_and_resume_with_facts(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    saved = tmp_path / "answers.yaml"
    status, _, err = ask(capsys, monkeypatch, SCD, "--save", saved, stdin="5\n?\n")
    assert status == 130
    assert f"resume with --facts {saved}" in err
    answers = yaml.safe_load(saved.read_text())
    assert list(answers.values()) == ["deliberate_indifference", None]
    status, out, err = ask(
        capsys, monkeypatch, SCD, "--facts", saved, "--save", saved, "--format", "json",
        stdin="n\n",
    )  # fmt: skip
    assert status == 0, err
    got = json.loads(out)
    assert not set(got["asked"]) & set(answers)  # what was answered, "don't know" too, stays
    assert got["holds"] is False
    assert len(yaml.safe_load(saved.read_text())) == len(answers) + len(got["asked"])


def test_save_as_json(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    saved = tmp_path / "answers.json"
    status, _, _ = ask(
        capsys, monkeypatch, LIBRARY / "special_relationship.doctrine", "--save", saved,
        stdin="2\n",
    )  # fmt: skip
    assert status == 0
    assert json.loads(saved.read_text()) == {"custody": "incarceration"}


def test_memo_formats(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    doctrine = LIBRARY / "special_relationship.doctrine"
    status, out, _ = ask(capsys, monkeypatch, doctrine, "--format", "markdown", stdin="1\n")
    assert status == 0 and out.startswith("#")
    memo = tmp_path / "memo.html"
    status, out, _ = ask(capsys, monkeypatch, doctrine, "--format", "html", "-o", memo, stdin="1\n")
    assert status == 0 and out == ""
    assert "<html" in memo.read_text()


def test_input_errors_name_the_fact(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("culpability: careless\n")
    status, _, err = ask(capsys, monkeypatch, SCD, "--replay", bad)
    assert status == 2
    assert "fact 'culpability': expected one of none" in err and "Traceback" not in err
    status, _, err = ask(capsys, monkeypatch, SCD, "--facts", bad)
    assert status == 2 and "culpability" in err
    status, _, err = ask(capsys, monkeypatch, SCD, "--save", tmp_path / "a.txt")
    assert status == 2 and "name a .yaml, .yml or .json file" in err


RECORDS = """
module records_demo "A list asked item by item"

record precedent {
  name: text means "the case's name"
  decided: date means "when it was decided"
  abrogated: optional date means "when it was rejected"
}

fact authorities: list of precedent means "the precedents offered"
fact event_date: date means "when the official acted"

doctrine notice {
  title "A precedent decided before the events"
  element earlier = decided_before
}

element decided_before {
  title "Some precedent came down before the official acted"
  holds when some a in authorities where a.decided < event_date
}
"""


def test_a_list_is_asked_item_by_item(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    doctrine = tmp_path / "records_demo.doctrine"
    doctrine.write_text(RECORDS)
    typed = [
        "y", "Grubbs", "1999-01-01", "",  # one authority, abrogated left empty
        "y", "Wood", "1989-07-01", "2001-02-03",
        "n",
        "1998-09-24",  # event_date
    ]  # fmt: skip
    status, out, err = ask(
        capsys, monkeypatch, doctrine, "--format", "json", "--save", tmp_path / "s.yaml",
        stdin="\n".join(typed) + "\n",
    )  # fmt: skip
    assert status == 0, err
    assert json.loads(out)["holds"] is True
    assert "Add an item to authorities?" in err and "Add another item" in err
    saved = yaml.safe_load((tmp_path / "s.yaml").read_text())
    assert saved["authorities"][0] == {"name": "Grubbs", "decided": "1999-01-01"}
    assert saved["authorities"][1]["abrogated"] == "2001-02-03"


def test_next_step_offers_type_values_meaning_and_reasons() -> None:
    ev = evaluator("state_created_danger")
    step = interview.next_step(ev, {})
    assert not step.done and step.question is not None
    q = step.as_dict()["question"]
    assert set(q) >= {"fact", "kind", "type", "values", "meaning", "reasons"}
    done = interview.next_step(ev, {"affirmative_act": False})
    assert done.done and done.as_dict() == {
        "done": True,
        "result": ev.evaluate({"affirmative_act": False}).as_dict(),
    }


def test_never_asks_what_cannot_change_the_outcome() -> None:
    ev = evaluator("state_created_danger")
    for case in [c["given"] for c in load(SCD).CASES]:
        answers: dict[str, Any] = {}
        while not (step := interview.next_step(ev, answers)).done:
            assert step.question is not None
            assert step.question.fact in step.result.missing
            assert step.question.fact not in answers
            answers[step.question.fact] = case.get(step.question.fact)


def test_the_informed_choice_asks_no_more_than_declaration_order() -> None:
    """The choice kept is the one that asks fewer questions over the library's precedents."""
    totals = dict.fromkeys(interview.STRATEGIES, 0)
    for p in load_precedents():
        for name in totals:
            _, asked = interview.replay(evaluator(p["doctrine"]), p["facts"], strategy=name)
            totals[name] += len(asked)
    assert totals["informed"] <= totals["declared"]


def test_parse_value() -> None:
    assert interview.parse_value("enum", ("a", "b_c"), "b c") == "b_c"
    assert interview.parse_value("enum", ("a", "b_c"), "2") == "b_c"
    assert interview.parse_value("date", (), " 1998-09-24 ") == "1998-09-24"
    assert interview.parse_value("number", (), "3") == 3
    for kind, text in [("bool", "maybe"), ("date", "24/09/1998"), ("enum", "9"), ("number", "x")]:
        with pytest.raises(interview.AnswerError):
            interview.parse_value(kind, ("a",), text)
    assert interview.is_dont_know("Don\u2019t know") and interview.is_dont_know("?")


def test_a_closed_world_doctrine_is_still_asked_its_factors() -> None:
    """Under a closed world a factor not given is absent, so `missing` is always empty; an
    interview still asks the factors that could change the outcome, and reports the closed
    world's result on the answers."""
    path = LIBRARY / "trade_secrets" / "trade_secret_misappropriation.doctrine"
    module = load(path)
    ev = module.DOCTRINES[module.DOCTRINE]
    first = interview.next_step(ev, {})
    assert not first.done and first.question is not None and first.question.kind == "bool"
    assert first.result.holds is False  # the closed world's answer, with nothing known
    assert first.question.reasons  # the elements it can decide, as if unasked were unknown
    (case,) = [c for c in load(LIBRARY / "trade_secrets" / "cases.doctrine").CASES
               if c["name"] == "space_aero"]  # fmt: skip
    result, asked = interview.replay(ev, case["given"])
    assert result.holds == ev.evaluate(case["given"]).holds
    assert 0 < len(asked) <= len(ev.info.facts_weighed)
