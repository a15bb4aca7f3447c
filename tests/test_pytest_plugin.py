"""The pytest plugin, driven for real: pytest run in a sample project with a failing case."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

import pytest

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
  title "A case that expects too much"
  given { a: true, level: low }
  expect { holds: true, first: true, second: true }
}
"""

CASES = """\
- id: yaml-pass
  doctrine: both
  facts: {a: false}
  expect: {holds: false, elements: {first: false}}
- id: yaml-fail
  doctrine: both
  facts: {a: true, level: high}
  expect: {holds: false}
"""

PLAIN_TEST = "def test_plain():\n    assert True\n"


def run_pytest(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PYTEST_") and k not in ("PYTHONPATH", "DOCTRINE_DEBUG")
    }
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-v", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\ndoctrine_case_files = cases/*.yaml\ndoctrine_path = rules\n", encoding="utf-8"
    )
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "rules.doctrine").write_text(RULES, encoding="utf-8")
    (tmp_path / "rules" / "no_cases.doctrine").write_text("fact b: bool\n", encoding="utf-8")
    (tmp_path / "cases").mkdir()
    (tmp_path / "cases" / "precedents.yaml").write_text(CASES, encoding="utf-8")
    (tmp_path / "other.yaml").write_text("not: cases\n", encoding="utf-8")  # not a case file
    (tmp_path / "test_plain.py").write_text(PLAIN_TEST, encoding="utf-8")
    return tmp_path


def test_the_plugin_is_registered_for_pytest() -> None:
    points = importlib.metadata.entry_points(group="pytest11")
    assert any(p.name == "doctrine" and p.value == "compiler.tools.pytest_plugin" for p in points)


def test_pytest_collects_and_runs_the_cases(project: Path) -> None:
    proc = run_pytest(project)
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    assert "rules/rules.doctrine::passes PASSED" in out
    assert "rules/rules.doctrine::fails FAILED" in out
    assert "cases/precedents.yaml::yaml-pass PASSED" in out
    assert "cases/precedents.yaml::yaml-fail FAILED" in out
    assert "test_plain.py::test_plain PASSED" in out
    assert "no_cases" not in out and "other.yaml" not in out
    assert "2 failed, 3 passed" in out


def test_the_failure_shows_each_element_and_where_the_case_is(project: Path) -> None:
    out = run_pytest(project, "rules/rules.doctrine").stdout
    line = RULES.splitlines().index("case fails under both {") + 1
    report = out.split("_ case fails _")[1]
    assert "case fails under both failed" in report
    assert f"--> rules/rules.doctrine:{line}" in report
    assert "A case that expects too much" in report
    rows = [" ".join(r.split()) for r in report.splitlines()]
    assert "element expected actual" in rows
    assert "holds true false <-- differs" in rows
    assert "first true true" in rows
    assert "second true false <-- differs" in rows


def test_a_doctrine_that_does_not_compile_is_a_collection_error(project: Path) -> None:
    (project / "rules" / "broken.doctrine").write_text(
        "fact a: bool\ncase c under d {\n  given { a: tru }\n", encoding="utf-8"
    )
    proc = run_pytest(project, "rules")
    assert proc.returncode != 0
    assert "ERROR collecting rules/broken.doctrine" in proc.stdout
    assert "error[D0102]" in proc.stdout
    assert "Traceback" not in proc.stdout


def test_collecting_can_be_turned_off(project: Path) -> None:
    proc = run_pytest(project, "-o", "doctrine_collect=false")
    assert "collected 1 item" in proc.stdout
    assert "1 passed" in proc.stdout
