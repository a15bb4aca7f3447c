"""General rules with exceptions, first-match lists, and duty_to_protect (issue 8)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

import compiler
from compiler.errors import DoctrineError
from compiler.runtime import program
from tests.support import doctrine_file, eval_json, load_precedents, run_cli, write_json

EXCEPTION_DOCTRINES = ("special_relationship", "state_created_danger")
PRECEDENTS = [p for p in load_precedents() if p["doctrine"] in EXCEPTION_DOCTRINES]


def kleene_or(a: bool | None, b: bool | None) -> bool | None:
    if a is True or b is True:
        return True
    if a is False and b is False:
        return False
    return None


@pytest.mark.parametrize("precedent", PRECEDENTS, ids=[p["id"] for p in PRECEDENTS])
def test_precedent_under_duty_to_protect(precedent: dict[str, Any], tmp_path: Path) -> None:
    """A duty when either exception holds; none only when both are settled false."""
    facts = write_json(tmp_path / "facts.json", precedent["facts"])
    special = eval_json(doctrine_file("special_relationship"), facts)
    # The danger-creation exception is the test of the circuit in `circuit`; the precedents give
    # none, so it is settled only where the Ninth and Fourth Circuits' tests agree.
    ninth = eval_json(doctrine_file("state_created_danger_ninth_circuit"), facts)
    fourth = eval_json(doctrine_file("state_created_danger_fourth_circuit"), facts)
    agreed = ninth["holds"] if ninth["holds"] is fourth["holds"] else None
    danger = {
        "holds": agreed,
        "missing": sorted({*ninth["missing"], *fourth["missing"], "circuit"}),
    }
    duty = eval_json(doctrine_file("duty_to_protect"), facts)
    assert duty["doctrine"] == "duty_to_protect"
    assert duty["elements"] == {
        "special_relationship": special["holds"],
        "state_created_danger": danger["holds"],
    }
    assert duty["holds"] is kleene_or(special["holds"], danger["holds"])
    if duty["holds"] is None:
        assert duty["missing"], "an undetermined duty names the facts still needed"
        assert set(duty["missing"]) <= set(special["missing"]) | set(danger["missing"])
    else:
        assert duty["missing"] == []


def test_pinder_as_an_omission_has_no_duty(tmp_path: Path) -> None:
    pinder = next(p for p in load_precedents() if p["id"] == "pinder")
    facts = write_json(tmp_path / "pinder.json", {**pinder["facts"], "affirmative_act": False})
    duty = eval_json(doctrine_file("duty_to_protect"), facts)
    assert duty["holds"] is False
    assert duty["elements"] == {"special_relationship": False, "state_created_danger": False}


def test_duty_to_protect_is_written_as_a_rule_and_its_exceptions() -> None:
    module = compiler.load(doctrine_file("duty_to_protect"))
    tree = module.INFO.doctrines["duty_to_protect"].tree
    assert isinstance(tree, program.Chain)
    assert (tree.kind, tree.default) == ("exceptions", False)
    assert "private" in tree.because
    assert [b.label for b in tree.branches] == ["custody", "danger_creation"]
    assert all(b.outcome is True for b in tree.branches)


# ---------------------------------------------------------------- semantics


def _load(tmp_path: Path, source: str, name: str = "rules") -> Any:
    path = tmp_path / f"{name}.doctrine"
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return compiler.load(path)


NESTED = """
    fact custody: bool means "held by the state"
    fact released: bool means "let go before the harm"
    fact danger: bool means "the state made the danger"
    doctrine duty {
      element held { holds when custody }
      element made { holds when danger }
      general rule false { because "no duty as a rule" }
      exception in_custody when held then true {
        exception let_go when released then false
      }
      exception created when made then true { over in_custody }
    }
"""


@pytest.mark.parametrize(
    ("facts", "holds", "missing"),
    [
        ({}, None, ["custody", "danger", "released"]),
        ({"danger": True}, True, []),
        ({"danger": False, "custody": False}, False, []),
        ({"danger": False, "custody": True, "released": False}, True, []),
        ({"danger": False, "custody": True, "released": True}, False, []),
        ({"danger": False, "custody": True}, None, ["released"]),
        ({"custody": True, "released": False}, True, []),
        ({"custody": True, "released": True}, None, ["danger"]),
        ({"custody": False}, None, ["danger"]),
    ],
)
def test_nested_exceptions_are_three_valued(
    tmp_path: Path, facts: dict[str, bool], holds: bool | None, missing: list[str]
) -> None:
    result = _load(tmp_path, NESTED).evaluate(facts)
    assert result.holds is holds
    assert list(result.missing) == missing


FIRST_MATCH = """
    fact a: bool means "a"
    fact b: bool means "b"
    element decided {
      first match {
        when a then true because "a decides first"
        when b then false because "then b"
        otherwise true because "else"
      }
    }
    doctrine pick { element decided }
"""


@pytest.mark.parametrize(
    ("facts", "holds"),
    [
        ({"a": True}, True),
        ({"a": False, "b": True}, False),
        ({"a": False, "b": False}, True),
        ({"a": False}, None),
        ({"b": False}, True),  # whichever way `a` goes, the answer is true
        ({"b": True}, None),
        ({}, None),
    ],
)
def test_first_match_is_three_valued(
    tmp_path: Path, facts: dict[str, bool], holds: bool | None
) -> None:
    assert _load(tmp_path, FIRST_MATCH).evaluate(facts).holds is holds


# ---------------------------------------------------------------- diagnostics

HEAD = """
    fact a: bool means "a"
    fact b: bool means "b"
    fact c: enum (x, y) means "c"
"""


def _diagnostics(tmp_path: Path, body: str) -> str:
    path = tmp_path / "rules.doctrine"
    path.write_text(textwrap.dedent(HEAD + body), encoding="utf-8")
    proc = run_cli("check", path, cwd=tmp_path)
    assert "Traceback" not in proc.stderr
    return f"exit {proc.returncode}\n{proc.stderr}"


def test_exceptions_that_conflict_unranked_are_an_error(tmp_path: Path) -> None:
    out = _diagnostics(
        tmp_path,
        """
    doctrine d {
      element e { holds when a }
      general rule false
      exception yes when a then true
      exception no when b then true { exception but when c is x then false }
    }
    """,
    )
    assert out.startswith("exit 2")
    assert "error[D0312]: exceptions `yes` and `no` can both apply and decide differently" in out
    assert "--> rules.doctrine:10:13" in out
    assert "help: say which prevails: `over yes` in `no`, or the reverse" in out


def test_a_ranking_settles_the_conflict(tmp_path: Path) -> None:
    out = _diagnostics(
        tmp_path,
        """
    doctrine d {
      element e { holds when a }
      general rule false
      exception yes when a then true
      exception no when b then true {
        over yes
        exception but when c is x then false
      }
    }
    """,
    )
    assert out.startswith("exit 0"), out


def test_exclusive_exceptions_need_no_ranking(tmp_path: Path) -> None:
    out = _diagnostics(
        tmp_path,
        """
    doctrine d {
      element e { holds when a }
      general rule false
      exception x_side when c is x then true
      exception y_side when c is y then true { exception but when b then false }
    }
    """,
    )
    assert out.startswith("exit 0"), out


def test_exception_that_can_never_apply_is_a_warning(tmp_path: Path) -> None:
    out = _diagnostics(
        tmp_path,
        """
    doctrine d {
      element e { holds when a }
      general rule false
      exception never when a and not a then true
      exception fine when b then true
    }
    """,
    )
    assert out.startswith("exit 0")
    assert "warning[D0602]: exception `never` can never apply" in out


def test_exception_that_changes_nothing_is_a_warning(tmp_path: Path) -> None:
    out = _diagnostics(
        tmp_path,
        """
    doctrine d {
      element e { holds when a }
      general rule false
      exception pointless when b then false
      exception real when a then true
    }
    """,
    )
    assert (
        "warning[D0603]: exception `pointless` gives false, as the rule it is an exception" in out
    )
    assert "help: did you mean `then true`?" in out


def test_priority_cycle_and_unknown_ranking(tmp_path: Path) -> None:
    out = _diagnostics(
        tmp_path,
        """
    doctrine d {
      element e { holds when a }
      general rule false
      exception one when a then true { over two }
      exception two when b then false { over one }
      exception three when b then true { over tow }
    }
    """,
    )
    assert out.startswith("exit 2")
    assert "error[D0311]: exceptions ranked over each other in a circle" in out
    assert "`over tow`: no exception `tow` beside `three`" in out
    assert "did you mean `two`?" in out


def test_exceptions_need_a_general_rule_and_one_way_to_decide(tmp_path: Path) -> None:
    out = _diagnostics(
        tmp_path,
        """
    doctrine d {
      element e { holds when a }
      exception orphan when a then true
    }
    doctrine twice {
      element e { holds when a }
      holds when e
      first match { when a then true otherwise false }
    }
    """,
    )
    assert "error[D0210]: doctrine `d` lists exceptions but no general rule" in out
    assert "error[D0209]: `twice` states its outcome twice" in out


def test_unreachable_first_match_line_is_a_warning(tmp_path: Path) -> None:
    out = _diagnostics(
        tmp_path,
        """
    element e {
      first match {
        when a then true
        when a and b then false
        otherwise false
      }
    }
    doctrine d { element e }
    """,
    )
    assert out.startswith("exit 0")
    assert "warning[D0602]: line 2 of this first-match list can never decide" in out


def test_compile_source_raises_doctrine_error_for_conflicts() -> None:
    source = textwrap.dedent(
        HEAD
        + """
    doctrine d {
      element e { holds when a }
      general rule true
      exception p when a then false
      exception q when b then true { exception r when c is y then false }
    }
    """
    )
    with pytest.raises(DoctrineError) as caught:
        compiler.compile_source(source)
    assert [d.code for d in caught.value.diagnostics if d.severity == "error"] == ["D0312"]
