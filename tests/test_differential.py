"""Differential testing: each compiled doctrine against the reference interpreter.

tests/reference.py evaluates the checked program directly, three-valued, as docs/language.md
describes it; the compiled module must give the same `holds`, the same value for every
element, and the same `missing` facts (exactly where the reference can enumerate them, see
its docstring), on random fact patterns with unknowns: for every doctrine of the library and
for randomly generated doctrines. The runtime's tree evaluator (compiler.runtime.Tree, which
explanations, counterfactuals and the checker use), walking the trees the module carries, must
give the reference's three values for the outcome and every element, and the generated code's
outcome. Any disagreement is a bug in one of them.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference import Reference, disagreements
from strategies import compiled_library, doctrine_sources, fact_patterns
from support import examples

from compiler.checking import ir
from compiler.codegen.compile import compile_files, module_from_source
from compiler.errors import DoctrineError
from compiler.runtime import Tree, program

FAST = settings(
    max_examples=examples(20),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def tree_disagreements(
    module: Any, reference: Reference, name: str, facts: dict[str, Any], trees: Any = None
) -> list[str]:
    """Where the tree evaluator, walking the module's own trees (or `trees`, elements and
    doctrines by name), differs from the reference and the generated code, before unknowns
    are settled by enumeration: the three values of the outcome and of each element."""
    evaluator = module.DOCTRINES[name]
    doctrine = reference.doctrines[name]
    elements, doctrines = trees or (
        {key: el.tree for key, el in module.INFO.elements.items()},
        {d: entry.tree for d, entry in module.INFO.doctrines.items()},
    )
    f = evaluator.prepare(dict(facts))
    tree = Tree(elements, doctrines, f, module.INFO.ambiguous)
    expected = reference.prepare(doctrine, facts)
    out = []
    holds = tree.value(doctrines[name])
    if holds is not reference.value(doctrine.expr, expected, {}):
        out.append(f"tree holds: {holds}, reference {reference.value(doctrine.expr, expected, {})}")
    kleene = evaluator._holds(f)  # the generated code's three values, before the analysis
    if holds is not kleene:
        out.append(f"tree holds: {holds}, generated code {kleene}")
    for label, key in doctrine.slots:
        got = tree.value(program.ElementRef(key))
        want = reference.value(ir.ElementRef(key=key), expected, {})
        if got is not want:
            out.append(f"tree element {label}: {got}, reference {want}")
    return out


_COMPILED = compiled_library()
# Every doctrine of the library once, in the file that declares it.
_DOCTRINES = sorted(
    {
        d.name: name
        for name, (compiled, _) in _COMPILED.items()
        for d in compiled.program.doctrines
        if d.module == compiled.program.name.split(".")[-1]
    }.items()
)


def test_the_library_has_doctrines_to_compare() -> None:
    names = {d for d, _ in _DOCTRINES}
    assert {"state_created_danger", "duty_to_protect", "trade_secret_misappropriation"} <= names
    assert any(d.precedents for c, _ in _COMPILED.values() for d in c.program.doctrines)
    assert any(d.closed_world for c, _ in _COMPILED.values() for d in c.program.doctrines)


@pytest.mark.property
@pytest.mark.parametrize(("doctrine", "file"), _DOCTRINES, ids=[d for d, _ in _DOCTRINES])
def test_library_doctrine_agrees_with_the_reference(doctrine: str, file: str) -> None:
    compiled, module = _COMPILED[file]
    reference = Reference(compiled.program)
    evaluator = module.DOCTRINES[doctrine]

    @FAST
    @given(fact_patterns(compiled.program))
    def agree(facts: dict[str, Any]) -> None:
        assert disagreements(evaluator, reference, doctrine, facts) == [], facts
        assert tree_disagreements(module, reference, doctrine, facts) == [], facts

    agree()


@pytest.mark.parametrize("file", sorted(_COMPILED))
def test_library_cases_agree_with_the_reference(file: str) -> None:
    # The worked cases of the library, as given and with each given fact in turn left out.
    compiled, module = _COMPILED[file]
    reference = Reference(compiled.program)
    for case in compiled.program.cases:
        evaluator = module.DOCTRINES[case.doctrine]
        given = dict(case.given)
        for left_out in [None, *given]:
            facts = {k: v for k, v in given.items() if k != left_out}
            problems = disagreements(evaluator, reference, case.doctrine, facts)
            problems += tree_disagreements(module, reference, case.doctrine, facts)
            assert problems == [], (case.name, left_out)


def test_the_reference_reads_the_documented_semantics() -> None:
    # A check of the checker of the compiler: the reference on the tables of the language
    # reference (three values; a chain whose unknown branch agrees with the rest).
    source = (
        "fact a: bool\nfact b: bool\n"
        "doctrine d { element x { holds when a and b } element y { holds when a or b }\n"
        "  general rule false\n  exception one when a then true { over two }\n"
        "  exception two when b then true\n}\n"
    )
    program = _program(source)
    reference = Reference(program)
    assert reference.evaluate("d", {"a": True}) == (True, {"x": None, "y": True}, ())
    assert reference.evaluate("d", {"a": False}) == (None, {"x": False, "y": None}, ("b",))
    # `two` gives true too, so an unknown `a` with `b` true still settles the rule.
    assert reference.evaluate("d", {"b": True})[0] is True
    assert reference.evaluate("d", {"b": False}) == (None, {"x": False, "y": None}, ("a",))


def _program(source: str) -> ir.Program:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "gen.doctrine"
        path.write_text(source, encoding="utf-8")
        return compile_files([path])[0].program


@FAST
@given(doctrine_sources(), st.data())
def test_generated_doctrines_agree_with_the_reference(source: str, data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "gen.doctrine"
        path.write_text(source, encoding="utf-8")
        try:
            compiled = compile_files([path])[0]
        except DoctrineError:
            return  # a refusal is the front end's business (tests/test_fuzz.py)
    module = module_from_source(compiled.source, "gen", "gen.doctrine")
    reference = Reference(compiled.program)
    for _ in range(4):
        facts = data.draw(fact_patterns(compiled.program))
        for name, evaluator in module.DOCTRINES.items():
            assert disagreements(evaluator, reference, name, facts) == [], (name, facts)
            assert tree_disagreements(module, reference, name, facts) == [], (name, facts)


def test_a_disagreement_is_reported() -> None:
    # The comparison itself: an evaluator that answers wrongly is caught.
    compiled, module = _COMPILED["special_relationship.doctrine"]
    reference = Reference(compiled.program)

    class Wrong:
        def evaluate(self, facts: dict[str, Any]) -> Any:
            result = module.DOCTRINES["special_relationship"].evaluate(facts)
            result.holds = not result.holds if result.holds is not None else True
            return result

    problems = disagreements(Wrong(), reference, "special_relationship", {"custody": "none"})
    assert problems and problems[0].startswith("holds:")


def test_a_disagreement_of_the_tree_evaluator_is_reported() -> None:
    # The same for the tree evaluator: given a tree that says the opposite of the module's,
    # it disagrees with the reference and the generated code.
    compiled, module = _COMPILED["special_relationship.doctrine"]
    reference = Reference(compiled.program)
    elements = {key: el.tree for key, el in module.INFO.elements.items()}
    doctrines = {d: entry.tree for d, entry in module.INFO.doctrines.items()}
    facts = {"custody": "incarceration"}
    assert tree_disagreements(module, reference, "special_relationship", facts) == []
    doctrines["special_relationship"] = program.Not(doctrines["special_relationship"])
    problems = tree_disagreements(
        module, reference, "special_relationship", facts, (elements, doctrines)
    )
    assert [p.split(":")[0] for p in problems] == ["tree holds", "tree holds"]
