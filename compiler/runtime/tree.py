"""The tree evaluator: a program tree's three-valued value on one case's facts.

Compiled modules compute the same values in generated code (the fast path); this evaluator
reads the nodes of `program` directly, for what needs the tree itself: explanations (which part
of a rule decided), counterfactuals (what would change it), the checker's questions about
exceptions, and the decided cases the library screens. tests/test_differential.py holds it,
the generated code and the independent reference interpreter to the same answers.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from . import program
from .logic import ABSENT, OPEN, Truth, at_least, every, merge, some

__all__ = ["Tree"]

Env = Mapping[int, Mapping[str, Any]]
"""The record each quantifier's variable stands for, by the variable's number."""
_NO_RECORDS: Env = {}


class Tree:
    """Evaluates the trees of one program on one set of facts, in the runtime's form: every fact
    present, None when unknown, records with ABSENT for the optional fields they leave out.

    `elements` and `doctrines` give the tree of each element (by key) and doctrine (by name)
    a reference may name; each is evaluated once per Tree, as generated code does per case.
    """

    __slots__ = ("_memo", "ambiguous", "doctrines", "elements", "facts")

    def __init__(
        self,
        elements: Mapping[str, program.Expr],
        doctrines: Mapping[str, program.Expr],
        facts: Mapping[str, Any],
        ambiguous: Collection[str] = (),
    ):
        self.elements = elements
        self.doctrines = doctrines
        self.facts = facts
        # The module's facts whose rules read as unknown while they are (its INFO.ambiguous).
        self.ambiguous = ambiguous
        self._memo: dict[program.ElementRef | program.DoctrineRef, Any] = {}

    def value(self, node: program.Expr, env: Env = _NO_RECORDS) -> Any:
        """The node's value: True, False or None (unknown) for a condition; for a fact, a
        field or a constant, its value as it is (None when unknown, ABSENT when left out)."""
        return _VALUE[type(node)](self, node, env)

    def tree(self, node: program.ElementRef | program.DoctrineRef) -> program.Expr:
        """The requirement of the element or doctrine a reference names."""
        if isinstance(node, program.ElementRef):
            return self.elements[node.key]
        return self.doctrines[node.name]

    def switch_arm(self, node: program.Switch) -> program.Expr | None:
        """The rule a switch chooses on these facts (an arm's or `otherwise`), None when its
        fact is unknown."""
        chosen = self.facts[node.fact.name]
        if chosen is None:
            return None
        return next((arm.result for arm in node.arms if arm.value.value == chosen), node.otherwise)

    def chain_branch(self, node: program.Chain) -> int | None:
        """Which branch of a rule decides it on these facts: its index, -1 for the general
        rule, None while that is not settled (a branch before it may or may not apply)."""
        for i, branch in enumerate(node.branches):
            applies = self.value(branch.cond)
            if applies is True:
                return i
            if applies is None:
                return None
        return -1

    # -------------------------------------------------------------- one method per node
    def _fact(self, node: program.FactRef, env: Env) -> Any:
        return self.facts[node.name]

    def _field(self, node: program.FieldRef, env: Env) -> Any:
        return env[node.var][node.field]

    def _const(self, node: program.Const, env: Env) -> Any:
        return node.value

    def _reference(self, node: program.ElementRef | program.DoctrineRef, env: Env) -> Truth:
        # An element's tree names no quantifier's variable: one value per case.
        memo = self._memo
        if node not in memo:
            memo[node] = self.value(self.tree(node))
        value: Truth = memo[node]
        return value

    def _and(self, node: program.And, env: Env) -> Truth:
        # Kleene, as a quantifier over the items: a false one settles it, else an unknown one
        # leaves it unknown (the runtime's one `every`; `some` likewise for `or`).
        return every(node.items, lambda item: self.value(item, env))

    def _or(self, node: program.Or, env: Env) -> Truth:
        return some(node.items, lambda item: self.value(item, env))

    def _not(self, node: program.Not, env: Env) -> Truth:
        v = self.value(node.item, env)
        return None if v is None else not v

    def _at_least(self, node: program.AtLeast, env: Env) -> Truth:
        return at_least(node.count, tuple(self.value(i, env) for i in node.items))

    def _compare(self, node: program.Compare, env: Env) -> Truth:
        left, right = self.value(node.left, env), self.value(node.right, env)
        if left is ABSENT or right is ABSENT:  # a field left out: the comparison is false
            return False
        if left is None or right is None:
            return None
        if node.type.kind == "scale":
            left, right = node.type.values.index(left), node.type.values.index(right)
        return program.COMPARISONS[node.op](left, right)

    def _presence(self, node: program.Presence, env: Env) -> Truth:
        return (self.value(node.field, env) is ABSENT) != node.present

    def _quantified(self, node: program.Quantified, env: Env) -> Truth:
        records = self.facts[node.collection.name]
        if records is None:
            return None

        def test(record: Mapping[str, Any]) -> Truth:
            value: Truth = self.value(node.body, {**env, node.var: record})
            return value

        if node.quantifier == "every":
            return every(records, test)
        found = some(records, test)
        if node.quantifier == "no":
            return None if found is None else not found
        return found

    def _chain(self, node: program.Chain, env: Env) -> Truth:
        # Branches in priority order: one that applies decides; one that may apply leaves its
        # result pending, and the outcome is unknown unless every way it may go agrees.
        pending: Any = OPEN
        for branch in node.branches:
            applies = self.value(branch.cond)
            if applies is True:
                return merge(pending, self.value(branch.result))
            if applies is None:
                pending = merge(pending, self.value(branch.result))
                if pending is None:
                    return None
        default = node.default
        return merge(pending, default if isinstance(default, bool) else None)

    def _switch(self, node: program.Switch, env: Env) -> Truth:
        rule = self.switch_arm(node)
        if rule is not None:
            value: Truth = self.value(rule)
            return value
        if node.fact.name in self.ambiguous:
            return None  # see program.ambiguous_facts
        # The fact unknown: the stated alternatives' agreement.
        pending: Any = OPEN
        for arm in node.arms:
            pending = merge(pending, self.value(arm.result))
            if pending is None:
                return None
        return merge(pending, None) if not node.arms else pending

    def _open(self, node: program.Open, env: Env) -> Truth:
        return None  # the law leaves it open whatever the facts


_VALUE: dict[type, Callable[[Tree, Any, Env], Any]] = {
    program.FactRef: Tree._fact,
    program.FieldRef: Tree._field,
    program.Const: Tree._const,
    program.ElementRef: Tree._reference,
    program.DoctrineRef: Tree._reference,
    program.And: Tree._and,
    program.Or: Tree._or,
    program.Not: Tree._not,
    program.AtLeast: Tree._at_least,
    program.Compare: Tree._compare,
    program.Presence: Tree._presence,
    program.Quantified: Tree._quantified,
    program.Chain: Tree._chain,
    program.Switch: Tree._switch,
    program.Open: Tree._open,
}
