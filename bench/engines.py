"""The `state_created_danger` test, as each engine of the evaluation benchmark computes it.

The pattern space: the six facts the doctrine's four elements read are `directed_at_plaintiff`,
`affirmative_act`, `but_for_cause`, `harm_foreseeable`, `danger_known_or_obvious` (bools) and
`culpability` (an ordered enum of six values). With `increased_risk`, the bool of the rejected
theory beside them, every case gives seven facts: 2^6 combinations of the six bools times the
six values of `culpability` make the 384 patterns, every fact known. (Unknown facts are the
`three_valued_patterns`: five bools true, false or absent and `culpability` any of its values
or absent, 3^5 x 7 = 1,701; only the engines that know "unknown" run those.)

Every engine takes a batch of plain dicts and returns one outcome per dict: True or False (or
None, unknown). Per-case engines are wrapped in the same list comprehension.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from compiler.runtime import Tree

ROOT = Path(__file__).resolve().parents[1]
DOCTRINE = ROOT / "doctrine" / "state_created_danger.doctrine"

BOOLS = (
    "directed_at_plaintiff",
    "affirmative_act",
    "but_for_cause",
    "harm_foreseeable",
    "danger_known_or_obvious",
)
EXTRA = "increased_risk"  # given in every pattern; the doctrine rejects it as a theory
CULPABILITY = (
    "none",
    "negligence",
    "gross_negligence",
    "recklessness",
    "deliberate_indifference",
    "intent",
)
ENOUGH = frozenset({"deliberate_indifference", "intent"})

Facts = Mapping[str, Any]
Batch = Callable[[Sequence[Facts]], list[Any]]


# ---------------------------------------------------------------- patterns


def patterns() -> list[dict[str, Any]]:
    """The 384 fact patterns, every fact known."""
    out = []
    for bools in itertools.product((True, False), repeat=len(BOOLS) + 1):
        for culpability in CULPABILITY:
            case: dict[str, Any] = dict(zip((*BOOLS, EXTRA), bools))
            case["culpability"] = culpability
            out.append(case)
    return out


def three_valued_patterns() -> list[dict[str, Any]]:
    """The 1,701 patterns with unknown facts: a fact left out of the dict is unknown."""
    out = []
    for bools in itertools.product((True, False, None), repeat=len(BOOLS)):
        for culpability in (*CULPABILITY, None):
            case: dict[str, Any] = {
                name: value for name, value in zip(BOOLS, bools) if value is not None
            }
            if culpability is not None:
                case["culpability"] = culpability
            out.append(case)
    return out


def cycled(space: Sequence[Mapping[str, Any]], count: int, seed: int) -> list[dict[str, Any]]:
    """`count` cases: the space shuffled again (seeded) for every pass, each case a new dict."""
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    while len(out) < count:
        order = list(space)
        rng.shuffle(order)
        out.extend(dict(case) for case in order[: count - len(out)])
    return out


def blocks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    """The items cut into consecutive blocks of `size` (the last may be shorter)."""
    return [items[i : i + size] for i in range(0, len(items), size)]


# ---------------------------------------------------------------- hand-written Python


def hand_written(f: Facts) -> bool | None:
    """The test as a careful engineer writes it by hand: plain dict in, a fact not given is
    unknown, three-valued (False wins over unknown, as the contract says)."""
    get = f.get
    directed = get("directed_at_plaintiff")
    if directed is False:
        return False
    act = get("affirmative_act")
    if act is False:
        return False
    but_for = get("but_for_cause")
    if but_for is False:
        return False
    foreseeable = get("harm_foreseeable")
    if foreseeable is False:
        return False
    known = get("danger_known_or_obvious")
    if known is False:
        return False
    culpability = get("culpability")
    if culpability is not None and culpability not in ENOUGH:
        return False
    if (
        directed is None
        or act is None
        or but_for is None
        or foreseeable is None
        or known is None
        or culpability is None
    ):
        return None
    return True


def hand_written_elements(f: Facts) -> dict[str, bool | None]:
    """The four elements, by hand, for checking the compiled full result."""

    def all_of(*values: bool | None) -> bool | None:
        if False in values:
            return False
        return None if None in values else True

    culpability = f.get("culpability")
    return {
        "specific_plaintiff": f.get("directed_at_plaintiff"),
        "affirmative_conduct": f.get("affirmative_act"),
        "causation": all_of(f.get("but_for_cause"), f.get("harm_foreseeable")),
        "culpability": all_of(
            f.get("danger_known_or_obvious"),
            None if culpability is None else culpability in ENOUGH,
        ),
    }


def two_valued(f: Facts) -> bool:
    """The shortest hand-written version: assumes every fact is given (wrong on unknowns)."""
    return bool(
        f["directed_at_plaintiff"]
        and f["affirmative_act"]
        and f["but_for_cause"]
        and f["harm_foreseeable"]
        and f["danger_known_or_obvious"]
        and f["culpability"] in ENOUGH
    )


# ---------------------------------------------------------------- a tree-walking interpreter


class TreeWalker:
    """What doctrine would be without code generation: the runtime's tree evaluator walking
    the module's program tree per case (the facts checked by the module's schema first)."""

    def __init__(self, module: Any):
        info = module.INFO
        self.schema = module.DOCTRINES[module.DOCTRINE].schema
        self.elements = {key: el.tree for key, el in info.elements.items()}
        self.doctrines = {name: d.tree for name, d in info.doctrines.items()}
        self.tree = self.doctrines[module.DOCTRINE]

    def __call__(self, facts: Facts) -> bool | None:
        f = self.schema.validate(facts)
        result: bool | None = Tree(self.elements, self.doctrines, f).value(self.tree)
        return result


# ---------------------------------------------------------------- peer rule engines

RULE_ENGINE_TEXT = (
    "directed_at_plaintiff and affirmative_act and but_for_cause and harm_foreseeable"
    " and danger_known_or_obvious and culpability in ['deliberate_indifference', 'intent']"
)

JSON_LOGIC_RULE = {
    "!!": {
        "and": [
            {"var": "directed_at_plaintiff"},
            {"var": "affirmative_act"},
            {"var": "but_for_cause"},
            {"var": "harm_foreseeable"},
            {"var": "danger_known_or_obvious"},
            {"in": [{"var": "culpability"}, ["deliberate_indifference", "intent"]]},
        ]
    }
}

CLINGO_PROGRAM = """
holds(C) :- directed(C), act(C), but_for(C), foreseeable(C), known(C),
            culpability(C, V), enough(V).
enough(deliberate_indifference). enough(intent).
#show holds/1.
"""
CLINGO_NAMES = {
    "directed_at_plaintiff": "directed",
    "affirmative_act": "act",
    "but_for_cause": "but_for",
    "harm_foreseeable": "foreseeable",
    "danger_known_or_obvious": "known",
}

# Versions the benchmark was run with (pyproject.toml's `bench` extra pins the same).
PEERS = {
    "rule-engine": "rule_engine",
    "json-logic-qubit": "json_logic",
    "business-rules": "business_rules",
    "clingo": "clingo",
}


def rule_engine_batch() -> Batch:
    import rule_engine

    rule = rule_engine.Rule(RULE_ENGINE_TEXT)
    matches = rule.matches
    return lambda cases: [matches(f) for f in cases]


def json_logic_batch() -> Batch:
    from json_logic import jsonLogic

    rule = JSON_LOGIC_RULE
    return lambda cases: [jsonLogic(rule, f) for f in cases]


def business_rules_batch() -> Batch:
    from business_rules.actions import BaseActions, rule_action
    from business_rules.engine import run_all
    from business_rules.variables import (
        BaseVariables,
        boolean_rule_variable,
        string_rule_variable,
    )

    class Case(BaseVariables):  # type: ignore[misc]
        def __init__(self, facts: Facts):
            self.facts = facts

        @boolean_rule_variable  # type: ignore[untyped-decorator]
        def directed_at_plaintiff(self) -> Any:
            return self.facts["directed_at_plaintiff"]

        @boolean_rule_variable  # type: ignore[untyped-decorator]
        def affirmative_act(self) -> Any:
            return self.facts["affirmative_act"]

        @boolean_rule_variable  # type: ignore[untyped-decorator]
        def but_for_cause(self) -> Any:
            return self.facts["but_for_cause"]

        @boolean_rule_variable  # type: ignore[untyped-decorator]
        def harm_foreseeable(self) -> Any:
            return self.facts["harm_foreseeable"]

        @boolean_rule_variable  # type: ignore[untyped-decorator]
        def danger_known_or_obvious(self) -> Any:
            return self.facts["danger_known_or_obvious"]

        @string_rule_variable  # type: ignore[untyped-decorator]
        def culpability(self) -> Any:
            return self.facts["culpability"]

    class Outcome(BaseActions):  # type: ignore[misc]
        @rule_action()  # type: ignore[untyped-decorator]
        def holds(self) -> None:
            pass

    def true(name: str) -> dict[str, Any]:
        return {"name": name, "operator": "is_true", "value": True}

    rules = [
        {
            "conditions": {
                "all": [
                    *(true(name) for name in BOOLS),
                    {
                        "any": [
                            {"name": "culpability", "operator": "equal_to", "value": v}
                            for v in sorted(ENOUGH)
                        ]
                    },
                ]
            },
            "actions": [{"name": "holds", "params": {}}],
        }
    ]
    outcome = Outcome()
    return lambda cases: [
        run_all(rules, Case(f), outcome, stop_on_first_trigger=True) for f in cases
    ]


def clingo_batch() -> Batch:
    """Answer set programming decides a whole block at once: one program of facts for the
    block's cases (built from the dicts), grounded and solved together."""
    import clingo

    def run(cases: Sequence[Facts]) -> list[bool]:
        lines = [CLINGO_PROGRAM]
        for i, f in enumerate(cases):
            for name, atom in CLINGO_NAMES.items():
                if f[name]:
                    lines.append(f"{atom}({i}).")
            lines.append(f"culpability({i},{f['culpability']}).")
        control = clingo.Control(["--warn=none"])
        control.add("base", [], "\n".join(lines))
        control.ground([("base", [])])
        found: set[int] = set()

        def on_model(model: Any) -> None:
            found.update(s.arguments[0].number for s in model.symbols(shown=True))

        control.solve(on_model=on_model)
        return [i in found for i in range(len(cases))]

    return run


PEER_BATCHES: dict[str, Callable[[], Batch]] = {
    "rule-engine": rule_engine_batch,
    "json-logic-qubit": json_logic_batch,
    "business-rules": business_rules_batch,
    "clingo": clingo_batch,
}


def peer_version(name: str) -> str | None:
    """The installed version of a peer's distribution, or None when it is not installed."""
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def available_peers() -> Iterator[tuple[str, str, Batch]]:
    """(name, version, batch function) for each peer that is installed and imports."""
    for name, make in PEER_BATCHES.items():
        version = peer_version(name)
        if version is None:
            continue
        try:
            batch = make()
        except ImportError:
            continue
        yield name, version, batch
