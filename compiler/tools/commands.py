"""The `doctrine` subcommands of the front ends: schema, ask, serve and mcp (parsers and runs)."""

from __future__ import annotations

import argparse
import json
from typing import Any


def cmd_schema(args: argparse.Namespace) -> int:
    from ..cli import EXIT_OK, UsageError, _emit
    from ..compile import load
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


def register(sub: Any) -> None:
    """Add the front ends' subcommands to the `doctrine` parser's subparsers."""
    p = sub.add_parser("schema", help="write the JSON Schema (draft 2020-12) of a doctrine's facts")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--doctrine", metavar="NAME", help="a doctrine of FILE other than its main one")
    p.add_argument("-o", "--output", metavar="OUT", help="write the schema to OUT")
    p.set_defaults(run=cmd_schema)
