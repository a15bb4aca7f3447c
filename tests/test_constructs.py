"""The constructs the law needs: open outcomes, switches by a fact, burdens, and thresholds.

Each is driven through the real command line (in process: the tests are not about the
process) and through a module written by `doctrine compile` and imported as any Python file.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from compiler.tools.cli import main
from compiler.tools.fmt import format_source
from tests.support import import_file

VOCABULARY = """
fact circuit: text means "the court of appeals whose law binds"
fact a: bool means "a"
fact b: bool means "b"
fact consensus: bool means "a robust consensus of persuasive authority"
fact gate: bool means "the threshold inquiry is met"
fact level: enum(low < mid < high) means "a level"
fact cases: list of case means "decided cases"

record case {
  name: text
}

authority henry {
  name "Henry v. Purnell"
  reporter "501 F.3d 374"
  court "4th"
  year 2007
}

element fourth { holds when a and b }
element ninth { holds when a }
"""

SWITCH = """
doctrine switched {
  element test {
    holds by circuit {
      "4th" then fourth
      "9th" then ninth
      otherwise open "The library has no test of this circuit."
    }
  }
}
"""

OPEN_RULES = """
doctrine ruled {
  element by_rule {
    general rule open "The circuit has not decided the question."
    exception clear when a then true
    exception settled when b then false { over clear }
  }
  element by_lines {
    first match {
      when a then true
      when b then open "Neither reading has been adopted."
      otherwise false
    }
  }
  holds when by_rule or by_lines
}
"""

BURDEN = """
doctrine burdened {
  element route {
    holds when consensus
  }
  absent consensus counts as false when circuit == "9th" {
    because "In the Ninth Circuit the plaintiff must show the law clearly established."
    cite henry at "377-78"
  }
  absent cases counts as [] when circuit == "9th" {
    because "No case offered, none shown."
  }
}

doctrine burden_in_element {
  element route {
    holds when consensus
    absent consensus counts as true {
      because "A burden stated in an element goes with it."
    }
  }
}
"""

THRESHOLD = """
doctrine gated {
  element later {
    holds when a
  }
  threshold standing {
    holds when gate
  }
  element other = ninth
}

doctrine gated_rule {
  threshold first_question = ninth
  element second {
    holds when b
  }
  holds when second
}
"""


def write(tmp_path: Path, body: str, name: str = "m") -> Path:
    path = tmp_path / f"{name}.doctrine"
    path.write_text(textwrap.dedent(VOCABULARY + body), encoding="utf-8")
    return path


def cli(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def evaluate(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    path: Path,
    doctrine: str,
    facts: dict[str, Any],
) -> dict[str, Any]:
    facts_file = tmp_path / "facts.json"
    facts_file.write_text(json.dumps(facts), encoding="utf-8")
    code, out, err = cli(
        capsys, "eval", path, "--doctrine", doctrine, "--facts", facts_file, "--format", "json"
    )
    assert code == 0, err
    result = json.loads(out)
    assert isinstance(result, dict)
    return result


def explain(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    path: Path,
    doctrine: str,
    facts: dict[str, Any],
    fmt: str = "markdown",
) -> str:
    facts_file = tmp_path / "facts.json"
    facts_file.write_text(json.dumps(facts), encoding="utf-8")
    code, out, err = cli(
        capsys, "explain", path, "--doctrine", doctrine, "--facts", facts_file, "--format", fmt
    )
    assert code == 0, err
    return out


# ---------------------------------------------------------------- a switch by a fact


@pytest.mark.parametrize(
    ("facts", "holds", "missing", "open_"),
    [
        ({"circuit": "4th", "a": True, "b": False}, False, [], None),
        ({"circuit": "9th", "a": True, "b": False}, True, [], None),
        ({"circuit": "9th", "a": True}, True, [], None),  # b is the Fourth Circuit's only
        ({"circuit": "4th", "a": True}, None, ["b"], None),
        # No circuit: the two tests agree, or the circuit is missing.
        ({"a": True, "b": True}, True, [], None),
        ({"a": False}, False, [], None),
        ({"a": True, "b": False}, None, ["circuit"], None),
        ({"a": True}, None, ["b", "circuit"], None),
        # A circuit the library has no test for: open, whatever the facts.
        (
            {"circuit": "10th", "a": True, "b": True},
            None,
            [],
            ["The library has no test of this circuit."],
        ),
    ],
)
def test_switch_chooses_the_rule_of_the_fact(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    facts: dict[str, Any],
    holds: bool | None,
    missing: list[str],
    open_: list[str] | None,
) -> None:
    path = write(tmp_path, SWITCH)
    result = evaluate(capsys, tmp_path, path, "switched", facts)
    assert result["holds"] is holds
    assert result["elements"] == {"test": holds}
    assert result["missing"] == missing
    assert result.get("open") == open_
    if open_ is None:
        assert "open" not in result  # absent when there is no reason


def test_switch_explained(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(tmp_path, SWITCH)
    memo = explain(capsys, tmp_path, path, "switched", {"circuit": "10th", "a": True})
    assert "## Open questions" in memo
    assert "- The library has no test of this circuit." in memo
    assert "where circuit is 4th, fourth; where circuit is 9th, ninth; otherwise" in memo
    text = explain(capsys, tmp_path, path, "switched", {"circuit": "9th", "a": True}, "text")
    assert re.search(r"^  Test +met ", text, re.MULTILINE), text
    assert "OPEN QUESTIONS" not in text


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("holds by circuit { 4 then a otherwise false }", "expected text, got 4"),
        ('holds by level { "low" then a "mid" then b }', "has no `otherwise`"),
        ('holds by level { "low" then a "low" then b otherwise false }', "two arms for"),
        ('holds by level { "lo" then a otherwise false }', "expected one of low, mid, high"),
        ('holds by nowhere { "x" then a otherwise false }', "unknown fact `nowhere`"),
        ('holds by fourth { "x" then a otherwise false }', "is an element, not a fact"),
        ('holds by cases { "x" then a otherwise false }', "a list cannot choose a rule"),
        (
            'holds when a\n    holds by circuit { "4th" then a otherwise b }',
            "states its outcome twice",
        ),
    ],
)
def test_switch_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, body: str, message: str
) -> None:
    path = write(tmp_path, f"element bad {{\n    {body}\n}}\ndoctrine d {{ element bad }}\n")
    code, _, err = cli(capsys, "check", path)
    assert code == 2
    assert message in err
    assert "m.doctrine:" in err  # file:line:col


def test_switch_on_every_value_needs_no_otherwise(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    body = 'doctrine d { element e { holds by a { true then b false then open "why" } } }\n'
    path = write(tmp_path, body)
    assert evaluate(capsys, tmp_path, path, "d", {"a": True, "b": True})["holds"] is True
    result = evaluate(capsys, tmp_path, path, "d", {"a": False})
    assert (result["holds"], result["open"]) == (None, ["why"])
    # The fact unknown: true and open do not agree.
    result = evaluate(capsys, tmp_path, path, "d", {"b": True})
    assert (result["holds"], result["missing"]) == (None, ["a"])


# ---------------------------------------------------------------- open outcomes


@pytest.mark.parametrize(
    ("facts", "by_rule", "by_lines", "open_"),
    [
        ({"a": True, "b": False}, True, True, None),
        ({"a": False, "b": True}, False, None, ["Neither reading has been adopted."]),
        ({"a": False, "b": False}, None, False, ["The circuit has not decided the question."]),
        # Whatever b is, one of the two stays open: b is not missing, both reasons are open.
        (
            {"a": False},
            None,
            None,
            ["Neither reading has been adopted.", "The circuit has not decided the question."],
        ),
        ({"a": True, "b": True}, False, True, None),  # `settled` is ranked over `clear`
    ],
)
def test_open_outcomes(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    facts: dict[str, Any],
    by_rule: bool | None,
    by_lines: bool | None,
    open_: list[str] | None,
) -> None:
    path = write(tmp_path, OPEN_RULES)
    result = evaluate(capsys, tmp_path, path, "ruled", facts)
    assert result["elements"] == {"by_rule": by_rule, "by_lines": by_lines}
    assert result.get("open") == open_
    assert result["holds"] is (True if True in (by_rule, by_lines) else None if open_ else False)
    if open_ is not None:
        assert result["holds"] is None
        assert result["missing"] == []  # no fact can settle an open question


def test_open_outcomes_explained(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(tmp_path, OPEN_RULES)
    memo = explain(capsys, tmp_path, path, "ruled", {"a": False, "b": False})
    assert "open (the circuit has not decided the question)" in memo
    assert "## Open questions" in memo
    html = explain(capsys, tmp_path, path, "ruled", {"a": False, "b": False}, "html")
    assert "<h2>Open questions</h2>" in html


# ---------------------------------------------------------------- burdens of proof


@pytest.mark.parametrize(
    ("facts", "holds", "missing"),
    [
        ({"circuit": "9th"}, False, []),  # the plaintiff's burden: not shown
        ({"circuit": "9th", "consensus": True}, True, []),  # given: the burden is not needed
        ({"circuit": "4th"}, None, ["consensus"]),  # the condition false: stays unknown
        # The condition unknown: stays unknown, and `circuit` is missing too, since "9th"
        # would make the absent consensus count as false and settle the outcome.
        ({}, None, ["circuit", "consensus"]),
    ],
)
def test_burden_decides_what_absence_counts_as(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    facts: dict[str, Any],
    holds: bool | None,
    missing: list[str],
) -> None:
    path = write(tmp_path, BURDEN)
    result = evaluate(capsys, tmp_path, path, "burdened", facts)
    assert (result["holds"], result["missing"]) == (holds, missing)


def test_burden_in_an_element(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(tmp_path, BURDEN)
    assert evaluate(capsys, tmp_path, path, "burden_in_element", {})["holds"] is True


def test_burden_explained(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(tmp_path, BURDEN)
    memo = explain(capsys, tmp_path, path, "burdened", {"circuit": "9th"})
    assert "## Burdens of proof" in memo
    assert (
        '- Consensus (`consensus`) counts as false (as `circuit == "9th"`): In the Ninth '
        "Circuit the plaintiff must show the law clearly established. *Henry v. Purnell*, "
        "501 F.3d 374, 377-78 (4th Cir. 2007)." in memo
    )
    assert "- Cases (`cases`) counts as none" in memo
    memo = explain(capsys, tmp_path, path, "burdened", {"circuit": "4th"})
    assert "Burdens of proof" not in memo  # nothing presumed where the condition fails


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('absent a counts as "yes" { because "x" }', "expected true or false"),
        ("absent a counts as false { }", "does not say why"),
        ('absent level counts as top { because "x" }', "expected one of low, mid, high"),
        ('absent nothing counts as false { because "x" }', "unknown fact `nothing`"),
        ('absent a counts as unknown { because "x" }', "`unknown` is not a value"),
        ('absent a counts as false { because "x" over y }', "`over` ranks exceptions"),
    ],
)
def test_burden_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, body: str, message: str
) -> None:
    path = write(tmp_path, f"doctrine d {{\n  element e {{ holds when a }}\n  {body}\n}}\n")
    code, _, err = cli(capsys, "check", path)
    assert code == 2
    assert message in err


def test_closed_world_is_still_a_burden(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """The closed world and burdens are one mechanism: a burden's value is not overridden."""
    body = """
    doctrine closed {
      closed world
      element e { holds when a or consensus }
      absent consensus counts as true { because "presumed" }
    }
    """
    path = write(tmp_path, body)
    assert evaluate(capsys, tmp_path, path, "closed", {})["holds"] is True
    assert evaluate(capsys, tmp_path, path, "closed", {"consensus": False})["holds"] is False


# ---------------------------------------------------------------- thresholds


@pytest.mark.parametrize(
    ("facts", "holds", "elements"),
    [
        ({"gate": False, "a": True}, False, {"standing": False, "later": None, "other": None}),
        ({"gate": True, "a": True}, True, {"standing": True, "later": True, "other": True}),
        ({"gate": True, "a": False}, False, {"standing": True, "later": False, "other": False}),
        ({"a": True}, None, {"standing": None, "later": True, "other": True}),
        ({"a": False}, False, {"standing": None, "later": False, "other": False}),
    ],
)
def test_threshold(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    facts: dict[str, Any],
    holds: bool | None,
    elements: dict[str, bool | None],
) -> None:
    path = write(tmp_path, THRESHOLD)
    result = evaluate(capsys, tmp_path, path, "gated", facts)
    assert result["holds"] is holds
    assert result["elements"] == elements
    assert list(result["elements"]) == ["standing", "later", "other"]  # thresholds first


def test_threshold_with_a_holds_clause(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(tmp_path, THRESHOLD)
    result = evaluate(capsys, tmp_path, path, "gated_rule", {"a": False, "b": True})
    assert result["holds"] is False
    assert result["elements"] == {"first_question": False, "second": None}
    assert evaluate(capsys, tmp_path, path, "gated_rule", {"a": True, "b": True})["holds"] is True
    result = evaluate(capsys, tmp_path, path, "gated_rule", {"b": True})
    assert (result["holds"], result["missing"]) == (None, ["a"])


def test_threshold_explained(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(tmp_path, THRESHOLD)
    memo = explain(capsys, tmp_path, path, "gated", {"gate": False, "a": True})
    assert "| Later | not reached | — |" in memo
    assert "## Not reached" in memo
    assert "later and other were not reached" in memo or "later, other were not reached" in memo
    text = explain(capsys, tmp_path, path, "gated", {"gate": False, "a": True}, "text")
    assert "not reached" in text


# ---------------------------------------------------------------- through compiled modules


def test_compiled_module_carries_every_construct(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write(tmp_path, SWITCH + OPEN_RULES + BURDEN + THRESHOLD)
    out = tmp_path / "out"
    code, _, err = cli(capsys, "compile", path, "-o", out)
    assert code == 0, err
    module = import_file(out / "m.py", "m_constructs")
    doctrines = module.DOCTRINES
    r = doctrines["switched"].evaluate({"circuit": "10th", "a": True})
    assert r.as_dict()["open"] == ["The library has no test of this circuit."]
    r = doctrines["burdened"].evaluate({"circuit": "9th"})
    assert r.holds is False and [p.fact for p in r.presumed] == ["consensus", "cases"]
    r = doctrines["gated"].evaluate({"gate": False})
    assert r.not_reached == ("later", "other")
    assert doctrines["ruled"].evaluate({"a": True}).holds is True


# ---------------------------------------------------------------- the formatter


def test_fmt_round_trips_every_construct(tmp_path: Path) -> None:
    source = textwrap.dedent(VOCABULARY + SWITCH + OPEN_RULES + BURDEN + THRESHOLD)
    once = format_source(source)
    assert format_source(once) == once
    assert 'otherwise open "The library has no test of this circuit."' in once
    assert "  threshold first_question = ninth\n" in once
    assert '  absent consensus counts as false when circuit == "9th" {\n' in once
    assert 'general rule open "The circuit has not decided the question."' in once
