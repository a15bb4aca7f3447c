"""Batches on DuckDB: the doctrine's SQL over the cases, the Python runtime for the rows SQL leaves.

The reader never guesses. For each line (or Parquet row) the query also decides whether SQL's
answer is certainly the Python engine's: the line is plain printable ASCII, one JSON object
whose every key is a fact of the vocabulary or a kept column, given once, each value of its
fact's type (bools, words of the enum, ISO dates, finite numbers of at most 15 digits, text;
kept values that are short numbers, plain text, true, false or null), no explicit null, no
list, and `holds` decided (an undecided case needs `missing`, which the runtime computes
exactly). Every other line — a bad one, an undecided one, one with a list of records — goes to
the Python engine, which writes its result or its error record. So the output is the Python
engine's, byte for byte, whatever the input; only the speed differs.

How a line is known to have no unknown or repeated key without a second parse: with no
backslash in the line every `"` delimits a string, so the line has exactly two quotes per key
plus the quotes of its values; and exactly one comma between members plus those inside its
values (which also rules out DuckDB's tolerance of trailing commas).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import functools
import itertools
import json
import os
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any

import sqlglot
from sqlglot import exp

from ..checking import ir
from ..codegen.sql import SqlCompiler
from ..runtime import Evaluator
from .batch import BatchError, Chunk, Done, _ordered, evaluate_items

BLOCK_BYTES = 1 << 21  # JSON Lines given to DuckDB at once: whole lines, about 2 MiB
THREADS = 2  # blocks evaluated at once, each by its own DuckDB cursor
# Lines of a file the runtime answers (undecided, bad) from which a pool of processes does:
# fewer cost less than starting it.
POOL_LINES = 2000
MEMORY = "512MB"  # DuckDB's memory limit
PARQUET_ROWS = 1 << 16  # Parquet rows the Python engine reads at once
# A kept value's JSON text as a CSV cell shows it the same way (see _KEPT_EXACT), with no
# comma in its text (the writer would quote the cell).
_KEPT_CSV = r'0|-?[1-9][0-9]{0,14}|true|false|"[ !#-+\--\[\]-~]*"'
_NUMBER = r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?"
SLOW = b"\x00\n"  # json_file's line for a row SQL leaves to the runtime
_TABLE = 729  # results looked up rather than joined while 3 ** elements is at most this
_EXACT = 9007199254740992  # 2**53: whole numbers below it are exact as doubles
# A line whose shape SQL can vouch for (see DuckBatch.file_cases): a flat object of plain
# members, as json.dumps writes it (with its default or compact separators).
_MEMBER = r'"[ !#-\[\]-~]*": ?(true|false|"[ !#-\[\]-~]*"|-?(0|[1-9][0-9]{0,14})(\.[0-9]{1,15})?)'
_SHAPED = r"\{(" + _MEMBER + "(, ?" + _MEMBER + r")*)?\}"
# A kept value json.dumps writes back the same: a short whole number (not -0), plain text,
# true or false.
_KEPT_EXACT = r'0|-?[1-9][0-9]{0,14}|true|false|"[ !#-\[\]-~]*"'


def _unescaped(text: str) -> bool:
    """Whether JSON writes `text` as it is between its quotes (printable ASCII, no quote or
    backslash)."""
    return all(" " <= c <= "~" and c not in '"\\' for c in text)


def _sql(text: str, **nodes: exp.Expr) -> exp.Expr:
    """A small DuckDB expression with named placeholders filled by expression nodes."""
    return exp.replace_placeholders(_template(text).copy(), **nodes)


@functools.cache
def _template(text: str) -> exp.Expr:
    """A template of `_sql`, parsed once (a copy of the tree costs less than a parse)."""
    return sqlglot.parse_one(text, read="duckdb")


def _int(n: int) -> exp.Expr:
    return exp.Literal.number(n)


def _str(text: str) -> exp.Expr:
    return exp.Literal.string(text)


def _quotes(e: exp.Expr) -> exp.Expr:
    return _sql("length(:e) - length(replace(:e, '\"', ''))", e=e)


def _texts(select: exp.Select, names: Sequence[str]) -> exp.Select:
    """`select` with each named member of the parsed object `s` as text, `__v0`, `__v1`, ...:
    compared with text, a JSON value would cast the other side to JSON."""
    for n, name in enumerate(names):
        field = exp.Dot(this=exp.column("s"), expression=exp.to_identifier(name, quoted=True))
        select = select.select(
            exp.alias_(exp.Cast(this=field, to=exp.DataType.build("VARCHAR")), f"__v{n}")
        )
    return select


def _commas(e: exp.Expr) -> exp.Expr:
    return _sql("length(:e) - length(replace(:e, ',', ''))", e=e)


def duckdb_type(t: ir.FactType) -> str:
    """The DuckDB column type of a fact."""
    if t.kind == "bool":
        return "BOOLEAN"
    if t.kind == "number":
        return "DOUBLE"
    if t.kind == "date":
        return "DATE"
    if t.kind == "list" and t.record is not None:
        fields = ", ".join(f'"{f.name}" {duckdb_type(f.type)}' for f in t.record.fields)
        return f"STRUCT({fields})[]"
    return "VARCHAR"


def _connect(bounded: bool = True) -> Any:
    try:
        import duckdb
    except ImportError:
        raise BatchError(
            "the duckdb engine needs the sql extra: pip install 'doctrine[sql]'"
            " (or use --engine python)"
        ) from None
    # A memory limit keeps DuckDB's buffers bounded (its results keep the input's order, and
    # it would otherwise hold more as the input grows); beyond it DuckDB spills to disk. Not
    # for reading results back into Parquet, whose reader sizes its buffer by the largest
    # record it allows (an error record may quote a long line).
    config: dict[str, Any] = {"threads": THREADS}
    if bounded:
        config["memory_limit"] = MEMORY
    return _quiet(duckdb.connect(config=config))


def _quiet(con: Any) -> Any:
    """A connection (or cursor) without DuckDB's own progress bar, which would draw on the
    terminal beside ours (a setting of each connection, not of the database)."""
    con.execute("SET enable_progress_bar = false")
    return con


@dataclasses.dataclass
class _Generic:
    """How a line that is not canonical is read: the select that adds its columns, whether
    it is vouched for, each fact's value and each kept column's text."""

    select: Callable[[exp.Select], exp.Select]
    fast: exp.Expr
    values: dict[str, exp.Expr]
    kept: dict[str, exp.Expr]


class DuckBatch:
    """One doctrine's batch query on DuckDB, for JSON Lines blocks or a Parquet file."""

    def __init__(
        self,
        evaluator: Evaluator,
        program: ir.Program,
        keep: Sequence[str],
        output: str,
    ):
        self.evaluator = evaluator
        self.program = program
        self.keep = tuple(keep)
        self.output = output
        self.compiler = SqlCompiler(program, evaluator.name, "duckdb")
        self.facts = {f.name: f for f in program.facts}
        self.vocabulary = list(evaluator.schema.names)  # a kept fact is a fact as well
        # The doctrine's query, compiled once (SqlError: a construct SQL cannot write); it
        # also tells which facts the doctrine reads.
        self.query: exp.Select | None = self._compile(self.compiler)
        self.reads = set(self.compiler.reads)  # the facts the doctrine reads
        # Elements whose NULL the runtime may settle (`x or not x`): such a row is its.
        self.unsettled = [
            label
            for label, _ in self.compiler.doctrine.slots
            if not self.compiler.kleene_final(label)
        ]
        self.can_be_open = self.compiler.can_be_open()
        self.con = _connect()

    def _compile(self, compiler: SqlCompiler) -> exp.Select:
        """The doctrine's query over `__dcases`, the columns the batch carries through."""
        query = compiler.query("__dcases", ("__i", "__fast", *(f"__k{n}" for n in self.keep)))
        assert isinstance(query, exp.Select)
        return query

    def decided(self) -> exp.Expr:
        """Whether SQL's answer for a row is the runtime's: a plain row, `holds` decided, and
        no element unknown that the runtime could settle."""
        tests = [_sql("__fast AND holds IS NOT NULL")]
        for label in self.unsettled:
            column = exp.column(label, quoted=True)
            tests.append(exp.Not(this=exp.Is(this=column, expression=exp.Null())))
        return exp.and_(*tests)

    # ------------------------------------------------------------ what the doctrine gives

    def results(self) -> exp.Select:
        """The doctrine's query over `__dcases`, with the text of each fast row's result."""
        # The query compiled first, once; a second one from a compiler of its own (a tree's
        # nodes belong to one tree).
        query = self.query or self._compile(SqlCompiler(self.program, self.evaluator.name))
        self.query = None
        # `__dcases` gives __fast, __i, and for each kept column __kNAME: its JSON text (or,
        # for CSV output, its cell) when it is written the way the Python engine writes it.
        labels = [label for label, _ in self.compiler.doctrine.slots]

        def word(e: exp.Expr, csv: bool) -> exp.Expr:
            return _sql(
                "CASE WHEN :e THEN 'true' WHEN NOT :e THEN 'false' ELSE :u END",
                e=e,
                u=_str("unknown" if csv else "null"),
            )

        parts: list[exp.Expr] = []
        if self.output == "csv":
            for name in self.keep:
                parts += [exp.column(f"__k{name}", quoted=True), _str(",")]
            parts += [word(exp.column("holds", quoted=True), True), _str(",")]
            for label in labels:
                parts += [word(exp.column(label, quoted=True), True), _str(",")]
            parts += [_str(",")]
        else:
            if self.keep or 3 ** len(labels) > _TABLE:
                parts.append(_str("{"))
            for name in self.keep:
                parts += [_str(json.dumps(name) + ": "), exp.column(f"__k{name}", quoted=True)]
                parts.append(_str(", "))
            if 3 ** len(labels) <= _TABLE:
                # Without kept columns, the brace is in the table: a row's text is then one
                # of its strings, not a new one.
                parts.append(self.table(labels, "" if self.keep else "{"))
            else:
                parts.append(_str('"doctrine": ' + json.dumps(self.evaluator.name) + ', "holds": '))
                parts.append(word(exp.column("holds", quoted=True), False))
                parts.append(_str(', "elements": {'))
                for n, label in enumerate(labels):
                    parts.append(_str((", " if n else "") + json.dumps(label) + ": "))
                    parts.append(word(exp.column(label, quoted=True), False))
                parts.append(_str('}, "missing": []}'))
        text = exp.func("concat", *parts) if len(parts) > 1 else parts[0]
        fast = self.decided()
        outer = exp.select(
            exp.column("__i"),
            exp.alias_(fast, "fast"),
            exp.alias_(_sql("CASE WHEN :f THEN :t END", f=fast.copy(), t=text), "out"),
        ).from_(exp.Subquery(this=query, alias=exp.TableAlias(this=exp.to_identifier("q"))))
        return outer

    def table(self, labels: Sequence[str], brace: str = "") -> exp.Expr:
        """A decided row's result after its kept columns (after `brace`, when there are
        none), looked up among all of them (each written once, by json.dumps as the Python
        engine writes it) by a number made of `holds` and the elements: cheaper per row than
        joining the pieces."""
        texts = []
        for combo in itertools.product((False, True), *[(False, True, None)] * len(labels)):
            record: dict[str, Any] = {
                "doctrine": self.evaluator.name,
                "holds": combo[0],
                "elements": dict(zip(labels, combo[1:])),
                "missing": [],
            }
            texts.append(_str(brace + json.dumps(record)[1:]))
        # The number: holds is the first digit (base 2), each element a digit of base 3
        # (false 0, true 1, unknown 2), as itertools.product orders the combinations.
        number: exp.Expr = _sql("CASE WHEN holds THEN 1 ELSE 0 END")
        for label in labels:
            digit = _sql(
                "CASE WHEN :e THEN 1 WHEN NOT :e THEN 0 ELSE 2 END",
                e=exp.column(label, quoted=True),
            )
            number = _sql("(:n) * 3 + (:d)", n=number, d=digit)
        # list_extract counts from 1 (written by name: sqlglot shifts a bracket's index).
        return exp.Anonymous(
            this="list_extract",
            expressions=[exp.Array(expressions=texts), _sql("(:n) + 1", n=number)],
        )

    # ------------------------------------------------------------ reading JSON Lines

    def file_cases(
        self, path: str, seen: Sequence[str] | None = None, compact: bool = False
    ) -> exp.Select:
        """The cases of a JSON Lines file DuckDB reads itself, a line per row (see `cases`;
        a dummy __i: the rows keep the file's order)."""
        lines = exp.select("j", exp.alias_(exp.Literal.number(0), "__i")).from_(
            exp.Table(
                this=exp.Anonymous(
                    this="read_csv",
                    expressions=[
                        _str(path),
                        *(
                            _sql(option)
                            for option in (
                                "columns = {'j': 'VARCHAR'}",
                                "delim = chr(1)",
                                "quote = ''",
                                "escape = ''",
                                "header = false",
                                "auto_detect = false",
                                "new_line = '\\n'",
                                "max_line_size = 1048576",
                            )
                        ),
                    ],
                )
            )
        )
        return self.cases(lines, seen, compact)

    def json_cases(self, seen: Sequence[str] | None = None, compact: bool = False) -> exp.Select:
        """The cases of a block of JSON Lines (parameter $1), a line per row (see `cases`),
        numbered by __i from 1."""
        # The block split once; a line's end may be CR LF: JSON takes the CR as white space,
        # and so do we.
        split = exp.select(_sql("string_split($1, chr(10))").as_("__l"))
        lines = exp.select(
            _sql("rtrim(unnest(__l), chr(13))").as_("j"),
            _sql("generate_subscripts(__l, 1)").as_("__i"),
        ).from_(split.subquery("b"))
        return self.cases(lines, seen, compact)

    def cases(
        self, lines: exp.Select, seen: Sequence[str] | None = None, compact: bool = False
    ) -> exp.Select:
        """The cases of JSON Lines (`lines`: a row per line, `j` its text, `__i` its number),
        typed, with __fast: whether SQL can vouch that the line reads as the Python engine
        reads it.

        A line is vouched for in one of two ways, the first the cheaper:

        - It is canonical: DuckDB's JSON reader reads its facts typed (a bool as BOOLEAN,
          an enum or text as VARCHAR, a number's own digits), and writing those values back
          in the order of the first lines' keys, as json.dumps writes them (with the
          separators of the first line), gives the line itself, byte for byte. Then the line
          names each key once, every key is a fact read here or a kept column, every value
          has its fact's JSON type (a bool read from `"true"` or `1` writes back other
          text), and no string has an escape (its text would differ) and no member has
          other spacing: a JSON text both parsers read alike. Numbers, dates, words of an
          enum and kept values are then checked as values, each on its own short text.
        - Otherwise (another order of the keys, other spacing), one regular expression
          proves the line's shape (see `_SHAPED`) and the count of `":` in it proves each
          key given once (see `_generic`): slower, as every byte goes through it.

        `seen` is the keys of the first lines, in the order they come (only the facts the
        doctrine reads, the kept columns and these are read: each costs time on every line,
        and a line with another key goes to the runtime); `compact`, whether the first line
        is written with json.dumps's compact separators."""
        order = list(seen or ())
        names = [
            *(
                n
                for n in self.vocabulary
                if self.facts[n].type.kind != "list"
                and (n in self.reads or n in self.keep or seen is None or n in seen)
            ),
            *(k for k in self.keep if k not in self.vocabulary),
        ]
        names.sort(key=lambda n: order.index(n) if n in order else len(order))
        colon, comma = (":", ",") if compact else (": ", ", ")
        shape: dict[str, str] = {}
        for name in names:
            if name not in self.vocabulary:
                shape[name] = "JSON"  # a kept column, its JSON text, which the result repeats
            elif self.facts[name].type.kind == "bool":
                shape[name] = "BOOLEAN"
            else:
                shape[name] = "VARCHAR"  # a number's own digits; a string's text
        # DuckDB refuses an empty structure: with no key to read, there is nothing to parse.
        transform = (
            _sql("try(json_transform(j, :shape))", shape=_str(json.dumps(shape)))
            if shape
            else exp.Null()
        )
        parsed = exp.select("j", "__i", exp.alias_(transform, "s")).from_(lines.subquery("l"))
        fields = exp.select("j", "__i")
        for n, name in enumerate(names):
            field = exp.Dot(this=exp.column("s"), expression=exp.to_identifier(name, quoted=True))
            fields = fields.select(exp.alias_(field, f"__c{n}"))
        fields = fields.from_(parsed.subquery("p"))
        # Each member written back (NULL when absent, and concat_ws leaves it out); a name
        # JSON would escape is left out, so a line giving it is not canonical.
        members: list[exp.Expr] = []
        for n, name in enumerate(names):
            if not _unescaped(name):
                continue
            v = exp.column(f"__c{n}")
            head = json.dumps(name) + colon
            if shape[name] == "BOOLEAN":
                member = _sql(
                    "CASE WHEN :v THEN :t WHEN NOT :v THEN :f END",
                    v=v,
                    t=_str(json.dumps(name) + colon + "true"),
                    f=_str(json.dumps(name) + colon + "false"),
                )
            elif name in self.vocabulary and self.facts[name].type.kind != "number":
                member = exp.func("concat", _str(head + '"'), v, _str('"'))
            else:
                member = exp.func("concat", _str(head), v)
            members.append(member)
        # One concat per member and one for the line (each `||` would make a string).
        written = exp.func(
            "concat",
            _str("{"),
            exp.func("concat_ws", _str(comma), *members) if members else _str(""),
            _str("}"),
        )
        canonical = exp.select(
            "*", exp.alias_(_sql("coalesce(j = :w, false)", w=written), "__canonical")
        ).from_(fields.subquery("c"))
        # The canonical line's values, and their checks; the others' come from _generic.
        generic = self._generic(names)
        values: list[exp.Expr] = []
        oks: list[exp.Expr] = []
        for n, name in enumerate(names):
            v = exp.column(f"__c{n}")
            kind = self.facts[name].type.kind if name in self.vocabulary else "kept"
            if name in self.vocabulary:
                value: exp.Expr = v.copy()
                if kind == "number":
                    value = _sql("try_cast(:v AS DOUBLE)", v=v.copy())
                    oks.append(
                        _sql(
                            ":v IS NULL OR (regexp_full_match(:v, :p)"
                            " AND abs(try_cast(:v AS DOUBLE)) < :m)",
                            v=v.copy(),
                            p=_str(_NUMBER),
                            m=exp.Literal.number(_EXACT),
                        )
                    )
                elif kind == "date":
                    value = _sql("try_cast(:v AS DATE)", v=v.copy())
                    oks.append(
                        _sql(
                            ":v IS NULL OR (regexp_full_match(:v, '[0-9]{4}-[0-9]{2}-[0-9]{2}')"
                            " AND try_cast(:v AS DATE) IS NOT NULL AND left(:v, 4) <> '0000')",
                            v=v.copy(),
                        )
                    )
                elif kind in ("enum", "scale"):
                    words = [_str(w) for w in self.facts[name].type.values]
                    oks.append(
                        exp.or_(
                            _sql(":v IS NULL", v=v.copy()),
                            exp.In(this=v.copy(), expressions=words),
                        )
                    )
                values.append(
                    exp.alias_(
                        _sql(
                            "CASE WHEN __canonical THEN :a ELSE :b END",
                            a=value,
                            b=generic.values[name],
                        ),
                        exp.to_identifier(name, quoted=True),
                    )
                )
            if name in self.keep:
                # As the result shows it: JSON text that json.dumps writes back the same.
                if kind == "bool":
                    text: exp.Expr = _sql(
                        "CASE WHEN :v THEN 'true' WHEN NOT :v THEN 'false' END", v=v.copy()
                    )
                elif kind in ("kept", "number"):
                    text = v.copy()
                else:
                    text = _sql("'\"' || :v || '\"'", v=v.copy())
                kept = self._shown(text)
                values.append(
                    exp.alias_(
                        _sql(
                            "CASE WHEN __canonical THEN :a ELSE :b END",
                            a=kept,
                            b=generic.kept[name],
                        ),
                        exp.to_identifier(f"__k{name}", quoted=True),
                    )
                )
                oks.append(_sql(":k IS NOT NULL", k=kept.copy()))
        for name in self.vocabulary:  # a list of records: not in the shape; the runtime's
            if self.facts[name].type.kind == "list":
                t = self.facts[name].type
                values.append(
                    exp.alias_(
                        exp.Cast(
                            this=exp.Null(), to=exp.DataType.build(duckdb_type(t), dialect="duckdb")
                        ),
                        exp.to_identifier(name, quoted=True),
                    )
                )
        fast = _sql(
            "CASE WHEN __canonical THEN :a ELSE :b END",
            a=exp.and_(*oks) if oks else exp.true(),
            b=generic.fast,
        )
        inner = generic.select(canonical)
        return exp.select(
            "__i",
            exp.alias_(_sql("coalesce(:f, false)", f=fast), "__fast"),
            *values,
        ).from_(inner.subquery("t"))

    def _shown(self, text: exp.Expr) -> exp.Expr:
        """A kept value (its JSON text, NULL when the line does not give it) as the result
        shows it: the same text in JSON Lines (`null` when not given), the cell in CSV (text
        without its quotes; empty when not given); NULL where the Python engine would write
        it otherwise (json.dumps's own form, or a cell the CSV writer quotes)."""
        csv = self.output == "csv"
        return _sql(
            "CASE WHEN :t IS NULL THEN :null WHEN regexp_full_match(:t, :p) THEN :shown END",
            t=text,
            null=_str("" if csv else "null"),
            p=_str(_KEPT_CSV if csv else _KEPT_EXACT),
            shown=_sql("trim(:t, '\"')", t=text.copy()) if csv else text.copy(),
        )

    def _generic(self, names: Sequence[str]) -> _Generic:
        """What vouches for a line that is not canonical (see file_cases): one regular
        expression proves its shape, an object of members `"key": value` whose keys and
        text are printable ASCII without quotes or backslashes and whose values are true,
        false, text or plain numbers, separated by `, ` or `,` (json.dumps's forms), with no
        space elsewhere. In such a line `":` ends each key and nothing else, so counting it
        counts the keys; they are all facts of the vocabulary or kept columns, each given
        once, when as many of those are present in the parsed object. Each is computed only
        for the lines that are not canonical."""
        shape = json.dumps(dict.fromkeys(names, "JSON"))
        shaped = _sql(
            "CASE WHEN NOT __canonical THEN regexp_full_match(j, :p) END", p=_str(_SHAPED)
        )
        parsed = (
            _sql("CASE WHEN __shaped THEN json_transform(j, :shape) END", shape=_str(shape))
            if names
            else exp.Null()  # as in `cases`
        )
        texts = exp.select("*")
        for n, name in enumerate(names):
            field = exp.Dot(this=exp.column("__g"), expression=exp.to_identifier(name, quoted=True))
            texts = texts.select(
                exp.alias_(exp.Cast(this=field, to=exp.DataType.build("VARCHAR")), f"__v{n}")
            )

        def select(source: exp.Select) -> exp.Select:
            # A layer per step, so that each is computed once per line.
            step = exp.select("*", exp.alias_(shaped, "__shaped")).from_(source.subquery("g1"))
            step = exp.select("*", exp.alias_(parsed, "__g")).from_(step.subquery("g2"))
            return texts.from_(step.subquery("g3"))

        values: dict[str, exp.Expr] = {}
        kept: dict[str, exp.Expr] = {}
        oks: list[exp.Expr] = [exp.column("__shaped")]
        present: exp.Expr = exp.Literal.number(0)
        for n, name in enumerate(names):
            v = exp.column(f"__v{n}")
            present = exp.Add(
                this=present, expression=_sql("CASE WHEN :v IS NULL THEN 0 ELSE 1 END", v=v.copy())
            )
            if name in self.vocabulary:
                value, ok = self.typed(name, v.copy())
                values[name] = value
                oks.append(ok)
            if name in self.keep:
                shown = self._shown(v.copy())
                kept[name] = shown
                oks.append(_sql(":k IS NOT NULL", k=shown.copy()))
        keys = _sql("(strlen(j) - strlen(replace(j, '\":', ''))) // 2")
        oks.append(exp.EQ(this=keys, expression=present))
        return _Generic(select, exp.and_(*oks), values, kept)

    def file_query(
        self, path: str, seen: Sequence[str] | None = None, compact: bool = False
    ) -> str:
        """Each line's result text, NULL where the runtime must answer, in the file's order."""
        query = self.results().with_("__dcases", as_=self.file_cases(path, seen, compact))
        # A row SQL leaves is written as SLOW: one byte no result of SQL's has, which a
        # file is searched for fast.
        return f"SELECT coalesce(out, chr(0)) FROM ({query.sql(dialect='duckdb')})"

    def typed(self, name: str, v: exp.Expr) -> tuple[exp.Expr, exp.Expr]:
        """A fact's value from its JSON text, and whether the text is certainly valid."""
        t = self.facts[name].type
        if t.kind == "bool":
            return (
                _sql("CASE WHEN :v = 'true' THEN TRUE WHEN :v = 'false' THEN FALSE END", v=v),
                _sql(":v IS NULL OR :v IN ('true', 'false')", v=v.copy()),
            )
        if t.kind in ("enum", "scale"):
            words = [_str(json.dumps(w)) for w in t.values]
            ok = exp.or_(_sql(":v IS NULL", v=v.copy()), exp.In(this=v.copy(), expressions=words))
            return _sql("substr(:v, 2, length(:v) - 2)", v=v), ok
        if t.kind == "text":
            return (
                _sql("substr(:v, 2, length(:v) - 2)", v=v),
                _sql(":v IS NULL OR left(:v, 1) = '\"'", v=v.copy()),
            )
        if t.kind == "date":
            return (
                _sql("try_cast(substr(:v, 2, 10) AS DATE)", v=v),
                _sql(
                    ":v IS NULL OR (regexp_full_match(:v, '\"[0-9]{4}-[0-9]{2}-[0-9]{2}\"')"
                    " AND try_cast(substr(:v, 2, 10) AS DATE) IS NOT NULL"
                    " AND substr(:v, 2, 4) <> '0000')",
                    v=v.copy(),
                ),
            )
        if t.kind == "number":
            return (
                _sql("try_cast(:v AS DOUBLE)", v=v),
                _sql(
                    ":v IS NULL OR (regexp_full_match(:v, :p)"
                    " AND abs(try_cast(:v AS DOUBLE)) < :m)",
                    v=v.copy(),
                    p=_str(_NUMBER),
                    m=exp.Literal.number(_EXACT),
                ),
            )
        # A list of records: the Python engine reads it.
        return (
            exp.Cast(this=exp.Null(), to=exp.DataType.build(duckdb_type(t), dialect="duckdb")),
            _sql(":v IS NULL", v=v.copy()),
        )

    def json_query(self, seen: Sequence[str] | None = None, compact: bool = False) -> str:
        """The query over a block of JSON Lines (parameter $1): each line's result text."""
        query = self.results().with_("__dcases", as_=self.json_cases(seen, compact))
        return query.sql(dialect="duckdb")

    def json_file(self, path: str, folder: str | None) -> tuple[str, int, int] | None:
        """Every line's result, or nothing, written by DuckDB itself (reading the file with
        its parallel reader and writing with COPY) to a new file in `folder`: the result
        line of each line SQL answers, a line of one NUL byte (`SLOW`) for each it leaves to
        the runtime. Returns (the file's path, its lines, how many are left), or None when
        DuckDB's reader would not split the file into the lines Python sees (a CR, a byte 1,
        a byte-order mark, a line over 1 MiB, bytes that are not UTF-8): the caller then
        reads it block by block."""
        try:
            with open(path, "rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                if size == 0:
                    return None
                first = handle.read(1 << 20)
            seen, compact = _sample(first)
            # DuckDB's reader skips a byte-order mark (and, below, takes CR as a line end
            # and drops a byte 1, its column delimiter here, at a line's end).
            if first[:3] == b"\xef\xbb\xbf":
                return None
            fd, out = tempfile.mkstemp(suffix=".jsonl", dir=folder)
            os.close(fd)
        except (OSError, ValueError):
            return None
        # Python's count of the lines, made while DuckDB works (its query does not hold the
        # GIL): a single pass over the file, on the core DuckDB's ordered writer leaves idle.
        counted: list[int | None] = [None]

        def count() -> None:
            with contextlib.suppress(OSError), open(path, "rb", buffering=0) as handle:
                counted[0] = _count_lines(handle, size, refuse=(b"\r", b"\x01"))

        counter = threading.Thread(target=count, daemon=True)
        counter.start()
        try:
            try:
                written = self.con.execute(
                    f"COPY ({self.file_query(path, seen, compact)}) TO '{_escape(out)}'"
                    " (FORMAT csv, HEADER false, DELIMITER chr(1), QUOTE chr(2), ESCAPE chr(2))"
                ).fetchone()[0]
            finally:
                counter.join()
            # A result per line, or the lines were not Python's: block by block after all.
            if counted[0] is None or written != counted[0]:
                raise ValueError(f"{written} results for {counted[0]} lines")
            slow = _count_byte(out, SLOW[:1])
        except Exception:  # the reader refused the file (not UTF-8, a long line): blocks
            with contextlib.suppress(OSError):
                os.remove(out)
            return None
        # DuckDB's part is done: its buffers (hundreds of MB) and threads go before the
        # runtime answers the lines left, and before a pool forks from this process.
        self.con.close()
        return out, written, slow

    def splice(
        self,
        results: str,
        path: str,
        left: int = 0,
        worker: tuple[str, str, str, str] | None = None,
    ) -> Iterator[Done]:
        """The results of `json_file` with the runtime's answer in place of each `SLOW`
        line, reading the input's lines alongside (its blank lines get none). The lines SQL
        left in a block go to the runtime together; when there are many (`left`, at least
        POOL_LINES), to a pool of a worker process per core (`worker`: how one builds the
        evaluator), the blocks' order kept, as DuckDB uses every core."""
        jobs = (os.cpu_count() or 1) if worker is not None and left >= POOL_LINES else 1
        # Per block read and not yet written: its lines (SQL's, and b"" where the runtime's
        # go), the places of the runtime's answers, and how many lines SQL answered.
        waiting: deque[tuple[list[bytes], list[int], int]] = deque()

        def chunks() -> Iterator[Chunk]:
            with open(results, "rb") as made, open(path, "rb") as source:
                line = 0
                while chunk := made.readlines(BLOCK_BYTES):
                    if SLOW[:1] not in (text := b"".join(chunk)):
                        line += _skip_lines(source, len(chunk))
                        waiting.append(([text], [], len(chunk)))
                        yield ("jsonl", None, [])
                        continue
                    raw = list(itertools.islice(source, len(chunk)))
                    left = [n for n, result in enumerate(chunk) if result == SLOW]
                    items = [(line + n + 1, raw[n].rstrip(b"\n")) for n in left]
                    # A blank line has no result; every other line has exactly one.
                    asked = [(n, item) for n, item in zip(left, items) if item[1].strip()]
                    for n in left:
                        chunk[n] = b""
                    waiting.append((chunk, [n for n, _ in asked], len(chunk) - len(left)))
                    line += len(chunk)
                    yield ("jsonl", None, [item for _, item in asked])

        for text, done, bad in _ordered(
            self.evaluator, chunks(), jobs, worker, self.output, self.keep
        ):
            pieces, places, answered = waiting.popleft()
            for n, result in zip(places, text.split("\n")):
                pieces[n] = (result + "\n").encode("utf-8")
            yield b"".join(pieces).decode("utf-8"), answered + done, bad

    def json_blocks(self, blocks: Iterator[tuple[int, bytes]], name: str) -> Iterator[Done]:
        """Results for blocks of whole lines (number of the first line, the bytes), in order."""
        first_block = next(blocks, None)
        if first_block is None:
            return
        blocks = itertools.chain([first_block], blocks)
        sql = self.json_query(*_sample(first_block[1]))
        aggregate = (
            "SELECT string_agg(coalesce(out, ''), chr(10) ORDER BY __i),"
            " list(__i ORDER BY __i) FILTER (WHERE NOT fast), count(*) FROM (" + sql + ")"
        )

        local = threading.local()  # a cursor per thread: one cursor runs one query at a time

        def run(block: bytes) -> tuple[str | None, list[int]]:
            cursor = getattr(local, "cursor", None)
            if cursor is None:
                cursor = local.cursor = _quiet(self.con.cursor())
            body = block[:-1] if block.endswith(b"\n") else block
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:  # a bad line: the Python engine reads it from the bytes
                text = "\n".join(
                    line.decode("utf-8", "replace").replace("\ufffd", "\x00")
                    for line in body.split(b"\n")
                )
            row = cursor.execute(aggregate, [text]).fetchone()
            return row[0], list(row[1] or [])

        with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
            pending: list[tuple[int, bytes, Any]] = []
            for first, block in blocks:
                future = pool.submit(run, block)
                pending.append((first, block, future))
                if len(pending) >= THREADS * 2:
                    yield self._merge(*pending.pop(0))
            while pending:
                yield self._merge(*pending.pop(0))

    def _merge(self, first: int, block: bytes, future: Any) -> Done:
        joined, slow = future.result()
        lines = block[:-1].split(b"\n") if block.endswith(b"\n") else block.split(b"\n")
        if not slow:
            return joined + "\n", len(lines), []
        fast_lines = joined.split("\n") if joined is not None else [""] * len(lines)
        out: list[str] = []
        bad: list[tuple[int, str]] = []
        count = 0
        slow_set = set(slow)
        for i, line in enumerate(fast_lines, 1):
            if i in slow_set:
                text, done, problems = evaluate_items(
                    self.evaluator,
                    "lines",
                    None,
                    [(first + i - 1, lines[i - 1])],
                    self.keep,
                    self.output,
                )
                out.append(text)
                count += done
                bad.extend(problems)
            else:
                out.append(line + "\n")
                count += 1
        return "".join(out), count, bad


def _count_lines(handle: IO[bytes], size: int, refuse: tuple[bytes, ...] = ()) -> int | None:
    """The lines of the first `size` bytes of `handle`, the last one whether or not a line
    end closes it, as Python's readlines counts them, a block at a time; None if a byte of
    `refuse` occurs."""
    count = 0
    last = b""
    left = size
    while left > 0:
        block = handle.read(min(left, 1 << 24))
        if not block:
            break
        left -= len(block)
        if any(byte in block for byte in refuse):
            return None
        count += block.count(b"\n")
        last = block[-1:]
    return count + (1 if last and last != b"\n" else 0)


def _count_byte(path: str, byte: bytes) -> int:
    """How many times a file has the byte, read a block at a time (in bounded memory: a
    mapped file would count wholly as the process's); a block without it costs one search
    (a memchr)."""
    count = 0
    with open(path, "rb", buffering=0) as handle:
        buffer = bytearray(max(1, min(1 << 24, os.fstat(handle.fileno()).st_size)))
        while n := handle.readinto(buffer):
            if buffer.find(byte, 0, n) >= 0:
                count += buffer.count(byte, 0, n)
    return count


def _skip_lines(handle: IO[bytes], count: int) -> int:
    """Read past `count` lines of `handle` (fewer at its end); return how many."""
    skipped = 0
    while skipped < count:
        start = handle.tell()
        block = handle.read(BLOCK_BYTES)
        if not block:
            break
        ends = block.count(b"\n")
        if skipped + ends < count:
            skipped += ends
            continue
        # The line end that completes the count: read up to just after it.
        at = -1
        for _ in range(count - skipped):
            at = block.index(b"\n", at + 1)
        handle.seek(start + at + 1)
        return count
    return skipped


def _sample(block: bytes, lines: int = 200) -> tuple[list[str], bool]:
    """The keys the first lines of a block give, in the order they first come, and whether
    its first object is written with json.dumps's compact separators."""
    keys: dict[str, None] = {}
    compact: bool | None = None
    for line in block.split(b"\n", lines)[:lines]:
        try:
            value = json.loads(line)
        except (ValueError, RecursionError):  # a bad line: its record comes later
            continue
        if isinstance(value, dict):
            keys.update(dict.fromkeys(value))
            if compact is None:
                compact = line.rstrip(b"\r") == json.dumps(value, separators=(",", ":")).encode()
    return list(keys), bool(compact)


def read_blocks(handle: IO[bytes], progress: list[int]) -> Iterator[tuple[int, bytes]]:
    """Whole lines of a file in blocks of about BLOCK_BYTES: (number of the first line, bytes)."""
    first = 1
    while True:
        lines = handle.readlines(BLOCK_BYTES)
        if not lines:
            return
        block = b"".join(lines)
        progress[0] += len(block)
        yield first, block
        first += len(lines)


def temporary_parquet_source(handle: IO[bytes]) -> str:
    """Standard input saved to a file, since a Parquet file is read from its end."""
    fd, path = tempfile.mkstemp(suffix=".parquet")
    with os.fdopen(fd, "wb") as out:
        while chunk := handle.read(1 << 20):
            out.write(chunk)
    return path


# ---------------------------------------------------------------- Parquet


_INTEGERS = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER")


def parquet_columns(con: Any, path: str) -> dict[str, str]:
    """The columns of a Parquet file and their DuckDB types."""
    try:
        rows = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [path]).fetchall()
    except Exception as exc:  # duckdb's errors share no base class worth naming here
        raise BatchError(
            f"{path}: not a Parquet file DuckDB can read: {_first_line(exc)}"
        ) from None
    return {str(r[0]): str(r[1]) for r in rows}


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def check_parquet_columns(
    columns: Sequence[str], evaluator: Evaluator, keep: Sequence[str], name: str
) -> None:
    """Each column must be a fact or a kept column, as a CSV header's must."""
    from difflib import get_close_matches

    for column in columns:
        if column not in evaluator.schema.facts and column not in keep:
            close = get_close_matches(column, evaluator.schema.names, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise BatchError(f"{name}: column `{column}` is not a fact{hint} (or --keep it)")


def _plain(value: Any) -> Any:
    """A kept value as JSON can write it: dates as ISO text, other odd types as text."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _rows(con: Any, sql: str, params: list[Any]) -> Iterator[tuple[Any, ...]]:
    cursor = con.execute(sql, params)
    while True:
        batch = cursor.fetchmany(PARQUET_ROWS)
        if not batch:
            return
        yield from batch


def _python_items(
    rows: Iterator[tuple[Any, ...]], columns: Sequence[str], keep: Sequence[str]
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number, the row as facts) from (row index, *values) rows; None is unknown."""
    for row in rows:
        facts = {c: v for c, v in zip(columns, row[1:]) if v is not None}
        for k in keep:
            if k in facts:
                facts[k] = _plain(facts[k])
        yield int(row[0]) + 1, facts


def parquet_items(
    evaluator: Evaluator, path: str, keep: Sequence[str], name: str
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number, the row as facts) for each row of a Parquet file, read through DuckDB."""
    con = _connect()
    columns = list(parquet_columns(con, path))
    check_parquet_columns(columns, evaluator, keep, name)
    select = ", ".join(_quote(c) for c in columns)
    rows = _rows(
        con,
        f"SELECT file_row_number, {select} FROM read_parquet(?, file_row_number = true)",
        [path],
    )
    return _python_items(rows, columns, keep)


def python_parquet(
    evaluator: Evaluator, path: str, keep: Sequence[str], output: str, name: str
) -> Iterator[Done]:
    """The Python engine on a Parquet file (read through DuckDB), PARQUET_ROWS at a time."""
    items = parquet_items(evaluator, path, keep, name)
    while True:
        chunk = [item for _, item in zip(range(PARQUET_ROWS), items)]
        if not chunk:
            return
        yield evaluate_items(evaluator, "rows", None, chunk, keep, output)


def _parquet_cases(batch: DuckBatch, columns: dict[str, str], path: str) -> exp.Select:
    """The cases of a Parquet file, typed, with __fast and __i."""
    values: list[exp.Expr] = []
    oks: list[exp.Expr] = []
    for name in batch.vocabulary:
        col = exp.column(name, quoted=True)
        given = columns.get(name)
        t = batch.facts[name].type
        target = exp.DataType.build(duckdb_type(t), dialect="duckdb")
        value: exp.Expr = exp.Cast(this=exp.Null(), to=target)
        ok: exp.Expr = _sql(":c IS NULL", c=col.copy()) if given else exp.true()
        if given is None:
            pass
        elif t.kind == "bool" and given == "BOOLEAN":
            value, ok = col, exp.true()
        elif t.kind in ("enum", "scale") and given == "VARCHAR":
            words = [_str(w) for w in t.values]
            value = col
            ok = exp.or_(
                _sql(":c IS NULL", c=col.copy()), exp.In(this=col.copy(), expressions=words)
            )
        elif t.kind == "text" and given == "VARCHAR":
            value, ok = col, exp.true()
        elif t.kind == "date" and given == "DATE":
            value = col
            ok = _sql(":c IS NULL OR year(:c) BETWEEN 1 AND 9999", c=col.copy())
        elif t.kind == "date" and given == "VARCHAR":
            value = _sql("try_cast(:c AS DATE)", c=col.copy())
            ok = _sql(
                ":c IS NULL OR (regexp_full_match(:c, '[0-9]{4}-[0-9]{2}-[0-9]{2}')"
                " AND try_cast(:c AS DATE) IS NOT NULL AND left(:c, 4) <> '0000')",
                c=col.copy(),
            )
        elif t.kind == "number" and (given in _INTEGERS or given == "DOUBLE"):
            value = exp.Cast(this=col, to=exp.DataType.build("DOUBLE"))
            ok = _sql(
                ":c IS NULL OR abs(CAST(:c AS DOUBLE)) < :m",
                c=col.copy(),
                m=exp.Literal.number(_EXACT),
            )
        values.append(exp.alias_(value, exp.to_identifier(name, quoted=True)))
        oks.append(ok)
    for name in batch.keep:
        col = exp.column(name, quoted=True)
        given = columns.get(name)
        csv = batch.output == "csv"
        shown: exp.Expr | None = None
        if given is None:
            shown = _str("" if csv else "null")
        elif given == "VARCHAR":
            pattern = r"[ !#-+\--\[\]-~]*" if csv else r"[ !#-\[\]-~]*"
            shown = _sql(
                "CASE WHEN :c IS NULL THEN :null WHEN regexp_full_match(:c, :p) THEN :t END",
                c=col.copy(),
                null=_str("" if csv else "null"),
                p=_str(pattern),
                t=col.copy() if csv else _sql("concat('\"', :c, '\"')", c=col.copy()),
            )
        elif given in _INTEGERS or given == "BOOLEAN":
            shown = _sql(
                "CASE WHEN :c IS NULL THEN :null WHEN :small THEN lower(CAST(:c AS VARCHAR)) END",
                c=col.copy(),
                null=_str("" if csv else "null"),
                small=(
                    exp.true()
                    if given == "BOOLEAN"
                    else _sql("abs(:c) < 1000000000000000", c=col.copy())
                ),
            )
        if shown is None:  # another type: the Python engine writes it
            shown = exp.Cast(this=exp.Null(), to=exp.DataType.build("VARCHAR"))
        values.append(exp.alias_(shown, exp.to_identifier(f"__k{name}", quoted=True)))
        oks.append(_sql(":k IS NOT NULL", k=shown.copy()))
    fast = exp.and_(*oks) if oks else exp.true()
    source = exp.Anonymous(
        this="read_parquet", expressions=[_str(path), _sql("file_row_number = true")]
    )
    return exp.select(
        exp.alias_(_sql("file_row_number + 1"), "__i"),
        exp.alias_(_sql("coalesce(:f, false)", f=fast), "__fast"),
        *values,
    ).from_(exp.Table(this=source))


def duck_parquet(batch: DuckBatch, path: str, name: str) -> Iterator[Done]:
    """Results for a Parquet file: SQL's for the fast rows, the runtime's for the others."""
    columns = parquet_columns(batch.con, path)
    check_parquet_columns(list(columns), batch.evaluator, batch.keep, name)
    query = batch.results().with_("__dcases", as_=_parquet_cases(batch, columns, path))
    sql = query.sql(dialect="duckdb")
    names = list(columns)
    select = ", ".join(_quote(c) for c in names)
    raw = f"SELECT file_row_number, {select} FROM read_parquet(?, file_row_number = true)"
    rows = _quiet(batch.con.cursor()).execute(f"SELECT __i, fast, out FROM ({sql}) ORDER BY __i")
    # The rows SQL leaves, with their values, in the same order: read alongside.
    slow_source = _rows(
        _quiet(batch.con.cursor()),
        f"{raw} WHERE file_row_number + 1 IN (SELECT __i FROM ({sql}) WHERE NOT fast)"
        " ORDER BY file_row_number",
        [path],
    )
    slow_items = _python_items(slow_source, names, batch.keep)
    out: list[str] = []
    bad: list[tuple[int, str]] = []
    count = 0
    while True:
        batch_rows = rows.fetchmany(PARQUET_ROWS)
        if not batch_rows:
            break
        for i, fast, text in batch_rows:
            if fast:
                out.append(text + "\n")
                count += 1
                continue
            line, facts = next(slow_items)
            assert line == i, (line, i)
            t, done, problems = evaluate_items(
                batch.evaluator, "rows", None, [(line, facts)], batch.keep, batch.output
            )
            out.append(t)
            count += done
            bad.extend(problems)
        yield "".join(out), count, bad
        out, bad, count = [], [], 0


def can_be_open(evaluator: Evaluator, program: ir.Program) -> bool:
    """Whether the doctrine can reach an open outcome: its Parquet results have `open`."""
    return SqlCompiler(program, evaluator.name, "duckdb").can_be_open()


def jsonl_to_parquet(
    source: str,
    output: str,
    evaluator: Evaluator,
    keep: Sequence[str],
    open_column: bool = False,
) -> None:
    """The JSON Lines results as a Parquet table: a column per kept column (its JSON), line
    (error records only), doctrine, holds, a column per element, missing, `open` (for a
    doctrine that can reach an open outcome: the reasons, NULL when none) and error."""
    con = _connect(bounded=False)
    labels = list(evaluator.labels)
    elements = "STRUCT(" + ", ".join(f"{_quote(label)} BOOLEAN" for label in labels) + ")"
    types = {
        **dict.fromkeys(keep, "JSON"),
        "line": "BIGINT",
        "doctrine": "VARCHAR",
        "holds": "BOOLEAN",
        "elements": elements,
        "missing": "VARCHAR[]",
        **({"open": "VARCHAR[]"} if open_column else {}),
        "error": "VARCHAR[]",
    }
    spec = "{" + ", ".join(f"'{_escape(k)}': '{v}'" for k, v in types.items()) + "}"
    columns = [
        *(_quote(k) for k in keep),
        '"line"',
        '"doctrine"',
        '"holds"',
        *(f"elements.{_quote(label)} AS {_quote(label)}" for label in labels),
        '"missing"',
        *(['"open"'] if open_column else []),
        '"error"',
    ]
    query = (
        f"SELECT {', '.join(columns)} FROM read_json(?, format = 'newline_delimited', "
        f"columns = {spec}, maximum_object_size = 1073741824)"
    )
    try:
        con.execute(f"COPY ({query}) TO '{_escape(output)}' (FORMAT parquet)", [source])
    except Exception as exc:  # a path DuckDB cannot write, and the like
        raise BatchError(f"{output}: cannot write the Parquet file: {_first_line(exc)}") from None


def _escape(text: str) -> str:
    return text.replace("'", "''")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def duck_parquet_to_parquet(batch: DuckBatch, path: str, output: str, name: str) -> Done:
    """Parquet to Parquet without leaving DuckDB for the rows SQL settles: the same table
    `jsonl_to_parquet` writes, the Python runtime's rows (errors, undecided cases) merged in
    by row number. Returns (text for standard output: none, cases, problems)."""
    columns = parquet_columns(batch.con, path)
    check_parquet_columns(list(columns), batch.evaluator, batch.keep, name)
    cases = _parquet_cases(batch, columns, path)
    query = batch.results().with_("__dcases", as_=cases)
    labels = [label for label, _ in batch.compiler.doctrine.slots]
    # The doctrine's own columns for the rows SQL settles (a second compiler: its layers are
    # its own).
    second = SqlCompiler(batch.program, batch.evaluator.name, "duckdb")
    inner = second.query("__dcases", ("__i", "__fast", *(f"__k{n}" for n in batch.keep)))
    assert isinstance(inner, exp.Select)
    inner = (
        exp.select(exp.Star())
        .from_(inner.subquery("q"))
        .with_("__dcases", as_=_parquet_cases(batch, columns, path))
    )
    sql = query.sql(dialect="duckdb")
    # The rows the runtime writes, as JSON Lines with their row numbers.
    names = list(columns)
    select = ", ".join(_quote(c) for c in names)
    raw = f"SELECT file_row_number, {select} FROM read_parquet(?, file_row_number = true)"
    slow = _rows(
        _quiet(batch.con.cursor()),
        f"{raw} WHERE file_row_number + 1 IN (SELECT __i FROM ({sql}) WHERE NOT fast)"
        " ORDER BY file_row_number",
        [path],
    )
    fd, temp = tempfile.mkstemp(suffix=".jsonl")
    bad: list[tuple[int, str]] = []
    slow_count = records = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            for line, facts in _python_items(slow, names, batch.keep):
                text, done, problems = evaluate_items(
                    batch.evaluator, "rows", None, [(line, facts)], batch.keep, "jsonl"
                )
                slow_count += done
                bad.extend(problems)
                record = json.loads(text)
                record["__i"] = line
                handle.write(json.dumps(record) + "\n")
                records += 1
        elements = "STRUCT(" + ", ".join(f"{_quote(label)} BOOLEAN" for label in labels) + ")"
        types = {
            **dict.fromkeys(batch.keep, "JSON"),
            "__i": "BIGINT",
            "line": "BIGINT",
            "doctrine": "VARCHAR",
            "holds": "BOOLEAN",
            "elements": elements,
            "missing": "VARCHAR[]",
            **({"open": "VARCHAR[]"} if batch.can_be_open else {}),
            "error": "VARCHAR[]",
        }
        spec = "{" + ", ".join(f"'{_escape(k)}': '{v}'" for k, v in types.items()) + "}"
        kept = [_quote(k) for k in batch.keep]
        tail = "missing, open, error" if batch.can_be_open else "missing, error"
        slow_sql = (
            f"SELECT {', '.join([*kept, '__i', 'line', 'doctrine', 'holds'])}, "
            + "".join(f"elements.{_quote(label)} AS {_quote(label)}, " for label in labels)
            + tail
            + " FROM read_json('"
            + _escape(temp)
            + f"', format = 'newline_delimited', columns = {spec})"
        )
        fast_sql = (
            "SELECT "
            + "".join(f"CAST({_quote('__k' + k)} AS JSON) AS {_quote(k)}, " for k in batch.keep)
            + "__i, CAST(NULL AS BIGINT) AS line, '"
            + _escape(batch.evaluator.name)
            + "' AS doctrine, holds, "
            + "".join(f"{_quote(label)}, " for label in labels)
            + "CAST([] AS VARCHAR[]) AS missing, "
            + ("CAST(NULL AS VARCHAR[]) AS open, " if batch.can_be_open else "")
            + "CAST(NULL AS VARCHAR[]) AS error FROM ("
            + inner.sql(dialect="duckdb")
            + ") WHERE "
            + batch.decided().sql(dialect="duckdb")
        )
        out_columns = ", ".join([*kept, "line", "doctrine", "holds", *map(_quote, labels)])
        if slow_count or bad:
            body = (
                f"SELECT {out_columns}, {tail} FROM ({fast_sql} UNION ALL {slow_sql}) ORDER BY __i"
            )
        else:
            body = f"SELECT {out_columns}, {tail} FROM ({fast_sql})"
        try:
            # The rows written: SQL's, and a record per row the runtime wrote.
            written = batch.con.execute(
                f"COPY ({body}) TO '{_escape(output)}' (FORMAT parquet)"
            ).fetchone()[0]
            fast_count = int(written) - records
        except Exception as exc:  # a path DuckDB cannot write, and the like
            raise BatchError(
                f"{output}: cannot write the Parquet file: {_first_line(exc)}"
            ) from None
    finally:
        with contextlib.suppress(OSError):
            os.remove(temp)
    return "", fast_count + slow_count, bad
