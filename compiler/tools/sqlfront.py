"""`doctrine compile FILE --target sql`: one doctrine as one SQL query, written to a file."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def compile_sql(
    args: argparse.Namespace,
    paths: list[Path],
    print_diagnostics: Callable[[Any], None],
    usage_error: type[Exception],
) -> int:
    """Write the SQL of one doctrine of one file; refusals are usage errors (exit 2)."""
    from ..codegen.compile import compile_files

    if len(paths) != 1:
        raise usage_error("--target sql takes one file")
    try:
        from ..codegen.sql import SqlError, doctrine_sql
    except ImportError:
        raise usage_error("--target sql needs the sql extra: pip install 'doctrine[sql]'") from None
    compiled = compile_files(paths)[0]
    print_diagnostics(compiled.warnings)
    program = compiled.program
    name = args.doctrine or program.main
    if name is None:
        raise usage_error(f"{paths[0]} declares no doctrine; name one with --doctrine")
    try:
        text = doctrine_sql(
            program,
            name,
            dialect=args.dialect or "duckdb",
            table=args.table or "cases",
            keep=args.keep or (),
        )
    except SqlError as exc:
        raise usage_error(str(exc)) from None
    text += ";\n"
    if args.output is None or args.output == "-":
        sys.stdout.write(text)
        return 0
    try:
        _write_atomically(Path(args.output), text)
    except OSError as exc:
        raise usage_error(f"cannot write {args.output}: {exc.strerror or exc}") from None
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


def _write_atomically(path: Path, text: str) -> None:
    """Write through a temporary file beside `path`, then rename: never a half-written file.
    The file gets the usual permissions (0666 less the umask), not mkstemp's 0600."""
    import os
    import tempfile

    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp, 0o666 & ~umask)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temp)
        raise
