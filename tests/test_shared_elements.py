"""Elements that use elements: unique keys, and each element evaluated once per case (issue 17).

An element inside doctrine `d` and an element of a module named `d` once shared a key, so one
silently overwrote the other; and a chain of elements each using the one before twice took
time exponential in its length, in the generated code, in `missing` and in explanations.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from compiler.tools.cli import main
from tests.support import import_file

COLLIDING = """
fact a: bool means "a"
fact b: bool means "b"
element x { holds when a }
doctrine m { element x { holds when b } }
doctrine other { element y = x }
"""


def chain(length: int) -> str:
    """`c_i = (c_{i-1} and a) or (c_{i-1} and not c)`: each element uses the one before twice."""
    lines = [
        'fact a: bool means "a"',
        'fact c: bool means "c"',
        'fact s: bool means "s"',
        "element c0 { holds when s }",
    ]
    lines += [
        f"element c{i} {{ holds when (c{i - 1} and a) or (c{i - 1} and not c) }}"
        for i in range(1, length + 1)
    ]
    lines.append(f"doctrine chain {{ element last = c{length} }}")
    return "\n".join(lines) + "\n"


def cli(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def evaluate(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, source: str, doctrine: str, facts: Any
) -> dict[str, Any]:
    path = tmp_path / "m.doctrine"
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    facts_file = tmp_path / "facts.json"
    facts_file.write_text(json.dumps(facts), encoding="utf-8")
    code, out, err = cli(
        capsys, "eval", path, "--doctrine", doctrine, "--facts", facts_file, "--format", "json"
    )
    assert code == 0, err
    result = json.loads(out)
    assert isinstance(result, dict)
    return result


def test_an_inner_element_never_takes_a_module_elements_key(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    result = evaluate(capsys, tmp_path, COLLIDING, "other", {"a": True, "b": False})
    assert (result["holds"], result["elements"]) == (True, {"y": True})
    result = evaluate(capsys, tmp_path, COLLIDING, "m", {"a": True, "b": False})
    assert (result["holds"], result["elements"]) == (False, {"x": False})


def test_keys_are_unique_in_a_compiled_module(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The module `m`, its element `x`, doctrine `m`'s own `x`, and a doctrine `m_x`'s `x`:
    four spellings of one dotted name, four keys, each element reading its own fact."""
    source = COLLIDING + 'fact c: bool means "c"\ndoctrine m_x { element x { holds when c } }\n'
    path = tmp_path / "m.doctrine"
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    out = tmp_path / "out"
    code, _, err = cli(capsys, "compile", path, "-o", out)
    assert code == 0, err
    module = import_file(out / "m.py", "m_keys")
    keys = list(module.INFO.elements)
    assert len(keys) == len(set(keys)) == 3
    facts = {"a": True, "b": False, "c": False}
    assert module.DOCTRINES["other"].evaluate(facts).elements == {"y": True}
    assert module.DOCTRINES["m"].evaluate(facts).elements == {"x": False}
    assert module.DOCTRINES["m_x"].evaluate(facts).elements == {"x": False}


@pytest.mark.parametrize(
    ("facts", "holds", "missing"),
    [
        ({"s": True, "a": False, "c": False}, True, []),
        ({"s": True, "a": False, "c": True}, False, []),
        ({"s": False}, False, []),
        ({}, None, ["a", "c", "s"]),
        ({"s": True, "c": True}, None, ["a"]),
    ],
)
def test_a_chain_of_forty_elements(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    facts: dict[str, bool],
    holds: bool | None,
    missing: list[str],
) -> None:
    result = evaluate(capsys, tmp_path, chain(40), "chain", facts)
    assert (result["holds"], result["missing"]) == (holds, missing)


def test_a_chain_of_forty_elements_explained(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "chain.doctrine"
    path.write_text(chain(40), encoding="utf-8")
    facts = tmp_path / "facts.json"
    facts.write_text("{}", encoding="utf-8")
    code, out, err = cli(capsys, "explain", path, "--facts", facts)
    assert code == 0, err
    assert "## What would change the outcome" in out


def test_each_element_is_evaluated_once_per_case(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Count the calls of the generated element functions: linear in the chain, not 2^n."""
    path = tmp_path / "chain.doctrine"
    path.write_text(chain(18), encoding="utf-8")
    out = tmp_path / "out"
    code, _, err = cli(capsys, "compile", path, "-o", out)
    assert code == 0, err
    module = import_file(out / "chain.py", "chain_once")
    calls = 0

    def count(frame: FrameType, event: str, arg: object) -> None:
        nonlocal calls
        if event == "call" and frame.f_code.co_filename == str(out / "chain.py"):
            calls += 1

    for facts in ({"s": True, "a": False, "c": False}, {}):
        calls = 0
        sys.setprofile(count)
        try:
            module.evaluate(facts)
        finally:
            sys.setprofile(None)
        # Two uses of each of the 18 elements, each a call of its value function and of its
        # `missing` walk, and one evaluation per completion of the 3 unknown facts that makes
        # `missing` exact: some hundreds, where evaluating per use makes 2^18 calls.
        assert calls < 2000, calls
