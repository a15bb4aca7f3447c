"""Exact `holds`, elements and `missing` (issue 17.3): the issue's inputs, through the CLI.

A test and each element are true when they would hold whatever values the unknown facts turn
out to have, false when they would fail whatever they are; `missing` lists only the unknown
facts on whose values the outcome still depends.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from compiler.tools.cli import main

SOURCE = """
fact x: bool means "x"
fact a: bool means "a"
fact b: bool means "b"
fact c: bool means "c"
fact level: enum(lowest < mid < top) means "a level"
fact d: date means "a day"
doctrine excluded_middle { element e { holds when x or not x } }
doctrine at_least_lowest { element e { holds when level >= lowest } }
doctrine either_side { element e { holds when level <= mid or level >= mid } }
doctrine same_day { element e { holds when d < d or d == d } }
doctrine never_before { element e { holds when d < d } }
doctrine shared { element e { holds when (a and b) or (a and c) } }
doctrine tautology_beside { element e { holds when x or not x } element f { holds when a } }
"""


def run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, doctrine: str, facts: dict[str, Any]
) -> dict[str, Any]:
    path = tmp_path / "exact.doctrine"
    path.write_text(SOURCE, encoding="utf-8")
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
