"""Batches on Spark, and a doctrine's result columns for one's own PySpark DataFrame.

`with_doctrine(df, FILE)` adds `holds`, a column per element and `missing` to a DataFrame
whose columns are the facts (Spark SQL compiled by compiler.codegen.sql; `missing` is JSON text
`[]` when `holds` is decided and NULL when it is not — compute those rows' `missing` with the
Python runtime, as `doctrine eval --batch --engine spark` does).

`doctrine eval --batch --engine spark` reads the cases in the driver with the Python engine's
own reader and checks (so the error records are the Python engine's, line for line), evaluates
the checked cases in Spark (`local[*]` by default, `--master URL`, or Spark Connect with
`sc://HOST`), and asks the Python runtime for `missing` on the undecided rows. It is for
running where a Spark cluster is; on one machine DuckDB is much faster.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..checking import ir
from ..codegen.sql import SqlCompiler
from ..runtime import Evaluator, FactsError
from .batch import BatchError, Done, evaluate_items, read_json_line

ROWS = 50_000  # checked cases sent to Spark at once


def session(master: str | None = None) -> Any:
    """A Spark session: Spark Connect for `sc://` URLs, else a classic one (`local[*]`)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise BatchError(
            "the spark engine needs the spark extra: pip install 'doctrine[spark]'"
        ) from None
    builder = SparkSession.builder.appName("doctrine")
    if master and master.startswith("sc://"):
        builder = builder.remote(master)
    else:
        builder = builder.master(master or "local[*]")
        builder = builder.config("spark.ui.enabled", "false")
        builder = builder.config("spark.ui.showConsoleProgress", "false")
        builder = builder.config("spark.sql.session.timeZone", "UTC")
    spark = builder.getOrCreate()
    if not (master and master.startswith("sc://")):
        spark.sparkContext.setLogLevel("ERROR")
    return spark


def spark_type(t: ir.FactType) -> str:
    """The Spark SQL type of a fact (a DDL string)."""
    if t.kind == "bool":
        return "BOOLEAN"
    if t.kind == "number":
        return "DOUBLE"
    if t.kind == "date":
        return "DATE"
    if t.kind == "list" and t.record is not None:
        fields = ", ".join(f"`{f.name}`: {spark_type(f.type)}" for f in t.record.fields)
        return f"ARRAY<STRUCT<{fields}>>"
    return "STRING"


def _program(file: str | Path) -> ir.Program:
    from ..codegen.compile import compile_files

    return compile_files([Path(file)])[0].program


def with_doctrine(
    df: Any, file: str | Path, doctrine: str | None = None, keep: Sequence[str] | None = None
) -> Any:
    """`df` (a PySpark DataFrame with a column per fact the doctrine reads) evaluated: the
    kept columns (default: every column that is not a fact), `holds`, one column per element
    and `missing` (see the module's docstring)."""
    program = _program(file)
    name = doctrine or program.main
    if name is None:
        raise ValueError(f"{file} declares no doctrine; name one")
    facts = {f.name for f in program.facts}
    if keep is None:
        keep = [c for c in df.columns if c not in facts]
    compiler = SqlCompiler(program, name, "spark")
    view = f"doctrine_cases_{abs(hash((str(file), name))) % 10**8}"
    df.createOrReplaceTempView(view)
    return df.sparkSession.sql(compiler.sql(view, keep, pretty=False))


# ---------------------------------------------------------------- `eval --batch --engine spark`


def _spark_value(value: Any, t: ir.FactType) -> Any:
    """A checked fact as Spark takes it (records with every field, absent ones None)."""
    if value is None:
        return None
    if t.kind == "list" and t.record is not None:
        from ..runtime import ABSENT

        return [
            tuple(
                None if item[f.name] is ABSENT else _spark_value(item[f.name], f.type)
                for f in t.record.fields
            )
            for item in value
        ]
    if t.kind == "number":
        return float(value)
    return value


class _SparkRunner:
    def __init__(
        self,
        evaluator: Evaluator,
        program: ir.Program,
        keep: Sequence[str],
        output: str,
        master: str | None,
    ):
        self.evaluator = evaluator
        self.keep = tuple(keep)
        self.output = output
        self.spark = session(master)
        self.compiler = SqlCompiler(program, evaluator.name, "spark")
        self.sql_text = self.compiler.sql("__doctrine_cases", ("__n",), pretty=False)
        self.reads = dict(sorted(self.compiler.reads.items()))
        ddl = ", ".join(
            ["`__n` BIGINT", *(f"`{n}` {spark_type(f.type)}" for n, f in self.reads.items())]
        )
        self.schema = ddl
        labels = [label for label, _ in self.compiler.doctrine.slots]
        self.width = 1 + len(labels)  # holds and the elements; then missing (and open)
        # Elements whose unknown the runtime may settle (`x or not x`): by their place.
        self.unsettled = [
            1 + i for i, label in enumerate(labels) if not self.compiler.kleene_final(label)
        ]

    def evaluate(self, checked: list[tuple[int, dict[str, Any]]]) -> dict[int, tuple[Any, ...]]:
        """(holds, element values...) of each checked case by its index."""
        if not checked:
            return {}
        rows = [
            (n, *(_spark_value(f[name], fact.type) for name, fact in self.reads.items()))
            for n, f in checked
        ]
        df = self.spark.createDataFrame(rows, schema=self.schema)
        df.createOrReplaceTempView("__doctrine_cases")
        out = {}
        for row in self.spark.sql(self.sql_text).collect():
            out[row[0]] = tuple(row[1 : 1 + self.width])
        return out

    def run(self, items: Iterator[tuple[int, Any]], kind: str) -> Iterator[Done]:
        """Results of (line, raw) items: checked here, evaluated in Spark, in order."""
        while True:
            chunk = [item for _, item in zip(range(ROWS), items)]
            if not chunk:
                return
            yield self._chunk(chunk, kind)

    def _chunk(self, chunk: list[tuple[int, Any]], kind: str) -> Done:
        checked: list[tuple[int, dict[str, Any]]] = []
        kept_by: dict[int, dict[str, Any]] = {}
        for n, (_line, raw) in enumerate(chunk):
            if kind == "lines" and not raw.strip():
                continue
            try:
                facts = read_json_line(raw) if kind == "lines" else dict(raw)
                if not isinstance(facts, dict) or not _plain(facts):
                    continue  # the Python engine gives its error or marked-facts record
                kept = {}
                for name in self.keep:
                    kept[name] = (
                        facts.get(name)
                        if name in self.evaluator.schema.facts
                        else facts.pop(name, None)
                    )
                # Checked, but not yet filled by the burdens: the query applies them, reading
                # their conditions from the facts as the case gave them.
                f = self.evaluator.schema.validate(facts)
            except FactsError:
                continue
            checked.append((n, f))
            kept_by[n] = kept
        answers = self.evaluate(checked)
        out: list[str] = []
        bad: list[tuple[int, str]] = []
        count = 0
        labels = self.evaluator.labels
        for n, (line, raw) in enumerate(chunk):
            answer = answers.get(n)
            # Unchecked, undecided, or an element the runtime may settle: the runtime writes it.
            if answer is None or any(answer[i] is None for i in (0, *self.unsettled)):
                text, done, problems = evaluate_items(
                    self.evaluator, kind, None, [(line, raw)], self.keep, self.output
                )
                out.append(text)
                count += done
                bad.extend(problems)
                continue
            count += 1
            holds, elements = answer[0], dict(zip(labels, answer[1:]))
            kept = kept_by[n]
            if self.output == "csv":  # through the csv module, which quotes as it must
                buffer = io.StringIO()
                csv.writer(buffer, lineterminator="\n").writerow(
                    [
                        *(_cell(kept[k]) for k in self.keep),
                        _word(holds),
                        *(_word(v) for v in elements.values()),
                        "",
                        "",
                    ]
                )
                out.append(buffer.getvalue())
            else:
                record = {
                    **kept,
                    "doctrine": self.evaluator.name,
                    "holds": holds,
                    "elements": elements,
                    "missing": [],
                }
                out.append(json.dumps(record) + "\n")
        return "".join(out), count, bad


def _plain(facts: dict[str, Any]) -> bool:
    """No fact marked alleged, disputed or established (those need a stage)."""
    return not any(isinstance(v, dict) for v in facts.values())


def _word(value: bool | None) -> str:
    return "unknown" if value is None else "true" if value else "false"


def _cell(value: Any) -> str:
    from .batch import _cell as cell

    return cell(value)


def json_blocks(
    evaluator: Evaluator,
    program: ir.Program,
    blocks: Iterator[tuple[int, bytes]],
    keep: Sequence[str],
    output: str,
    master: str | None,
) -> Iterator[Done]:
    """Results for blocks of JSON Lines, in order."""
    runner = _SparkRunner(evaluator, program, keep, output, master)

    def items() -> Iterator[tuple[int, bytes]]:
        for first, block in blocks:
            body = block[:-1] if block.endswith(b"\n") else block
            for i, raw in enumerate(body.split(b"\n")):
                yield first + i, raw

    return runner.run(items(), "lines")


def parquet(
    evaluator: Evaluator,
    program: ir.Program,
    path: str,
    keep: Sequence[str],
    output: str,
    master: str | None,
) -> Iterator[Done]:
    """Results for a Parquet file (read through DuckDB, as the Python engine reads it)."""
    from . import sqlbatch

    runner = _SparkRunner(evaluator, program, keep, output, master)
    rows = sqlbatch.parquet_items(evaluator, path, keep, path)
    return runner.run(rows, "rows")
