"""`doctrine eval FILE --batch CASES [--jobs N] [-o OUT]`: many cases, one result each, in order."""

from __future__ import annotations

import csv
import fcntl
import functools
import io
import json
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path
from typing import Any

import pytest

from compiler.tools import batch
from tests.support import ROOT, clean_env, doctrine_file, run_cli

DANGER = doctrine_file("state_created_danger")
BOOLS = (
    "directed_at_plaintiff",
    "affirmative_act",
    "but_for_cause",
    "harm_foreseeable",
    "danger_known_or_obvious",
)


def cases(count: int) -> list[dict[str, Any]]:
    """Varied cases: every pattern of the bools, some facts left out, every culpability."""
    levels = ("none", "negligence", "recklessness", "deliberate_indifference", "intent", None)
    out = []
    for i in range(count):
        case: dict[str, Any] = {}
        for j, name in enumerate(BOOLS):
            bit = (i >> j) & 3
            if bit != 3:
                case[name] = bit != 0
        if levels[i % len(levels)] is not None:
            case["culpability"] = levels[i % len(levels)]
        out.append(case)
    return out


@functools.cache
def danger() -> Any:
    """The doctrine the batches run, compiled once for the whole file."""
    import compiler

    return compiler.load(DANGER)


def expected(facts: dict[str, Any]) -> dict[str, Any]:
    return dict(danger().evaluate(facts).as_dict())


def write_jsonl(path: Path, rows: list[Any], extra: str = "") -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + extra, encoding="utf-8")
    return path


def test_results_come_out_one_per_case_in_order(tmp_path: Path) -> None:
    rows = cases(300)
    source = write_jsonl(tmp_path / "cases.jsonl", rows)
    proc = run_cli("eval", DANGER, "--batch", source)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # no progress bar when standard error is not a terminal
    got = [json.loads(line) for line in proc.stdout.splitlines()]
    assert got == [expected(r) for r in rows]


def test_jobs_give_the_same_file_as_one_process(tmp_path: Path) -> None:
    rows = cases(2_500)  # several chunks of 1,000
    source = write_jsonl(tmp_path / "cases.jsonl", rows)
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    assert run_cli("eval", DANGER, "--batch", source, "-o", one).returncode == 0
    proc = run_cli("eval", DANGER, "--batch", source, "--jobs", "2", "-o", two)
    assert proc.returncode == 0, proc.stderr
    assert one.read_bytes() == two.read_bytes()
    assert len(one.read_text(encoding="utf-8").splitlines()) == 2_500


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_bad_line_is_reported_and_the_rest_go_on(tmp_path: Path, jobs: str) -> None:
    good = cases(5)
    text = (
        json.dumps(good[0])
        + "\n"
        + '{"directed_at_plaintiff": "yes"}\n'
        + "\n"  # blank lines are skipped
        + "{not json\n"
        + json.dumps(good[1])
        + "\n"
        + '{"culpabilty": "intent"}\n'
        + "[1, 2]\n"
        + json.dumps(good[2])
        + "\n"
    )
    source = tmp_path / "cases.jsonl"
    source.write_text(text, encoding="utf-8")
    out = tmp_path / "out.jsonl"
    proc = run_cli("eval", DANGER, "--batch", source, "--jobs", jobs, "-o", out)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        f"error: {source}:2: fact 'directed_at_plaintiff': expected true or false, got 'yes'",
        f"error: {source}:4: not JSON: Expecting property name enclosed in double quotes"
        " (column 2)",
        f"error: {source}:6: fact 'culpabilty': not in the vocabulary; did you mean 'culpability'?",
        f"error: {source}:7: facts: expected a mapping of fact names to values, got a list",
    ]
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 7
    assert lines[0] == expected(good[0])
    assert lines[1] == {
        "line": 2,
        "error": ["fact 'directed_at_plaintiff': expected true or false, got 'yes'"],
    }
    assert [lines[i]["line"] for i in (2, 4, 5)] == [4, 6, 7]
    assert lines[3] == expected(good[1])
    assert lines[6] == expected(good[2])


def test_csv_in_and_out(tmp_path: Path) -> None:
    rows = cases(40)
    source = tmp_path / "cases.csv"
    with source.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*BOOLS, "culpability", "event_date"])
        for r in rows:
            writer.writerow(
                [
                    *("" if name not in r else ("true" if r[name] else "FALSE") for name in BOOLS),
                    r.get("culpability", ""),
                    "2001-02-03",
                ]
            )
        writer.writerow(["maybe", "", "", "", "", "", ""])
        writer.writerow(["true"])
    out = tmp_path / "out.csv"
    proc = run_cli("eval", DANGER, "--batch", source, "-o", out)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        f"error: {source}:42: fact 'directed_at_plaintiff': expected true or false, got 'maybe'",
        f"error: {source}:43: expected 7 cells as the header has, got 1",
    ]
    table = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    labels = ["specific_plaintiff", "affirmative_conduct", "causation", "culpability"]
    assert list(table[0]) == ["holds", *labels, "missing", "error"]
    words = {True: "true", False: "false", None: "unknown"}
    for row, facts in zip(table, rows, strict=False):
        want = expected({**facts, "event_date": "2001-02-03"})
        assert row["holds"] == words[want["holds"]]
        assert [row[label] for label in labels] == [words[want["elements"][x]] for x in labels]
        assert row["missing"].split() == want["missing"]
        assert row["error"] == ""
    assert table[40]["holds"] == "error" and "got 'maybe'" in table[40]["error"]
    assert len(table) == 42

    # CSV in, JSON Lines out (standard output takes the input's format unless -o says).
    good = tmp_path / "good.csv"
    good.write_text("affirmative_act,culpability\ntrue,intent\n", encoding="utf-8")
    proc = run_cli("eval", DANGER, "--batch", good, "-o", tmp_path / "out.jsonl")
    assert proc.returncode == 0, proc.stderr
    result = json.loads((tmp_path / "out.jsonl").read_text(encoding="utf-8"))
    assert result == expected({"affirmative_act": True, "culpability": "intent"})
    proc = run_cli("eval", DANGER, "--batch", good)
    assert (
        proc.stdout.splitlines()[0] == "holds,specific_plaintiff,affirmative_conduct,"
        "causation,culpability,missing,error"
    )


def test_a_header_naming_no_fact_stops_before_any_case(tmp_path: Path) -> None:
    source = tmp_path / "cases.csv"
    source.write_text("affirmative_act,culpabilty\ntrue,intent\n", encoding="utf-8")
    proc = run_cli("eval", DANGER, "--batch", source)
    assert proc.returncode == 2
    assert proc.stderr == (
        f"error: {source}: line 1: `culpabilty` is not a fact; did you mean 'culpability'?\n"
    )
    assert proc.stdout == ""


def test_standard_input_and_usage_errors(tmp_path: Path) -> None:
    rows = cases(3)
    proc = run_cli(
        "eval", DANGER, "--batch", "-", input="".join(json.dumps(r) + "\n" for r in rows)
    )
    assert proc.returncode == 0, proc.stderr
    assert [json.loads(x) for x in proc.stdout.splitlines()] == [expected(r) for r in rows]

    proc = run_cli("eval", DANGER, "--batch", tmp_path / "nope.jsonl")
    assert proc.returncode == 2 and "nope.jsonl: No such file or directory" in proc.stderr
    proc = run_cli("eval", DANGER, "--batch", tmp_path / "nope.jsonl", "--jobs", "0")
    assert proc.returncode == 2 and "--jobs must be at least 1" in proc.stderr
    facts = write_jsonl(tmp_path / "facts.json", [rows[0]])
    proc = run_cli("eval", DANGER, "--facts", facts, "--jobs", "2")
    assert proc.returncode == 2 and "--jobs and -o go with --batch" in proc.stderr
    proc = run_cli("eval", DANGER, "--facts", facts, "--batch", facts)
    assert proc.returncode == 2 and "not allowed with argument" in proc.stderr
    assert "Traceback" not in proc.stderr


def _on_a_terminal(argv: list[str], size: tuple[int, int] | None) -> tuple[int, bytes]:
    """Run a command with standard error on a pseudo-terminal; what it wrote there."""
    leader, follower = pty.openpty()
    if size is not None:
        rows, columns = size
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    proc = subprocess.Popen(argv, stderr=follower, cwd=ROOT, env=clean_env())
    os.close(follower)
    seen = b""
    try:
        while True:  # read as it comes: what is left unread when the child ends may be lost
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(leader)
        proc.wait(timeout=120)
    return proc.returncode, seen


@pytest.mark.parametrize("size", [(24, 100), None], ids=["sized", "unsized"])
def test_a_progress_bar_on_a_terminal_only(tmp_path: Path, size: tuple[int, int] | None) -> None:
    text = "".join(json.dumps(r) + "\n" for r in cases(3_000)) + '{"affirmative_act": 1}\n'
    source = tmp_path / "cases.jsonl"
    source.write_text(text, encoding="utf-8")
    out = tmp_path / "out.jsonl"
    argv = [sys.executable, "-m", "compiler", "eval", str(DANGER), "--batch", str(source)]
    code, seen = _on_a_terminal([*argv, "-o", str(out)], size)
    assert code == 2
    assert b"evaluating" in seen and b"cases=" in seen
    # The bad line is written on a line of its own, not run into the bar.
    assert f"\rerror: {source}:3001: fact 'affirmative_act'".encode() in seen
    assert len(out.read_text(encoding="utf-8").splitlines()) == 3_001


def test_chunks_in_flight_stay_few_whatever_the_input() -> None:
    """Memory stays bounded: results are taken before more than jobs * AHEAD chunks are read."""
    evaluator, worker = batch.load(str(DANGER), None)
    read = 0
    line = json.dumps(cases(1)[0]).encode() + b"\n"

    def chunks() -> Any:
        nonlocal read
        for i in range(40):
            read += 1
            yield "jsonl", None, [(i + 1, line)]

    taken = 0
    for _text, count, bad in batch._ordered(evaluator, chunks(), 2, worker, "jsonl"):
        taken += 1
        assert count == 1 and bad == []
        assert read - taken <= 2 * batch.AHEAD
    assert taken == 40


# ---------------------------------------------------------------- hostile lines (#17.4)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_each_hostile_line_gets_its_error_in_place_and_the_rest_go_on(
    tmp_path: Path, jobs: str
) -> None:
    good = cases(3)
    hostile = [
        '{"affirmative_act": ' + "9" * 5_000 + "}",  # more digits than Python converts
        "[" * 100_000 + "]" * 100_000,  # nested past any recursion limit
        '{"affirmative_act": true, "affirmative_act": false}',  # a key given twice
        '{"authorities": [{"name": "a", "name": "b"}]}',  # twice, inside a record
    ]
    lines = [json.dumps(good[0]), *hostile, json.dumps(good[1]), json.dumps(good[2])]
    source = tmp_path / "cases.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    proc = run_cli("eval", DANGER, "--batch", source, "--jobs", jobs, "-o", out)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    got = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(got) == 7
    assert got[0] == expected(good[0])
    assert [g["line"] for g in got[1:5]] == [2, 3, 4, 5]
    assert "digits" in got[1]["error"][0]
    assert got[2]["error"] == ["nested too deeply"]
    assert got[3]["error"] == ["`affirmative_act` is given twice"]
    assert got[4]["error"] == ["`name` is given twice"]
    assert got[5:] == [expected(good[1]), expected(good[2])]
    assert [line.split(":")[2] for line in proc.stderr.splitlines()] == ["2", "3", "4", "5"]


def test_a_huge_csv_cell_is_an_error_in_its_row_only(tmp_path: Path) -> None:
    source = tmp_path / "cases.csv"
    huge = "x" * (batch.MAX_CELL + 1)
    source.write_text(
        "affirmative_act,culpability\ntrue,intent\n"
        f"true,{huge}\n"
        f'true,"{"y" * 200_000}"\n'  # over the csv module's 128 KiB default: read
        "false,none\n"
        "true,\n",
        encoding="utf-8",
    )
    with source.open("ab") as handle:
        handle.write(b"true,\xff\xfe\nfalse,\n")
    out = tmp_path / "out.csv"
    proc = run_cli("eval", DANGER, "--batch", source, "-o", out)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    csv.field_size_limit(batch.MAX_CELL)  # the error names the long value it refused
    table = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [row["holds"] for row in table] == [
        "unknown",
        "error",
        "error",
        "false",
        "unknown",
        "error",
        "false",
    ]
    assert "field larger than field limit" in table[1]["error"]
    assert "expected one of" in table[2]["error"]  # read whole, then refused by its fact
    assert table[5]["error"] == "not UTF-8 text"


@pytest.mark.parametrize("same", ["path", "link"])
def test_writing_over_the_input_is_refused(tmp_path: Path, same: str) -> None:
    source = write_jsonl(tmp_path / "cases.jsonl", cases(3))
    before = source.read_bytes()
    target = source
    if same == "link":
        target = tmp_path / "link.jsonl"
        target.symlink_to(source)
    proc = run_cli("eval", DANGER, "--batch", source, "-o", target)
    assert proc.returncode == 2
    assert "this is the input file" in proc.stderr
    assert source.read_bytes() == before
