"""The lints (D06xx), a pass of their own after checking: what they say, where, and when.

Each test writes a small doctrine, runs `doctrine check` (or `eval`) through the real command
line, and reads what it printed; the last ones check that the pass is apart from the checker.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import LIBRARY, run_cli

from compiler.checking.checker import Checker, check_all
from compiler.checking.lint import lint
from compiler.syntax.loader import load

VOCABULARY = """\
fact culpability: enum (none < negligence < recklessness < intent) means "the state of mind"
fact warned: bool means "the plaintiff was warned"
"""


def write(folder: Path, text: str, name: str = "m") -> Path:
    path = folder / f"{name}.doctrine"
    path.write_text(text, encoding="utf-8")
    return path


def warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(("warning", "error"))]


# ---------------------------------------------------------------- D0605


LABEL_AND_FACT = (
    VOCABULARY
    + "element reckless { holds when culpability >= recklessness }\n"
    + "doctrine d {\n"
    + "  element culpability = reckless\n"
    + "  holds when culpability and culpability >= intent\n"
    + "}\n"
)


def test_a_label_compared_reads_the_fact_and_the_check_says_so(tmp_path: Path) -> None:
    # Issue 13: `culpability >= recklessness` in a doctrine with an element labelled
    # `culpability` compared the fact without a word. Resolved one documented way (the fact:
    # only facts are compared), with a warning at the name.
    source = write(tmp_path, LABEL_AND_FACT)
    proc = run_cli("check", source, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert warnings(proc.stderr) == [
        "warning[D0605]: `culpability` is both a fact and a label of this doctrine's elements;"
        " compared, it reads the fact"
    ]
    assert "--> m.doctrine:6:30\n" in proc.stderr
    assert "\n  |                              ^^^^^^^^^^^ the fact, not the element\n" in (
        proc.stderr
    )
    assert "help: give the element another label, as `element culpability_test = ...`" in (
        proc.stderr
    )


@pytest.mark.parametrize(("given", "holds"), [("recklessness", False), ("intent", True)])
def test_the_label_alone_is_the_element_and_compared_it_is_the_fact(
    tmp_path: Path, given: str, holds: bool
) -> None:
    source = write(tmp_path, LABEL_AND_FACT)
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps({"culpability": given}), encoding="utf-8")
    proc = run_cli("eval", source, "--facts", facts, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["elements"] == {"culpability": True}  # the element: recklessness or more
    assert result["holds"] is holds  # and the fact compared with intent


def test_an_element_written_in_place_reads_its_own_label_as_the_fact(tmp_path: Path) -> None:
    # Inside the element labelled `culpability`, the name cannot mean the element itself:
    # the fact is the only reading, and nothing is said.
    text = VOCABULARY + (
        "doctrine d {\n"
        "  element culpability { holds when culpability >= recklessness }\n"
        "  element warning { holds when warned }\n"
        "}\n"
    )
    proc = run_cli("check", write(tmp_path, text), cwd=tmp_path)
    assert proc.returncode == 0 and warnings(proc.stderr) == [], proc.stderr


BOOL_LABEL = (
    VOCABULARY
    + "element told { holds when warned and culpability >= negligence }\n"
    + "doctrine d {\n"
    + "  element warned = told\n"
    + "  holds when warned\n"
    + "}\n"
)


def test_a_label_alone_is_the_element_even_beside_a_bool_fact_and_the_check_says_so(
    tmp_path: Path,
) -> None:
    source = write(tmp_path, BOOL_LABEL)
    proc = run_cli("check", source, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert warnings(proc.stderr) == [
        "warning[D0605]: `warned` is both a fact and a label of this doctrine's elements;"
        " as a condition, it is the element"
    ]
    assert "--> m.doctrine:6:14\n" in proc.stderr
    assert "^^^^^^ the element, not the fact" in proc.stderr
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps({"warned": True, "culpability": "none"}), encoding="utf-8")
    result = json.loads(run_cli("eval", source, "--facts", facts, "--format", "json").stdout)
    assert result["holds"] is False  # the element (warned, and negligence at least), not the fact


def test_a_label_alone_beside_an_enum_fact_is_no_question(tmp_path: Path) -> None:
    # An enum is no condition: `culpability` alone can only be the element.
    text = LABEL_AND_FACT.replace(" and culpability >= intent", "")
    proc = run_cli("check", write(tmp_path, text), cwd=tmp_path)
    assert proc.returncode == 0 and warnings(proc.stderr) == [], proc.stderr


def test_a_variant_warns_about_what_it_inherits_once(tmp_path: Path) -> None:
    text = LABEL_AND_FACT + "doctrine d2 extends d {\n  element warning { holds when warned }\n}\n"
    proc = run_cli("check", write(tmp_path, text), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert [w[:16] for w in warnings(proc.stderr)] == ["warning[D0605]: "]


# ---------------------------------------------------------------- with errors, and the gates


def test_warnings_are_shown_beside_errors(tmp_path: Path) -> None:
    # The lints run after checking, and their warnings are still printed when checking failed.
    text = LABEL_AND_FACT + "element other { holds when warnd }\n"
    proc = run_cli("check", write(tmp_path, text), cwd=tmp_path)
    assert proc.returncode == 2
    assert warnings(proc.stderr) == [
        "error[D0201]: unknown fact `warnd`",
        "warning[D0605]: `culpability` is both a fact and a label of this doctrine's elements;"
        " compared, it reads the fact",
    ]


def test_an_unused_element_waits_for_the_errors_to_be_fixed(tmp_path: Path) -> None:
    unused = "element spare { holds when warned }\n"
    proc = run_cli("check", write(tmp_path, LABEL_AND_FACT + unused), cwd=tmp_path)
    assert [w[:14] for w in warnings(proc.stderr)] == ["warning[D0605]", "warning[D0601]"]
    broken = LABEL_AND_FACT + unused + "element other { holds when warnd }\n"
    proc = run_cli("check", write(tmp_path, broken), cwd=tmp_path)
    assert [w[:14] for w in warnings(proc.stderr)] == ["error[D0201]: ", "warning[D0605]"]


PRECEDENTS = (
    VOCABULARY
    + "record precedent {\n"
    + '  name: text means "n"\n  court: text means "c"\n  decided: date means "d"\n'
    + '  recognizes_right: bool means "r"\n  materially_similar: bool means "m"\n'
    + '  abrogated: optional date means "a"\n}\n'
    + 'fact authorities: list of precedent means "the decided cases"\n'
    + "element reckless { holds when culpability >= recklessness }\n"
    + "doctrine d {\n  element reckless\n}\n"
    + "doctrine d2 {\n  element reckless\n  precedents for authorities from d\n}\n"
    + "doctrine d3 extends d2 {\n  element warning { holds when warned }\n}\n"
)


def test_no_decided_case_is_said_for_each_doctrine_that_looks(tmp_path: Path) -> None:
    proc = run_cli("check", write(tmp_path, PRECEDENTS), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    found = "warning[D0604]: no decided case in this module or its imports applied `d`"
    assert warnings(proc.stderr) == [found, found]
    # One line, asked by the rule and by its variant: each is named at the line it inherits.
    assert proc.stderr.count("--> m.doctrine:18:35\n") == 2
    assert "^ `d2` will find no precedents here" in proc.stderr
    assert "^ `d3` will find no precedents here" in proc.stderr
    decided = (
        "authority ruled {\n"
        '  name "Ruled v. Decided"\n  reporter "1 F.4th 1"\n  court "9th"\n  year 2020\n'
        "  decided 2020-01-02\n  applied d\n  held violation\n"
        "  facts { culpability: intent }\n}\n"
    )
    proc = run_cli("check", write(tmp_path, PRECEDENTS + decided), cwd=tmp_path)
    assert proc.returncode == 0 and warnings(proc.stderr) == [], proc.stderr


# ---------------------------------------------------------------- a pass of its own


@pytest.mark.parametrize(
    "path", sorted(LIBRARY.rglob("*.doctrine")), ids=lambda p: p.relative_to(LIBRARY).as_posix()
)
def test_every_warning_of_the_library_comes_from_the_lint_pass(path: Path) -> None:
    loaded = load([path])
    project = check_all(loaded)
    lints = lint(project)
    assert all(d.code.startswith("D06") for d in lints)
    assert [d for d in project.diagnostics if d.code.startswith("D06")] == sorted(
        set(lints), key=project.diagnostics.index
    )
    # The checker proper (inside checking/, reached here only to test it) reports none.
    checker = Checker(loaded)
    checker.check()
    assert not [d for d in checker.diagnostics if d.code.startswith("D06")]
