"""The `doctrine` subcommands of the front ends: schema, ask, serve and mcp (parsers and runs)."""

from __future__ import annotations

import argparse
import json
from typing import Any


def cmd_schema(args: argparse.Namespace) -> int:
    from ..codegen.compile import load
    from .cli import EXIT_OK, UsageError, _emit
    from .factschema import doctrine_schema, module_schema

    module = load(args.file)
    name = args.doctrine or module.DOCTRINE
    if name is None:
        schema = module_schema(module)
    elif name not in module.DOCTRINES:
        raise UsageError(
            f"{args.file} has no doctrine `{name}`; it has {', '.join(module.DOCTRINES)}"
        )
    else:
        schema = doctrine_schema(module.DOCTRINES[name])
    _emit(json.dumps(schema, indent=2, ensure_ascii=False) + "\n", args.output)
    return EXIT_OK


def cmd_ask(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from ..runtime import FactsError
    from .ask import Answerer, Interrupted, run
    from .cli import EXIT_ERROR, EXIT_OK, UsageError, _emit, _facts, _load_one

    evaluator = _load_one(args.file, args.doctrine)
    start = _facts(args.facts) if args.facts else {}
    replay = _facts(args.replay) if args.replay else None
    save = Path(args.save) if args.save else None
    if save is not None and save.suffix.lower() not in (".yaml", ".yml", ".json"):
        raise UsageError(f"--save {args.save}: name a .yaml, .yml or .json file")
    answerer = Answerer(sys.stderr, replay=replay, replay_name=args.replay or "")
    try:
        result, asked = run(evaluator, answerer, start, save=save, stage=args.stage)
    except FactsError as exc:
        where = args.replay or args.facts or "answers"
        for problem in exc.problems:
            print(f"error: {where}: {problem}", file=sys.stderr)
        return EXIT_ERROR
    except Interrupted as exc:
        print(f"\ninterview stopped: {exc}", file=sys.stderr)
        if save is not None:
            print(f"answers so far are in {save}; resume with --facts {save}", file=sys.stderr)
        return 130
    except OSError as exc:
        raise UsageError(f"--save {args.save}: {exc.strerror or exc}") from None
    if save is not None:
        print(f"answers saved in {save}", file=sys.stderr)
    print(
        f"\n{len(asked)} question(s) asked; {evaluator.name} "
        + {True: "holds", False: "does not hold", None: "is undetermined"}[result.holds]
        + "\n",
        file=sys.stderr,
    )
    if args.format == "json":
        text = json.dumps({**result.as_dict(), "asked": asked}) + "\n"
    else:
        from ..explain.explanation import render_explanation

        text = render_explanation(result, args.format)
    _emit(text, args.output)
    return EXIT_OK


def _library(given: str | None) -> Any:
    from .cli import UsageError
    from .library import Library, LibraryError, default_library

    try:
        return Library.load(default_library(given))
    except LibraryError as exc:
        raise UsageError(str(exc)) from None


def _missing_extra(extra: str, exc: ImportError) -> Exception:
    from .cli import UsageError

    return UsageError(
        f"`doctrine {extra}` needs {exc.name or 'a package'} that is not installed: "
        f"pip install 'doctrine[{extra}]'"
    )


def cmd_serve(args: argparse.Namespace) -> int:
    import sys

    from .cli import EXIT_OK, UsageError

    try:
        import uvicorn

        from .serve import create_app
    except ImportError as exc:
        raise _missing_extra("serve", exc) from None
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port}: expected 0 to 65535")
    library = _library(args.library)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"warning: serving on {args.host}: anyone who can reach this machine there can use "
            "it; the app has no accounts or passwords",
            file=sys.stderr,
        )
    print(
        f"serving {len(library.entries)} doctrine(s) from {library.folder} at "
        f"http://{args.host}:{args.port}/ (Ctrl-C to stop)",
        file=sys.stderr,
    )
    uvicorn.run(create_app(library), host=args.host, port=args.port, log_level="warning")
    return EXIT_OK


def cmd_mcp(args: argparse.Namespace) -> int:
    from .cli import EXIT_OK

    try:
        from .mcpserver import build_server
    except ImportError as exc:
        raise _missing_extra("mcp", exc) from None
    # Standard output carries the protocol: nothing else may be printed there.
    build_server(_library(args.library)).run("stdio")
    return EXIT_OK


def register(sub: Any) -> None:
    """Add the front ends' subcommands to the `doctrine` parser's subparsers."""
    p = sub.add_parser("schema", help="write the JSON Schema (draft 2020-12) of a doctrine's facts")
    p.add_argument("file", metavar="FILE", help="a .doctrine file")
    p.add_argument("--doctrine", metavar="NAME", help="a doctrine of FILE other than its main one")
    p.add_argument("-o", "--output", metavar="OUT", help="write the schema to OUT")
    p.set_defaults(run=cmd_schema)

    p = sub.add_parser(
        "ask",
        help="interview: ask only the facts that can still change the outcome, then the memo",
    )
    p.add_argument("file", metavar="FILE", help="the .doctrine file of the test to apply")
    p.add_argument("--doctrine", metavar="NAME", help="a doctrine of FILE other than its main one")
    p.add_argument("--facts", metavar="PARTIAL", help="start from the facts of this file")
    p.add_argument(
        "--save",
        metavar="FILE",
        help="write the answers here (YAML or JSON by suffix) after each one, interrupted or not",
    )
    p.add_argument(
        "--replay",
        metavar="FACTS",
        help="answer each question from this facts file (a fact it lacks: don't know)",
    )
    p.add_argument(
        "--format",
        choices=("text", "markdown", "html", "json"),
        default="text",
        help='the memo\'s format; json: the object of `eval --format json` plus "asked"',
    )
    p.add_argument("-o", "--output", metavar="OUT", help="write the memo to OUT")
    p.add_argument(
        "--stage",
        choices=("dismissal", "summary-judgment", "trial"),
        help="the stage of the proceedings, for facts marked alleged or disputed",
    )
    p.set_defaults(run=cmd_ask)

    p = sub.add_parser(
        "serve",
        help="serve the library as a web app (interviews, memos) and a JSON API",
    )
    p.add_argument(
        "library",
        nargs="?",
        metavar="LIBRARY",
        help="a folder of .doctrine files (default: doctrine/ here, else the installed one)",
    )
    p.add_argument("--host", default="127.0.0.1", help="the address to listen on (127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="the port to listen on (8000)")
    p.set_defaults(run=cmd_serve)

    p = sub.add_parser(
        "mcp",
        help="serve the library's doctrines as tools for AI assistants (MCP over stdio)",
    )
    p.add_argument(
        "library",
        nargs="?",
        metavar="LIBRARY",
        help="a folder of .doctrine files (default: doctrine/ here, else the installed one)",
    )
    p.set_defaults(run=cmd_mcp)
