"""Exact `holds`, elements and `missing` (issue 17.3): the issue's inputs, through the CLI,
and random doctrines checked against brute force.

A test and each element are true when they would hold whatever values the unknown facts turn
out to have, false when they would fail whatever they are; `missing` lists only the unknown
facts on whose values the outcome still depends (compiler/runtime/exact.py).
"""

from __future__ import annotations

import datetime
import itertools
import json
import math
import os
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference import Reference
from strategies import DATES, doctrine_sources, fact_patterns

from compiler.checking import ir
from compiler.codegen.compile import compile_files, module_from_source
from compiler.errors import DoctrineError
from compiler.runtime import FactsError, exact
from compiler.tools.cli import main

WIDE = 60  # unknown facts beside the shared condition: far past the old cap of 4,096

SOURCE = (
    """
fact x: bool means "x"
fact a: bool means "a"
fact b: bool means "b"
fact c: bool means "c"
fact level: enum(lowest < mid < top) means "a level"
fact d: date means "a day"
fact d2: date means "another day"
fact n: number means "a number"
fact t: text means "a text"
fact circuit: text means "a circuit"
fact consensus: bool means "a consensus"
"""
    + "".join(f'fact u{i}: bool means "u{i}"\n' for i in range(WIDE))
    + """
doctrine excluded_middle { element e { holds when x or not x } }
doctrine at_least_lowest { element e { holds when level >= lowest } }
doctrine either_side { element e { holds when level <= mid or level >= mid } }
doctrine same_day { element e { holds when d < d or d == d } }
doctrine never_before { element e { holds when d < d } }
doctrine shared { element e { holds when (a and b) or (a and c) } }
doctrine tautology_beside { element e { holds when x or not x } element f { holds when a } }
doctrine no_day_between { element e { holds when d > 2000-01-01 and d < 2000-01-02 } }
doctrine a_day_between { element e { holds when d > 2000-01-01 and d < 2000-01-03 } }
doctrine number_split { element e { holds when n > 1 or n <= 1 } }
doctrine number_gap { element e { holds when (n > 1 and n < 1.5) or a } }
doctrine text_either { element e { holds when t == "x" or t != "x" } }
doctrine two_days { element e { holds when d < d2 or d >= d2 } }
doctrine two_days_never { element e { holds when d < d2 and d2 < d } }
doctrine two_days_one_way { element e { holds when (d < d2 and a) or (d >= d2 and a) } }
doctrine thirteen {
  element e { holds when (a and b) or (a and c) }
  element rest { holds when """
    + " or ".join(f"u{i}" for i in range(13))
    + """ }
}
doctrine wide {
  element e { holds when (a and b) or (a and c) }
  element rest { holds when """
    + " or ".join(f"u{i}" for i in range(WIDE))
    + """ }
}
doctrine switch_beside {
  element e0 { holds by x { true then open "not encoded" otherwise x } }
  holds when x
}
doctrine burden {
  element route { holds when consensus }
  absent consensus counts as false when circuit == "9th" {
    because "the plaintiff's burden"
  }
}

doctrine two_rules {
  element first { holds by x { false then false otherwise x } }
  element second { holds by x { true then n < 2.5 otherwise open "not encoded" } }
}

doctrine burden_outside_the_arms {
  element e { holds by circuit { "4th" then a otherwise open "no test for this circuit" } }
  absent circuit counts as "9th" when n <= 0 { because "a burden naming another circuit" }
}

doctrine slot_burden {
  element e {
    holds when a
    absent a counts as true { because "a burden stated in the element" }
  }
  element f { holds when b }
  holds when f
}

doctrine two_burdens {
  element e { holds when x }
  absent x counts as true when a { because "the first burden" }
  absent x counts as false when b { because "the second burden" }
}
"""
)


def _only(doctrine: str) -> str:
    """SOURCE with its facts and the one doctrine a test evaluates: each compiles faster."""
    facts, *doctrines = SOURCE.split("\ndoctrine ")
    (chosen,) = [d for d in doctrines if d.startswith(doctrine + " ")]
    return f"{facts}\ndoctrine {chosen}\n"


def run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, doctrine: str, facts: dict[str, Any]
) -> dict[str, Any]:
    path = tmp_path / "exact.doctrine"
    path.write_text(_only(doctrine), encoding="utf-8")
    facts_file = tmp_path / "facts.json"
    facts_file.write_text(json.dumps(facts), encoding="utf-8")
    code = main(
        ["eval", str(path), "--doctrine", doctrine, "--facts", str(facts_file), "--format", "json"]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    result = json.loads(out)
    assert isinstance(result, dict)
    return result


@pytest.mark.parametrize(
    ("doctrine", "facts", "holds", "elements", "missing"),
    [
        ("excluded_middle", {}, True, {"e": True}, []),
        ("at_least_lowest", {}, True, {"e": True}, []),
        ("either_side", {}, True, {"e": True}, []),
        ("same_day", {}, True, {"e": True}, []),  # `d` can change nothing
        ("never_before", {}, False, {"e": False}, []),
        ("shared", {"b": True}, None, {"e": None}, ["a"]),  # `c` cannot matter once b holds
        ("shared", {"b": False}, None, {"e": None}, ["a", "c"]),
        ("shared", {"a": False}, False, {"e": False}, []),
        ("tautology_beside", {}, None, {"e": True, "f": None}, ["a"]),
        ("no_day_between", {}, False, {"e": False}, []),  # dates are whole days
        ("a_day_between", {}, None, {"e": None}, ["d"]),
        ("number_split", {}, True, {"e": True}, []),
        ("number_gap", {"a": False}, None, {"e": None}, ["n"]),  # numbers are dense
        ("text_either", {}, True, {"e": True}, []),
        ("two_days", {}, True, {"e": True}, []),  # two facts compared with each other
        ("two_days_never", {}, False, {"e": False}, []),
        ("two_days_one_way", {}, None, {"e": None}, ["a"]),  # d and d2 cannot matter
        (
            "thirteen",
            {"b": True},
            None,
            {"e": None, "rest": None},
            sorted(["a", *(f"u{i}" for i in range(13))]),  # never `c`: b holds
        ),
        (
            "wide",
            {"b": True},
            None,
            {"e": None, "rest": None},
            sorted(["a", *(f"u{i}" for i in range(WIDE))]),
        ),
        ("wide", {"b": True, "u7": True}, None, {"e": None, "rest": True}, ["a"]),
        # A burden: "9th" would make the absent consensus count as false, so `circuit` can
        # change the outcome; in the 4th the burden never applies.
        # A rule chosen by `x` narrows `x` to its arms only for that rule: the outcome, which
        # reads `x` alone, still waits on it (found by the brute-force test).
        ("switch_beside", {}, None, {"e0": None}, ["x"]),
        ("burden", {}, None, {"route": None}, ["circuit", "consensus"]),
        ("burden", {"circuit": "9th"}, False, {"route": False}, []),
        ("burden", {"circuit": "4th"}, None, {"route": None}, ["consensus"]),
        # Two rules chosen by `x` name different alternatives: the outcome weighs both (x
        # false fails `first`; x true leaves `second` to `n`), while each element weighs its
        # own. Kleene's reading of `first` alone (its one arm) had settled the outcome false.
        ("two_rules", {}, None, {"first": False, "second": None}, ["n", "x"]),
        ("two_rules", {"x": True}, None, {"first": True, "second": None}, ["n"]),
        # A burden may fill `circuit` with a value the rule does not name: where it applies
        # (n <= 0) the law is open, elsewhere the 4th Circuit's test holds. Kleene's reading
        # of the rule's one arm had settled it true.
        ("burden_outside_the_arms", {"a": True}, None, {"e": None}, ["n"]),
        ("burden_outside_the_arms", {"a": True, "n": 1}, True, {"e": True}, []),
        # An element's burden goes with it wherever the doctrine lists it, though the test
        # (`holds when f`) does not reach it: it was unknown, its burden ignored.
        ("slot_burden", {"b": True}, True, {"e": True, "f": True}, []),
        # Two burdens on one fact: the first whose condition holds wins, so while the first's
        # condition is unknown the second cannot settle the fact (it did, silently: false).
        ("two_burdens", {"b": True}, None, {"e": None}, ["a"]),
        ("two_burdens", {"a": False, "b": True}, False, {"e": False}, []),
        ("two_burdens", {"a": True, "b": True}, True, {"e": True}, []),
    ],
)
def test_exact(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    doctrine: str,
    facts: dict[str, Any],
    holds: bool | None,
    elements: dict[str, bool | None],
    missing: list[str],
) -> None:
    result = run(capsys, tmp_path, doctrine, facts)
    assert (result["holds"], result["elements"], result["missing"]) == (holds, elements, missing)


def test_an_alternative_no_rule_names_leaves_the_law_open(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Where the burden applies (n <= 0) the circuit is one the rule has no test for: the
    # result says why it may stay open, though the rule's one arm is met.
    result = run(capsys, tmp_path, "burden_outside_the_arms", {"a": True})
    assert (result["holds"], result["missing"]) == (None, ["n"])
    assert result["open"] == ["no test for this circuit"]


def test_holds_alone_is_the_outcome_of_evaluate(tmp_path: Path) -> None:
    # `holds(facts)` settles what Kleene's tables leave unknown as `evaluate` does.
    path = tmp_path / "exact.doctrine"
    path.write_text(SOURCE, encoding="utf-8")
    module = module_from_source(compile_files([path])[0].source, "exact", str(path))
    patterns: list[dict[str, Any]] = [{}, {"a": True}, {"b": True}, {"x": True, "n": 3}]
    settled = 0
    for name, evaluator in module.DOCTRINES.items():
        for facts in patterns:
            outcome = evaluator.evaluate(facts).holds
            assert evaluator.holds(facts) is outcome, (name, facts)
            assert module.DOCTRINES[name].holds(dict(facts), validate=True) is outcome
            settled += outcome is not None and evaluator._holds(evaluator.prepare(facts)) is None
    assert settled >= 10  # cases Kleene's tables leave open and the analysis settles


def test_past_the_budget_the_result_says_so(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pairs `(x_i and y_i)` with every x read first: a diagram exponential in the pairs, so a
    # small budget is passed. The result stays unknown, says why in `open`, and lists every
    # unknown fact it reads rather than guess which matter.
    pairs = 12
    xs = [f"x{i}" for i in range(pairs)]
    ys = [f"y{i}" for i in range(pairs)]
    source = "".join(f'fact {v}: bool means "{v}"\n' for v in xs + ys)
    source += "element first { holds when " + " or ".join(xs) + " }\n"
    source += "element pairs { holds when "
    source += " or ".join(f"({x} and {y})" for x, y in zip(xs, ys)) + " }\n"
    source += "doctrine big { element first element pairs }\n"
    path = tmp_path / "big.doctrine"
    path.write_text(source, encoding="utf-8")
    facts = tmp_path / "facts.json"
    facts.write_text("{}", encoding="utf-8")
    argv = ["eval", str(path), "--doctrine", "big", "--facts", str(facts), "--format", "json"]
    assert main(argv) == 0
    within = json.loads(capsys.readouterr().out)
    assert within["holds"] is None and "open" not in within
    assert within["missing"] == sorted(xs + ys)
    monkeypatch.setattr(exact, "NODE_BUDGET", 500)
    assert main(argv) == 0
    beyond = json.loads(capsys.readouterr().out)
    assert beyond["holds"] is None
    assert beyond["missing"] == sorted(xs + ys)
    (line,) = beyond["open"]
    assert "not settled exactly" in line and "500 nodes" in line


# ---------------------------------------------------------------- against brute force

_DAYS = sorted(
    {
        datetime.date.fromisoformat(d) + datetime.timedelta(days=k)
        for d in DATES
        for k in range(-3, 4)
    }
    | {datetime.date(1990, 1, 1), datetime.date(2020, 1, 1)}
)
_NUMBERS = sorted({Fraction(c) + Fraction(k, 4) for c in (0, 1, 2.5) for k in range(-6, 7)})
_TEXTS = ("x", "y", "", "a text no rule names")


def values_for(kind: str, values: tuple[str, ...]) -> tuple[Any, ...] | None:
    """Values enough to meet every comparison the generated doctrines make (the strategies
    compare dates, numbers and text only with the constants in tests/strategies.py)."""
    return {
        "bool": (True, False),
        "enum": values,
        "scale": values,
        "date": tuple(_DAYS),
        "number": tuple(_NUMBERS),
        "text": _TEXTS,
    }.get(kind)


def brute_force(
    evaluator: Any, f: dict[str, Any], kinds: dict[str, Any], given: dict[str, Any]
) -> tuple[Any, set[str]]:
    """(the outcome if every completion of the unknown facts gives the same, else None;
    the facts whose value alone changes some completion's outcome), by trying them all on
    the compiled module's own evaluation of complete facts. `f` are the facts as prepared,
    `given` as the case gave them (before any burden)."""
    names = sorted(n for n, v in f.items() if v is None)
    domains = [kinds[n] for n in names]
    outcomes = {}
    for combo in itertools.product(*domains):
        g = dict(f)
        g.update(zip(names, combo))
        # A burden whose condition the completion makes true counts its fact as it says (the
        # first burden on a fact wins), as the runtime would with these facts given; conditions
        # read the facts as given, with the completion.
        before = {**given, **dict(zip(names, combo))}
        done = set()
        for fact, value, cond, _ in evaluator.presume:
            # The facts still unknown (a fact a burden filled counts as known); one left
            # unknown because an earlier burden's condition was unknown may be filled by an
            # unconditional later one (the closed world) where no earlier condition holds.
            applies = f[fact] is None and fact not in done
            if applies and (cond is None or cond(before) is True):
                g[fact] = value
                done.add(fact)
        outcomes[combo] = evaluator.holds(g, validate=False)
    depends = set()
    for i, name in enumerate(names):
        for combo, outcome in outcomes.items():
            if any(
                outcomes[(*combo[:i], alt, *combo[i + 1 :])] != outcome
                for alt in domains[i]
                if alt != combo[i]
            ):
                depends.add(name)
                break
    seen = set(outcomes.values())
    return (seen.pop() if len(seen) == 1 else None), depends


@settings(
    max_examples=int(os.environ.get("EXACT_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(doctrine_sources(laws=True), st.data())
def test_random_doctrines_agree_with_brute_force(source: str, data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "gen.doctrine"
        path.write_text(source, encoding="utf-8")
        try:
            compiled = compile_files([path])[0]
        except DoctrineError:
            return  # a refusal is the front end's business (tests/test_fuzz.py)
    module = module_from_source(compiled.source, "gen", "gen.doctrine")
    for _ in range(3):
        facts = data.draw(fact_patterns(compiled.program))
        _, found = disagreements_with_brute_force(compiled.program, module, facts)
        assert not found, facts


def disagreements_with_brute_force(
    program: Any, module: Any, facts: dict[str, Any], limit: int = 3000
) -> tuple[int, list[str]]:
    """How many doctrines were compared with brute force on one fact pattern, and where each
    one's `holds` and `missing` (from `evaluate`, and `holds` alone) differ from brute force
    over every completion of the unknown facts. A doctrine is not compared where the
    completions are too many (over `limit`) or cannot be listed (an unknown list).
    scripts/fuzz_long.py runs the same check for longer."""
    types = {fact.name: (fact.type.kind, fact.type.values) for fact in program.facts}
    reference = Reference(program)
    compared, out = 0, []
    for name, evaluator in module.DOCTRINES.items():
        try:
            f = evaluator.prepare(facts)
        except FactsError:
            continue
        kinds = {n: values_for(*types[n]) for n in f if f[n] is None}
        # An unknown fact a reached rule chooses by ranges over the rules' alternatives (the
        # rules the outcome reaches, and those the conditions of pending burdens reach).
        doctrine = reference.doctrines[name]
        burdens = ir.presumptions_of(doctrine, reference.elements, reference.doctrines)
        pending = [b.cond for b in burdens if b.cond is not None and f.get(b.fact) is None]
        arms = reference.switched([doctrine.expr, *pending], f)
        kinds.update({fact: tuple(dict.fromkeys(values)) for fact, values in arms.items()})
        if any(v is None for v in kinds.values()):
            continue  # an unknown list: its completions cannot be listed
        if math.prod(len(v) for v in kinds.values()) > limit:  # type: ignore[arg-type]
            continue
        given = evaluator.schema.validate(facts)
        compared += 1
        outcome, depends = brute_force(evaluator, f, kinds, given)
        result = evaluator.evaluate(facts)
        want = (outcome, sorted(depends) if outcome is None else [])
        got = (result.holds, list(result.missing))
        if got != want:
            out.append(f"{name}: got {got}, brute force {want}")
        alone = evaluator.holds(facts)
        if alone is not result.holds:
            out.append(f"{name}: holds(facts) {alone}, evaluate(facts).holds {result.holds}")
    return compared, out


def test_a_rule_chosen_by_an_unknown_fact_ranges_over_its_stated_alternatives(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The contract (duty_to_protect): with no circuit given, the state-created-danger element is
    # what the two circuits' tests agree on; `circuit` is missing only where they disagree. Here
    # there is no affirmative act, so both tests fail: only `custody` can change the outcome,
    # though another circuit (for which the library has no test) would leave it open.
    path = Path(__file__).resolve().parents[1] / "doctrine" / "duty_to_protect.doctrine"
    with tempfile.TemporaryDirectory() as folder:
        facts = Path(folder) / "facts.json"
        facts.write_text('{"affirmative_act": false, "state_aware_of_danger": true}', "utf-8")
        argv = ["eval", str(path), "--facts", str(facts), "--format", "json"]
        assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["holds"] is None
    assert result["elements"] == {"special_relationship": None, "state_created_danger": False}
    assert result["missing"] == ["custody"]
