"""Every batch engine writes the Python engine's output, byte for byte: on random valid cases of
every library doctrine, on hostile lines of every kind, with kept columns, in JSON Lines, CSV
and Parquet. DuckDB in the fast suite; Spark (local[*]) in the heavy step."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import LIBRARY, compiled_library, doctrine_sources, fact_patterns
from support import doctrine_file, examples, run_cli

from compiler.codegen.compile import compile_files
from compiler.errors import DoctrineError
from compiler.tools import sqlbatch
from compiler.tools.batch import load_program

DANGER = doctrine_file("state_created_danger")
QI = doctrine_file("qualified_immunity_state_created_danger")
TRADE = LIBRARY / "trade_secrets" / "trade_secret_misappropriation.doctrine"
DOCTRINES = sorted(
    [*LIBRARY.glob("*.doctrine"), TRADE],
    key=lambda p: p.name,
)
# Those that declare a main doctrine, with their programs (the library compiled once).
_LIBRARY = compiled_library()
PROGRAMS = {
    p: _LIBRARY[str(p.relative_to(LIBRARY))][0].program
    for p in DOCTRINES
    if _LIBRARY[str(p.relative_to(LIBRARY))][0].program.main is not None
}
DOCTRINES = list(PROGRAMS)

# Lines the readers must each turn into the Python engine's error record, in place.
HOSTILE = [
    "",  # blank: skipped
    "   \t",  # blank too
    "{not json",
    "[1, 2]",
    "null",
    '"text"',
    '{"directed_at_plaintiff": "yes"}',
    '{"directed_at_plaintiff": true, "directed_at_plaintiff": false}',  # a key twice
    '{"culpabilty": "intent"}',  # not in the vocabulary
    '{"Culpability": "intent"}',  # case matters
    '{"directed_at_plaintiff": true,}',  # DuckDB's parser allows a trailing comma
    '{"directed_at_plaintiff": NaN}',
    '{"event_date": "2001-02-30"}',
    '{"event_date": "0000-01-01"}',
    '{"event_date": "2001-2-3"}',
    '{"event_date": 20010203}',
    '{"culpability": "intent", "affirmative_act": {"alleged": true}}',  # marked: needs a stage
    '{"affirmative_act": ' + "9" * 5000 + "}",
    "[" * 100_000 + "]" * 100_000,
    '{"affirmative_act": true} trailing',
    '\ufeff{"affirmative_act": true}',
    '{"affirmative_act": true, "x": null}',
    '{"affirmative_act": null}',
    '{"culpability": "int\\u0065nt"}',  # an escape: the Python engine reads it
    '{"culpability": "intent", "id": 7}',  # `id` is kept in some runs, unknown in others
    '{"id": "a,b", "culpability": "none"}',
    '{"id": "caf\u00e9", "culpability": "none"}',
    '{"id": 12345678901234567890, "culpability": "none"}',
    '{"id": 1.5, "culpability": "none"}',
    '{"id": [1, 2], "culpability": "none"}',
    '{"authorities": [{"name": "a", "name": "b"}]}',
    '{"authorities": []}',
    '{"affirmative_act": true}\x01',  # DuckDB's reader would drop the byte: blocks instead
    '{"affirmative_act": true, "affirmative_act": true}',
    '{"affirmative_act":true,"culpability":"intent"}',  # compact separators: SQL's
    '{"affirmative_act": true , "culpability": "intent"}',  # other spacing: the runtime's
    '{"id": -0, "culpability": "none"}',
    '{"increased_risk": true}',  # a fact of the vocabulary the doctrine does not read
]


def _json(value: Any) -> Any:
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, list):
        return [{k: _json(v) for k, v in item.items()} for item in value]
    return value


def write_cases(tmp_path: Path, cases: list[dict[str, Any]]) -> Path:
    """The fact patterns as a JSON Lines file (`cases.jsonl`), unknown facts left out."""
    lines = [json.dumps({k: _json(v) for k, v in c.items() if v is not None}) for c in cases]
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run(doctrine: Path, source: Path, out: Path, engine: str, *extra: str) -> tuple[int, str]:
    proc = run_cli("eval", doctrine, "--batch", source, "--engine", engine, "-o", out, *extra)
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    return proc.returncode, proc.stderr


def same_output(doctrine: Path, source: Path, tmp: Path, suffix: str, *extra: str) -> bytes:
    outputs = {}
    for engine in ("python", "duckdb"):
        out = tmp / f"{engine}{suffix}"
        outputs[engine] = (run(doctrine, source, out, engine, *extra), out)
    (code_p, err_p), out_p = outputs["python"]
    (code_d, err_d), out_d = outputs["duckdb"]
    assert (code_d, err_d) == (code_p, err_p)
    if suffix == ".parquet":
        con = duckdb.connect()
        rows_p = con.execute("SELECT * FROM read_parquet(?)", [str(out_p)]).fetchall()
        rows_d = con.execute("SELECT * FROM read_parquet(?)", [str(out_d)]).fetchall()
        assert rows_d == rows_p
        return repr(rows_p).encode()
    assert out_d.read_bytes() == out_p.read_bytes()
    return out_p.read_bytes()


@pytest.mark.property
@pytest.mark.parametrize("doctrine", DOCTRINES, ids=[p.stem for p in DOCTRINES])
def test_duckdb_writes_the_python_engines_bytes(doctrine: Path, tmp_path: Path) -> None:
    program = PROGRAMS[doctrine]

    @settings(
        max_examples=examples(3),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(st.lists(fact_patterns(program), min_size=1, max_size=60))
    def agree(cases: list[dict[str, Any]]) -> None:
        source = write_cases(tmp_path, cases)
        text = same_output(doctrine, source, tmp_path, ".jsonl")
        assert len(text.splitlines()) == len(cases)

    agree()


@pytest.mark.parametrize("keep", [(), ("id",)], ids=["plain", "keep-id"])
@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_hostile_lines_give_the_same_records_in_place(
    tmp_path: Path, keep: tuple[str, ...], suffix: str
) -> None:
    good = '{"directed_at_plaintiff": true, "affirmative_act": true, "culpability": "intent"}'
    lines = []
    for line in HOSTILE:
        lines += [line, good]
    source = tmp_path / "cases.jsonl"
    source.write_bytes(("\n".join(lines) + "\n").encode("utf-8") + b'{"a": "\xff"}\n' + b"{}")
    extra = [x for k in keep for x in ("--keep", k)]
    for doctrine in (DANGER, QI):
        text = same_output(doctrine, source, tmp_path, suffix, *extra)
        assert text


@pytest.mark.parametrize("keep", [(), ("id",)], ids=["plain", "keep-id"])
def test_hostile_lines_on_duckdbs_own_reader(tmp_path: Path, keep: tuple[str, ...]) -> None:
    # Without the bytes that send a file block by block (a byte 1, bytes not UTF-8), so that
    # DuckDB reads the file itself: canonical lines and the others alike.
    good = '{"directed_at_plaintiff": true, "affirmative_act": true, "culpability": "intent"}'
    lines = [good]
    for line in HOSTILE:
        if "\x01" not in line:
            lines += [line, good]
    source = tmp_path / "cases.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    extra = [x for k in keep for x in ("--keep", k)]
    for doctrine in (DANGER, QI):
        assert same_output(doctrine, source, tmp_path, ".jsonl", *extra)
        assert read_by_duckdb(doctrine, source, keep)


def read_by_duckdb(doctrine: Path, source: Path, keep: tuple[str, ...]) -> bool:
    """Whether DuckDB reads the file itself (a failing query would send it block by block,
    with the same bytes: only the speed would tell)."""
    evaluator, _, program = load_program(str(doctrine), None)
    made = sqlbatch.DuckBatch(evaluator, program, keep, "jsonl").json_file(
        str(source), str(source.parent)
    )
    if made is None:
        return False
    Path(made[0]).unlink()
    return True


KINDS = (
    "fact a: bool\nfact k: enum (v1, v2)\nfact s: enum (lo < mid < hi)\nfact n: number\n"
    "fact day: date\nfact t: text\n"
    "doctrine d {\n  element e1 { holds when a }\n  element e2 { holds when k is v1 or s >= mid }\n"
    "  element e3 { holds when n > 3 or day > 2001-01-01 }\n}\n"
)
# Values of every kind, as a line gives them: each written in place of the first line's.
ODD_VALUES = {
    "a": ["1", '"true"', "null", "True", "false"],
    "k": ['"V1"', '"v1 "', "1", "true", '"v\\u0031"', '"v2"'],
    "s": ['"mid"', '"lo"', '"MID"', "2"],
    "n": [
        "5.5",
        "-0",
        "0",
        "1e5",
        "1E5",
        "12345678901234567890",
        '"5"',
        "NaN",
        "Infinity",
        "0.1000000000000000055511151231257827",
        "-3",
        "3.0",
        "9007199254740993",
        "00",
    ],
    "day": [
        '"2001-02-30"',
        '"0000-01-01"',
        '"2001-2-3"',
        "20010203",
        '" 2001-02-03"',
        '"2001-02-03T00:00"',
        '"2000-12-31"',
        '"20010203"',
    ],
    "t": ["5", '"a\\"b"', '"x\\\\y"', '"caf\u00e9"', '"caf\\u00e9"', '""', '"a, \\"t\\": 1"'],
    "id": ["7", '"x"', "-0", "1.5", '"\u00e9"', "true", "null", "[1]", '"a\\"b"', '""'],
}


@pytest.mark.parametrize("keep", [(), ("id",)], ids=["plain", "keep-id"])
def test_every_kind_of_value_read_by_duckdb_as_python_reads_it(
    tmp_path: Path, keep: tuple[str, ...]
) -> None:
    doctrine = tmp_path / "kinds.doctrine"
    doctrine.write_text(KINDS, encoding="utf-8")
    first = {"a": "true", "k": '"v1"', "s": '"hi"', "n": "5", "day": '"2002-03-04"', "t": '"x"'}
    if keep:
        first = {"id": "1", **first}

    def line(members: dict[str, str], colon: str = ": ", comma: str = ", ") -> str:
        return "{" + comma.join(f'"{k}"{colon}{v}' for k, v in members.items()) + "}"

    lines = [line(first)]
    for name, values in ODD_VALUES.items():
        for value in values:
            lines.append(line({**first, name: value}))
            lines.append(line({name: value}))
    lines += [
        line(dict(reversed(first.items()))),  # another order: read the slower way
        line(first, ":", ","),  # compact separators in a file that uses json.dumps's
        line(first, ":", ", "),
        line({**first, "a": "true", "extra": "1"}),
        line(first).replace("}", ', "a": false}'),  # a key twice, the second last
        line(first).replace("{", '{"a": false, '),  # a key twice, the first first
        line(first)[:-1] + ",}",
        " " + line(first),
        line(first) + " ",
        line({}),
    ]
    source = tmp_path / "cases.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    extra = [x for k in keep for x in ("--keep", k)]
    text = same_output(doctrine, source, tmp_path, ".jsonl", *extra)
    assert len(text.splitlines()) == len(lines)
    # Every line its own result: compact files are read the fast way as well.
    compact = tmp_path / "compact.jsonl"
    compact.write_text(
        "\n".join([line(first, ":", ","), *lines[1:], line(first, ":", ",")]) + "\n",
        encoding="utf-8",
    )
    same_output(doctrine, compact, tmp_path, ".jsonl", *extra)
    assert read_by_duckdb(doctrine, source, keep) and read_by_duckdb(doctrine, compact, keep)
    # Block by block: CSV results (kept values as cells), and standard input.
    same_output(doctrine, source, tmp_path, ".csv", *extra)
    text = source.read_text(encoding="utf-8")
    args = ("eval", doctrine, "--batch", "-", "--input-format", "jsonl", *extra)
    duck = run_cli(*args, "--engine", "duckdb", input=text)
    python = run_cli(*args, "--engine", "python", input=text)
    assert (duck.returncode, duck.stdout, duck.stderr) == (
        python.returncode,
        python.stdout,
        python.stderr,
    )


def test_many_lines_for_the_runtime_go_to_a_pool_in_order(tmp_path: Path) -> None:
    # More lines SQL leaves (undecided, bad, blank) than sqlbatch.POOL_LINES: the runtime
    # answers them in worker processes, each in its place.
    good = '{"directed_at_plaintiff": true, "affirmative_act": true, "culpability": "intent"}'
    left = ['{"culpability": "intent"}', '{"affirmative_act": "yes"}', "", "{}"]
    lines = [good]
    for n in range(sqlbatch.POOL_LINES):
        lines += [left[n % len(left)], good] if n % 3 else [left[n % len(left)]]
    source = tmp_path / "cases.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    text = same_output(DANGER, source, tmp_path, ".jsonl", "--keep", "id")
    assert len(text.splitlines()) == len(lines) - lines.count("")
    assert read_by_duckdb(DANGER, source, ("id",))


def test_a_doctrine_that_reads_no_fact(tmp_path: Path) -> None:
    # No key to read (DuckDB refuses an empty JSON structure): it failed with an internal
    # error on DuckDB.
    doctrine = tmp_path / "none.doctrine"
    doctrine.write_text("fact a: bool\ndoctrine d {\n  element e { holds when true }\n}\n")
    source = tmp_path / "cases.jsonl"
    for text in ("{}\n{}\n", '{}\n{"a": true}\n{"b": 1}\n\n{}x\n'):
        source.write_text(text, encoding="utf-8")
        same_output(doctrine, source, tmp_path, ".jsonl")
        args = ("eval", doctrine, "--batch", "-", "--input-format", "jsonl")
        duck = run_cli(*args, "--engine", "duckdb", input=text)
        python = run_cli(*args, "--engine", "python", input=text)
        assert (duck.returncode, duck.stdout) == (python.returncode, python.stdout)


def test_a_file_sql_answers_whole_is_written_as_a_file_would_be(tmp_path: Path) -> None:
    good = '{"directed_at_plaintiff": true, "affirmative_act": true, "culpability": "intent"}\n'
    source = tmp_path / "cases.jsonl"
    source.write_text(good * 50 + '{"culpability": "none"}', encoding="utf-8")  # no last \n
    same_output(DANGER, source, tmp_path, ".jsonl")
    out = tmp_path / "duckdb.jsonl"
    assert oct(out.stat().st_mode & 0o777) != "0o600"  # not the temporary file's mode
    # Written through a symbolic link, not over it; to standard output alike.
    target = tmp_path / "target.jsonl"
    link = tmp_path / "link.jsonl"
    link.symlink_to(target)
    assert run(DANGER, source, link, "duckdb")[0] == 0
    assert link.is_symlink() and target.read_bytes() == out.read_bytes()
    proc = run_cli("eval", DANGER, "--batch", source, "--engine", "duckdb")
    assert proc.stdout.encode() == out.read_bytes()


def test_a_byte_order_mark_and_blank_lines(tmp_path: Path) -> None:
    source = tmp_path / "cases.jsonl"
    source.write_bytes(b'\xef\xbb\xbf{"culpability": "intent"}\n{"culpability": "none"}\n')
    same_output(DANGER, source, tmp_path, ".jsonl")
    source.write_bytes(b'\n  \n{"culpability": "none"}\n\t\n\n{"x": 1}\n\n')
    text = same_output(DANGER, source, tmp_path, ".jsonl")
    assert len(text.splitlines()) == 2 and b'"line": 6' in text


def test_lines_ending_in_cr_lf(tmp_path: Path) -> None:
    source = tmp_path / "cases.jsonl"
    source.write_bytes(
        b'{"culpability": "intent", "directed_at_plaintiff": true}\r\n\r\n{"x": 1}\r\n'
        b'{"affirmative_act": false}\r'
    )
    same_output(DANGER, source, tmp_path, ".jsonl")


def test_kept_columns_come_first_and_errors_carry_them(tmp_path: Path) -> None:
    source = tmp_path / "cases.jsonl"
    source.write_text(
        '{"id": 1, "culpability": "intent"}\n{"id": "two", "culpability": "x"}\n',
        encoding="utf-8",
    )
    out = tmp_path / "out.jsonl"
    assert run(DANGER, source, out, "duckdb", "--keep", "id")[0] == 2
    first, second = (json.loads(line) for line in out.read_text().splitlines())
    assert list(first)[:2] == ["id", "doctrine"] and first["id"] == 1
    assert second["id"] == "two" and second["line"] == 2 and "error" in second


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_a_kept_fact_stays_a_fact(tmp_path: Path, suffix: str) -> None:
    source = tmp_path / "cases.jsonl"
    source.write_text(
        '{"affirmative_act": true, "circuit": "9th", "culpability": "intent"}\n'
        '{"affirmative_act": "x"}\n{}\n',
        encoding="utf-8",
    )
    extra = ("--keep", "affirmative_act", "--keep", "circuit")
    text = same_output(DANGER, source, tmp_path, suffix, *extra)
    assert b"9th" in text and b"expected true or false" in text


def test_parquet_in_and_out(tmp_path: Path) -> None:
    con = duckdb.connect()
    cases = tmp_path / "cases.parquet"
    con.execute(
        "COPY (SELECT i AS id, i % 2 = 0 AS directed_at_plaintiff, TRUE AS affirmative_act,"
        " TRUE AS but_for_cause, i % 3 <> 0 AS harm_foreseeable,"
        " TRUE AS danger_known_or_obvious,"
        " CASE WHEN i % 5 = 0 THEN NULL WHEN i % 7 = 0 THEN 'bogus' ELSE 'intent' END"
        " AS culpability FROM range(200) t(i)) TO '" + str(cases) + "' (FORMAT parquet)"
    )
    for suffix in (".jsonl", ".parquet"):
        same_output(DANGER, cases, tmp_path, suffix, "--keep", "id")
    rows = con.execute(
        "SELECT id, holds, culpability, missing, error FROM read_parquet(?)",
        [str(tmp_path / "duckdb.parquet")],
    ).fetchall()
    assert rows[1] == ("1", False, True, [], None)  # id kept as its JSON text
    assert rows[10][1] is None and rows[10][3] == ["culpability"]  # undecided: missing exact
    assert rows[14][4] and "expected one of" in rows[14][4][0]  # an error record, in place


def test_an_element_the_runtime_settles_is_written_as_it_writes_it(tmp_path: Path) -> None:
    # `a or not a` is unknown by Kleene's tables with `a` unknown, and true in the runtime
    # (every value of `a` makes it so): SQL's NULL must not stand for it, even with `holds`
    # decided by the other element.
    doctrine = tmp_path / "settle.doctrine"
    doctrine.write_text(
        "fact a: bool\nfact b: bool\ndoctrine d {\n  element x { holds when b }\n"
        "  element y { holds when a or not a }\n  element z { holds when a }\n}\n",
        encoding="utf-8",
    )
    source = tmp_path / "cases.jsonl"
    source.write_text('{"b": false}\n{"b": true, "a": true}\n{}\n', encoding="utf-8")
    text = same_output(doctrine, source, tmp_path, ".jsonl")
    first = json.loads(text.splitlines()[0])
    assert first["holds"] is False and first["elements"] == {"x": False, "y": True, "z": None}


def test_switches_and_open_outcomes_in_parquet(tmp_path: Path) -> None:
    con = duckdb.connect()
    cases = tmp_path / "cases.parquet"
    con.execute(
        "COPY (SELECT i AS id, CASE i % 4 WHEN 0 THEN '9th' WHEN 1 THEN '4th' WHEN 2 THEN '5th'"
        " END AS circuit, i % 3 = 0 AS affirmative_act, i % 5 <> 0 AS directed_at_plaintiff,"
        " TRUE AS persuasive_consensus FROM range(40) t(i)) TO '" + str(cases) + "'"
        " (FORMAT parquet)"
    )
    for suffix in (".jsonl", ".parquet"):
        same_output(QI, cases, tmp_path, suffix, "--keep", "id")
    rows = con.execute(
        "SELECT c.id, c.circuit, r.holds, r.open FROM read_parquet(?) r"
        " JOIN read_parquet(?) c ON CAST(r.id AS BIGINT) = c.id ORDER BY c.id",
        [str(tmp_path / "duckdb.parquet"), str(cases)],
    ).fetchall()
    opened = [r for r in rows if r[3]]
    assert opened and all(r[1] == "5th" and r[2] is None for r in opened)
    assert "Ninth and Fourth Circuits only" in opened[0][3][0]
    assert any(r[2] is not None for r in rows)  # others decided (by SQL) with no `open`


def test_two_burdens_on_one_fact_in_batches(tmp_path: Path) -> None:
    # The first burden whose condition holds wins: while the first's condition is unknown, the
    # second does not settle the fact (SQL once let it, and gave `false` where Python waits).
    doctrine = tmp_path / "two.doctrine"
    doctrine.write_text(
        'fact a: bool means "a"\nfact b: bool means "b"\nfact x: bool means "x"\n'
        "doctrine two {\n  element e { holds when x }\n"
        '  absent x counts as true when a { because "first" }\n'
        '  absent x counts as false when b { because "second" }\n}\n',
        encoding="utf-8",
    )
    cases = tmp_path / "cases.jsonl"
    lines = ['{"b": true}', '{"a": false, "b": true}', '{"a": true, "b": true}', "{}"]
    cases.write_text("\n".join(lines) + "\n", encoding="utf-8")
    same_output(doctrine, cases, tmp_path, ".jsonl")
    first = json.loads((tmp_path / "duckdb.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert (first["holds"], first["missing"]) == (None, ["a"])


def test_a_burden_whose_condition_of_two_parts_is_unknown_in_batches(tmp_path: Path) -> None:
    # `a and b` with `a` unknown and `b` true is unknown: the fact waits on it. SQL once read
    # `a AND b IS NULL` as `a AND (b IS NULL)`, false here, and let the second burden settle
    # the outcome as true (found by the fuzz step's differential test on DuckDB).
    doctrine = tmp_path / "parts.doctrine"
    doctrine.write_text(
        'fact a: bool means "a"\nfact b: bool means "b"\nfact x: bool means "x"\n'
        "doctrine parts {\n  element e { holds when x }\n"
        '  absent x counts as false when a and b { because "first" }\n'
        '  absent x counts as true { because "second" }\n}\n',
        encoding="utf-8",
    )
    cases = tmp_path / "cases.jsonl"
    lines = ['{"b": true}', '{"a": true, "b": true}', '{"a": false}', '{"b": false}', "{}"]
    cases.write_text("\n".join(lines) + "\n", encoding="utf-8")
    same_output(doctrine, cases, tmp_path, ".jsonl")
    results = (tmp_path / "duckdb.jsonl").read_text(encoding="utf-8").splitlines()
    outcomes = [(r["holds"], r["missing"]) for r in map(json.loads, results)]
    assert outcomes == [(None, ["a"]), (False, []), (True, []), (True, []), (None, ["a", "b"])]


@settings(
    max_examples=examples(4),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(source=doctrine_sources(laws=True), data=st.data())
def test_generated_switches_open_outcomes_and_burdens_in_batches(
    tmp_path: Path, source: str, data: st.DataObject
) -> None:
    doctrine = tmp_path / "gen.doctrine"
    doctrine.write_text(source, encoding="utf-8")
    try:
        program = compile_files([doctrine])[0].program
    except DoctrineError:
        return
    cases = data.draw(st.lists(fact_patterns(program), min_size=1, max_size=30))
    cases_file = write_cases(tmp_path, cases)
    for d in program.doctrines:
        same_output(doctrine, cases_file, tmp_path, ".jsonl", "--doctrine", d.name)


def test_a_parquet_column_that_is_no_fact_is_refused(tmp_path: Path) -> None:
    con = duckdb.connect()
    cases = tmp_path / "cases.parquet"
    con.execute(f"COPY (SELECT 1 AS culpabilty) TO '{cases}' (FORMAT parquet)")
    proc = run_cli("eval", DANGER, "--batch", cases, "--engine", "duckdb")
    assert proc.returncode == 2
    assert "`culpabilty` is not a fact; did you mean 'culpability'?" in proc.stderr


def test_standard_input_with_a_format(tmp_path: Path) -> None:
    text = '{"culpability": "intent"}\n{"culpability": "none"}\n'
    proc = run_cli(
        "eval", DANGER, "--batch", "-", "--input-format", "jsonl", "--engine", "duckdb", input=text
    )
    assert proc.returncode == 0, proc.stderr
    python = run_cli("eval", DANGER, "--batch", "-", "--engine", "python", input=text)
    assert proc.stdout == python.stdout and len(proc.stdout.splitlines()) == 2


def test_usage_errors(tmp_path: Path) -> None:
    source = tmp_path / "c.jsonl"
    source.write_text("{}\n", encoding="utf-8")
    proc = run_cli("eval", DANGER, "--batch", source, "--engine", "duckdb", "--jobs", "2")
    assert proc.returncode == 2 and "--jobs goes with --engine python" in proc.stderr
    proc = run_cli("eval", DANGER, "--batch", source, "--keep", "holds")
    assert proc.returncode == 2 and "--keep holds" in proc.stderr
    proc = run_cli("eval", DANGER, "--batch", source, "-o", source)
    assert proc.returncode == 2 and "this is the input file" in proc.stderr


@pytest.mark.heavy
@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_spark_writes_the_python_engines_bytes(tmp_path: Path, suffix: str) -> None:
    good = '{"directed_at_plaintiff": true, "affirmative_act": true, "culpability": "intent"}'
    lines = []
    for line in HOSTILE:
        lines += [line, good, '{"culpability": "none", "id": 3}']
    source = tmp_path / "cases.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for doctrine in (DANGER, QI, TRADE):
        outs = {}
        for engine in ("python", "spark"):
            out = tmp_path / f"{engine}{suffix}"
            outs[engine] = (run(doctrine, source, out, engine, "--keep", "id"), out.read_bytes())
        assert outs["spark"] == outs["python"], doctrine


@pytest.mark.heavy
@pytest.mark.parametrize("doctrine", DOCTRINES, ids=[p.stem for p in DOCTRINES])
def test_spark_agrees_on_random_cases_of_every_library_doctrine(
    doctrine: Path, tmp_path: Path
) -> None:
    pytest.importorskip("pyspark")
    program = compile_files([doctrine])[0].program

    @settings(
        max_examples=2,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(st.lists(fact_patterns(program), min_size=1, max_size=40))
    def agree(cases: list[dict[str, Any]]) -> None:
        source = write_cases(tmp_path, cases)
        outs = {}
        for engine in ("python", "spark"):
            out = tmp_path / f"{engine}.jsonl"
            outs[engine] = (run(doctrine, source, out, engine), out.read_bytes())
        assert outs["spark"] == outs["python"]

    agree()


@pytest.mark.heavy
def test_with_doctrine_adds_the_columns_to_a_dataframe() -> None:
    from compiler.tools.sparkbatch import session, with_doctrine

    spark = session()
    df = spark.createDataFrame(
        [(1, True, True, True, True, True, "intent"), (2, True, None, True, True, True, "none")],
        "id INT, directed_at_plaintiff BOOLEAN, affirmative_act BOOLEAN, but_for_cause BOOLEAN,"
        " harm_foreseeable BOOLEAN, danger_known_or_obvious BOOLEAN, culpability STRING",
    )
    rows = with_doctrine(df, DANGER).orderBy("id").collect()
    assert [(r["id"], r["holds"], r["culpability"], r["missing"]) for r in rows] == [
        (1, True, True, "[]"),
        (2, False, False, "[]"),
    ]
