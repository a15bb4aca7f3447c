"""Doctrines compiled to SQL: the same three-valued answers as the Python engine, in DuckDB and in
SQLite (which Python ships), on every library doctrine and on random ones; the other dialects'
SQL parses back; what a dialect lacks is refused by name; `doctrine compile --target sql`."""

from __future__ import annotations

import datetime
import json
import sqlite3
import tempfile
import types
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import compiled_library, doctrine_sources, fact_patterns
from support import doctrine_file, examples, run_cli

from compiler.checking import ir
from compiler.codegen.compile import compile_files, compile_source, module_from_source
from compiler.codegen.sql import DIALECTS, SqlCompiler, SqlError, doctrine_sql
from compiler.errors import DoctrineError
from compiler.tools.sqlbatch import duckdb_type

FAST = settings(
    max_examples=examples(3),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


_COMPILED = compiled_library()
_DOCTRINES = sorted(
    {
        d.name: name
        for name, (compiled, _) in _COMPILED.items()
        for d in compiled.program.doctrines
        if d.module == compiled.program.name.split(".")[-1]
    }.items()
)


def python_answers(module: types.ModuleType, doctrine: str, cases: list[dict[str, Any]]) -> list:
    # SQL computes Kleene's three-valued table; the Python result then settles what every
    # completion of the unknown facts agrees on (`x or not x`), which SQL does not: compare
    # with the generated functions' own (Kleene) values.
    out = []
    evaluator = module.DOCTRINES[doctrine]
    for facts in cases:
        holds, elements = evaluator._values(evaluator.prepare(dict(facts)))
        out.append((holds, dict(elements)))
    return out


def _rows(compiler: SqlCompiler, cases: list[dict[str, Any]]) -> tuple[list[str], list[list]]:
    names = sorted(compiler.reads)
    rows = []
    for facts in cases:
        row = []
        for name in names:
            value = facts.get(name)
            t = compiler.reads[name].type
            if value is not None and t.kind == "list":
                assert t.record is not None
                value = [{f.name: item.get(f.name) for f in t.record.fields} for item in value]
            row.append(value)
        rows.append(row)
    return names, rows


def duckdb_answers(program: ir.Program, doctrine: str, cases: list[dict[str, Any]]) -> list:
    compiler = SqlCompiler(program, doctrine, "duckdb")
    sql = compiler.sql(keep=["case_no"])
    names, rows = _rows(compiler, cases)
    con = duckdb.connect()
    columns = ", ".join(
        ['"case_no" INTEGER', *(f'"{n}" {duckdb_type(compiler.reads[n].type)}' for n in names)]
    )
    con.execute(f"CREATE TABLE cases ({columns})")
    if rows:
        marks = ", ".join("?" * (len(names) + 1))
        con.executemany(
            f"INSERT INTO cases VALUES ({marks})", [[i, *r] for i, r in enumerate(rows)]
        )
    cursor = con.execute(sql)
    got = cursor.fetchall()
    labels = [label for label, _ in compiler.doctrine.slots]
    columns = [c[0] for c in cursor.description]
    tail = ["missing", "open"] if compiler.can_be_open() else ["missing"]
    assert columns == ["case_no", "holds", *labels, *tail]
    assert [r[0] for r in got] == list(range(len(cases)))  # kept, in order
    for r in got:
        for value in r[2 + len(labels) :]:  # missing (and open): `[]` when decided, else NULL
            assert value == ("[]" if r[1] is not None else None)
    return [(r[1], dict(zip(labels, r[2 : 2 + len(labels)]))) for r in got]


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, list):
        return json.dumps(value, default=lambda d: d.isoformat())
    return value


def sqlite_answers(program: ir.Program, doctrine: str, cases: list[dict[str, Any]]) -> list:
    compiler = SqlCompiler(program, doctrine, "sqlite")
    sql = compiler.sql()
    names, rows = _rows(compiler, cases)
    con = sqlite3.connect(":memory:")
    con.execute("CREATE TABLE cases (" + ", ".join(['"__n"', *(f'"{n}"' for n in names)]) + ")")
    con.executemany(
        f"INSERT INTO cases VALUES ({', '.join('?' * (len(names) + 1))})",
        [[i, *(_sqlite_value(v) for v in r)] for i, r in enumerate(rows)],
    )
    labels = [label for label, _ in compiler.doctrine.slots]

    def truth(v: Any) -> bool | None:
        return None if v is None else bool(v)

    return [
        (truth(r[0]), {label: truth(v) for label, v in zip(labels, r[1 : 1 + len(labels)])})
        for r in con.execute(sql).fetchall()
    ]


# ---------------------------------------------------------------- the library


def test_the_library_has_what_sql_must_handle() -> None:
    doctrines = [d for c, _ in _COMPILED.values() for d in c.program.doctrines]
    assert any(d.precedents for d in doctrines)  # library records filled in SQL
    assert any(d.closed_world for d in doctrines)  # absent bools false
    assert any(
        isinstance(n, ir.Chain)
        for c, _ in _COMPILED.values()
        for e in c.program.elements
        for n in ir.walk(e.expr)
    )


def test_the_library_has_switches_open_outcomes_and_burdens() -> None:
    # The law's circuit switches, open questions and burdens of proof are written in SQL too.
    nodes = [n for c, _ in _COMPILED.values() for e in c.program.elements for n in ir.walk(e.expr)]
    assert any(isinstance(n, ir.Switch) for n in nodes)
    assert any(isinstance(n, ir.Open) for n in nodes)
    assert any(
        p.cond is not None and p.type.kind == "list"
        for c, _ in _COMPILED.values()
        for e in c.program.elements
        for p in e.presumptions
    )


@pytest.mark.property
@pytest.mark.parametrize(
    ("doctrine", "file"),
    _DOCTRINES,
    ids=[d for d, _ in _DOCTRINES],
)
def test_library_doctrine_on_duckdb_and_sqlite_agrees_with_python(doctrine: str, file: str) -> None:
    compiled, module = _COMPILED[file]

    @FAST
    @given(st.lists(fact_patterns(compiled.program), min_size=1, max_size=40))
    def agree(cases: list[dict[str, Any]]) -> None:
        want = python_answers(module, doctrine, cases)
        assert duckdb_answers(compiled.program, doctrine, cases) == want, cases
        assert sqlite_answers(compiled.program, doctrine, cases) == want, cases

    agree()


@pytest.mark.parametrize("file", sorted(_COMPILED))
def test_library_cases_on_duckdb_agree_with_python(file: str) -> None:
    compiled, module = _COMPILED[file]
    by_doctrine: dict[str, list[dict[str, Any]]] = {}
    for case in compiled.program.cases:
        given_facts = dict(case.given)
        for left_out in [None, *given_facts]:
            facts = {k: v for k, v in given_facts.items() if k != left_out}
            by_doctrine.setdefault(case.doctrine, []).append(facts)
    for doctrine, cases in by_doctrine.items():
        want = python_answers(module, doctrine, cases)
        assert duckdb_answers(compiled.program, doctrine, cases) == want, doctrine


def _program(source: str) -> ir.Program | None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "gen.doctrine"
        path.write_text(source, encoding="utf-8")
        try:
            return compile_files([path])[0].program
        except DoctrineError:
            return None


@settings(
    max_examples=examples(4),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(doctrine_sources(), st.data())
def test_generated_doctrines_on_duckdb_and_sqlite_agree_with_python(
    source: str, data: st.DataObject
) -> None:
    _generated_agree(source, data)


@settings(
    max_examples=examples(4),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(doctrine_sources(laws=True), st.data())
def test_generated_switches_open_outcomes_burdens_and_thresholds_agree(
    source: str, data: st.DataObject
) -> None:
    _generated_agree(source, data)


def _generated_agree(source: str, data: st.DataObject) -> None:
    program = _program(source)
    if program is None:
        return
    cases = data.draw(st.lists(fact_patterns(program), min_size=1, max_size=12))
    assert not sql_disagreements(source, program, cases), cases


def sql_disagreements(source: str, program: ir.Program, cases: list[dict[str, Any]]) -> list[str]:
    """Where each doctrine's SQL, on DuckDB and on SQLite, gives other three-valued answers
    than the generated Python code on these cases (empty: they agree). scripts/fuzz_long.py
    runs the same check for longer."""
    module = module_from_source(compile_source(source, "gen"), "gen", "gen.doctrine")
    out = []
    for d in program.doctrines:
        want = python_answers(module, d.name, cases)
        if (duck := duckdb_answers(program, d.name, cases)) != want:
            out.append(f"{d.name}: duckdb {duck}, python {want}")
        try:
            lite = sqlite_answers(program, d.name, cases)
        except sqlite3.OperationalError as exc:
            # SQLite's parser has a fixed stack: quantifiers nested many deep exceed it
            # (docs/batch.md says so); any other refusal is a bug.
            if "parser stack overflow" not in str(exc):
                out.append(f"{d.name}: sqlite refused: {exc}")
            continue
        if lite != want:
            out.append(f"{d.name}: sqlite {lite}, python {want}")
    return out


def test_sqlite_computes_each_layer_of_the_query_once() -> None:
    # A generated doctrine of some depth, found by the long fuzz run's SQL target: SQLite
    # flattened each layer of the query into the next, about ten million steps of its machine
    # (half a minute and 4 GB) for one case. Each layer is now materialized. Work, not time,
    # is bounded here: SQLite calls the handler once per thousand steps.
    path = Path(__file__).parent / "data" / "sql" / "layers.doctrine"
    program = _program(path.read_text(encoding="utf-8"))
    assert program is not None
    for d in program.doctrines:
        compiler = SqlCompiler(program, d.name, "sqlite")
        sql = compiler.sql()  # (which also records the facts the query reads)
        names, rows = _rows(compiler, [{}])
        con = sqlite3.connect(":memory:")
        con.execute("CREATE TABLE cases (" + ", ".join(['"__n"', *map(json.dumps, names)]) + ")")
        con.execute(
            f"INSERT INTO cases VALUES ({', '.join('?' * (len(names) + 1))})", [0, *rows[0]]
        )
        calls: list[int] = []

        def tick(calls: list[int] = calls) -> bool:
            calls.append(1)
            return len(calls) > 1000  # stop the query: far past the bound below

        con.set_progress_handler(tick, 1000)
        assert len(con.execute(sql).fetchall()) == 1, d.name
        assert len(calls) < 100, (d.name, len(calls))


def test_a_disagreement_would_be_seen() -> None:
    # The comparison itself can fail: a doctrine's SQL against another doctrine's answers.
    compiled, _ = _COMPILED["state_created_danger.doctrine"]
    cases = [{"directed_at_plaintiff": True, "affirmative_act": True}, {}]
    assert duckdb_answers(compiled.program, "state_created_danger", cases) != [
        (True, {}),
        (True, {}),
    ]


# ---------------------------------------------------------------- the NULL traps


def _one(source: str, facts: dict[str, Any]) -> tuple[Any, Any, Any]:
    program = _program(source)
    assert program is not None
    module = module_from_source(compile_source(source, "t"), "t", "t.doctrine")
    name = program.doctrines[0].name
    return (
        python_answers(module, name, [facts])[0],
        duckdb_answers(program, name, [facts])[0],
        sqlite_answers(program, name, [facts])[0],
    )


@pytest.mark.parametrize(
    ("source", "facts"),
    [
        # An ordered enum against a constant: unknown stays unknown (no `x IN (..., NULL)`).
        ("fact c: enum (lo < mid < hi)\ndoctrine d { element e { holds when c >= mid } }", {}),
        ("fact c: enum (lo < mid < hi)\ndoctrine d { element e { holds when c >= lo } }", {}),
        (
            "fact c: enum (lo < mid < hi)\ndoctrine d { element e { holds when not (c > hi) } }",
            {"c": "hi"},
        ),
        # Enum inequality with the value unknown (`NOT IN` with NULL).
        ("fact k: enum (a, b)\ndoctrine d { element e { holds when k != a } }", {}),
        # A rule whose unknown branch agrees with the rest settles; one that does not, not.
        (
            "fact a: bool\nfact b: bool\ndoctrine d { element e {\n  general rule false\n"
            "  exception one when a then true { over two }\n  exception two when b then true\n} }",
            {"b": True},
        ),
        # `every` over an empty list is true; `some` false; over an unknown list, unknown.
        (
            "record r { x: bool }\nfact l: list of r\n"
            "doctrine d { element e { holds when every i in l where i.x } }",
            {"l": []},
        ),
        (
            "record r { x: bool }\nfact l: list of r\n"
            "doctrine d { element e { holds when some i in l where i.x } }",
            {},
        ),
        # An absent optional field makes a comparison false even beside an unknown fact.
        (
            "record r { when: optional date }\nfact day: date\nfact l: list of r\n"
            "doctrine d { element e { holds when some i in l where i.when < day } }",
            {"l": [{}]},
        ),
        # A switch with its fact unknown: the arms' agreement (`otherwise` is not among them).
        (
            'fact c: text\nfact a: bool\ndoctrine d { element e { holds by c {\n  "x" then a\n'
            '  "y" then a\n  otherwise open "no test here"\n} } }',
            {"a": True},
        ),
        (
            'fact c: text\nfact a: bool\ndoctrine d { element e { holds by c {\n  "x" then a\n'
            '  "y" then not a\n  otherwise false\n} } }',
            {"a": True},
        ),
        # ... and known: its arm, else `otherwise` (here open: unknown whatever the facts).
        (
            'fact c: text\nfact a: bool\ndoctrine d { element e { holds by c {\n  "x" then a\n'
            '  otherwise open "no test here"\n} } }',
            {"a": True, "c": "z"},
        ),
        # An open default of a rule, reached after an exception that may apply.
        (
            "fact a: bool\ndoctrine d { element e {\n"
            '  general rule open "unsettled"\n  exception x when a then true\n} }',
            {},
        ),
        # A burden: an absent list counts as empty on a condition read from the case.
        (
            "record r { x: bool }\nfact l: list of r\nfact c: text\n"
            "doctrine d { element e { holds when every i in l where i.x\n"
            '  absent l counts as [] when c == "9th" { because "b" } } }',
            {"c": "9th"},
        ),
        # A failed threshold: the elements after it are not reached (unknown).
        (
            "fact a: bool\nfact b: bool\n"
            "doctrine d {\n  threshold t { holds when a }\n  element e { holds when b }\n}",
            {"a": False, "b": True},
        ),
    ],
)
def test_null_traps(source: str, facts: dict[str, Any]) -> None:
    python, duck, lite = _one(source, facts)
    assert duck == python
    assert lite == python


@pytest.mark.parametrize(
    ("requirement", "final"),
    [
        ("a and (b or not c)", True),  # each fact in one test: Kleene's NULL is the answer
        ("k == v1 or (n > 2 and not a)", True),
        ("a or not a", False),  # `x or not x`: the runtime settles it, Kleene does not
        ("(a and b) or (a and c)", False),
        ("s >= lo", False),  # every value passes: true whatever s is
        ("s >= mid and b", True),
        ("at least 1 of (a, b)", False),  # not analysed: to the runtime
        ("day > 2001-01-01", True),
        ("day >= 0001-01-01", False),  # every date is on or after the first
    ],
)
def test_which_elements_kleene_decides_as_the_runtime(requirement: str, final: bool) -> None:
    source = (
        "fact a: bool\nfact b: bool\nfact c: bool\nfact k: enum (v1, v2)\nfact n: number\n"
        "fact day: date\n"
        f"fact s: enum (lo < mid < hi)\ndoctrine d {{ element e {{ holds when {requirement} }} }}"
    )
    program = _program(source)
    assert program is not None
    assert SqlCompiler(program, "d").kleene_final("e") is final


# ---------------------------------------------------------------- dialects


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_dialect_parses_back_or_refuses_by_name(dialect: str) -> None:
    for doctrine, file in _DOCTRINES:
        program = _COMPILED[file][0].program
        try:
            text = doctrine_sql(program, doctrine, dialect, keep=["id"])
        except SqlError as exc:
            assert dialect in str(exc) and "list of records" in str(exc)
            continue
        tree = sqlglot.parse_one(text, read=dialect)
        assert tree.find(sqlglot.exp.Select) is not None
        # Never IS TRUE / IS FALSE (whose translations lose NULL), never an untyped NULL.
        assert " IS TRUE" not in text.upper() and " IS FALSE" not in text.upper()


def test_the_refusal_names_what_the_dialect_lacks() -> None:
    program = _COMPILED["qualified_immunity_state_created_danger.doctrine"][0].program
    lacks = r"postgres dialect is not supported .* \(`authorities`\)"
    with pytest.raises(SqlError, match=lacks):
        doctrine_sql(program, "qualified_immunity_state_created_danger", "postgres")


def test_sql_is_deterministic() -> None:
    program = _COMPILED["trade_secrets/trade_secret_misappropriation.doctrine"][0].program
    first = doctrine_sql(program, "trade_secret_misappropriation", "spark")
    again = doctrine_sql(program, "trade_secret_misappropriation", "spark")
    assert first == again


# ---------------------------------------------------------------- the command line


def test_compile_target_sql_writes_a_query(tmp_path: Path) -> None:
    out = tmp_path / "danger.sql"
    proc = run_cli(
        "compile",
        doctrine_file("state_created_danger"),
        "--target",
        "sql",
        "--dialect",
        "duckdb",
        "--table",
        "claims",
        "--keep",
        "id",
        "-o",
        out,
    )
    assert proc.returncode == 0, proc.stderr
    text = out.read_text(encoding="utf-8")
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE claims AS SELECT 7 AS id, TRUE AS directed_at_plaintiff, TRUE AS"
        " affirmative_act, TRUE AS but_for_cause, TRUE AS harm_foreseeable,"
        " TRUE AS danger_known_or_obvious, 'intent' AS culpability"
    )
    assert con.execute(text).fetchall() == [(7, True, True, True, True, True, "[]")]
    assert oct(out.stat().st_mode & 0o777) != "0o600"


def test_compile_target_sql_refuses_clearly() -> None:
    qi = doctrine_file("qualified_immunity_state_created_danger")
    proc = run_cli("compile", qi, "--target", "sql", "--dialect", "postgres")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "not supported" in proc.stderr and "authorities" in proc.stderr
    plain = doctrine_file("state_created_danger")
    proc = run_cli("compile", plain, "--target", "sql", "--keep", "holds")
    assert proc.returncode == 2 and "--keep holds" in proc.stderr
    proc = run_cli("compile", qi, "--dialect", "spark")
    assert proc.returncode == 2 and "--target sql" in proc.stderr
