"""Fuzzing the front end, fast profile: every input ends in diagnostics or a compiled module.

Grammar-valid random doctrines, mutations of the library's files (tokens deleted, swapped,
duplicated, replaced with hostile ones; random bytes, some not UTF-8) and random text: each
compiles (and the module imports and evaluates) or is refused with diagnostics that render;
never a traceback, never a hang (strategies.time_limit). The long profile is
`scripts/fuzz_long.py --minutes 30`.
"""

from __future__ import annotations

import contextlib
import io
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from strategies import (
    LIBRARY,
    compile_or_refuse,
    doctrine_sources,
    extreme_sources,
    library_mutations,
    tokens,
)
from support import examples

from compiler.tools.cli import main

FAST = settings(
    max_examples=examples(20),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the library, where mutants are written beside the files they import."""
    folder = tmp_path_factory.mktemp("fuzz") / "doctrine"
    shutil.copytree(LIBRARY, folder)
    return folder


@FAST
@given(source=doctrine_sources())
def test_generated_doctrines_compile(tmp_path_factory: pytest.TempPathFactory, source: str) -> None:
    path = tmp_path_factory.mktemp("gen") / "gen.doctrine"
    path.write_text(source, encoding="utf-8")
    # The generator writes doctrines the checker accepts: a refusal here is worth a look.
    assert compile_or_refuse(path) == "compiled", source


@settings(FAST, max_examples=examples(25))
@given(source=extreme_sources())
def test_doctrines_at_the_edges_compile_or_are_refused(
    tmp_path_factory: pytest.TempPathFactory, source: str
) -> None:
    path = tmp_path_factory.mktemp("edge") / "edge.doctrine"
    path.write_text(source, encoding="utf-8", errors="surrogatepass")
    assert compile_or_refuse(path) in ("compiled", "refused")


@FAST
@given(mutation=library_mutations())
def test_library_mutations_end_in_diagnostics_or_a_module(
    library: Path, mutation: tuple[Path, bytes]
) -> None:
    original, data = mutation
    path = library / original.relative_to(LIBRARY).parent / "mutant.doctrine"
    path.write_bytes(data)
    assert compile_or_refuse(path) in ("compiled", "refused")


@FAST
@given(data=st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode)))
@example(data=b"\xff\xfe")
@example(data=b"fact a: bool\x00")
@example(data='fact a: bool means "\ud800"'.encode("utf-8", errors="surrogatepass"))
@example(data=b"doctrine d { element e { holds when " + b"(" * 300)
def test_random_bytes_end_in_diagnostics_or_a_module(library: Path, data: bytes) -> None:
    path = library / "random.doctrine"
    path.write_bytes(data)
    assert compile_or_refuse(path) in ("compiled", "refused")


@pytest.mark.parametrize("path", sorted(LIBRARY.rglob("*.doctrine")), ids=lambda p: p.name)
def test_each_token_of_a_library_file_deleted(library: Path, path: Path) -> None:
    # Systematic rather than random: every 7th token of each file left out in turn.
    toks = tokens(path.read_text(encoding="utf-8"))
    target = library / path.relative_to(LIBRARY).parent / "deleted.doctrine"
    for i in range(0, len(toks), max(len(toks) // 12, 7)):
        target.write_text("".join(toks[:i] + toks[i + 1 :]), encoding="utf-8")
        assert compile_or_refuse(target) in ("compiled", "refused"), (path.name, i, toks[i])


@settings(
    max_examples=examples(15),
    deadline=None,
    database=None,
    suppress_health_check=FAST.suppress_health_check,
)
@given(mutation=library_mutations())
def test_the_command_line_never_reports_an_internal_error(
    library: Path, tmp_path_factory: pytest.TempPathFactory, mutation: tuple[Path, bytes]
) -> None:
    out = tmp_path_factory.mktemp("out")
    original, data = mutation
    path = library / original.relative_to(LIBRARY).parent / "mutant.doctrine"
    path.write_bytes(data)
    with contextlib.redirect_stderr(io.StringIO()) as stderr:
        status = main(["compile", str(path), "-o", str(out)])
    err = stderr.getvalue()
    assert status in (0, 2), err
    assert "internal error" not in err and "Traceback" not in err, err
    for module in sorted(out.rglob("*.py")):
        compile(module.read_text(encoding="utf-8"), str(module), "exec")
