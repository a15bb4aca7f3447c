"""Batch evaluation: many cases from a JSON Lines or CSV file, one result per case, in order.

`doctrine eval FILE --batch CASES.jsonl [--jobs N] [-o OUT.jsonl]` reads the cases as a stream
and writes each result as soon as the cases before it are written, so memory stays the same
whatever the size of the input: at most a few chunks of cases are in flight at once. With
`--jobs N` the chunks are evaluated by N worker processes, and the results still come out in
the order of the input.

Input, by the file's extension: `.csv` is CSV (a header row of fact names, then one case per
row; an empty cell is an unknown fact; `true` / `false` for bools, lists as JSON), anything
else JSON Lines (one JSON object of facts per line; blank lines are skipped). Output, by the
extension of `-o` (standard output: the input's format): JSON Lines, each the object that
`doctrine eval --format json` prints; or CSV with columns `holds`, each element, `missing`
(space-separated) and `error`. A line whose facts are wrong gives `{"line": N, "error":
[...]}` (CSV: `holds` is `error`), is reported on standard error with its line number, and the
rest go on; the exit status is then 2.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import stat
import sys
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from ..errors import DoctrineException
from ..runtime import Evaluator, FactsError
from .sanitize import safe_text

CHUNK = 1000  # CSV rows sent to a worker at once
CHUNK_BYTES = 1 << 18  # JSON Lines sent to a worker at once: whole lines, about 256 KiB
MAX_CELL = 32 * 1024 * 1024  # as large as a facts file may be
_SURROGATE = re.compile("[\udc80-\udcff]")  # a byte that was not UTF-8, kept as a surrogate
AHEAD = 4  # chunks in flight per worker: enough to keep workers busy, few enough to be small

# A unit of work: (format, header for CSV, items). CSV items are (line number, row); JSON
# Lines come as one item, (number of the first line, the lines as they are in the file), so
# that the main process neither splits nor numbers them.
Chunk = tuple[str, Sequence[str] | None, list[tuple[int, Any]]]
# What a chunk gives back: the output text, the number of cases, and (line number, problem)
# for each problem of a bad line.
Done = tuple[str, int, list[tuple[int, str]]]


class BatchError(DoctrineException):
    """The batch cannot start (an unreadable file, a header naming no fact); one line."""


def _writable_in_sql(evaluator: Evaluator, program: Any) -> bool:
    """Whether the doctrine's query can be written in SQL at all."""
    from ..codegen.sql import SqlCompiler, SqlError

    try:
        SqlCompiler(program, evaluator.name, "duckdb").query()
    except SqlError:
        return False
    return True


def _replaceable(output: str | None) -> bool:
    """Whether a finished file may be renamed onto `output`: a new name, or a plain file
    of one link (not a device, a pipe or a symbolic link, which must be written through)."""
    if output is None:
        return False
    try:
        st = os.lstat(output)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and st.st_nlink == 1


def _move(made: str, output: str) -> None:
    """Rename `made` onto `output`, with the mode a file written there would have."""
    try:
        mode = stat.S_IMODE(os.stat(output).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    try:
        os.chmod(made, mode)
        os.replace(made, output)
    except OSError as exc:
        raise BatchError(f"{output}: {exc.strerror or exc}") from None


def input_format(path: str) -> str:
    """`csv` for a .csv file, `parquet` for .parquet, else `jsonl`."""
    return format_of(path)


# ---------------------------------------------------------------- evaluating a chunk

_evaluator: Evaluator | None = None
_output = "jsonl"
_keep: tuple[str, ...] = ()


def _init_worker(
    source: str, module: str, filename: str, doctrine: str, output: str, keep: tuple[str, ...]
) -> None:
    """Set up a worker process: the compiled module, executed from its source."""
    from ..codegen.compile import module_from_source

    global _evaluator, _output, _keep
    _evaluator = module_from_source(source, module, filename).DOCTRINES[doctrine]
    _output, _keep = output, keep


def _use(evaluator: Evaluator, output: str, keep: tuple[str, ...] = ()) -> None:
    global _evaluator, _output, _keep
    _evaluator, _output, _keep = evaluator, output, keep


def _csv_facts(evaluator: Evaluator, header: Sequence[str], row: Sequence[str]) -> Any:
    """A CSV row as facts: empty cells are unknown; bools, numbers and lists are read."""
    if len(row) != len(header):
        raise FactsError([f"expected {len(header)} cells as the header has, got {len(row)}"])
    kinds = evaluator.schema.facts
    facts: dict[str, Any] = {}
    for name, cell in zip(header, row):
        if cell == "" or name not in kinds:  # unknown, or a kept column
            continue
        kind = kinds[name][0]
        value: Any = cell
        if kind == "bool":
            value = {"true": True, "false": False}.get(cell.strip().lower(), cell)
        elif kind == "number":
            try:
                value = float(cell) if any(c in cell for c in ".eE") else int(cell)
            except ValueError:
                value = cell
        elif kind == "list" and cell.lstrip().startswith("["):
            try:
                value = json.loads(cell)
            except json.JSONDecodeError as exc:
                raise FactsError([f"fact '{name}': the list is not JSON: {exc.msg}"]) from None
        facts[name] = value
    return facts


class _Twice(ValueError):
    """A key given twice in one object of a line."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Twice(key)
            seen.add(key)
    return out


def read_json_line(raw: bytes | str) -> Any:
    """One line of JSON Lines as Python values; a FactsError says why it cannot be read.

    A key given twice is refused, as `--facts` refuses it, rather than letting the last one win;
    so are a number of more digits than Python converts and nesting deeper than it can follow:
    each is one bad line, never the end of the batch.
    """
    try:
        return json.loads(raw, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        raise FactsError([f"not JSON: {exc.msg} (column {exc.colno})"]) from None
    except UnicodeDecodeError:
        raise FactsError(["not UTF-8 text"]) from None
    except _Twice as exc:
        raise FactsError([f"`{exc.args[0]}` is given twice"]) from None
    except RecursionError:
        raise FactsError(["nested too deeply"]) from None
    except ValueError as exc:  # a whole number of more digits than Python converts
        raise FactsError([f"not a value a fact can have: {exc}"]) from None


def _truth(value: bool | None) -> str:
    return "unknown" if value is None else "true" if value else "false"


def process(chunk: Chunk) -> Done:
    """Evaluate one chunk of cases (in a worker, or in the main process with one job)."""
    evaluator = _evaluator
    assert evaluator is not None, "no doctrine loaded"
    kind, header, items = chunk
    if kind == "jsonl":
        items = [
            (first + i, raw)
            for first, block in items
            for i, raw in enumerate(block.split(b"\n"))
            if raw.strip()
        ]
    return evaluate_items(evaluator, "csv" if kind == "csv" else "lines", header, items)


def evaluate_items(
    evaluator: Evaluator,
    kind: str,
    header: Sequence[str] | None,
    items: Iterable[tuple[int, Any]],
    keep: Sequence[str] | None = None,
    output: str | None = None,
) -> Done:
    """The results of (line number, case) items: JSON Lines text (`kind` "lines": each case
    one line of it, blank lines skipped), CSV rows (`kind` "csv") or rows of values (`kind`
    "rows": a mapping of column to value, None for unknown, as a Parquet file gives them)."""
    keep = _keep if keep is None else keep
    output = _output if output is None else output
    out: list[str] = []
    bad: list[tuple[int, str]] = []
    writer: Any = None
    buffer = io.StringIO()
    if output == "csv":
        writer = csv.writer(buffer, lineterminator="\n")
    dumps = json.dumps
    evaluate = evaluator.evaluate
    facts_names = evaluator.schema.facts
    count = 0
    for line, raw in items:
        if kind == "lines" and not raw.strip():
            continue
        count += 1
        kept: dict[str, Any] = dict.fromkeys(keep)
        try:
            if kind == "csv":
                assert header is not None
                if isinstance(raw, str):  # a row the CSV reader could not read
                    raise FactsError([raw])
                if keep:
                    for name, cell in zip(header, raw):
                        if name in kept:
                            kept[name] = cell
                facts = _csv_facts(evaluator, header, raw)
            else:
                facts = read_json_line(raw) if kind == "lines" else raw
                if keep and isinstance(facts, dict):
                    for name in keep:
                        kept[name] = (
                            facts.get(name) if name in facts_names else facts.pop(name, None)
                        )
            result = evaluate(facts)
        except FactsError as exc:
            bad.extend((line, problem) for problem in exc.problems)
            if writer is not None:
                writer.writerow(
                    [
                        *(_cell(kept[k]) for k in keep),
                        "error",
                        *([""] * len(evaluator.labels)),
                        "",
                        "; ".join(exc.problems),
                    ]
                )
            else:
                out.append(dumps({**kept, "line": line, "error": exc.problems}))
            continue
        if writer is not None:
            writer.writerow(
                [
                    *(_cell(kept[k]) for k in keep),
                    _truth(result.holds),
                    *(_truth(v) for v in result.elements.values()),
                    " ".join(result.missing),
                    "",
                ]
            )
        else:
            out.append(dumps({**kept, **result.as_dict()} if keep else result.as_dict()))
    if writer is not None:
        return buffer.getvalue(), count, bad
    return "".join(line + "\n" for line in out), count, bad


def _cell(value: Any) -> str:
    """A kept value in a CSV cell: text as it is, unknown as an empty cell, others as JSON."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


# ---------------------------------------------------------------- reading cases


class _Input:
    """The cases of a file (or standard input) as chunks, with how many bytes were read."""

    def __init__(
        self,
        handle: IO[bytes],
        kind: str,
        evaluator: Evaluator,
        name: str,
        keep: Sequence[str] = (),
    ):
        self.keep = keep
        self.handle = handle
        self.kind = kind
        self.name = name
        self.header: list[str] | None = None
        self.read = 0
        if kind == "csv":
            # Bytes that are not UTF-8 make that row an error, not the end of the batch.
            self.text = io.TextIOWrapper(
                handle, encoding="utf-8-sig", errors="surrogateescape", newline=""
            )
            # A cell may be as large as a facts file; a larger one is an error in its row.
            csv.field_size_limit(MAX_CELL)
            self.rows = csv.reader(self.text)
            try:
                self.header = [h.strip() for h in next(self.rows)]
            except StopIteration:
                raise BatchError(f"{name}: no header row naming the facts") from None
            except csv.Error as exc:
                raise BatchError(f"{name}: cannot read the header row: {exc}") from None
            if any(_SURROGATE.search(h) for h in self.header):
                raise BatchError(f"{name}: line 1: the header row is not UTF-8 text")
            self._check_header(evaluator)

    def _check_header(self, evaluator: Evaluator) -> None:
        from difflib import get_close_matches

        assert self.header is not None
        names = evaluator.schema.names
        seen: set[str] = set()
        for column in self.header:
            if column in seen:
                raise BatchError(f"{self.name}: line 1: column `{column}` is given twice")
            seen.add(column)
            if column not in evaluator.schema.facts and column not in self.keep:
                close = get_close_matches(column, names, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise BatchError(f"{self.name}: line 1: `{column}` is not a fact{hint}")

    def chunks(self, size: int) -> Iterator[Chunk]:
        items: list[tuple[int, Any]] = []
        if self.kind == "csv":
            rows = self.rows
            while True:
                try:
                    row = next(rows)
                except StopIteration:
                    break
                except csv.Error as exc:  # a cell over the limit: this row only
                    items.append((rows.line_num, f"cannot read the row: {exc}"))
                    continue
                if not row:
                    continue
                if any(_SURROGATE.search(cell) for cell in row):
                    items.append((rows.line_num, "not UTF-8 text"))
                    continue
                items.append((rows.line_num, row))
                if len(items) >= size:
                    self.read = self._position()
                    yield self.kind, self.header, items
                    items = []
        else:
            first = 1
            while True:
                lines = self.handle.readlines(CHUNK_BYTES)
                if not lines:
                    break
                block = b"".join(lines)
                self.read += len(block)
                yield self.kind, None, [(first, block)]
                first += len(lines)
        if items:
            self.read = self._position()
            yield self.kind, self.header, items

    def _position(self) -> int:
        try:
            return self.handle.tell()
        except (OSError, ValueError):
            return self.read


# ---------------------------------------------------------------- running a batch


def _ordered(
    evaluator: Evaluator,
    chunks: Iterable[Chunk],
    jobs: int,
    worker: tuple[str, str, str, str] | None,
    output: str,
    keep: tuple[str, ...] = (),
) -> Iterator[Done]:
    """The chunks evaluated, in input order; with jobs > 1, by a pool of worker processes
    with at most AHEAD chunks per worker in flight."""
    if jobs <= 1 or worker is None:
        _use(evaluator, output, keep)
        for chunk in chunks:
            yield process(chunk)
        return
    import multiprocessing

    with multiprocessing.get_context().Pool(
        jobs, initializer=_init_worker, initargs=(*worker, output, keep)
    ) as pool:
        pending: deque[Any] = deque()
        for chunk in chunks:
            pending.append(pool.apply_async(process, (chunk,)))
            if len(pending) >= jobs * AHEAD:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()


def _progress(total: int | None, enabled: bool) -> Any:
    if not enabled:
        return None
    try:
        from tqdm import tqdm  # type: ignore[import-untyped]
    except ImportError:  # the bar is a nicety: without tqdm, no bar
        return None
    try:  # a terminal that does not say its size (0 x 0) gets 80 x 24, or tqdm shows nothing
        columns, rows = os.get_terminal_size(sys.stderr.fileno())
    except (OSError, ValueError):
        columns = rows = 0
    return tqdm(
        total=total,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc="evaluating",
        # The bar's carriage returns go to the terminal as they are (past the escaping of
        # standard error); the lines written above it are escaped on the way (safe_text).
        file=getattr(sys.stderr, "raw", sys.stderr),
        leave=False,
        dynamic_ncols=columns > 0,
        ncols=None if columns > 0 else 80,
        nrows=None if rows > 0 else 24,
    )


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # the output does not exist yet
        return False


def load(file: str, doctrine: str | None) -> tuple[Evaluator, tuple[str, str, str, str]]:
    """Compile FILE and pick its doctrine: the evaluator, and how a worker rebuilds it."""
    evaluator, worker, _ = load_program(file, doctrine)
    return evaluator, worker


def load_program(
    file: str, doctrine: str | None
) -> tuple[Evaluator, tuple[str, str, str, str], Any]:
    """As `load`, and the checked program too (what the SQL engines compile)."""
    from ..codegen.compile import compile_files, module_from_source

    compiled = compile_files([Path(file)])[0]
    filename = f"<doctrine {compiled.program.path}>"
    module = module_from_source(compiled.source, compiled.program.name, filename)
    name = doctrine or module.DOCTRINE
    if name is None:
        raise BatchError(f"{file} declares no doctrine to evaluate")
    if name not in module.DOCTRINES:
        raise BatchError(f"{file} has no doctrine `{name}`; it has {', '.join(module.DOCTRINES)}")
    worker = (compiled.source, compiled.program.name, filename, name)
    return module.DOCTRINES[name], worker, compiled.program


ENGINES = ("python", "duckdb", "spark")
FORMATS = ("jsonl", "csv", "parquet")
# Keys of a result or an error record: a kept column may not take one of them.
RESERVED = ("doctrine", "holds", "elements", "missing", "line", "error")


def default_engine() -> str:
    """DuckDB when it is installed (the sql extra), else the Python engine."""
    import importlib.util

    if importlib.util.find_spec("duckdb") and importlib.util.find_spec("sqlglot"):
        return "duckdb"
    return "python"


def format_of(path: str | None, given: str | None = None) -> str:
    """The format of a file by its suffix (.csv, .parquet, else JSON Lines), or as given."""
    if given is not None:
        return given
    if path is None or path == "-":
        return "jsonl"
    lower = path.lower()
    if lower.endswith(".csv"):
        return "csv"
    if lower.endswith((".parquet", ".pq")):
        return "parquet"
    return "jsonl"


def check_keep(evaluator: Evaluator, keep: Sequence[str]) -> None:
    """Refuse kept columns that would clash with the results' own keys or labels."""
    seen: set[str] = set()
    for name in keep:
        if name in seen:
            raise BatchError(f"--keep {name} is given twice")
        seen.add(name)
        if name in RESERVED or name in evaluator.labels:
            raise BatchError(
                f"--keep {name}: the results have a field of that name; rename the column"
            )


def run_batch(
    evaluator: Evaluator,
    cases: str,
    output: str | None = None,
    jobs: int = 1,
    worker: tuple[str, str, str, str] | None = None,
    progress: bool | None = None,
    report: Callable[[str], None] | None = None,
    *,
    keep: Sequence[str] = (),
    engine: str = "python",
    input_format: str | None = None,
    program: Any = None,
    master: str | None = None,
) -> tuple[int, int]:
    """Evaluate every case of the file `cases` ("-": standard input) and write the results to
    `output` (None: standard output). `worker` is (source, module, filename, doctrine): how a
    worker process builds the evaluator for itself; without it, one job. Each bad line is
    passed to `report` as it is met. `engine` is python, duckdb or spark (these two need
    `program`, the checked program). Returns (cases read, bad lines)."""
    keep = tuple(keep)
    check_keep(evaluator, keep)
    kind = format_of(cases, input_format)
    out_kind = format_of(output) if output else ("jsonl" if kind == "parquet" else kind)
    if output is None and out_kind == "parquet":
        raise BatchError("Parquet results need a file: give -o OUT.parquet")
    if engine not in ENGINES:
        raise BatchError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    name = "<stdin>" if cases == "-" else cases
    if output and cases != "-" and _same_file(cases, output):
        raise BatchError(f"{output}: this is the input file; write the results elsewhere")
    try:
        handle: IO[bytes] = sys.stdin.buffer if cases == "-" else open(cases, "rb")  # noqa: SIM115
    except OSError as exc:
        raise BatchError(f"{cases}: {exc.strerror or exc}") from None
    total = None
    if cases != "-":
        try:
            total = os.fstat(handle.fileno()).st_size
        except OSError:
            total = None
    temporary: list[str] = []
    try:
        if progress is None:
            progress = sys.stderr.isatty()
        text_kind = "jsonl" if out_kind == "parquet" else out_kind
        direct = False  # Parquet written by DuckDB itself, not from JSON Lines
        read = [0]  # bytes read so far, for the progress bar

        def position() -> int:
            return read[0]

        results: Iterable[Done]
        duck: Any = None  # DuckDB's batch, with the doctrine's query compiled once
        if engine == "duckdb" and kind != "csv":
            from ..codegen.sql import SqlError
            from . import sqlbatch

            try:
                duck = sqlbatch.DuckBatch(evaluator, program, keep, text_kind)
            except SqlError:  # as below
                engine = "python"
        elif engine in ("duckdb", "spark") and not _writable_in_sql(evaluator, program):
            # A construct a dialect cannot express (a burden's condition that reads an
            # element): the Python engine writes the same bytes, only slower.
            engine = "python"
        if kind == "parquet":
            from . import sqlbatch

            path = cases
            if cases == "-":
                path = sqlbatch.temporary_parquet_source(handle)
                temporary.append(path)
            if engine == "python":
                results = sqlbatch.python_parquet(evaluator, path, keep, text_kind, name)
            elif engine == "spark":
                from . import sparkbatch

                results = sparkbatch.parquet(evaluator, program, path, keep, text_kind, master)
            elif out_kind == "parquet":  # all in DuckDB but the rows the runtime writes
                assert output is not None
                results = iter([sqlbatch.duck_parquet_to_parquet(duck, path, output, name)])
                direct = True
            else:
                results = sqlbatch.duck_parquet(duck, path, name)
        elif kind == "jsonl" and engine != "python":
            from . import sqlbatch

            blocks = sqlbatch.read_blocks(handle, read)
            if engine == "spark":
                from . import sparkbatch

                results = sparkbatch.json_blocks(
                    evaluator, program, blocks, keep, text_kind, master
                )
            else:
                # A file DuckDB reads and writes itself (the fast way), else block by block.
                made = None
                if cases != "-" and text_kind == "jsonl":
                    folder = os.path.dirname(os.path.abspath(output)) if output else None
                    made = duck.json_file(cases, folder)
                if made is None:
                    results = duck.json_blocks(blocks, name)
                else:
                    temporary.append(made[0])
                    read[0] = total or 0
                    if not made[2] and out_kind == "jsonl" and _replaceable(output):
                        # Every line answered by SQL: DuckDB's file is the output as it is.
                        assert output is not None
                        _move(made[0], output)
                        results = iter([("", made[1], [])])
                        direct = True
                    else:
                        results = duck.splice(made[0], cases, made[2], worker)
        else:  # CSV is read by Python's csv module, whose line numbers the errors give
            source = _Input(handle, kind, evaluator, name, keep)
            results = _ordered(evaluator, source.chunks(CHUNK), jobs, worker, text_kind, keep)

            def position() -> int:
                return source.read

        target = output
        if direct:
            target = os.devnull
        elif out_kind == "parquet":
            assert output is not None
            fd, target = tempfile.mkstemp(suffix=".jsonl")
            os.close(fd)
            temporary.append(target)
        try:
            sink: IO[str] = (
                open(target, "w", encoding="utf-8", newline="")  # noqa: SIM115
                if target
                else sys.stdout
            )
        except OSError as exc:
            raise BatchError(f"{output}: {exc.strerror or exc}") from None
        try:
            if text_kind == "csv":
                sink.write(",".join([*keep, "holds", *evaluator.labels, "missing", "error"]) + "\n")
            count = bad_lines = 0
            bar = _progress(total, progress)
            if report is None:  # on standard error, above the bar if there is one
                report = (
                    (lambda line: print(line, file=sys.stderr))
                    if bar is None
                    else (lambda line: bar.write(safe_text(line), file=bar.fp))
                )
            try:
                for text, done, bad in results:
                    sink.write(text)
                    if not target:  # each chunk's results before its errors, when merged
                        sink.flush()
                    count += done
                    seen: set[int] = set()
                    for line, problem in bad:
                        report(f"error: {name}:{line}: {problem}")
                        seen.add(line)
                    bad_lines += len(seen)
                    if bar is not None:
                        bar.set_postfix(cases=f"{count:,}", refresh=False)
                        bar.update(max(0, position() - bar.n))
                # A batch done within tqdm's refresh interval would otherwise never show its
                # count: draw the last state once before the bar is cleared.
                if bar is not None:
                    bar.refresh()
            finally:
                if bar is not None:
                    bar.close()
        finally:
            if target:
                sink.close()
            else:
                sink.flush()
        if out_kind == "parquet" and not direct:
            from . import sqlbatch

            assert output is not None and target is not None
            sqlbatch.jsonl_to_parquet(
                target,
                output,
                evaluator,
                keep,
                program is not None and sqlbatch.can_be_open(evaluator, program),
            )
    finally:
        if cases != "-":
            handle.close()
        for path in temporary:
            with contextlib.suppress(OSError):
                os.remove(path)
    return count, bad_lines
