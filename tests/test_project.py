"""The checked project the tools read: what its methods answer, on the real library, and that
it cannot be changed under them."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest
from support import LIBRARY

from compiler.checking.checker import check, check_all
from compiler.checking.project import CheckedProject
from compiler.codegen.compile import compile_files
from compiler.errors import DoctrineError
from compiler.syntax.loader import load

DUTY = (LIBRARY / "duty_to_protect.doctrine").resolve()


@pytest.fixture(scope="module")
def project() -> CheckedProject:
    checked, warnings = check(load([DUTY]))
    assert warnings == []
    return checked


def test_names_in_scope_and_declared(project: CheckedProject) -> None:
    own = project.own(DUTY)
    assert set(own) == {
        "duty_to_protect",
        "special_relationship_exception",
        "state_created_danger_exception",
    }
    scope = project.scope(DUTY)
    assert set(own) < set(scope)  # and what it imports
    assert scope["culpability"].kind == "fact"
    assert scope["culpability"].module == (LIBRARY / "vocabulary.doctrine").resolve()
    assert project.fact_type(scope["culpability"]).kind == "scale"
    assert "culpability" in project.vocabulary(DUTY)
    assert project.module_name(DUTY) == "duty_to_protect"


def test_what_the_checker_built(project: CheckedProject) -> None:
    scope = project.scope(DUTY)
    pinder = project.authority(scope["pinder_v_johnson"])
    assert pinder.citation() == "Pinder v. Johnson, 54 F.3d 1169 (4th Cir. 1995) (en banc)"
    element = project.element(scope["special_relationship_exception"])
    assert element is not None and element.key == "duty_to_protect.special_relationship_exception"
    assert project.family("state_created_danger_ninth_circuit") == "state_created_danger"
    assert project.family("duty_to_protect") == "duty_to_protect"


def test_the_program_is_the_one_compiled(project: CheckedProject) -> None:
    (compiled,) = compile_files([DUTY])
    assert project.program(DUTY) == compiled.program


def test_it_cannot_be_changed(project: CheckedProject) -> None:
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        project.sound = False
    with pytest.raises(TypeError):
        project.doctrines["x"] = project.doctrines["duty_to_protect"]
    with pytest.raises(TypeError):
        project.scope(DUTY)["x"] = project.scope(DUTY)["culpability"]
    with pytest.raises(TypeError):
        project.effective["duty_to_protect"].slots["x"] = None


def test_errors_raise_from_check_and_stay_in_check_all(tmp_path: Path) -> None:
    bad = tmp_path / "m.doctrine"
    bad.write_text('fact a: bool means "a"\nelement e { holds when b }\n', encoding="utf-8")
    with pytest.raises(DoctrineError) as info:
        check(load([bad]))
    found = check_all(load([bad]))
    assert not found.ok and not found.sound
    assert list(found.diagnostics) == list(info.value.diagnostics)
    assert [d.code for d in found.diagnostics] == ["D0201"]
    assert set(found.own(bad.resolve())) == {"a", "e"}  # what did check is still there
