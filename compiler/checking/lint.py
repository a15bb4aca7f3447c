"""The lints (D06xx): warnings about a checked project that is legal but likely mistaken.

They run after checking, over the frozen `CheckedProject`, and change nothing in it; the
checker proper reports what makes a program wrong (D02xx to D05xx, some of them warnings where
it cannot tell, as D0312's "may both apply"). Each lint keeps the gate it had in the checker:
reasoning about chains of exceptions needs every declaration checked (`project.sound`), and an
unused element is often the echo of an error, so it waits for none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from ..errors import Diagnostic, SourcePosition
from ..syntax import nodes as n
from . import ir
from .logic import satisfiable
from .project import (
    CheckedProject,
    Decision,
    ExceptionChain,
    FirstMatchList,
    RuleDecision,
    decisions,
    outcome_word,
)


def lint(project: CheckedProject) -> list[Diagnostic]:
    """Every lint's warnings about the project, in a fixed order (the caller sorts them)."""
    return [
        *_rules_without_exceptions(project),
        *_labels_and_facts(project),
        *_precedents_not_found(project),
        *(_chains(project) if project.sound else ()),
        *(_unused_elements(project) if project.ok else ()),
    ]


def _warning(
    code: str, message: str, pos: SourcePosition, label: str = "", help: str = ""
) -> Diagnostic:
    return Diagnostic(code, message, pos, label=label, help=help, severity="warning")


# ---------------------------------------------------------------- D0603: a rule that is all rule


def _rules_without_exceptions(project: CheckedProject) -> Iterator[Diagnostic]:
    for site in project.chains:
        if isinstance(site, ExceptionChain) and site.rule is not None and not site.chain.branches:
            yield _warning(
                "D0603",
                f"{site.owner} has a general rule and no exceptions",
                site.rule.pos,
                label=f"always {outcome_word(site.rule.outcome)}",
                help="add `exception NAME when CONDITION then OUTCOME`, or use `holds when`",
            )


# ---------------------------------------------------------------- D0602, D0603: chains


def _chains(project: CheckedProject) -> Iterator[Diagnostic]:
    """Lines of a first-match list that never decide; exceptions that never apply, or that
    give what the rule above them already gives."""

    def sat(exprs: list[ir.Expr]) -> bool | None:
        return satisfiable(exprs, project.elements, project.doctrines)

    for site in project.chains:
        if isinstance(site, FirstMatchList):
            yield from _first_match(site, sat)
            continue
        chain, closure = site.chain, site.ranked_below
        context = [site.parent] if site.parent is not None else []
        for branch, decl in zip(chain.branches, site.exceptions):
            if sat([*context, branch.cond]) is False:
                yield _warning(
                    "D0602",
                    f"exception `{branch.label}` can never apply",
                    decl.pos,
                    label="its condition cannot hold",
                    help="check the condition, or remove the exception",
                )
            elif (
                branch.outcome is not None
                and branch.outcome == chain.default
                and not decl.exceptions
                and not closure.get(branch.label)
            ):
                yield _warning(
                    "D0603",
                    f"exception `{branch.label}` gives {outcome_word(branch.outcome)}, as the "
                    "rule it is an exception to already does",
                    decl.pos,
                    label="changes nothing",
                    help=f"did you mean `then {outcome_word(not branch.outcome)}`?",
                )


def _first_match(
    site: FirstMatchList, sat: Callable[[list[ir.Expr]], bool | None]
) -> Iterator[Diagnostic]:
    branches = site.chain.branches
    for i, (branch, decl) in enumerate(zip(branches, site.lines)):
        earlier = [ir.Not(item=b.cond) for b in branches[:i]]
        if sat([*earlier, branch.cond]) is False:
            yield _warning(
                "D0602",
                f"line {i + 1} of this first-match list can never decide",
                decl.pos,
                label="never reached",
                help="earlier lines always match first, or this condition cannot hold",
            )


# ---------------------------------------------------------------- D0604: no precedents


def _precedents_not_found(project: CheckedProject) -> Iterator[Diagnostic]:
    for name, doctrine in project.doctrines.items():
        effective = project.effective.get(name)
        if doctrine.precedents is None or effective is None or effective.precedents is None:
            continue  # none asked for, or the request did not check (an error says why)
        if doctrine.precedents[1]:
            continue
        applied = effective.precedents.item[1]
        yield _warning(
            "D0604",
            f"no decided case in this module or its imports applied `{applied.id}`",
            applied.pos,
            label=f"`{name}` will find no precedents here",
            help="declare authorities with `applied`, `held` and `facts`, and import them",
        )


# ---------------------------------------------------------------- D0605: a label that is a fact


def _labels_and_facts(project: CheckedProject) -> Iterator[Diagnostic]:
    """A name that is both a fact and a label of the doctrine's elements, where either could be
    meant: compared, it reads the fact (only facts are compared); alone as a condition, beside
    a bool fact, it is the element. The conditions walked are those the checker resolves with
    the labels in scope: the doctrine's decision, its burdens, and its own elements (each
    without its own label)."""
    for name, effective in project.effective.items():
        doctrine = project.doctrines.get(name)
        if doctrine is None:
            continue
        labels = frozenset(label for label, _ in doctrine.slots)
        for label, placed in effective.slots.items():
            element = placed.item.element
            if element is None:
                continue
            walk = _Walk(project, placed.module, labels - {label})
            ways = decisions(element)  # the checker reads the first; more is an error
            if ways:
                yield from walk.decision(ways[0])
            for own in element.burdens:
                yield from walk.maybe(own.condition)
        if effective.decision is not None:
            walk = _Walk(project, effective.decision.module, labels)
            yield from walk.decision(effective.decision.item)
        for burden in effective.burdens:
            yield from _Walk(project, burden.module, labels).maybe(burden.item.condition)


class _Walk:
    """The conditions read in one module with some labels of a doctrine in scope."""

    def __init__(self, project: CheckedProject, module: Path, labels: frozenset[str]) -> None:
        self.project = project
        self.scope = project.scope(module)
        self.labels = labels

    def decision(self, decision: Decision) -> Iterator[Diagnostic]:
        payload = decision.payload
        if isinstance(payload, n.Condition):
            yield from self.condition(payload.expr, frozenset())
        elif isinstance(payload, RuleDecision):
            yield from self.exceptions(payload.exceptions)
        elif isinstance(payload, n.FirstMatch):
            for branch in payload.branches:
                yield from self.maybe(branch.condition)
        else:
            for arm in payload.arms:
                yield from self.maybe(arm.result)
            yield from self.maybe(payload.otherwise)

    def exceptions(self, excs: tuple[n.Exception_, ...]) -> Iterator[Diagnostic]:
        # The checker reads one exception of each label (a repeated label is an error).
        by_label = {e.label: e for e in excs}
        for e in by_label.values():
            yield from self.condition(e.condition, frozenset())
            yield from self.exceptions(e.exceptions)

    def maybe(self, e: n.Expr | n.Open | None) -> Iterator[Diagnostic]:
        if e is not None and not isinstance(e, n.Open):
            yield from self.condition(e, frozenset())

    def condition(self, e: n.Expr, variables: frozenset[str]) -> Iterator[Diagnostic]:
        if isinstance(e, n.Name):
            yield from self.bare(e, variables)
        elif isinstance(e, (n.And, n.Or, n.AtLeast)):
            for item in e.items:
                yield from self.condition(item, variables)
        elif isinstance(e, n.Not):
            yield from self.condition(e.item, variables)
        elif isinstance(e, n.Compare):
            yield from self.operand(e.left, variables)
            yield from self.operand(e.right, variables)
        elif isinstance(e, n.Quantified):
            entry = self.scope.get(e.collection.id)
            t = (
                self.project.fact_type(entry)
                if entry is not None and entry.kind == "fact"
                else None
            )
            if t is not None and t.kind == "list" and t.record is not None:
                yield from self.condition(e.body, variables | {e.var})

    def bare(self, e: n.Name, variables: frozenset[str]) -> Iterator[Diagnostic]:
        """A label used as a condition is the element; a bool fact of that name could have
        been meant as well (an enum or a list could not: it is no condition)."""
        if e.id in variables or e.id not in self.labels:
            return
        entry = self.scope.get(e.id)
        t = self.project.fact_type(entry) if entry is not None and entry.kind == "fact" else None
        if t is not None and t.kind == "bool":
            yield _warning(
                "D0605",
                f"`{e.id}` is both a fact and a label of this doctrine's elements; "
                "as a condition, it is the element",
                e.pos,
                label="the element, not the fact",
                help=f"give the element another label, as `element {e.id}_test = ...`",
            )

    def operand(self, e: n.Expr, variables: frozenset[str]) -> Iterator[Diagnostic]:
        if not isinstance(e, n.Name) or e.id in variables or e.id not in self.labels:
            return
        entry = self.scope.get(e.id)
        if entry is not None and entry.kind == "fact":
            yield _warning(
                "D0605",
                f"`{e.id}` is both a fact and a label of this doctrine's elements; "
                "compared, it reads the fact",
                e.pos,
                label="the fact, not the element",
                help=f"give the element another label, as `element {e.id}_test = ...`",
            )


# ---------------------------------------------------------------- D0601: unused elements


def _unused_elements(project: CheckedProject) -> Iterator[Diagnostic]:
    used: set[str] = set()
    for doctrine in project.doctrines.values():
        used.update(key for _, key in doctrine.slots)
        used.update(_elements_named(doctrine.expr, doctrine.presumptions))
    for element in project.elements.values():
        used.update(_elements_named(element.expr, element.presumptions))
    for path in project.loaded.order:
        own = project.own(path)
        if not project.case_declarations.get(path) and not any(
            e.kind == "doctrine" for e in own.values()
        ):
            continue  # a library of elements is there to be imported
        for entry in own.values():
            if entry.kind != "element":
                continue
            if f"{project.module_name(path)}.{entry.decl.name}" not in used:
                yield _warning(
                    "D0601",
                    f"element `{entry.decl.name}` is used by nothing",
                    entry.decl.pos,
                    label="not part of any doctrine or element",
                    help="bind it in a doctrine with `element LABEL = NAME`, or remove it",
                )


def _elements_named(expr: ir.Expr, presumptions: tuple[ir.Presumption, ...]) -> Iterator[str]:
    for tree in (expr, *(p.cond for p in presumptions if p.cond is not None)):
        for kind, name in ir.references(tree):
            if kind == "element":
                yield name
