"""Every precedent of precedents.yaml through `doctrine eval ... --format json`."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import (
    CONTRACT_ELEMENTS,
    EXAMPLES,
    SHARED_PRECEDENTS,
    VENDORED_PRECEDENTS,
    doctrine_file,
    eval_json,
    load_precedents,
    write_json,
    write_yaml,
)

PRECEDENTS = load_precedents()
BY_ID = {p["id"]: p for p in PRECEDENTS}


def _has_date(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_date(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_date(v) for v in value)
    return isinstance(value, datetime.date)


# Written as YAML too: every precedent with a date (so YAML dates, not strings, reach the
# evaluator) and a few without.
YAML_IDS = sorted(
    {p["id"] for p in PRECEDENTS if _has_date(p["facts"])}
    | ({"deshaney", "grubbs-2", "kennedy-dissent", "kennedy-majority"} & set(BY_ID))
)


def check_result(precedent: dict[str, Any], result: dict[str, Any]) -> None:
    expect = precedent["expect"]
    assert set(result) == {"doctrine", "holds", "elements", "missing"}
    assert result["doctrine"] == precedent["doctrine"]
    assert result["holds"] is expect["holds"], f"{precedent['id']}: {result}"
    for element, value in expect.get("elements", {}).items():
        assert element in result["elements"], f"no element {element!r} in {result}"
        assert result["elements"][element] is value, f"{precedent['id']}: {element} in {result}"
    missing = result["missing"]
    assert all(isinstance(name, str) for name in missing)
    assert missing == sorted(missing), "missing is not sorted"
    if result["holds"] is not None:
        assert missing == [], "missing must be empty when holds is settled"
    else:
        assert missing, "an unknown outcome names the facts that would settle it"


def test_the_precedents_are_all_there() -> None:
    ids = [p["id"] for p in PRECEDENTS]
    assert len(ids) == len(set(ids)), "precedent ids repeat"
    assert len(ids) >= 23
    for p in PRECEDENTS:
        assert p["doctrine"] in CONTRACT_ELEMENTS, f"{p['id']}: unknown doctrine {p['doctrine']}"
        assert "holds" in p["expect"]


@pytest.mark.skipif(not SHARED_PRECEDENTS.is_file(), reason="no ../shared beside the checkout")
def test_vendored_copy_is_the_shared_file() -> None:
    assert VENDORED_PRECEDENTS.read_bytes() == SHARED_PRECEDENTS.read_bytes(), (
        f"tests/data/precedents.yaml differs from {SHARED_PRECEDENTS}: copy it again"
    )


@pytest.mark.parametrize("precedent", PRECEDENTS, ids=[p["id"] for p in PRECEDENTS])
def test_precedent_as_json(precedent: dict[str, Any], tmp_path: Path) -> None:
    facts = write_json(tmp_path / f"{precedent['id']}.json", precedent["facts"])
    result = eval_json(doctrine_file(precedent["doctrine"]), facts)
    check_result(precedent, result)
    assert set(CONTRACT_ELEMENTS[precedent["doctrine"]]) <= set(result["elements"])


@pytest.mark.parametrize("precedent_id", YAML_IDS)
def test_precedent_as_yaml(precedent_id: str, tmp_path: Path) -> None:
    precedent = BY_ID[precedent_id]
    facts = write_yaml(tmp_path / f"{precedent_id}.yaml", precedent["facts"])
    # Read back, the file gives the same `date` objects: its dates are YAML dates, not strings.
    assert yaml.safe_load(facts.read_text(encoding="utf-8")) == precedent["facts"]
    check_result(precedent, eval_json(doctrine_file(precedent["doctrine"]), facts))


# examples/ holds precedents' facts for the README; each is the precedent's facts, less those
# named, and is evaluated under the precedent's doctrine.
EXAMPLE_FILES = {
    "kennedy-dissent.yaml": ("kennedy-dissent", ()),
    "kennedy-majority.yaml": ("kennedy-majority", ()),
    "pinder.yaml": ("pinder", ()),
    "pinder-immunity.yaml": ("pinder-immunity", ()),
    "grubbs-2.yaml": ("grubbs-2", ()),
    "culpability-unknown.yaml": ("wood", ("culpability",)),
}


def test_the_examples_are_there() -> None:
    # Other examples (kennedy-disputed.yaml, read at a stage of the proceedings) have tests of
    # their own.
    assert set(EXAMPLE_FILES) <= {p.name for p in EXAMPLES.glob("*.yaml")}


@pytest.mark.parametrize("name", sorted(EXAMPLE_FILES))
def test_example(name: str) -> None:
    precedent_id, left_out = EXAMPLE_FILES[name]
    precedent = BY_ID[precedent_id]
    path = EXAMPLES / name
    facts = yaml.safe_load(path.read_text(encoding="utf-8"))
    expected_facts = {k: v for k, v in precedent["facts"].items() if k not in left_out}
    assert facts == expected_facts
    result = eval_json(doctrine_file(precedent["doctrine"]), path)
    if left_out:
        assert result["holds"] is None
        assert result["missing"] == sorted(left_out)
    else:
        check_result(precedent, result)
