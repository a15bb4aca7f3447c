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

import csv
import io
import json
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from ..runtime import Evaluator, FactsError
from .sanitize import safe_text

CHUNK = 1000  # CSV rows sent to a worker at once
CHUNK_BYTES = 1 << 18  # JSON Lines sent to a worker at once: whole lines, about 256 KiB
AHEAD = 4  # chunks in flight per worker: enough to keep workers busy, few enough to be small

# A unit of work: (format, header for CSV, items). CSV items are (line number, row); JSON
# Lines come as one item, (number of the first line, the lines as they are in the file), so
# that the main process neither splits nor numbers them.
Chunk = tuple[str, Sequence[str] | None, list[tuple[int, Any]]]
# What a chunk gives back: the output text, the number of cases, and (line number, problem)
# for each problem of a bad line.
Done = tuple[str, int, list[tuple[int, str]]]


class BatchError(Exception):
    """The batch cannot start (an unreadable file, a header naming no fact); one line."""


def input_format(path: str) -> str:
    """`csv` for a .csv file, else `jsonl`."""
    return "csv" if path.lower().endswith(".csv") else "jsonl"


# ---------------------------------------------------------------- evaluating a chunk

_evaluator: Evaluator | None = None
_output = "jsonl"


def _init_worker(source: str, module: str, filename: str, doctrine: str, output: str) -> None:
    """Set up a worker process: the compiled module, executed from its source."""
    from ..codegen.compile import module_from_source

    global _evaluator, _output
    _evaluator = module_from_source(source, module, filename).DOCTRINES[doctrine]
    _output = output


def _use(evaluator: Evaluator, output: str) -> None:
    global _evaluator, _output
    _evaluator, _output = evaluator, output


def _csv_facts(evaluator: Evaluator, header: Sequence[str], row: Sequence[str]) -> Any:
    """A CSV row as facts: empty cells are unknown; bools, numbers and lists are read."""
    if len(row) != len(header):
        raise FactsError([f"expected {len(header)} cells as the header has, got {len(row)}"])
    kinds = evaluator.schema.facts
    facts: dict[str, Any] = {}
    for name, cell in zip(header, row):
        if cell == "":
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


def _truth(value: bool | None) -> str:
    return "unknown" if value is None else "true" if value else "false"


def process(chunk: Chunk) -> Done:
    """Evaluate one chunk of cases (in a worker, or in the main process with one job)."""
    evaluator = _evaluator
    assert evaluator is not None, "no doctrine loaded"
    kind, header, items = chunk
    out: list[str] = []
    bad: list[tuple[int, str]] = []
    writer: Any = None
    buffer = io.StringIO()
    if _output == "csv":
        writer = csv.writer(buffer, lineterminator="\n")
    dumps = json.dumps
    evaluate = evaluator.evaluate
    if kind == "jsonl":
        items = [
            (first + i, raw)
            for first, block in items
            for i, raw in enumerate(block.split(b"\n"))
            if raw.strip()
        ]
    for line, raw in items:
        try:
            if kind == "csv":
                assert header is not None
                facts = _csv_facts(evaluator, header, raw)
            else:
                try:
                    facts = json.loads(raw)
                except json.JSONDecodeError as exc:
                    problem = f"not JSON: {exc.msg} (column {exc.colno})"
                    raise FactsError([problem]) from None
                except UnicodeDecodeError:
                    raise FactsError(["not UTF-8 text"]) from None
            result = evaluate(facts)
        except FactsError as exc:
            bad.extend((line, problem) for problem in exc.problems)
            if writer is not None:
                writer.writerow(
                    ["error", *([""] * len(evaluator.labels)), "", "; ".join(exc.problems)]
                )
            else:
                out.append(dumps({"line": line, "error": exc.problems}))
            continue
        if writer is not None:
            writer.writerow(
                [
                    _truth(result.holds),
                    *(_truth(v) for v in result.elements.values()),
                    " ".join(result.missing),
                    "",
                ]
            )
        else:
            out.append(dumps(result.as_dict()))
    if writer is not None:
        return buffer.getvalue(), len(items), bad
    return "".join(line + "\n" for line in out), len(items), bad


# ---------------------------------------------------------------- reading cases


class _Input:
    """The cases of a file (or standard input) as chunks, with how many bytes were read."""

    def __init__(self, handle: IO[bytes], kind: str, evaluator: Evaluator, name: str):
        self.handle = handle
        self.kind = kind
        self.name = name
        self.header: list[str] | None = None
        self.read = 0
        if kind == "csv":
            self.text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
            self.rows = csv.reader(self.text)
            try:
                self.header = [h.strip() for h in next(self.rows)]
            except StopIteration:
                raise BatchError(f"{name}: no header row naming the facts") from None
            except (UnicodeDecodeError, csv.Error) as exc:
                raise BatchError(f"{name}: cannot read the header row: {exc}") from None
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
            if column not in evaluator.schema.facts:
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
                except (UnicodeDecodeError, csv.Error) as exc:
                    raise BatchError(f"{self.name}: line {rows.line_num}: {exc}") from None
                if not row:
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
) -> Iterator[Done]:
    """The chunks evaluated, in input order; with jobs > 1, by a pool of worker processes
    with at most AHEAD chunks per worker in flight."""
    if jobs <= 1 or worker is None:
        _use(evaluator, output)
        for chunk in chunks:
            yield process(chunk)
        return
    import multiprocessing

    with multiprocessing.get_context().Pool(
        jobs, initializer=_init_worker, initargs=(*worker, output)
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


def load(file: str, doctrine: str | None) -> tuple[Evaluator, tuple[str, str, str, str]]:
    """Compile FILE and pick its doctrine: the evaluator, and how a worker rebuilds it."""
    from ..codegen.compile import compile_files, module_from_source

    compiled = compile_files([Path(file)])[0]
    filename = f"<doctrine {compiled.program.path}>"
    module = module_from_source(compiled.source, compiled.program.name, filename)
    name = doctrine or module.DOCTRINE
    if name is None:
        raise BatchError(f"{file} declares no doctrine to evaluate")
    if name not in module.DOCTRINES:
        raise BatchError(f"{file} has no doctrine `{name}`; it has {', '.join(module.DOCTRINES)}")
    return module.DOCTRINES[name], (compiled.source, compiled.program.name, filename, name)


def run_batch(
    evaluator: Evaluator,
    cases: str,
    output: str | None = None,
    jobs: int = 1,
    worker: tuple[str, str, str, str] | None = None,
    progress: bool | None = None,
    report: Callable[[str], None] | None = None,
) -> tuple[int, int]:
    """Evaluate every case of the file `cases` ("-": standard input) and write the results to
    `output` (None: standard output). `worker` is (source, module, filename, doctrine): how a
    worker process builds the evaluator for itself; without it, one job. Each bad line is
    passed to `report` as it is met. Returns (cases read, bad lines)."""
    kind = input_format(cases)
    out_kind = input_format(output) if output else kind
    name = "<stdin>" if cases == "-" else cases
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
    try:
        source = _Input(handle, kind, evaluator, name)
        if progress is None:
            progress = sys.stderr.isatty()
        try:
            sink: IO[str] = (
                open(output, "w", encoding="utf-8", newline="")  # noqa: SIM115
                if output
                else sys.stdout
            )
        except OSError as exc:
            raise BatchError(f"{output}: {exc.strerror or exc}") from None
        try:
            if out_kind == "csv":
                sink.write(",".join(["holds", *evaluator.labels, "missing", "error"]) + "\n")
            count = bad_lines = 0
            results = _ordered(evaluator, source.chunks(CHUNK), jobs, worker, out_kind)
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
                    if not output:  # each chunk's results before its errors, when merged
                        sink.flush()
                    count += done
                    seen: set[int] = set()
                    for line, problem in bad:
                        report(f"error: {name}:{line}: {problem}")
                        seen.add(line)
                    bad_lines += len(seen)
                    if bar is not None:
                        bar.update(source.read - bar.n)
                        bar.set_postfix(cases=f"{count:,}", refresh=False)
            finally:
                if bar is not None:
                    bar.close()
        finally:
            if output:
                sink.close()
            else:
                sink.flush()
    finally:
        if cases != "-":
            handle.close()
    return count, bad_lines
