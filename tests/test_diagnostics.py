"""Snapshot tests of the diagnostics the real `doctrine` command prints.

Each fixture in tests/fixtures/diagnostics/NAME/ is a small project whose `main.doctrine`
holds one kind of mistake. The test runs `doctrine check main.doctrine` in that folder, as a
user would, and compares the whole of standard error with tests/snapshots/diagnostics/NAME.txt.
Facts files live in tests/fixtures/diagnostics/facts/ and go through `doctrine eval --facts`.

Run with UPDATE_GOLDEN=1 to (re)write the snapshots, then read the diff as a user would.
"""

from __future__ import annotations

import functools
import re
import subprocess
from pathlib import Path

import pytest
import support

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures" / "diagnostics"
FACTS = FIXTURES / "facts"
SNAPSHOTS = HERE / "snapshots" / "diagnostics"

# Fixtures checked with `doctrine check main.doctrine`: name -> exit status. Every one but the
# warning is an error (exit 2).
CHECK_FIXTURES: dict[str, int] = {
    # syntax
    "unclosed_block": 2,  # the file ends inside a `{ ... }`
    "unclosed_block_before_next": 2,  # a block left open, then the next declaration
    "unclosed_string": 2,  # a `"` never closed on its line
    "bad_string_escape": 2,  # `\q` in a string
    "bad_date": 2,  # 1989-02-30
    "single_equals": 2,  # `=` where `==` is meant
    "quantifier_after_not": 2,  # `not every x in ...` without parentheses
    # names
    "unknown_fact": 2,  # `custdy`, with did-you-mean
    "misspelled_enum_value": 2,  # `nnoe` for `none`
    "unknown_authority": 2,  # `cite` of an undeclared authority
    "unknown_element_in_slot": 2,  # `element custody = custodial_relationshp`
    "duplicate_element": 2,
    "duplicate_fact": 2,
    # types
    "compare_bool_with_date": 2,
    "order_unordered_enum": 2,  # `>=` on an enum declared with `,`
    "enum_fact_as_condition": 2,  # `holds when custody`
    "required_field_is_absent": 2,  # `is absent` on a field not declared optional
    # imports
    "import_missing_file": 2,
    "import_cycle": 2,
    # definitions
    "element_refers_to_itself": 2,  # directly, and through another element
    "inline_element_refers_to_itself": 2,
    "doctrine_extends_itself": 2,
    # worked cases
    "case_unknown_fact": 2,
    "case_value_outside_enum": 2,
    "case_expects_missing_element": 2,
    "case_under_element": 2,  # `case NAME under ELEMENT`
    # several at once, and a warning
    "several_errors": 2,
    "unused_element_warning": 0,
}

# What must stay in each message whatever else changes in its wording: the fix it suggests.
MUST_SAY: dict[str, list[str]] = {
    "unclosed_block": ["unclosed block", "main.doctrine:9:31"],
    "unknown_fact": ["`custdy`", "main.doctrine:5:14", "did you mean `custody`?"],
    "misspelled_enum_value": ["`nnoe`", "main.doctrine:4:29", "did you mean `none`?"],
    "unknown_authority": ["main.doctrine:10:8", "did you mean `deshaney_v_winnebago`?"],
    "unknown_element_in_slot": ["did you mean `custodial_relationship`?"],
    "duplicate_element": ["main.doctrine:7:9", "main.doctrine:3:9"],
    "duplicate_fact": ["main.doctrine:3:6", "main.doctrine:1:6"],
    "bad_date": ["`1989-02-30`", "main.doctrine:6:11"],
    "bad_string_escape": ["`\\q`"],
    "compare_bool_with_date": ["a bool", "a date"],
    "order_unordered_enum": ["`>=`", "enum (a < b < c)"],
    "import_missing_file": ["`sorces`", "main.doctrine:1:20"],
    "import_cycle": ["import cycle"],
    "element_refers_to_itself": ["custodial", "promised", "relied"],
    "case_unknown_fact": ["`promis_of_protection`", "did you mean `promise_of_protection`?"],
    "case_value_outside_enum": ["institutionalised", "did you mean `institutionalization`?"],
    "case_expects_missing_element": ["`promise`", "custody"],
    "several_errors": ["5 error(s)"],
    "unused_element_warning": ["warning[", "`promised`", "ok: 1 file(s) checked, 1 warning(s)"],
}

# Facts files evaluated with `doctrine eval main.doctrine --facts FILE`: for each, what every
# line of standard error must name, one line per problem.
FACTS_FIXTURES: dict[str, list[str]] = {
    "unknown_fact.yaml": ["'custdy': not in the vocabulary; did you mean 'custody'?"],
    "value_outside_enum.yaml": ["'custody'", "did you mean 'incarceration'?"],
    "wrong_type.yaml": ["'promise_of_protection'", "'culpability'", "'event_date'"],
    "bad_date.yaml": ["'event_date'"],
    "bad_date.json": ["'event_date'"],
    "record_missing_field.yaml": ["'authorities'"],
    "not_a_mapping.yaml": ["mapping"],
    "invalid_yaml.yaml": ["YAML"],
    "invalid_json.json": ["JSON"],
    "duplicate_key.yaml": ["`custody`"],
    "duplicate_key.json": ["`custody`"],
    "several_problems.yaml": [
        "'custdy'",
        "'culpability'",
        "'promise_of_protection'",
        "'event_date'",
    ],
}

# Inputs that once crashed with "internal error" (exit 3): each must now end in a diagnostic.
KNOWN_CRASHES = [
    pytest.param(
        ["check", "main.doctrine"],
        FIXTURES / "crash_compare_condition",
        id="compare_a_condition",
    ),
    pytest.param(
        ["eval", "main.doctrine", "--facts", "crash_unquoted_bad_date.yaml"],
        FACTS,
        id="yaml_unquoted_bad_date",
    ),
    pytest.param(
        ["eval", "main.doctrine", "--facts", "crash_complex_key.yaml"],
        FACTS,
        id="yaml_complex_key",
    ),
]


def run_cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run `doctrine ARGS` in `cwd` (in this process, as a child would see it; once per session)."""
    return _run_cli(tuple(args), cwd)


@functools.cache
def _run_cli(args: tuple[str, ...], cwd: Path) -> subprocess.CompletedProcess[str]:
    return support.run_cli(*args, cwd=cwd)


def assert_snapshot(name: str, actual: str) -> None:
    """Compare `actual` with snapshots/diagnostics/NAME.txt, or write it under UPDATE_GOLDEN=1."""
    support.check_golden(SNAPSHOTS / f"{name}.txt", actual)


def assert_no_crash(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    assert "internal error" not in result.stderr, result.stderr


# ---------------------------------------------------------------- doctrine files


@pytest.mark.parametrize("name", sorted(CHECK_FIXTURES))
def test_check_snapshot(name: str) -> None:
    result = run_cli(["check", "main.doctrine"], FIXTURES / name)
    assert_no_crash(result)
    assert result.returncode == CHECK_FIXTURES[name], result.stderr
    assert result.stdout == ""
    assert_snapshot(name, result.stderr)


@pytest.mark.parametrize("name", sorted(MUST_SAY))
def test_check_says(name: str) -> None:
    stderr = run_cli(["check", "main.doctrine"], FIXTURES / name).stderr
    for text in MUST_SAY[name]:
        assert text in stderr, f"{name}: {text!r} not in\n{stderr}"


_HEAD = re.compile(r"^(error|warning)\[D\d{4}\]: \S")
_WHERE = re.compile(r"^( +)--> (\S+\.doctrine):(\d+):(\d+)$")
_CARET = re.compile(r"^ +\| ( *)(\^+)")


def diagnostic_blocks(stderr: str) -> list[list[str]]:
    """The rendered diagnostics in `stderr`, each as its lines."""
    return [b.splitlines() for b in stderr.split("\n\n") if _HEAD.match(b)]


@pytest.mark.parametrize("name", sorted(CHECK_FIXTURES))
def test_every_diagnostic_points_at_its_source(name: str) -> None:
    """Each diagnostic names file:line:col, shows that line, and puts a caret at the column."""
    folder = FIXTURES / name
    stderr = run_cli(["check", "main.doctrine"], folder).stderr
    blocks = diagnostic_blocks(stderr)
    assert blocks, stderr
    for block in blocks:
        where = _WHERE.match(block[1])
        assert where, f"no `--> file:line:col` under {block[0]!r}"
        gutter, file, line, column = where[1], where[2], int(where[3]), int(where[4])
        assert len(gutter) == len(str(line)), block  # the gutter is as wide as the line number
        source = (folder / file).read_text(encoding="utf-8").splitlines()[line - 1]
        assert block[3] == f"{line} | {source}".rstrip(), block
        caret = _CARET.match(block[4])
        assert caret, block
        assert len(caret[1]) + 1 == column, f"caret not under column {column}: {block}"
    errors = sum(1 for b in blocks if b[0].startswith("error"))
    if errors:
        assert stderr.rstrip().endswith(f"{errors} error(s)")


def test_every_fixture_is_listed() -> None:
    on_disk = {p.name for p in FIXTURES.iterdir() if p.is_dir()}
    crashes = {n for n in on_disk if n.startswith("crash_")}
    assert on_disk - crashes - {"facts"} == set(CHECK_FIXTURES)
    assert set(MUST_SAY) <= set(CHECK_FIXTURES)
    assert {
        p.name for p in FACTS.iterdir() if not p.name.startswith(("crash_", "valid", "main"))
    } == set(FACTS_FIXTURES)


def test_snapshots_have_fixtures() -> None:
    """A snapshot left behind by a removed fixture is stale."""
    if support.UPDATE_GOLDEN:
        pytest.skip("rewriting snapshots")
    expected = {*CHECK_FIXTURES, *(_facts_snapshot(f) for f in FACTS_FIXTURES)}
    assert {p.stem for p in SNAPSHOTS.glob("*.txt")} == expected


# ---------------------------------------------------------------- facts files


def _facts_snapshot(file: str) -> str:
    return "facts_" + file.replace(".", "_")


def test_valid_facts_evaluate() -> None:
    """The doctrine the facts files are tried against compiles, and good facts evaluate."""
    result = run_cli(["eval", "main.doctrine", "--facts", "valid.yaml", "--format", "json"], FACTS)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert '"doctrine": "main"' in result.stdout


@pytest.mark.parametrize("file", sorted(FACTS_FIXTURES))
def test_facts_snapshot(file: str) -> None:
    result = run_cli(["eval", "main.doctrine", "--facts", file, "--format", "json"], FACTS)
    assert_no_crash(result)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    for line in lines:
        assert line.startswith(f"error: {file}: "), line
    wanted = FACTS_FIXTURES[file]
    if file.startswith(("wrong_type", "several")):
        # one line per problem, each naming its fact
        assert len(lines) == len(wanted), result.stderr
        for line, fact in zip(lines, wanted, strict=True):
            assert fact in line, line
    else:
        assert len(lines) == 1, result.stderr
        for text in wanted:
            assert text in lines[0], lines[0]
    assert_snapshot(_facts_snapshot(file), result.stderr)


# ---------------------------------------------------------------- known crashes


@pytest.mark.parametrize(("args", "cwd"), KNOWN_CRASHES)
def test_known_crash(args: list[str], cwd: Path) -> None:
    result = run_cli(args, cwd)
    assert_no_crash(result)
    assert result.returncode == 2, result.stderr
