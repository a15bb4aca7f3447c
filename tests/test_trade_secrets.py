"""The ANGELIC trade-secret model and its 32 CATO cases (issue 9), against the peer's data.

The data (shared/external/cato: model.yaml, cases.yaml, README.md) is read from the shared
folder beside the checkout when it is there, and from the vendored copy in tests/data/cato
otherwise. Nothing here reads the library to compute what it should say: the expectations come
from cases.yaml, and a small evaluator of model.yaml written below is the independent oracle.
"""

from __future__ import annotations

import random
import re
import shutil
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import LIBRARY, ROOT, eval_json, run_cli, write_json

import compiler

SHARED_CATO = ROOT.parent / "shared" / "external" / "cato"
VENDORED_CATO = ROOT / "tests" / "data" / "cato"
CATO = SHARED_CATO if (SHARED_CATO / "cases.yaml").is_file() else VENDORED_CATO
DATA_FILES = ("README.md", "model.yaml", "cases.yaml")

FOLDER = LIBRARY / "trade_secrets"
DOCTRINE_FILE = FOLDER / "trade_secret_misappropriation.doctrine"
CASES_FILE = FOLDER / "cases.doctrine"
DOCTRINE = "trade_secret_misappropriation"
SIDES = {"p": "plaintiff", "d": "defendant"}


def _load_yaml(name: str) -> Any:
    return yaml.safe_load((CATO / name).read_text(encoding="utf-8"))


MODEL: dict[str, Any] = _load_yaml("model.yaml")
CASES: list[dict[str, Any]] = _load_yaml("cases.yaml")
NODES: dict[str, dict[str, Any]] = {node["name"]: node for node in MODEL["nodes"]}
BASE = [name for name, node in NODES.items() if node["kind"] == "base"]
# The non-leaf nodes below the root, in the model's order: the doctrine's element labels.
INNER = [name for name, node in NODES.items() if node["kind"] not in ("base", "root")]
ROOT_NODE = MODEL["root"]


def case_name(case: dict[str, Any]) -> str:
    """The name of the library's case for an entry of cases.yaml: its id as an identifier."""
    return str(case["id"]).replace("-", "_")


def expected(case: dict[str, Any]) -> dict[str, bool]:
    """holds (true for the plaintiff) and every inner node: true exactly when accepted."""
    accepted = set(case["expect"]["accepted"])
    assert accepted <= set(INNER), f"{case['id']}: unknown nodes {accepted - set(INNER)}"
    return {
        "holds": case["expect"]["outcome"] == "plaintiff",
        **{name: name in accepted for name in INNER},
    }


def observed(result: dict[str, Any]) -> dict[str, Any]:
    """The same keys, read from the JSON of `doctrine eval` (or Result.as_dict())."""
    return {"holds": result["holds"], **{name: result["elements"].get(name) for name in INNER}}


def differences(want: dict[str, bool], got: dict[str, Any]) -> list[str]:
    return [f"{k}: expected {want[k]}, got {got.get(k)}" for k in want if got.get(k) is not want[k]]


# ---------------------------------------------------------------- an independent oracle

_TOKEN = re.compile(r"\s*(\(|\)|[A-Za-z_][A-Za-z0-9_]*)")


def _parse(formula: str) -> Any:
    """A formula of model.yaml as a tree: precedence not > and > or, as the model states."""
    tokens: list[str] = _TOKEN.findall(formula)
    assert "".join(tokens) == re.sub(r"\s+", "", formula), f"cannot read {formula!r}"
    pos = 0

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> str:
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    def disjunction() -> Any:
        items = [conjunction()]
        while peek() == "or":
            take()
            items.append(conjunction())
        return ("or", items) if len(items) > 1 else items[0]

    def conjunction() -> Any:
        items = [negation()]
        while peek() == "and":
            take()
            items.append(negation())
        return ("and", items) if len(items) > 1 else items[0]

    def negation() -> Any:
        if peek() == "not":
            take()
            return ("not", negation())
        token = take()
        if token == "(":
            inner = disjunction()
            assert take() == ")", formula
            return inner
        assert token in NODES, f"unknown node {token!r} in {formula!r}"
        return ("name", token)

    tree = disjunction()
    assert pos == len(tokens), f"trailing input in {formula!r}"
    return tree


def _value(tree: Any, values: dict[str, bool]) -> bool:
    op, arg = tree
    if op == "name":
        return values[arg]
    if op == "not":
        return not _value(arg, values)
    parts = (_value(item, values) for item in arg)
    return all(parts) if op == "and" else any(parts)


def _names(tree: Any) -> set[str]:
    op, arg = tree
    if op == "name":
        return {arg}
    if op == "not":
        return _names(arg)
    return set().union(*(_names(item) for item in arg))


@cache
def _plan() -> tuple[tuple[str, tuple[tuple[str, Any], ...]], ...]:
    """The non-leaf nodes in an order that puts children first, each with parsed conditions."""
    conditions = {
        name: tuple((kind, _parse(text)) for c in node["conditions"] for kind, text in c.items())
        for name, node in NODES.items()
        if node["kind"] != "base"
    }
    done: list[str] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"cycle through {name}"
        if name in done or NODES[name]["kind"] == "base":
            return
        for _, tree in conditions[name]:
            for child in sorted(_names(tree)):
                visit(child, (*path, name))
        done.append(name)

    for name in conditions:
        visit(name, ())
    return tuple((name, conditions[name]) for name in done)


def oracle(present: set[str]) -> dict[str, bool]:
    """What model.yaml gives for the factors present: first match, default false."""
    values = {name: name in present for name in BASE}
    for name, conditions in _plan():
        values[name] = False
        for kind, tree in conditions:
            if _value(tree, values):
                values[name] = kind == "accept"
                break
    return {"holds": values[ROOT_NODE], **{name: values[name] for name in INNER}}


# ---------------------------------------------------------------- the library, compiled here


@cache
def doctrine_module() -> Any:
    return compiler.load(DOCTRINE_FILE)


@cache
def cases_module() -> Any:
    return compiler.load(CASES_FILE)


def evaluate(present: set[str] | dict[str, bool]) -> dict[str, Any]:
    facts = present if isinstance(present, dict) else dict.fromkeys(present, True)
    return observed(doctrine_module().DOCTRINES[DOCTRINE].evaluate(facts).as_dict())


# ---------------------------------------------------------------- the data


def test_the_data_is_what_the_readme_describes() -> None:
    assert len(CASES) == 32
    assert sum(c["expect"]["outcome"] == "plaintiff" for c in CASES) == 19
    assert len(BASE) == 26
    assert len(INNER) == 16
    assert len({c["id"] for c in CASES}) == 32
    assert len({case_name(c) for c in CASES}) == 32
    for case in CASES:
        assert set(case["factors"]) <= set(BASE), case["id"]
    # Our oracle agrees with the data: the expectations are what the model computes.
    for case in CASES:
        assert oracle(set(case["factors"])) == expected(case), case["id"]


@pytest.mark.skipif(not (SHARED_CATO / "cases.yaml").is_file(), reason="no shared folder")
@pytest.mark.parametrize("name", DATA_FILES)
def test_vendored_copy_is_the_shared_file(name: str) -> None:
    assert (VENDORED_CATO / name).read_bytes() == (SHARED_CATO / name).read_bytes()


# ---------------------------------------------------------------- `doctrine test`


def test_doctrine_test_passes_all_32_cases() -> None:
    proc = run_cli("test", "-v", "doctrine/trade_secrets")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    match = re.fullmatch(r"(\d+) passed, 0 failed", lines[-1])
    assert match and int(match.group(1)) >= 32, lines[-1]
    passed = {line.removeprefix("PASS ") for line in lines if line.startswith("PASS ")}
    assert {case_name(c) for c in CASES} <= passed


def test_doctrine_check_gives_no_warning() -> None:
    proc = run_cli("check", *sorted(FOLDER.glob("*.doctrine")))
    assert proc.returncode == 0, proc.stderr
    assert "warning" not in proc.stderr and "error" not in proc.stderr, proc.stderr


def test_library_cases_are_the_data_cases() -> None:
    """Each case of cases.yaml is written in the library, with its factors and every node."""
    written = {c["name"]: c for c in cases_module().CASES}
    assert len(written) == len(CASES)
    for case in CASES:
        mine = written[case_name(case)]
        assert mine["doctrine"] == DOCTRINE
        assert mine["given"] == dict.fromkeys(case["factors"], True), case["id"]
        assert mine["expect"] == expected(case), case["id"]


# ---------------------------------------------------------------- `doctrine eval`, case by case


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case_through_eval(case: dict[str, Any], tmp_path: Path) -> None:
    facts = write_json(tmp_path / f"{case['id']}.json", dict.fromkeys(case["factors"], True))
    result = eval_json(DOCTRINE_FILE, facts)
    assert result["doctrine"] == DOCTRINE
    assert list(result["elements"]) == INNER
    assert differences(expected(case), observed(result)) == []
    assert result["missing"] == [], "a closed world leaves no factor unknown"


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_absent_means_false(case: dict[str, Any]) -> None:
    listed = set(case["factors"])
    explicit = {name: name in listed for name in BASE}
    assert evaluate(explicit) == evaluate(listed) == expected(case)


# ---------------------------------------------------------------- the model, beyond the cases


def _factor_sets() -> list[set[str]]:
    sets: list[set[str]] = [set()]
    sets += [{a} for a in BASE]
    sets += [{a, b} for i, a in enumerate(BASE) for b in BASE[i + 1 :]]
    rng = random.Random(9)
    sets += [{f for f in BASE if rng.random() < p} for p in (0.2, 0.35, 0.5) for _ in range(1000)]
    return sets


def test_every_node_agrees_with_the_model_on_other_factor_sets() -> None:
    """Not only the 32 cases: small and random sets of factors, every node compared."""
    for present in _factor_sets():
        assert evaluate(present) == oracle(present), sorted(present)


def test_the_model_is_declared_as_the_model_says() -> None:
    module = doctrine_module()
    evaluator = module.DOCTRINES[DOCTRINE]
    assert list(evaluator.labels) == INNER
    facts = module.INFO.facts
    for name in BASE:
        node = NODES[name]
        fact = facts[name]
        assert fact.kind == "bool", name
        assert fact.favours == SIDES[node["favours"]], name
        assert node["cato"] in fact.known_as, name
        assert node["cato_name"] in fact.known_as, name
        assert len(fact.meaning) > 20, name
    doctrines = module.INFO.doctrines
    assert doctrines[DOCTRINE].closed_world is True


def test_the_rest_of_the_library_stays_three_valued() -> None:
    """Closing the trade-secret doctrine's world leaves the seed doctrines open."""
    module = compiler.load(LIBRARY / "state_created_danger.doctrine")
    assert module.INFO.doctrines["state_created_danger"].closed_world is False
    result = module.DOCTRINES["state_created_danger"].evaluate({})
    assert result.holds is None and result.missing


# ---------------------------------------------------------------- notes


_SIDE_NOTE = re.compile(r"For the plaintiff: ([^.]*)\. For the defendant: ([^.]*)\.")


def _ids(text: str) -> list[str]:
    return [] if text.strip() == "none" else re.findall(r"F\d+", text)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_note_lists_the_factors_for_each_side(case: dict[str, Any]) -> None:
    mine = next(c for c in cases_module().CASES if c["name"] == case_name(case))
    text = " ".join(" ".join(note.split()) for note in mine["notes"])
    match = _SIDE_NOTE.search(text)
    assert match, f"{case['id']}: no 'For the plaintiff: ... For the defendant: ...' note"
    by_side: dict[str, list[str]] = {"p": [], "d": []}
    for name in case["factors"]:
        by_side[NODES[name]["favours"]].append(NODES[name]["cato"])
    assert _ids(match.group(1)) == by_side["p"], case["id"]
    assert _ids(match.group(2)) == by_side["d"], case["id"]


def test_the_two_doubtful_cases_keep_the_model_and_say_so() -> None:
    doubtful = [c for c in CASES if "court_outcome" in c]
    assert {c["id"] for c in doubtful} == {"space-aero", "mason"}
    written = {c["name"]: c for c in cases_module().CASES}
    for case in doubtful:
        assert case["court_outcome"] != case["expect"]["outcome"]
        mine = written[case_name(case)]
        assert mine["expect"]["holds"] is (case["expect"]["outcome"] == "plaintiff")
        text = " ".join(" ".join(note.split()) for note in mine["notes"])
        assert "The court decided the other way" in text
        assert "keeps the model's answer" in text


# ---------------------------------------------------------------- the checks can fail


def test_dropping_a_factor_changes_a_result(tmp_path: Path) -> None:
    """The comparison is not vacuous: Emery without F21 loses its confidential relationship."""
    emery = next(c for c in CASES if c["id"] == "emery")
    fewer = [f for f in emery["factors"] if f != "KnewInfoConfidential"]
    result = eval_json(
        DOCTRINE_FILE, write_json(tmp_path / "emery.json", dict.fromkeys(fewer, True))
    )
    found = differences(expected(emery), observed(result))
    assert "holds: expected True, got False" in found
    assert "ConfidentialRelationship: expected True, got False" in found
    # And over the whole case base, most single-factor drops change some node.
    changed = sum(
        evaluate(set(c["factors"]) - {f}) != expected(c) for c in CASES for f in c["factors"]
    )
    assert changed > 50


def test_doctrine_test_fails_a_mutated_model(tmp_path: Path) -> None:
    """The README's mutation: drop `or (not NoSecurityMeasures)` from EffortstoMaintainSecrecy.
    The peer's check found 26/32 outcomes and 24/32 complete node sets; so must ours."""
    copy = tmp_path / "trade_secrets"
    shutil.copytree(FOLDER, copy)
    path = copy / "abstract_factors.doctrine"
    text = path.read_text(encoding="utf-8")
    clause = "\n      or (not NoSecurityMeasures)"  # its own line, as `doctrine fmt` lays it out
    assert text.count(clause) == 1
    path.write_text(text.replace(clause, ""), encoding="utf-8")
    proc = run_cli("test", copy)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[-1] == "24 passed, 8 failed"
    outcome_failures = proc.stdout.count("    holds: expected")
    assert outcome_failures == 6, proc.stdout
