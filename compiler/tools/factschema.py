"""The JSON Schema (draft 2020-12) of a doctrine's facts, for editors, forms and HTTP clients."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..runtime import program

DIALECT = "https://json-schema.org/draft/2020-12/schema"
_DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_MARKS = ("alleged", "established")


def value_schema(kind: str, spec: Any) -> dict[str, Any]:
    """The schema of one known value of a fact (or record field) of this kind; no null."""
    if kind == "bool":
        return {"type": "boolean"}
    if kind in ("enum", "scale"):
        return {"enum": list(spec)}
    if kind == "date":
        # JSON has no dates: ISO 8601 text, which the runtime also takes (YAML dates are the
        # same values before a YAML reader turns them into dates).
        return {"type": "string", "format": "date", "pattern": _DATE_PATTERN}
    if kind == "text":
        return {"type": "string"}
    if kind == "number":
        return {"type": "number"}
    if kind == "list":
        properties: dict[str, Any] = {}
        required = []
        for name, field_kind, field_spec, optional in spec:
            field = value_schema(field_kind, field_spec)
            if optional:  # a record may leave an optional field out, or give it as null
                field = {"anyOf": [field, {"type": "null"}]}
            else:
                required.append(name)
            properties[name] = field
        return {
            "type": "array",
            "items": {
                "type": "object",
                "properties": properties,
                "required": required,
                "additionalProperties": False,
            },
        }
    raise ValueError(f"unknown kind of fact {kind!r}")


def _marked(ref: dict[str, Any]) -> list[dict[str, Any]]:
    """A fact's value marked alleged, established or disputed (see runtime.read_record)."""
    out = [
        {
            "type": "object",
            "properties": {mark: ref},
            "required": [mark],
            "additionalProperties": False,
        }
        for mark in _MARKS
    ]
    out.append(
        {
            "type": "object",
            "properties": {
                "disputed": {
                    "type": "object",
                    "properties": {
                        "plaintiff": ref,
                        "defendant": ref,
                        "found": {"enum": ["plaintiff", "defendant", None]},
                    },
                    "required": ["plaintiff", "defendant"],
                    "additionalProperties": False,
                }
            },
            "required": ["disputed"],
            "additionalProperties": False,
        }
    )
    return out


def facts_schema(
    facts: Mapping[str, tuple[str, Any]],
    meta: Mapping[str, program.FactInfo],
    *,
    title: str,
    description: str = "",
    weighed: Sequence[str] | None = None,
    identifier: str | None = None,
) -> dict[str, Any]:
    """The schema of a facts object over `facts` ({name: (kind, spec)}).

    Every fact may be left out or given as null (unknown), or marked alleged, established or
    disputed for `--stage`. `meta` is the compiled module's `INFO.facts` (meanings, types in
    words); `weighed`, where given, names the facts the doctrine's test reads, which the
    schema says with the annotation `x-weighed`.
    """
    defs: dict[str, Any] = {}
    properties: dict[str, Any] = {}
    for name, (kind, spec) in facts.items():
        described = meta.get(name)
        defs[name] = value_schema(kind, spec)
        ref = {"$ref": f"#/$defs/{name}"}
        prop: dict[str, Any] = {"title": name.replace("_", " ")}
        meaning = described.meaning if described is not None else ""
        if meaning:
            prop["description"] = meaning
        prop["anyOf"] = [ref, {"type": "null"}, *_marked(ref)]
        if kind == "scale":
            prop["x-ordered"] = True  # the enum's words go lowest first
        if weighed is not None:
            prop["x-weighed"] = name in weighed
        properties[name] = prop
    schema: dict[str, Any] = {"$schema": DIALECT}
    if identifier:
        schema["$id"] = identifier
    schema["title"] = title
    if description:
        schema["description"] = description
    schema.update(
        {
            "type": "object",
            "properties": properties,
            "additionalProperties": False,
            "$defs": defs,
        }
    )
    return schema


def doctrine_schema(evaluator: Any) -> dict[str, Any]:
    """The facts schema of one compiled doctrine (an `Evaluator`)."""
    from ..explain.explanation import module_info

    info = module_info(evaluator)
    d = info.doctrines[evaluator.name]
    weighed = d.facts_weighed
    return facts_schema(
        evaluator.schema.facts,
        info.facts,
        title=f"Facts of {evaluator.name}",
        description=(
            f"{d.title or evaluator.name}. A fact left out, or null, is unknown; "
            f"the doctrine weighs {', '.join(weighed) or 'no facts'}."
        ),
        weighed=weighed,
        identifier=f"urn:doctrine:{evaluator.name}:facts",
    )


def module_schema(module: Any) -> dict[str, Any]:
    """The facts schema of a compiled file that declares facts but no doctrine."""
    info: program.ModuleInfo = module.INFO
    return facts_schema(
        {name: (kind, spec) for name, kind, spec in module.FACTS},
        info.facts,
        title=f"Facts of {info.module}",
        description=info.title,
        identifier=f"urn:doctrine:{info.module}:facts",
    )
