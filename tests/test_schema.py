"""`doctrine schema`: the JSON Schema of a doctrine's facts accepts every example, worked case and
precedent of the library, and rejects what the runtime rejects."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from support import EVERY_FACT, EXAMPLES, LIBRARY, jsonable, load_precedents

from compiler import load
from compiler.runtime import FactsError
from compiler.tools import cli
from compiler.tools.factschema import doctrine_schema

TRADE_SECRETS = LIBRARY / "trade_secrets" / "trade_secret_misappropriation.doctrine"
DOCTRINE_FILES = [*sorted(LIBRARY.glob("*.doctrine")), TRADE_SECRETS]


def run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    """`doctrine ARGS` in this process."""
    status = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


_SCHEMAS: dict[Path, Any] = {}


@functools.cache
def compiled(path: Path) -> Any:
    return load(path)


def schema_of(path: Path) -> Draft202012Validator:
    if path not in _SCHEMAS:
        module = compiled(path)
        schema = doctrine_schema(module.DOCTRINES[module.DOCTRINE])
        Draft202012Validator.check_schema(schema)
        _SCHEMAS[path] = Draft202012Validator(
            schema, format_checker=Draft202012Validator.FORMAT_CHECKER
        )
    return _SCHEMAS[path]


def errors(path: Path, facts: Any) -> list[str]:
    return [e.message for e in schema_of(path).iter_errors(jsonable(facts))]


def test_the_cli_writes_a_2020_12_schema(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "schema", LIBRARY / "state_created_danger.doctrine")
    assert status == 0
    schema = json.loads(out)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False
    custody = schema["properties"]["custody"]
    assert custody["description"].startswith("how the state, by its own power")
    assert schema["$defs"]["custody"] == {
        "enum": ["none", "incarceration", "institutionalization", "involuntary_commitment",
                 "other_restraint"]
    }  # fmt: skip
    assert schema["properties"]["culpability"]["x-ordered"] is True
    assert schema["properties"]["affirmative_act"]["x-weighed"] is True
    assert schema["properties"]["custody"]["x-weighed"] is False
    assert schema["$defs"]["event_date"]["format"] == "date"
    record = schema["$defs"]["authorities"]["items"]
    assert record["required"] == [
        "name", "court", "decided", "recognizes_right", "materially_similar"
    ]  # fmt: skip
    assert "abrogated" in record["properties"]


def test_schema_to_a_file_and_of_a_file_without_a_doctrine(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out_file = tmp_path / "facts.schema.json"
    status, _, err = run(
        capsys, "schema", LIBRARY / "special_relationship.doctrine", "-o", out_file
    )
    assert status == 0 and f"wrote {out_file}" in err
    assert json.loads(out_file.read_text())["title"] == "Facts of special_relationship"
    status, out, _ = run(capsys, "schema", LIBRARY / "vocabulary.doctrine")
    assert status == 0
    assert "custody" in json.loads(out)["properties"]


def test_schema_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(
        capsys, "schema", LIBRARY / "state_created_danger.doctrine", "--doctrine", "nope"
    )
    assert status == 2
    assert "has no doctrine `nope`" in err and "Traceback" not in err
    status, _, err = run(capsys, "schema", LIBRARY / "missing.doctrine")
    assert status == 2 and "no such file" in err


def _example_doctrine(path: Path) -> Path:
    found = re.search(r"doctrine/([a-z_/]+)\.doctrine", path.read_text(encoding="utf-8"))
    if found:
        return LIBRARY / f"{found.group(1)}.doctrine"
    if path.name.startswith("cato"):
        return TRADE_SECRETS
    return LIBRARY / "state_created_danger.doctrine"  # kennedy-disputed: its facts and marks


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_example_fits_its_doctrine_schema(example: Path) -> None:
    import yaml

    facts = yaml.safe_load(example.read_text(encoding="utf-8"))
    assert errors(_example_doctrine(example), facts) == []


@pytest.mark.parametrize("path", DOCTRINE_FILES, ids=lambda p: p.stem)
def test_every_worked_case_fits(path: Path) -> None:
    module = compiled(path)
    cases = [c for c in module.CASES if c["doctrine"] in module.DOCTRINES]
    for case in cases:
        file = path if case["doctrine"] == module.DOCTRINE else None
        if file is None:
            continue
        assert errors(file, case["given"]) == [], case["name"]


def test_every_precedent_fits() -> None:
    for p in load_precedents():
        assert errors(LIBRARY / f"{p['doctrine']}.doctrine", p["facts"]) == [], p["id"]


def test_every_fact_of_the_vocabulary_fits() -> None:
    assert errors(LIBRARY / "qualified_immunity_state_created_danger.doctrine", EVERY_FACT) == []


BAD: list[dict[str, Any]] = [
    {"custdy": "none"},
    {"custody": "jail"},
    {"affirmative_act": "yes"},
    {"event_date": "1998-13-01"},
    {"event_date": "24 September 1998"},
    {"culpability": 3},
    {"authorities": [{"name": "X"}]},
    {"authorities": [{**EVERY_FACT["authorities"][0], "judge": "Y"}]},
    {"authorities": {"name": "X"}},
    {"circuit": 9},
]


@pytest.mark.parametrize("facts", BAD, ids=lambda f: json.dumps(jsonable(f))[:40])
def test_what_the_runtime_rejects_the_schema_rejects(facts: dict[str, Any]) -> None:
    path = LIBRARY / "qualified_immunity_state_created_danger.doctrine"
    evaluator = compiled(path).DOCTRINES["qualified_immunity_state_created_danger"]
    with pytest.raises(FactsError):
        evaluator.evaluate(jsonable(facts))
    assert errors(path, facts)


def test_unknown_and_marked_facts_fit() -> None:
    path = LIBRARY / "state_created_danger.doctrine"
    assert errors(path, {"culpability": None}) == []
    assert errors(path, {"affirmative_act": {"alleged": True}}) == []
    assert (
        errors(path, {"harm_foreseeable": {"disputed": {"plaintiff": True, "defendant": False}}})
        == []
    )
    assert errors(path, {"affirmative_act": {"alleged": "yes"}})
    assert errors(path, {"affirmative_act": {"suspected": True}})
