"""`doctrine test`: the cases of .doctrine files and of YAML/JSON case files, pass or fail."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from support import ROOT, VENDORED_PRECEDENTS, run_cli

RULES = """\
module rules "A small test"

fact a: bool means "a"
fact level: enum (low, high) means "how high"

element first { holds when a }
element second { holds when level is high }

doctrine both {
  element first
  element second
}

case passes under both {
  given { a: true, level: high }
  expect { holds: true, first: true }
}

case fails under both {
  given { a: true, level: low }
  expect { holds: true, first: true, second: true }
}
"""

CASES = """\
# Cases in the shape of precedents.yaml.
- id: yaml-pass
  doctrine: both
  facts: {a: false}
  expect: {holds: false, elements: {first: false}}

- id: yaml-fail
  doctrine: both
  facts: {a: true, level: high}
  expect: {holds: false, elements: {second: true}}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "rules.doctrine").write_text(RULES, encoding="utf-8")
    (tmp_path / "cases.yaml").write_text(CASES, encoding="utf-8")
    return tmp_path


def test_a_failing_case_names_the_element_that_disagreed(project: Path) -> None:
    proc = run_cli("test", "rules.doctrine", cwd=project)
    assert proc.returncode == 1, proc.stderr
    line = RULES.splitlines().index("case fails under both {") + 1
    assert f"FAIL fails (rules.doctrine:{line})" in proc.stdout
    assert "    holds: expected true, got false" in proc.stdout
    assert "    second: expected true, got false" in proc.stdout
    assert "first" not in proc.stdout.split("FAIL fails")[1]  # it agreed
    assert proc.stdout.rstrip().endswith("1 passed, 1 failed")


def test_verbose_lists_the_passing_cases(project: Path) -> None:
    proc = run_cli("test", "-v", project, cwd=project)
    assert "PASS passes" in proc.stdout


def test_case_files_run_with_the_doctrine_files_given(project: Path) -> None:
    proc = run_cli("test", "rules.doctrine", "cases.yaml", cwd=project)
    assert proc.returncode == 1
    assert "FAIL yaml-fail (cases.yaml:7)" in proc.stdout
    assert "    holds: expected false, got true" in proc.stdout
    assert "yaml-pass" not in proc.stdout
    assert proc.stdout.rstrip().endswith("2 passed, 2 failed")


def test_a_case_file_may_name_the_doctrine_file(project: Path) -> None:
    (project / "one.yaml").write_text(
        "- id: by-file\n  doctrine: rules.doctrine\n  facts: {a: true, level: high}\n"
        "  expect: {holds: true, first: true, missing: []}\n",
        encoding="utf-8",
    )
    proc = run_cli("test", "-v", "one.yaml", cwd=project)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "PASS by-file" in proc.stdout
    assert "1 passed, 0 failed" in proc.stdout


def test_json_case_files_and_unknown_elements(project: Path) -> None:
    cases = [
        {"id": "json", "doctrine": "both", "facts": {"a": True}, "expect": {"nope": True}},
        {"id": "bad-facts", "doctrine": "both", "facts": {"b": True}, "expect": {"holds": True}},
    ]
    (project / "cases.json").write_text(json.dumps(cases), encoding="utf-8")
    proc = run_cli("test", "rules.doctrine", "cases.json", cwd=project)
    assert proc.returncode == 1
    assert "nope: expected true, but `both` has no such element" in proc.stdout
    assert re.search(r"FAIL bad-facts .*\n    facts: .*'b'", proc.stdout), proc.stdout


def test_a_case_file_finds_the_doctrine_beside_it(project: Path) -> None:
    proc = run_cli("test", "cases.yaml", cwd=project)  # rules.doctrine declares `both`
    assert proc.returncode == 1
    assert "1 passed, 1 failed" in proc.stdout


def test_a_doctrine_that_cannot_be_found_is_an_error(project: Path) -> None:
    (project / "elsewhere.yaml").write_text(
        "- id: lost\n  doctrine: neither\n  facts: {}\n  expect: {holds: true}\n",
        encoding="utf-8",
    )
    proc = run_cli("test", "rules.doctrine", "elsewhere.yaml", cwd=project)
    assert proc.returncode == 2
    assert "elsewhere.yaml:1: no doctrine `neither`" in proc.stderr


def test_a_broken_case_file_is_an_error(project: Path) -> None:
    (project / "broken.yaml").write_text("- id: x\n  facts: {}\n", encoding="utf-8")
    proc = run_cli("test", "rules.doctrine", "broken.yaml", cwd=project)
    assert proc.returncode == 2
    assert "broken.yaml:1: the case has no `doctrine`" in proc.stderr


def test_the_library_and_the_precedents_pass() -> None:
    proc = run_cli("test", "doctrine", VENDORED_PRECEDENTS, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    assert re.search(r"^\d+ passed, 0 failed$", proc.stdout, re.MULTILINE)
