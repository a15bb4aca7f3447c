"""The checker and what it compiles to: names, types, inheritance, and three-valued evaluation.

Sources are small and self-contained; each is written to a temporary folder, compiled with the
real pipeline (compiler.compile_source, compiler.codegen.compile.check_files, compiler.load)
and, where the point is the meaning, the loaded module is evaluated.
"""

from __future__ import annotations

import itertools
import types
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from support import run_cli

import compiler
from compiler.codegen.compile import check_files
from compiler.errors import Diagnostic, DoctrineError
from compiler.runtime import FactsError

Truth = bool | None
UNKNOWN = None

# ---------------------------------------------------------------- helpers


def write(folder: Path, files: dict[str, str]) -> Path:
    """Write NAME.doctrine files into `folder`; return the path of the first."""
    paths = []
    for name, text in files.items():
        path = folder / f"{name}.doctrine"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths[0]


def load(folder: Path, text: str, **imports: str) -> types.ModuleType:
    """Compile `text` (with modules it imports, given by name) and import the result."""
    return compiler.load(write(folder, {"main": text, **imports}))


def diagnostics(folder: Path, text: str, **imports: str) -> list[Diagnostic]:
    """The errors `text` raises when checked."""
    with pytest.raises(DoctrineError) as info:
        check_files([write(folder, {"main": text, **imports})])
    return list(info.value.diagnostics)


def warnings(folder: Path, text: str) -> list[Diagnostic]:
    _, found = check_files([write(folder, {"main": text})])
    return found


VOCABULARY = """
fact custody: enum (none, incarceration, institutionalization, other_restraint)
fact promise_of_protection: bool
fact relied_on_promise: bool
fact culpability: enum (none < negligence < gross_negligence < deliberate_indifference < intent)
"""

# ---------------------------------------------------------------- compiling


def test_compile_source_returns_python() -> None:
    source = compiler.compile_source(
        VOCABULARY + "doctrine special { element custody { holds when custody is not none } }",
        "special",
    )
    compile(source, "special.py", "exec")  # valid Python
    assert "def evaluate(facts, stage=None)" in source


def test_compile_source_raises_every_error() -> None:
    with pytest.raises(DoctrineError) as info:
        compiler.compile_source(
            "fact a: bool\nelement e { holds when b and c }\ndoctrine d { element e }"
        )
    assert [d.message for d in info.value.diagnostics] == ["unknown name `b`", "unknown name `c`"]


def test_module_exposes_its_doctrines(tmp_path: Path) -> None:
    module = load(
        tmp_path,
        VOCABULARY + "doctrine main { element custody { holds when custody is not none } }",
    )
    assert module.DOCTRINE == "main"
    assert set(module.DOCTRINES) == {"main"}
    assert module.evaluate({"custody": "incarceration"}).as_dict() == {
        "doctrine": "main",
        "holds": True,
        "elements": {"custody": True},
        "missing": [],
    }


def test_imports_bring_facts_and_elements(tmp_path: Path) -> None:
    module = load(
        tmp_path,
        "import vocabulary, custody\ndoctrine main { element custody = custodial }",
        vocabulary=VOCABULARY,
        custody="import vocabulary\nelement custodial { holds when custody is not none }",
    )
    assert module.evaluate({"custody": "none"}).holds is False
    # every fact of the vocabulary is accepted, weighed or not
    assert module.evaluate({"custody": "none", "promise_of_protection": True}).holds is False


# ---------------------------------------------------------------- holds unless


def test_holds_unless(tmp_path: Path) -> None:
    module = load(
        tmp_path,
        VOCABULARY + "doctrine main { element no_promise { holds unless promise_of_protection } }",
    )
    assert module.evaluate({"promise_of_protection": True}).holds is False
    assert module.evaluate({"promise_of_protection": False}).holds is True
    result = module.evaluate({})
    assert (result.holds, result.missing) == (None, ("promise_of_protection",))


def test_doctrine_holds_unless(tmp_path: Path) -> None:
    module = load(
        tmp_path,
        VOCABULARY + "doctrine main {\n  element promise { holds when promise_of_protection }\n"
        "  element reliance { holds when relied_on_promise }\n"
        "  holds unless promise and reliance\n}",
    )
    assert (
        module.evaluate({"promise_of_protection": True, "relied_on_promise": True}).holds is False
    )
    result = module.evaluate({"promise_of_protection": True, "relied_on_promise": False})
    assert result.holds is True
    assert result.elements == {"promise": True, "reliance": False}


# ---------------------------------------------------------------- extends


BASE = (
    VOCABULARY
    + """
element affirmative { holds when promise_of_protection }
element relied_promise { holds when promise_of_protection and relied_on_promise }
element culpable { holds when culpability >= deliberate_indifference }

doctrine base {
  element conduct = affirmative
  element culpability = culpable
}
"""
)


def test_extends_overrides_a_slot(tmp_path: Path) -> None:
    module = load(
        tmp_path,
        BASE + "doctrine variant extends base { element conduct = relied_promise }",
    )
    facts = {"promise_of_protection": True, "relied_on_promise": False, "culpability": "intent"}
    base, variant = module.DOCTRINES["base"], module.DOCTRINES["variant"]
    assert base.evaluate(facts).holds is True
    result = variant.evaluate(facts)
    assert result.holds is False
    # the inherited slots keep their order, the overridden one its place
    assert list(result.elements) == ["conduct", "culpability"]
    assert result.elements == {"conduct": False, "culpability": True}


def test_extends_overrides_the_holds_rule(tmp_path: Path) -> None:
    module = load(
        tmp_path,
        BASE + "doctrine lenient extends base { holds when conduct or culpability }",
    )
    facts = {"promise_of_protection": False, "culpability": "intent"}
    assert module.DOCTRINES["base"].evaluate(facts).holds is False
    assert module.DOCTRINES["lenient"].evaluate(facts).holds is True


def test_extends_adds_a_slot(tmp_path: Path) -> None:
    module = load(
        tmp_path,
        BASE
        + "doctrine stricter extends base { element custody { holds when custody is not none } }",
    )
    result = module.DOCTRINES["stricter"].evaluate(
        {"promise_of_protection": True, "culpability": "intent", "custody": "none"}
    )
    assert result.elements == {"conduct": True, "culpability": True, "custody": False}
    assert result.holds is False


def test_extends_an_imported_doctrine(tmp_path: Path) -> None:
    module = load(
        tmp_path,
        "import base\ndoctrine variant extends base { element conduct = relied_promise }",
        base=BASE,
    )
    assert module.DOCTRINE == "variant"
    result = module.evaluate({"promise_of_protection": True, "culpability": "negligence"})
    assert result.elements == {"conduct": None, "culpability": False}
    assert (result.holds, result.missing) == (False, ())


def test_extends_unknown_doctrine(tmp_path: Path) -> None:
    diags = diagnostics(tmp_path, BASE + "doctrine variant extends bse { }")
    # (today also a follow-on D0208 "has no elements"; see the report)
    (diag,) = [d for d in diags if d.code == "D0201"]
    assert diag.message == "unknown doctrine `bse`"
    assert diag.help == "did you mean `base`?"


# ---------------------------------------------------------------- doctrines as conditions


def test_doctrine_used_as_a_condition(tmp_path: Path) -> None:
    module = load(
        tmp_path,
        VOCABULARY
        + """
doctrine special_relationship { element custody { holds when custody is not none } }
doctrine danger { element conduct { holds when promise_of_protection and relied_on_promise } }
doctrine duty_to_protect {
  element special { holds when special_relationship }
  element created_danger { holds when danger }
  holds when special or created_danger
}
""",
    )
    duty = module.DOCTRINES["duty_to_protect"]
    assert duty.evaluate({"custody": "incarceration"}).holds is True
    assert duty.evaluate({"custody": "none", "promise_of_protection": False}).holds is False
    result = duty.evaluate({"custody": "none", "promise_of_protection": True})
    assert result.holds is None
    assert result.elements == {"special": False, "created_danger": None}
    assert result.missing == ("relied_on_promise",)


def test_doctrine_depending_on_itself_is_an_error(tmp_path: Path) -> None:
    diags = diagnostics(
        tmp_path,
        VOCABULARY
        + "doctrine a { element x { holds when b } }\ndoctrine b { element y { holds when a } }",
    )
    assert diags
    assert {d.code for d in diags} == {"D0206"}


# ---------------------------------------------------------------- quantifiers

PRECEDENTS = """
fact event_date: date
record precedent {
  name: text
  decided: date
  recognizes_right: bool
  abrogated: optional date
}
fact authorities: list of precedent
"""


@pytest.fixture(scope="module")
def quantifiers(tmp_path_factory: pytest.TempPathFactory) -> types.ModuleType:
    return load(
        tmp_path_factory.mktemp("quantifiers"),
        PRECEDENTS
        + """
doctrine some_good {
  element e { holds when some a in authorities where a.recognizes_right and a.abrogated is absent }
}
doctrine every_good {
  element e { holds when every a in authorities where a.abrogated is absent }
}
doctrine none_abrogated {
  element e { holds when no a in authorities where a.abrogated is present }
}
doctrine before_event {
  element e { holds when some a in authorities where a.decided < event_date }
}
""",
    )


GOOD = {"name": "Good", "decided": "1990-01-01", "recognizes_right": True}
GONE = {
    "name": "Gone",
    "decided": "1990-01-01",
    "recognizes_right": True,
    "abrogated": "1995-01-01",
}
WEAK = {"name": "Weak", "decided": "1990-01-01", "recognizes_right": False}


@pytest.mark.parametrize(
    ("doctrine", "authorities", "holds"),
    [
        ("some_good", [], False),
        ("some_good", [GOOD], True),
        ("some_good", [GONE], False),
        ("some_good", [WEAK, GONE], False),
        ("some_good", [WEAK, GONE, GOOD], True),
        ("every_good", [], True),
        ("every_good", [GOOD, WEAK], True),
        ("every_good", [GOOD, GONE], False),
        ("none_abrogated", [], True),
        ("none_abrogated", [GOOD], True),
        ("none_abrogated", [GOOD, GONE], False),
    ],
)
def test_quantifier(
    quantifiers: types.ModuleType, doctrine: str, authorities: list[Any], holds: bool
) -> None:
    result = quantifiers.DOCTRINES[doctrine].evaluate({"authorities": authorities})
    assert (result.holds, result.missing) == (holds, ())


@pytest.mark.parametrize("doctrine", ["some_good", "every_good", "none_abrogated"])
def test_quantifier_over_an_unknown_list(quantifiers: types.ModuleType, doctrine: str) -> None:
    result = quantifiers.DOCTRINES[doctrine].evaluate({})
    assert (result.holds, result.missing) == (None, ("authorities",))


def test_abrogated_given_as_null_is_absent(quantifiers: types.ModuleType) -> None:
    result = quantifiers.DOCTRINES["some_good"].evaluate(
        {"authorities": [{**GOOD, "abrogated": None}]}
    )
    assert result.holds is True


def test_quantifier_body_reads_an_outer_fact(quantifiers: types.ModuleType) -> None:
    before = quantifiers.DOCTRINES["before_event"]
    assert before.evaluate({"authorities": [GOOD], "event_date": "1995-06-07"}).holds is True
    assert before.evaluate({"authorities": [GOOD], "event_date": "1989-02-22"}).holds is False
    assert before.evaluate({"authorities": [], "event_date": "1995-06-07"}).holds is False
    result = before.evaluate({"authorities": [GOOD]})
    assert (result.holds, result.missing) == (None, ("event_date",))
    # no authority at all: the date cannot matter
    assert before.evaluate({"authorities": []}).missing == ()


def test_absent_on_a_required_field_is_an_error(tmp_path: Path) -> None:
    (diag,) = diagnostics(
        tmp_path,
        PRECEDENTS
        + "doctrine d { element e { holds when some a in authorities where a.decided is absent } }",
    )
    assert diag.code == "D0306"
    assert diag.message == "`a.decided` is never absent"


# ---------------------------------------------------------------- three-valued logic

VALUES: tuple[Truth, ...] = (True, False, UNKNOWN)


def kleene_and(values: Sequence[Truth]) -> Truth:
    if False in values:
        return False
    return UNKNOWN if UNKNOWN in values else True


def kleene_or(values: Sequence[Truth]) -> Truth:
    if True in values:
        return True
    return UNKNOWN if UNKNOWN in values else False


def kleene_at_least(count: int, values: Sequence[Truth]) -> Truth:
    true = sum(v is True for v in values)
    if true >= count:
        return True
    return UNKNOWN if true + sum(v is UNKNOWN for v in values) >= count else False


LOGIC = """
fact a: bool
fact b: bool
fact c: bool
doctrine conj { element x { holds when a and b and c } }
doctrine disj { element x { holds when a or b or c } }
doctrine neg { element x { holds when not a } }
doctrine two_of { element x { holds when at least 2 of (a, b, c) } }
doctrine one_of { element x { holds when at least 1 of (a, b, c) } }
doctrine three_of { element x { holds when at least 3 of (a, b, c) } }
doctrine mixed { element x { holds when a and not (b or c) } }
"""


@pytest.fixture(scope="module")
def logic(tmp_path_factory: pytest.TempPathFactory) -> types.ModuleType:
    return load(tmp_path_factory.mktemp("logic"), LOGIC)


def assignments(names: Sequence[str] = ("a", "b", "c")) -> Iterator[dict[str, Truth]]:
    for values in itertools.product(VALUES, repeat=len(names)):
        yield dict(zip(names, values, strict=True))


def given(facts: dict[str, Truth]) -> dict[str, bool]:
    """The facts as a case gives them: an unknown fact is left out."""
    return {k: v for k, v in facts.items() if v is not UNKNOWN}


REFERENCE = {
    "conj": lambda f: kleene_and([f["a"], f["b"], f["c"]]),
    "disj": lambda f: kleene_or([f["a"], f["b"], f["c"]]),
    "neg": lambda f: None if f["a"] is None else not f["a"],
    "two_of": lambda f: kleene_at_least(2, [f["a"], f["b"], f["c"]]),
    "one_of": lambda f: kleene_at_least(1, [f["a"], f["b"], f["c"]]),
    "three_of": lambda f: kleene_at_least(3, [f["a"], f["b"], f["c"]]),
    "mixed": lambda f: kleene_and(
        [f["a"], None if kleene_or([f["b"], f["c"]]) is None else not kleene_or([f["b"], f["c"]])]
    ),
}


@pytest.mark.parametrize("doctrine", sorted(REFERENCE))
def test_three_valued_truth_table(logic: types.ModuleType, doctrine: str) -> None:
    evaluator = logic.DOCTRINES[doctrine]
    for facts in assignments():
        want = REFERENCE[doctrine](facts)
        result = evaluator.evaluate(given(facts))
        assert result.holds is want, f"{doctrine} on {facts}"
        assert result.elements == {"x": want}
        # an explicit null is the same as leaving the fact out
        assert evaluator.evaluate(facts).holds is want
        assert evaluator.holds(given(facts)) is want


def test_false_and_unknown_is_false(logic: types.ModuleType) -> None:
    result = logic.DOCTRINES["conj"].evaluate({"b": False})
    assert (result.holds, result.missing) == (False, ())


def test_true_or_unknown_is_true(logic: types.ModuleType) -> None:
    result = logic.DOCTRINES["disj"].evaluate({"c": True})
    assert (result.holds, result.missing) == (True, ())


def test_ordered_enum_comparison(tmp_path: Path) -> None:
    module = load(
        tmp_path,
        VOCABULARY
        + "doctrine d { element culpable { holds when culpability >= deliberate_indifference } }",
    )
    outcomes = {
        level: module.evaluate({"culpability": level}).holds
        for level in ("none", "negligence", "gross_negligence", "deliberate_indifference", "intent")
    }
    assert outcomes == {
        "none": False,
        "negligence": False,
        "gross_negligence": False,
        "deliberate_indifference": True,
        "intent": True,
    }
    assert module.evaluate({}).missing == ("culpability",)


# ---------------------------------------------------------------- missing


def relevant(fn: Any, facts: dict[str, Truth], names: Sequence[str]) -> tuple[str, ...]:
    """The unknown facts that could change fn's two-valued outcome, found by trying every value."""
    unknown = [n for n in names if facts[n] is UNKNOWN]
    out = []
    for name in unknown:
        others = [n for n in unknown if n != name]
        for values in itertools.product((True, False), repeat=len(others)):
            complete = {**facts, **dict(zip(others, values, strict=True))}
            if fn({**complete, name: True}) != fn({**complete, name: False}):
                out.append(name)
                break
    return tuple(sorted(out))


@pytest.mark.parametrize("doctrine", sorted(REFERENCE))
def test_missing_lists_exactly_the_facts_that_could_change_the_outcome(
    logic: types.ModuleType, doctrine: str
) -> None:
    evaluator = logic.DOCTRINES[doctrine]
    for facts in assignments():
        result = evaluator.evaluate(given(facts))
        if result.holds is not None:
            assert result.missing == (), f"{doctrine} on {facts}"
        else:
            assert result.missing == relevant(REFERENCE[doctrine], facts, "abc"), (
                f"{doctrine} on {facts}"
            )


def test_missing_ignores_facts_the_doctrine_does_not_weigh(tmp_path: Path) -> None:
    module = load(
        tmp_path,
        VOCABULARY
        + """
doctrine d {
  element custody { holds when custody is not none }
  element promise { holds when promise_of_protection }
  holds when custody and promise
}
""",
    )
    result = module.evaluate({})
    assert result.missing == ("custody", "promise_of_protection")  # sorted, relied_on_promise not
    result = module.evaluate({"custody": "incarceration", "relied_on_promise": True})
    assert (result.holds, result.missing) == (None, ("promise_of_protection",))
    result = module.evaluate({"custody": "none"})
    assert (result.holds, result.missing) == (False, ())


def test_missing_through_elements_and_doctrines(tmp_path: Path) -> None:
    module = load(
        tmp_path,
        VOCABULARY
        + """
element promised { holds when promise_of_protection and relied_on_promise }
doctrine custodial { element custody { holds when custody is not none } }
doctrine duty {
  element special { holds when custodial }
  element promise = promised
  holds when special or promise
}
""",
    )
    duty = module.DOCTRINES["duty"]
    assert duty.evaluate({}).missing == ("custody", "promise_of_protection", "relied_on_promise")
    assert duty.evaluate({"promise_of_protection": False}).missing == ("custody",)
    assert duty.evaluate({"custody": "none", "relied_on_promise": True}).missing == (
        "promise_of_protection",
    )
    result = duty.evaluate({"custody": "incarceration"})
    assert (result.holds, result.missing) == (True, ())
    assert result.elements == {"special": True, "promise": None}


def test_missing_leaves_out_a_fact_that_cannot_matter(tmp_path: Path) -> None:
    module = load(
        tmp_path,
        "fact a: bool\nfact b: bool\nfact c: bool\n"
        "doctrine d { element x { holds when (a and b) or (a and c) } }",
    )
    result = module.evaluate({"b": True})
    assert result.holds is None
    assert result.missing == ("a",)


# ---------------------------------------------------------------- facts errors


def test_facts_errors_raise_one_exception_with_a_line_per_problem(logic: types.ModuleType) -> None:
    with pytest.raises(FactsError) as info:
        logic.DOCTRINES["conj"].evaluate({"aa": True, "b": "yes", "c": 1})
    assert info.value.problems == [
        "fact 'aa': not in the vocabulary; did you mean 'a'?",
        "fact 'b': expected true or false, got 'yes'",
        "fact 'c': expected true or false, got 1",
    ]


def test_facts_must_be_a_mapping(logic: types.ModuleType) -> None:
    with pytest.raises(FactsError, match="expected a mapping"):
        logic.DOCTRINES["conj"].evaluate([("a", True)])  # type: ignore[arg-type]


def test_enum_fact_outside_its_values(tmp_path: Path) -> None:
    module = load(tmp_path, VOCABULARY + "doctrine d { element c { holds when custody is none } }")
    with pytest.raises(FactsError) as info:
        module.evaluate({"custody": "incarcerated"})
    (problem,) = info.value.problems
    assert problem.startswith("fact 'custody': expected one of none, incarceration,")
    assert problem.endswith("did you mean 'incarceration'?")


# ---------------------------------------------------------------- checker diagnostics


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ("custdy is none", "D0201", "unknown fact `custdy`"),
        ("custody is nnoe", "D0302", "`nnoe` is not a value of `custody`"),
        ("custody >= incarceration", "D0303", None),
        ("promise_of_protection == custody", "D0301", None),
        ("custody", "D0301", None),
        ("at least 3 of (promise_of_protection, relied_on_promise)", "D0305", None),
        ("culpability >= reckless", "D0302", "`reckless` is not a value of `culpability`"),
    ],
)
def test_checker_diagnostic(tmp_path: Path, body: str, code: str, message: str | None) -> None:
    (diag,) = diagnostics(
        tmp_path, VOCABULARY + f"doctrine d {{ element e {{ holds when {body} }} }}"
    )
    assert diag.code == code
    if message is not None:
        assert diag.message == message
    assert diag.pos is not None
    assert diag.pos.path.endswith("main.doctrine")
    assert diag.pos.line == VOCABULARY.count("\n") + 1


def test_did_you_mean_in_help(tmp_path: Path) -> None:
    (diag,) = diagnostics(
        tmp_path,
        VOCABULARY + "doctrine d { element e { holds when custody is instituionalization } }",
    )
    assert diag.help == "did you mean `institutionalization`?"


def test_every_error_is_reported_in_one_run(tmp_path: Path) -> None:
    diags = diagnostics(
        tmp_path,
        VOCABULARY + "element a { holds when custdy is none }\n"
        "element b { holds when culpability > recklessness }\n"
        "element c { holds when promise_of_protection and custody }\n"
        'element d { holds when relied_on_promise cite nobody at "1" }\n'
        "doctrine main { element a element b element c element d element e = missing_element }\n",
    )
    assert [d.code for d in diags] == ["D0201", "D0302", "D0301", "D0202", "D0201"]
    assert [d.pos.line for d in diags] == [6, 7, 8, 9, 10]


def test_circular_elements(tmp_path: Path) -> None:
    diags = diagnostics(
        tmp_path,
        VOCABULARY + "element a { holds when promise_of_protection and b }\n"
        "element b { holds when a }\n"
        "doctrine d { element a }\n",
    )
    assert [d.code for d in diags] == ["D0206"]
    assert "circular" in diags[0].message


def test_duplicate_declarations(tmp_path: Path) -> None:
    diags = diagnostics(
        tmp_path,
        VOCABULARY + "fact custody: bool\nelement e { holds when true }\n"
        "element e { holds when false }\ndoctrine d { element e }",
    )
    assert [d.code for d in diags] == ["D0203", "D0203"]
    assert all("declared twice" in d.message for d in diags)


def test_unused_element_is_a_warning(tmp_path: Path) -> None:
    (warning,) = warnings(
        tmp_path,
        VOCABULARY + "element used { holds when promise_of_protection }\n"
        "element unused { holds when relied_on_promise }\n"
        "doctrine d { element used }\n",
    )
    assert warning.severity == "warning"
    assert warning.code == "D0601"
    assert "`unused`" in warning.message


def test_library_of_elements_warns_about_nothing(tmp_path: Path) -> None:
    """A file with no doctrine is a library: its elements are there to be imported."""
    assert warnings(tmp_path, VOCABULARY + "element e { holds when promise_of_protection }") == []


def test_case_diagnostics(tmp_path: Path) -> None:
    diags = diagnostics(
        tmp_path,
        VOCABULARY + "doctrine d { element custody { holds when custody is not none } }\n"
        "case c under d {\n"
        "  given { custdy: none, custody: jail, promise_of_protection: 3 }\n"
        "  expect { holds: true, knowledge: false, missing: [culpabilty] }\n"
        "}\n",
    )
    assert [(d.code, d.message) for d in diags] == [
        ("D0501", "unknown fact `custdy` in case `c`"),
        (
            "D0502",
            "`custody`: expected one of none, incarceration, institutionalization, "
            "other_restraint, got 'jail'",
        ),
        ("D0502", "`promise_of_protection`: expected true or false, got 3"),
        ("D0503", "`d` has no element `knowledge`"),
        ("D0501", "unknown fact `culpabilty` in `missing`"),
    ]
    assert diags[0].help == "did you mean `custody`?"


# ---------------------------------------------------------------- one slip, one error


def _errors(folder: Path, text: str) -> list[str]:
    """The headline of each diagnostic `doctrine check` prints for `text`."""
    path = write(folder, {"main": text})
    proc = run_cli("check", path, cwd=folder)
    assert proc.returncode == 2, proc.stderr
    return [line for line in proc.stderr.splitlines() if line.startswith(("error", "warning"))]


def test_a_list_of_a_misspelt_record_is_one_error_and_no_crash(tmp_path: Path) -> None:
    # The case's list, and a burden's, were checked against a record that does not exist: an
    # internal error (exit 3). The misspelt record is the one thing to report.
    text = (
        'record item {\n  x: bool means "x"\n}\n'
        'fact items: list of itme means "items"\n'
        'fact a: bool means "a"\n'
        "element e {\n  holds when a\n"
        '  absent items counts as [{x: true}] { because "b" }\n}\n'
        "doctrine d {\n  element e\n}\n"
        "case c under d {\n  given { a: true, items: [{x: true}] }\n  expect { holds: true }\n}\n"
    )
    assert _errors(tmp_path, text) == ["error[D0201]: unknown record `itme`"]


@pytest.mark.parametrize(
    ("arms", "error"),
    [
        (
            '"low" then a "hihg" then b',
            "error[D0314]: `holds by level`: expected one of low, high, got 'hihg'",
        ),
        ('"x" then a', "error[D0314]: `holds by items`: a list cannot choose a rule"),
    ],
)
def test_a_switch_with_a_bad_arm_is_not_also_said_to_lack_otherwise(
    tmp_path: Path, arms: str, error: str
) -> None:
    # The values a misread arm meant are not uncovered: judging the switch's coverage would
    # add a second error for the one slip.
    fact = "level" if "level" in error else "items"
    text = (
        'record item {\n  x: bool means "x"\n}\n'
        'fact items: list of item means "items"\n'
        'fact level: enum (low, high) means "level"\n'
        'fact a: bool means "a"\nfact b: bool means "b"\n'
        f"element e {{\n  holds by {fact} {{ {arms} }}\n}}\n"
        "doctrine d {\n  element e\n}\n"
    )
    assert _errors(tmp_path, text) == [error]


def test_a_label_whose_element_is_misspelt_is_not_read_as_the_fact(tmp_path: Path) -> None:
    # `element custody = custodial_typo` leaves the label unbound; its uses in the doctrine
    # used to fall through to the fact `custody` ("an enum, not a condition"), a second error
    # for the one slip.
    text = (
        'fact custody: enum (none, jail) means "custody"\nfact a: bool means "a"\n'
        "element custodial { holds when custody is jail }\n"
        "doctrine d {\n  element custody = custodial_typo\n"
        "  element other { holds when a and custody }\n"
        "  holds when custody and other\n}\n"
    )
    assert _errors(tmp_path, text) == ["error[D0201]: unknown element `custodial_typo`"]
