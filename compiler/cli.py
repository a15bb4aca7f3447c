"""The `doctrine` command line: check, compile, eval and test."""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import __version__

EXIT_OK, EXIT_FAILED, EXIT_ERROR = 0, 1, 2


class UsageError(Exception):
    """A mistake in how the command was called, reported as one line."""


def _paths(names: Sequence[str]) -> list[Path]:
    paths: list[Path] = []
    for name in names:
        p = Path(name)
        if p.is_dir():
            paths.extend(sorted(p.rglob("*.doctrine")))
        else:
            paths.append(p)
    if not paths:
        raise UsageError("no .doctrine files given")
    return paths


def _print_diagnostics(diagnostics: Sequence[Any], sources: dict[str, str] | None = None) -> None:
    for d in diagnostics:
        print(d.render(sources or {}), end="\n\n", file=sys.stderr)


def cmd_check(args: argparse.Namespace) -> int:
    from .compile import check_files

    _, warnings = check_files(_paths(args.files))
    _print_diagnostics(warnings)
    print(
        f"ok: {len(_paths(args.files))} file(s) checked"
        + (f", {len(warnings)} warning(s)" if warnings else ""),
        file=sys.stderr,
    )
    return EXIT_OK


def cmd_compile(args: argparse.Namespace) -> int:
    from .compile import compile_files, write_module

    out_dir = Path(args.output)
    for compiled in compile_files(_paths(args.files)):
        _print_diagnostics(compiled.warnings)
        target = write_module(compiled, out_dir)
        print(f"wrote {target}", file=sys.stderr)
    return EXIT_OK


def _load_one(file: str, doctrine: str | None) -> Any:
    from .compile import load

    module = load(file)
    name = doctrine or module.DOCTRINE
    if name is None:
        raise UsageError(f"{file} declares no doctrine to evaluate")
    if name not in module.DOCTRINES:
        raise UsageError(f"{file} has no doctrine `{name}`; it has {', '.join(module.DOCTRINES)}")
    return module.DOCTRINES[name]


def _facts(path: str) -> dict[str, Any]:
    from .facts import FactsFileError, read_facts

    try:
        return read_facts(Path(path))
    except FactsFileError as exc:
        raise UsageError(f"{path}: {exc}") from None


def _truth(value: bool | None) -> str:
    return {True: "met", False: "not met", None: "unknown"}[value]


def render_text(result: Any) -> str:
    """A compact tree of the doctrine's elements with met / not met / unknown."""
    info = result.evaluator.info
    lines = [
        f"{result.doctrine}: {info['title']}",
        "  " + {True: "holds", False: "does not hold", None: "undetermined"}[result.holds],
    ]
    width = max((len(label) for label in result.elements), default=0)
    for label, value in result.elements.items():
        lines.append(f"    {label.ljust(width)}  {_truth(value)}")
    if result.missing:
        lines.append(f"  facts that could still change the outcome: {', '.join(result.missing)}")
    return "\n".join(lines)


def cmd_eval(args: argparse.Namespace) -> int:
    from .runtime import FactsError

    evaluator = _load_one(args.file, args.doctrine)
    facts = _facts(args.facts)
    try:
        result = evaluator.evaluate(facts)
    except FactsError as exc:
        for problem in exc.problems:
            print(f"error: {args.facts}: {problem}", file=sys.stderr)
        return EXIT_ERROR
    if args.format == "json":
        print(json.dumps(result.as_dict()))
    else:
        print(render_text(result))
    return EXIT_OK


def cmd_test(args: argparse.Namespace) -> int:
    from .cases import run_cases

    files = _paths(args.paths or ["doctrine"])
    outcomes = run_cases(files)
    failed = 0
    for outcome in outcomes:
        if outcome.passed:
            if args.verbose:
                print(f"PASS {outcome.name}")
        else:
            failed += 1
            print(f"FAIL {outcome.name} ({outcome.where})")
            for line in outcome.problems:
                print(f"    {line}")
    print(f"{len(outcomes) - failed} passed, {failed} failed")
    return EXIT_FAILED if failed else EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `doctrine` command."""
    parser = argparse.ArgumentParser(
        prog="doctrine",
        description="Check, compile and apply legal tests written as .doctrine files.",
    )
    parser.add_argument("--version", action="version", version=f"doctrine {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("check", help="parse and check doctrine files")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.set_defaults(run=cmd_check)

    p = sub.add_parser("compile", help="write each doctrine file as a Python module")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("-o", "--output", default=".", metavar="DIR", help="folder for the modules")
    p.set_defaults(run=cmd_compile)

    p = sub.add_parser("eval", help="evaluate a doctrine on the facts of a case")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--facts", required=True, metavar="CASE", help="YAML or JSON file of facts")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--doctrine", metavar="NAME", help="a doctrine of FILE other than its main one")
    p.set_defaults(run=cmd_eval)

    p = sub.add_parser("test", help="run the cases written in doctrine files")
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or folders (default: doctrine/)")
    p.add_argument("-v", "--verbose", action="store_true", help="list passing cases too")
    p.set_defaults(run=cmd_test)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return its exit status."""
    from .errors import DoctrineError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except DoctrineError as err:
        _print_diagnostics(err.diagnostics, err.sources)
        errors = sum(1 for d in err.diagnostics if d.severity == "error")
        print(f"{errors} error(s)", file=sys.stderr)
        return EXIT_ERROR
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_ERROR
    except RecursionError:
        print("error: the input is nested too deeply to process", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if os.environ.get("DOCTRINE_DEBUG"):
            traceback.print_exc()
        print(
            f"internal error in doctrine {__version__}: {type(exc).__name__}: {exc}\n"
            "this is a bug in doctrine, not in your input; set DOCTRINE_DEBUG=1 for details",
            file=sys.stderr,
        )
        return 3


if __name__ == "__main__":
    sys.exit(main())
