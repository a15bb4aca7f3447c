"""Reads a case's facts from a YAML or JSON file, reporting problems without tracebacks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml


class FactsFileError(Exception):
    """The facts file could not be read as one mapping; the message says where and why."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses a key given twice in one mapping."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if isinstance(key, (str, int, float, bool)) and key in seen:
            mark = key_node.start_mark
            raise FactsFileError(f"line {mark.line + 1}: `{key}` is given twice")
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise FactsFileError(f"`{key}` is given twice")
        out[key] = value
    return out


def parse_facts(text: str, name: str) -> dict[str, Any]:
    """The mapping in `text` (JSON when `name` ends in .json, YAML otherwise)."""
    try:
        if name.endswith(".json"):
            data = json.loads(text, object_pairs_hook=_no_duplicates)
        else:
            data = yaml.load(text, Loader=_UniqueKeyLoader)
    except json.JSONDecodeError as exc:
        raise FactsFileError(
            f"line {exc.lineno}, column {exc.colno}: not valid JSON: {exc.msg}"
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise FactsFileError(f"{where}not valid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise FactsFileError(f"not valid YAML: {exc}") from None
    except RecursionError:
        raise FactsFileError("nested too deeply") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise FactsFileError(
            f"expected a mapping of fact names to values, found a {type(data).__name__}"
        )
    return data


def read_facts(path: Path) -> dict[str, Any]:
    """Read and parse a facts file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FactsFileError("no such file") from None
    except UnicodeDecodeError:
        raise FactsFileError("not UTF-8 text") from None
    except OSError as exc:
        raise FactsFileError(exc.strerror or str(exc)) from None
    return parse_facts(text, path.name)
