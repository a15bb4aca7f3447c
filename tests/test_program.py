"""The program tree: compiled modules carry the checker's own nodes, and refuse another format."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from support import LIBRARY, doctrine_file, import_file, run_cli

from compiler.codegen.compile import check_files, module_from_source
from compiler.errors import DoctrineException
from compiler.runtime import IncompatibleModule, NoDoctrine, program


def _compile(name: str, out: Path) -> Path:
    proc = run_cli("compile", doctrine_file(name), "-o", out)
    assert proc.returncode == 0, proc.stderr
    return out / f"{name}.py"


def test_a_module_holds_the_very_nodes_the_checker_built(tmp_path: Path) -> None:
    module = import_file(_compile("duty_to_protect", tmp_path), "duty_to_protect")
    checker, _ = check_files([doctrine_file("duty_to_protect")])
    checked = checker.program(doctrine_file("duty_to_protect").resolve())
    assert checked.elements, "the library's doctrine has elements"
    for element in checked.elements:
        assert module.INFO.elements[element.key].tree == element.expr, element.key
    for doctrine in checked.doctrines:
        assert module.INFO.doctrines[doctrine.name].tree == doctrine.expr, doctrine.name
    # Typed nodes, read by attribute: the rule and its exceptions.
    tree = module.INFO.doctrines["duty_to_protect"].tree
    assert isinstance(tree, program.Chain)
    assert all(isinstance(b, program.Branch) for b in tree.branches)


def test_every_node_of_the_library_is_written_back_as_it_was(tmp_path: Path) -> None:
    proc = run_cli("compile", LIBRARY, "-o", tmp_path)
    assert proc.returncode == 0, proc.stderr
    checker, _ = check_files(sorted(LIBRARY.rglob("*.doctrine")))
    seen = 0
    for path in sorted(LIBRARY.rglob("*.doctrine")):
        checked = checker.program(path.resolve())
        written = tmp_path.joinpath(*checked.name.split(".")).with_suffix(".py")
        module = import_file(written, checked.name)
        for element in checked.elements:
            assert module.INFO.elements[element.key].tree == element.expr
            seen += 1
    assert seen > 50


def test_a_module_of_another_program_format_is_refused_on_import(tmp_path: Path) -> None:
    path = _compile("state_created_danger", tmp_path)
    source = path.read_text(encoding="utf-8")
    call = f"_rt.require_format({program.FORMAT}, "
    assert source.count(call) == 1
    # As a module compiled by a later doctrine would be, whose nodes have another shape.
    path.write_text(source.replace(call, f"_rt.require_format({program.FORMAT + 1}, "), "utf-8")
    with pytest.raises(IncompatibleModule) as caught:
        import_file(path, "state_created_danger")
    message = str(caught.value)
    assert f"program format {program.FORMAT + 1}" in message
    assert f"program format {program.FORMAT}:" in message
    assert re.search(r"compiled by doctrine \d+\.\d+", message)
    assert "compile it again" in message
    # One of the package's exceptions, and an ImportError, as a failed import should be.
    assert isinstance(caught.value, ImportError)
    assert isinstance(caught.value, DoctrineException)


def test_a_module_from_before_program_formats_is_refused_on_import() -> None:
    # Compiled by doctrine before modules recorded a format (its INFO was plain dicts and
    # tuples, which nothing here reads any more): refused with the same clear error.
    fixture = Path(__file__).parent / "fixtures" / "modules" / "before_formats.py.txt"
    source = fixture.read_text(encoding="utf-8")
    assert "require_format" not in source and "INFO = {" in source
    with pytest.raises(IncompatibleModule, match="before program formats were recorded") as caught:
        module_from_source(source, "tiny", str(fixture))
    assert f"program format {program.FORMAT}" in str(caught.value)
    assert "compile it again" in str(caught.value)


def test_a_module_without_a_doctrine_says_so_when_asked_to_evaluate(tmp_path: Path) -> None:
    # Facts and elements only (a module others import): nothing to evaluate, said plainly
    # (it was `KeyError: None`).
    source = tmp_path / "elements_only.doctrine"
    source.write_text('fact a: bool means "a"\nelement e { holds when a }\n', encoding="utf-8")
    proc = run_cli("compile", source, "-o", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    module = import_file(tmp_path / "out" / "elements_only.py", "elements_only")
    assert module.DOCTRINE is None and module.DOCTRINES == {}
    for call in (lambda: module.evaluate({"a": True}), lambda: module.holds({"a": True})):
        with pytest.raises(NoDoctrine, match="declares no doctrine"):
            call()
