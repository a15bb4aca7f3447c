"""A reference interpreter: the checked program (ir.Program) evaluated directly, three-valued.

It exists only to be compared with the compiled modules (tests/test_differential.py), so it is
written for plainness, not speed, and shares no code with compiler/runtime/ or compiler/codegen/
beyond the IR it reads. It follows docs/language.md:

- `and`, `or`, `not`: Kleene's three values; `at least N of`: true once N items are true, false
  once too few can be; a comparison with an unknown value is unknown, with an absent optional
  field false; `some` / `every` / `no` over an unknown list are unknown.
- A general rule with exceptions, and a first-match list, read as nested three-valued
  if-then-else: a branch whose condition is true decides; false passes to the next; unknown
  gives the branch's result if the rest would give the same, and unknown otherwise.
- A burden of proof (`absent F counts as V when C`) gives an absent fact F the value V when C,
  read on the facts as the case gives them, is true; the first burden naming a fact wins. The
  burdens of the doctrine evaluated apply, with those of the elements and doctrines it uses.
- `closed world` makes the bool facts a case leaves out false for the doctrine evaluated (not
  for another doctrine it names, which reads the same facts).
- `precedents for LIST from DOCTRINE` changes nothing in the evaluation: the library's decided
  cases are screened as candidates for the memo, but never fill the list.

Exactness (docs/language.md): an outcome or element that Kleene's values leave unknown is true
(false) when every completion of the unknown facts makes it so, and `missing` is the set of
unknown facts whose value alone changes the outcome of some completion. The compiled module
answers both with a decision diagram (compiler/runtime/exact.py); the reference by brute force,
trying every completion (`Reference.completions`): bools and enums take each value; dates,
numbers and text take values around each constant of the program and of the case's lists
(a few days or quarters either side, two texts no rule names), which include a value of every
kind a comparison can tell apart; a burden applies where its condition holds on the completed
facts. A list the case does not give, or more than ENUMERATION_LIMIT completions, cannot be
tried: there the tests compare only what is comparable (a settled result has nothing missing,
and what is missing is unknown and read by the doctrine).
"""

from __future__ import annotations

import datetime
import itertools
import math
import operator
from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any

from compiler.checking import ir

Truth = bool | None
# The most completions the reference tries for one question (its brute force is the check).
ENUMERATION_LIMIT = 2_000


class Untold:
    """Marks an answer the reference cannot give by brute force (a list unknown, say)."""

    def __repr__(self) -> str:
        return "<untold>"


UNTOLD = Untold()


class _Absent:
    """An optional field left out of a record: known not to be there."""

    def __repr__(self) -> str:
        return "<absent>"


ABSENT = _Absent()

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def kleene_and(values: list[Truth]) -> Truth:
    if any(v is False for v in values):
        return False
    return None if any(v is None for v in values) else True


def kleene_or(values: list[Truth]) -> Truth:
    if any(v is True for v in values):
        return True
    return None if any(v is None for v in values) else False


def kleene_not(value: Truth) -> Truth:
    return None if value is None else not value


def same_or_unknown(a: Truth, b: Truth) -> Truth:
    """What a rule gives when it may go either of two ways."""
    return a if a is not None and a == b else None


class Reference:
    """Evaluates the doctrines of one checked program."""

    def __init__(self, program: ir.Program):
        self.program = program
        self.facts = {f.name: f for f in program.facts}
        self.elements = {e.key: e for e in program.elements}
        self.doctrines = {d.name: d for d in program.doctrines}
        # Kleene's reading of a rule chosen by an unknown fact is the arms' agreement only
        # where every rule on that fact names the same alternatives and no burden may fill it
        # on a condition; elsewhere it is unknown (docs/language.md).
        arms: dict[str, set[frozenset[Any]]] = {}
        filled: set[str] = set()
        for rule in [*program.elements, *program.doctrines]:
            filled.update(b.fact for b in rule.presumptions if b.cond is not None)
            for node in ir.walk(rule.expr):
                if isinstance(node, ir.Switch):
                    found = frozenset(arm.value.value for arm in node.arms)
                    arms.setdefault(node.fact.name, set()).add(found)
        self.ambiguous = {n for n, sets in arms.items() if len(sets) > 1 or n in filled}

    # ------------------------------------------------------------ facts
    def prepare(
        self, doctrine: ir.Doctrine, given: Mapping[str, Any], burdens: bool = True
    ) -> dict[str, Any]:
        """Every fact of the vocabulary, None where unknown; records with ABSENT fields; and
        (unless `burdens` is false) what the burdens and a closed world make absent facts."""
        f: dict[str, Any] = {}
        for name, fact in self.facts.items():
            value = given.get(name)
            if value is not None and fact.type.kind == "list":
                assert fact.type.record is not None
                value = tuple(self._record(fact.type.record, item) for item in value)
            f[name] = value
        if not burdens:
            return f
        # Burdens of proof: an absent fact counts as the stated value when the condition, read
        # on the facts as the case gives them, is true; where two name one fact, the first wins.
        # While an earlier burden's condition is unknown, no later one settles the fact.
        given_f = dict(f)
        pending: set[str] = set()
        for burden in ir.presumptions_of(doctrine, self.elements, self.doctrines):
            if f[burden.fact] is not None or burden.fact in pending:
                continue
            applies = True if burden.cond is None else self.value(burden.cond, given_f, {})
            if applies is True:
                f[burden.fact] = burden.value
            elif applies is None:
                pending.add(burden.fact)
        if doctrine.closed_world:
            for name, fact in self.facts.items():
                if fact.type.kind == "bool" and f[name] is None and name not in pending:
                    f[name] = False
        return f

    @staticmethod
    def _record(record: ir.RecordType, item: Mapping[str, Any]) -> dict[str, Any]:
        out = {}
        for field in record.fields:
            value = item.get(field.name)
            if value is None:
                assert field.optional, f"required field {field.name} left out"
                value = ABSENT
            out[field.name] = value
        return out

    def value(self, e: ir.Expr, f: Mapping[str, Any], env: dict[int, Any]) -> Any:
        if isinstance(e, ir.Const):
            return e.value
        if isinstance(e, ir.FactRef):
            return f[e.name]
        if isinstance(e, ir.FieldRef):
            return env[e.var][e.field]
        if isinstance(e, ir.ElementRef):
            return self.value(self.elements[e.key].expr, f, env)
        if isinstance(e, ir.DoctrineRef):
            return self.value(self.doctrines[e.name].expr, f, env)
        if isinstance(e, ir.And):
            return kleene_and([self.value(i, f, env) for i in e.items])
        if isinstance(e, ir.Or):
            return kleene_or([self.value(i, f, env) for i in e.items])
        if isinstance(e, ir.Not):
            return kleene_not(self.value(e.item, f, env))
        if isinstance(e, ir.AtLeast):
            values = [self.value(i, f, env) for i in e.items]
            true = values.count(True)
            could = true + sum(1 for v in values if v is None)
            return True if true >= e.count else None if could >= e.count else False
        if isinstance(e, ir.Compare):
            left = self.value(e.left, f, env)
            right = self.value(e.right, f, env)
            if left is ABSENT or right is ABSENT:
                return False
            if left is None or right is None:
                return None
            if e.type.kind == "scale":
                left, right = e.type.values.index(left), e.type.values.index(right)
            return _OPS[e.op](left, right)
        if isinstance(e, ir.Presence):
            absent = self.value(e.field, f, env) is ABSENT
            return not absent if e.present else absent
        if isinstance(e, ir.Quantified):
            items = f[e.collection.name]
            if items is None:
                return None
            tests = [self.value(e.body, f, {**env, e.var: item}) for item in items]
            if e.quantifier == "every":
                return kleene_and(tests)
            found = kleene_or(tests)
            return found if e.quantifier == "some" else kleene_not(found)
        if isinstance(e, ir.Chain):
            return self.chain(e, 0, f, env)
        if isinstance(e, ir.Open):
            return None
        if isinstance(e, ir.Switch):
            # The arm of the fact's value, else `otherwise`; the fact unknown, the arms' agreement.
            known = self.value(e.fact, f, env)
            if known is None and e.fact.name in self.ambiguous:
                return None
            if known is None:
                values = {self.value(arm.result, f, env) for arm in e.arms}
                return values.pop() if len(values) == 1 else None
            for arm in e.arms:
                if arm.value.value == known:
                    return self.value(arm.result, f, env)
            return self.value(e.otherwise, f, env)
        raise AssertionError(f"unexpected {e!r}")

    def chain(self, e: ir.Chain, i: int, f: Mapping[str, Any], env: dict[int, Any]) -> Truth:
        if i == len(e.branches):
            return e.default if isinstance(e.default, bool) else None  # `open`: unknown
        branch = e.branches[i]
        applies = self.value(branch.cond, f, env)
        if applies is True:
            return self.value(branch.result, f, env)  # type: ignore[no-any-return]
        rest = self.chain(e, i + 1, f, env)
        if applies is False:
            return rest
        return same_or_unknown(self.value(branch.result, f, env), rest)

    # ------------------------------------------------------------ doctrines
    def evaluate(
        self, name: str, given: Mapping[str, Any]
    ) -> tuple[Truth, dict[str, Truth | Untold], tuple[str, ...] | None]:
        """(holds, each element by label, missing). Where the completions cannot be tried
        (a list the case does not give, or too many), an unknown element is UNTOLD and
        `missing` None; `holds` is then Kleene's value."""
        d = self.doctrines[name]
        f = self.prepare(d, given)
        holds = self.value(d.expr, f, {})
        elements: dict[str, Truth | Untold] = {
            label: self.value(self.elements[key].expr, f, {}) for label, key in d.slots
        }
        failed = [i for i, t in enumerate(d.thresholds) if elements.get(t) is False]
        if failed:
            # A threshold that fails decides: the elements after it are not reached (None).
            reached = set(d.thresholds[: failed[0] + 1])
            elements = {k: v if k in reached else None for k, v in elements.items()}
            return holds, elements, ()
        unknown = [label for label, value in elements.items() if value is None]
        if holds is not None and not unknown:
            return holds, elements, ()
        keys = dict(d.slots)
        # One question at a time: a fact the rule in question chooses by (`holds by`) ranges
        # over the values its arms name, which may differ from one rule to another.
        for label in unknown:
            tried = self.completions(d, [self.elements[keys[label]].expr], given)
            if tried is None:
                elements[label] = UNTOLD
                continue
            seen = {outcome[0] for outcome in tried[2].values()}
            elements[label] = seen.pop() if len(seen) == 1 else None
        if holds is not None:
            return holds, elements, ()
        tried = self.completions(d, [d.expr], given)
        if tried is None:
            return holds, elements, None
        facts, domains, outcomes = tried
        seen = {outcome[0] for outcome in outcomes.values()}
        if seen == {True} or seen == {False}:
            return seen.pop(), elements, ()
        found = set()
        for i, fact in enumerate(facts):
            for combo, outcome in outcomes.items():
                others = ((*combo[:i], alt, *combo[i + 1 :]) for alt in domains[i])
                if any(outcomes[o][0] != outcome[0] for o in others):
                    found.add(fact)
                    break
        return None, elements, tuple(sorted(found))

    def reads(self, d: ir.Doctrine) -> set[str]:
        """Every fact the doctrine's outcome depends on, through elements and doctrines it
        names, and the facts its library decisions are compared on."""
        out = self.reads_expr(d.expr)
        for burden in ir.presumptions_of(d, self.elements, self.doctrines):
            if burden.fact in out and burden.cond is not None:
                out |= self.reads_expr(burden.cond)  # what decides what the fact counts as
        if d.precedents is not None and d.precedents[0] in out:
            for c in d.precedents[1]:
                out.update(w.fact for w in (*c.relied, *c.against))
        return out

    def reads_expr(self, expr: ir.Expr) -> set[str]:
        """Every fact an expression reads, through the elements and doctrines it names."""
        out: set[str] = set()
        seen: set[str] = set()
        todo: list[ir.Expr] = [expr]
        while todo:
            e = todo.pop()
            if isinstance(e, ir.FactRef):
                out.add(e.name)
            elif isinstance(e, ir.ElementRef):
                if e.key not in seen:
                    seen.add(e.key)
                    todo.append(self.elements[e.key].expr)
            elif isinstance(e, ir.DoctrineRef):
                if "doctrine " + e.name not in seen:
                    seen.add("doctrine " + e.name)
                    todo.append(self.doctrines[e.name].expr)
            elif isinstance(e, (ir.And, ir.Or, ir.AtLeast)):
                todo.extend(e.items)
            elif isinstance(e, ir.Not):
                todo.append(e.item)
            elif isinstance(e, ir.Compare):
                todo += [e.left, e.right]
            elif isinstance(e, ir.Quantified):
                todo += [e.collection, e.body]
            elif isinstance(e, ir.Chain):
                for b in e.branches:
                    todo += [b.cond, b.result]
            elif isinstance(e, ir.Switch):
                todo += [e.fact, *(arm.result for arm in e.arms), e.otherwise]
        return out

    def completions(
        self, d: ir.Doctrine, exprs: list[ir.Expr], given: Mapping[str, Any]
    ) -> tuple[list[str], list[tuple[Any, ...]], dict[tuple[Any, ...], tuple[Truth, ...]]] | None:
        """Every completion of the unknown facts the expressions read, each with their
        outcomes: bools and enums take each value, dates, numbers and text each constant they
        are compared with and a value either side (a day, a quarter, a text no rule names),
        and a burden applies where its condition holds on the completed facts. None when a
        list is unknown, two such facts are compared with one another (more values would be
        needed), or the completions are too many."""
        f = self.prepare(d, given)
        burdens = ir.presumptions_of(d, self.elements, self.doctrines)
        reads: set[str] = set()
        for e in exprs:
            reads |= self.reads_expr(e)
        for burden in burdens:  # a burden's condition decides what its fact counts as
            if burden.fact in reads and burden.cond is not None:
                reads |= self.reads_expr(burden.cond)
        unknown = sorted(n for n in reads if f.get(n) is None and given.get(n) is None)
        constants = self.constants(given)
        # (Conditions of the burdens still pending: those of facts the case leaves unknown.)
        pending = [b.cond for b in burdens if b.cond is not None and f.get(b.fact) is None]
        constants["switched"] = self.switched(exprs + pending, f)
        domains = []
        for name in unknown:
            values = self.values(self.facts[name].type, constants)
            if name in constants["switched"]:
                # A fact a rule is chosen by ranges over the rules' stated alternatives: with it
                # unknown, a switch is their agreement (docs/language.md).
                values = tuple(dict.fromkeys(constants["switched"][name]))
            elif values is None or name in constants["paired"]:
                return None
            domains.append(values)
        if math.prod(len(v) for v in domains) > ENUMERATION_LIMIT:
            return None
        outcomes: dict[tuple[Any, ...], tuple[Truth, ...]] = {}
        for combo in itertools.product(*domains):
            completed = {**given, **dict(zip(unknown, combo))}
            # As the runtime reads burdens for `missing`: a fact whose burden's condition holds
            # on the facts as given with the completion counts as the burden says (the first
            # burden on a fact wins).
            # The facts a burden filled on the case's facts stay as filled: only the unknown
            # ones are completed (the runtime's reading, compiler/runtime/exact.py).
            g = {**f, **dict(zip(unknown, combo))}
            as_read = self.prepare(d, completed, burdens=False)
            done: set[str] = set()
            for burden in burdens:
                # A fact still unknown here is one an earlier burden's unknown condition left
                # pending: a later burden, with a condition or without, fills it where no
                # earlier one applies.
                cond = burden.cond
                if burden.fact not in unknown or burden.fact in done:
                    continue
                if cond is None or self.value(cond, as_read, {}) is True:
                    g[burden.fact] = burden.value
                    done.add(burden.fact)
            if d.closed_world:
                # An unknown bool under a closed world is one a burden left pending: where no
                # burden applies, the closed world makes it false.
                for name in unknown:
                    if name not in done and self.facts[name].type.kind == "bool":
                        g[name] = False
            outcomes[combo] = tuple(self.value(e, g, {}) for e in exprs)
        return unknown, domains, outcomes

    def switched(self, exprs: list[ir.Expr], f: Mapping[str, Any]) -> dict[str, list[Any]]:
        """The arms' values of each switch on an unknown fact that the expressions reach
        (through the elements and doctrines they name, and a switch on a known fact only
        through the arm it chooses), by the fact it chooses by."""
        out: dict[str, list[Any]] = {}
        seen: set[str] = set()
        todo = list(exprs)
        while todo:
            e = todo.pop()
            if isinstance(e, ir.Switch):
                known = f.get(e.fact.name)
                if known is None:
                    out.setdefault(e.fact.name, []).extend(a.value.value for a in e.arms)
                    todo += [*(a.result for a in e.arms), e.otherwise]
                else:
                    arm = next((a.result for a in e.arms if a.value.value == known), e.otherwise)
                    todo.append(arm)
            elif isinstance(e, ir.ElementRef):
                if e.key not in seen:
                    seen.add(e.key)
                    todo.append(self.elements[e.key].expr)
            elif isinstance(e, ir.DoctrineRef):
                if "d " + e.name not in seen:
                    seen.add("d " + e.name)
                    todo.append(self.doctrines[e.name].expr)
            elif isinstance(e, (ir.And, ir.Or, ir.AtLeast)):
                todo.extend(e.items)
            elif isinstance(e, ir.Not):
                todo.append(e.item)
            elif isinstance(e, ir.Quantified):
                todo.append(e.body)
            elif isinstance(e, ir.Chain):
                for branch in e.branches:
                    todo += [branch.cond, branch.result]
        return out

    @staticmethod
    def values(t: ir.FactType, constants: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The values a completion tries for a fact of type `t`."""
        if t.kind == "bool":
            return (True, False)
        if t.kind in ("enum", "scale"):
            return t.values
        if t.kind == "list":
            return None
        found = constants[t.kind]
        if t.kind == "text":
            return (*sorted(found), "a text no rule names")
        if t.kind == "number":
            points = {Fraction(c) for c in found} or {Fraction(0)}
            return tuple(sorted({p + Fraction(k, 4) for p in points for k in (-1, 0, 1)}))
        days = found or {datetime.date(2000, 1, 1)}
        return tuple(sorted({d + datetime.timedelta(days=k) for d in days for k in (-1, 0, 1)}))

    def constants(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """The constants of the program and the values in the case's lists, by kind; and under
        "paired" the date, number and text facts compared with one another."""
        out: dict[str, Any] = {"date": set(), "number": set(), "text": set(), "paired": set()}
        todo: list[Any] = [x.expr for x in self.elements.values()]
        todo += [x.expr for x in self.doctrines.values()]
        for rule in [*self.elements.values(), *self.doctrines.values()]:
            todo += [b.cond for b in rule.presumptions if b.cond is not None]
        while todo:
            for node in ir.walk(todo.pop()):
                if isinstance(node, ir.Const) and node.type.kind in out:
                    out[node.type.kind].add(node.value)
                elif isinstance(node, ir.Switch) and node.fact.type.kind in out:
                    out[node.fact.type.kind].update(arm.value.value for arm in node.arms)
                elif (
                    isinstance(node, ir.Compare)
                    and isinstance(node.left, ir.FactRef)
                    and isinstance(node.right, ir.FactRef)
                    and node.type.kind in ("date", "number", "text")
                ):
                    out["paired"].update((node.left.name, node.right.name))
        for name, value in given.items():
            fact = self.facts.get(name)
            if fact is None or fact.type.kind != "list" or not value:
                continue
            assert fact.type.record is not None
            for item in value:
                for field in fact.type.record.fields:
                    v = item.get(field.name)
                    if v is not None and field.type.kind in out:
                        out[field.type.kind].add(v)
        return out


def disagreements(
    evaluator: Any, reference: Reference, name: str, facts: Mapping[str, Any]
) -> list[str]:
    """Where the compiled doctrine and the reference differ on these facts (empty: agreed)."""
    result = evaluator.evaluate(dict(facts))
    holds, elements, missing = reference.evaluate(name, facts)
    out = []
    if result.holds is not holds and not (holds is None and missing is None):
        # (Where the reference cannot enumerate, the compiled module may still settle it.)
        out.append(f"holds: compiled {result.holds}, reference {holds}")
    told = {k: v for k, v in elements.items() if v is not UNTOLD}
    if {k: v for k, v in result.elements.items() if k in told} != told:
        out.append(f"elements: compiled {dict(result.elements)}, reference {elements}")
    got = tuple(result.missing)
    if result.holds is not None and got:
        out.append(f"missing: a settled result lists {got}")
    elif missing is not None and got != missing:
        out.append(f"missing: compiled {got}, reference {missing}")
    elif missing is None and not set(got) <= reference.reads(reference.doctrines[name]):
        out.append(f"missing: compiled {got} lists facts the doctrine does not read")
    return out
