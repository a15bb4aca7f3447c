"""Reads a case's facts from a YAML or JSON file, reporting problems without tracebacks."""

from __future__ import annotations

import json
import re
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import yaml

from ..errors import DoctrineException


class FactsFileError(DoctrineException):
    """The facts file could not be read as one mapping; the message says where and why."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe YAML loader for facts: no key twice, only true/false as booleans (as YAML 1.2
    reads them, so `yes` or `no` is not silently a bool), and a bad date left as text for the
    fact check to report by name."""


_BOOL_TAG = "tag:yaml.org,2002:bool"
_UniqueKeyLoader.yaml_implicit_resolvers = {
    first: [r for r in resolvers if r[0] != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_UniqueKeyLoader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        line = key_node.start_mark.line + 1
        if not isinstance(key, Hashable):
            raise FactsFileError(
                f"line {line}: a key must be a fact name, not a {type(key).__name__}"
            )
        if key in seen:
            raise FactsFileError(f"line {line}: `{key}` is given twice")
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


def _construct_timestamp(loader: _UniqueKeyLoader, node: yaml.ScalarNode) -> Any:
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError:
        return loader.construct_scalar(node)  # e.g. 1989-02-30: the fact check names it


def _construct_int(loader: _UniqueKeyLoader, node: yaml.ScalarNode) -> Any:
    try:
        return yaml.SafeLoader.construct_yaml_int(loader, node)
    except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits)
        raise FactsFileError(
            f"line {node.start_mark.line + 1}: a whole number of {len(node.value)} digits"
        ) from None


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_UniqueKeyLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)
_UniqueKeyLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
# A facts file is one case: past this size it is refused rather than read for minutes.
MAX_BYTES = 32 * 1024 * 1024


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise FactsFileError(f"`{key}` is given twice")
        out[key] = value
    return out


def _json_int(digits: str) -> int:
    if len(digits.lstrip("-")) > 4000:  # Python converts at most 4300 digits
        raise FactsFileError(f"a whole number of {len(digits.lstrip('-'))} digits")
    return int(digits)


def parse_facts(text: str, name: str) -> dict[str, Any]:
    """The mapping in `text` (JSON when `name` ends in .json, YAML otherwise)."""
    try:
        if name.endswith(".json"):
            data = json.loads(text, object_pairs_hook=_no_duplicates, parse_int=_json_int)
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
    except ValueError as exc:  # JSON: a whole number of more digits than Python converts
        raise FactsFileError(f"not a value a fact can have: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise FactsFileError(
            f"expected a mapping of fact names to values, found a {type(data).__name__}"
        )
    for key, value in data.items():
        _no_lone_surrogates(key, value)
    return data


_SURROGATE = re.compile("[\ud800-\udfff]")


def _no_lone_surrogates(fact: Any, value: Any) -> None:
    """Refuse text holding half of a surrogate pair (JSON's "\\ud800"): it is no character,
    and no output could be written with it. The error names the fact."""
    stack = [fact, value]
    # YAML aliases share one object among many places, or make a cycle: visit each once.
    seen: set[int] = set()
    while stack:
        item = stack.pop()
        if isinstance(item, dict | list):
            if id(item) in seen:
                continue
            seen.add(id(item))
        if isinstance(item, str):
            found = _SURROGATE.search(item)
            if found:
                shown = f"\\u{ord(found.group()):04x}"
                name = fact if isinstance(fact, str) and not _SURROGATE.search(fact) else "?"
                raise FactsFileError(
                    f"`{name}`: the text holds {shown}, half of a surrogate pair and not a "
                    "character; give the character itself"
                )
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def read_facts(path: Path) -> dict[str, Any]:
    """Read and parse a facts file."""
    try:
        # At most MAX_BYTES, read as they come: a pipe (--facts /dev/stdin) is welcome, and
        # /dev/zero or a file of gigabytes ends soon.
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise FactsFileError(f"larger than {MAX_BYTES // (1024 * 1024)} MB")
        text = data.decode("utf-8-sig")  # a byte-order mark is allowed
    except FileNotFoundError:
        raise FactsFileError("no such file") from None
    except UnicodeDecodeError:
        raise FactsFileError("not UTF-8 text") from None
    except OSError as exc:
        raise FactsFileError(exc.strerror or str(exc)) from None
    return parse_facts(text, path.name)
