"""A doctrine compiled to one SQL query, built as a sqlglot expression tree, for several dialects.

The query reads a relation of cases (a column per fact the doctrine reads) and gives, for each
row, the kept columns, `holds`, each element by its label, and `missing`. SQL's NULL is the
language's unknown, and SQL's AND, OR and NOT are Kleene's, as the language's are; the rest is
written so that no dialect's NULL rules can change an answer:

- `IS TRUE` / `IS FALSE` are never used (some dialects' translations lose the NULL case); a
  two-valued test is COALESCE(x, TRUE) or COALESCE(x, FALSE).
- No untyped NULL literal appears (Spark rejects them): an unknown comes from a CASE with no
  ELSE, whose type is its branches' type.
- An ordered enum is compared by rank (a searched CASE over its values, never `CASE x WHEN`);
  a comparison with a constant rank is decided at compile time where it can be.
- A list of records is reduced by mapping each item to 2 (true), 1 (unknown) or 0 (false) and
  taking the largest or smallest: the same answer whatever a dialect's ANY/ALL do with NULL.
- Elements, and the doctrines a doctrine names, are columns computed once each, in layers
  (common table expressions), so that an element used many times is evaluated once per row.
- A switch (`holds by FACT`) is a CASE on the fact, with the arms' agreement when it is NULL;
  an open outcome is an unknown; burdens (and the closed world) fill the absent facts in the
  first layer, their conditions reading the columns as the case gave them; an element after
  a failed threshold is NULL (not reached).

`missing` and `open` are exact only where SQL can make them so: when `holds` is decided both
are empty (`[]`); when `holds` is unknown the query gives NULL, and the batch engines compute
them for those rows with the Python runtime (see docs/batch.md). Likewise an element NULL by
Kleene's tables that the runtime may settle (`x or not x`; see `kleene_final`).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

import sqlglot
from sqlglot import exp

from ..checking import ir
from ..errors import DoctrineException
from ..runtime.program import COMPARISONS, MIRRORED

DIALECTS = ("duckdb", "spark", "postgres", "sqlite", "bigquery", "trino", "snowflake")
# How each dialect reduces a list of records: higher-order functions over arrays of structs
# (TRANSFORM and ARRAY_MAX / ARRAY_MIN), JSON text read with json_each, or not at all.
_LISTS = {
    "duckdb": "array",
    "spark": "array",
    "trino": "array",
    "snowflake": None,
    "postgres": None,
    "bigquery": None,
    "sqlite": "json",
}
# Names of the columns the query adds; a fact, kept column or label may not start so.
_PREFIX = "__d"
OUTPUT = ("holds", "missing")


class SqlError(DoctrineException):
    """The doctrine cannot be written in this dialect, or the request is wrong; one line."""


def _id(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def _col(name: str, table: str | None = None) -> exp.Column:
    return exp.Column(this=_id(name), table=exp.to_identifier(table) if table else None)


def _true() -> exp.Expr:
    return exp.true()


def _false() -> exp.Expr:
    return exp.false()


def _coalesce(e: exp.Expr, default: bool) -> exp.Expr:
    return exp.Coalesce(this=e, expressions=[_true() if default else _false()])


def _and(*items: exp.Expr) -> exp.Expr:
    return exp.and_(*items, wrap=True) if len(items) > 1 else exp.Paren(this=items[0])


def _or(*items: exp.Expr) -> exp.Expr:
    return exp.or_(*items, wrap=True) if len(items) > 1 else exp.Paren(this=items[0])


def _not(e: exp.Expr) -> exp.Expr:
    return exp.Not(this=exp.Paren(this=e))


def _case(*whens: tuple[exp.Expr, exp.Expr]) -> exp.Case:
    """A searched CASE with no ELSE: NULL, of the branches' type, when no condition holds."""
    case = exp.Case()
    for cond, value in whens:
        case = case.when(cond, value)
    return case


def _unknown() -> exp.Expr:
    """A typed unknown: a CASE whose only branch never applies (no bare NULL literal)."""
    return _case((_false(), _true()))


def _list_type(t: ir.FactType) -> exp.DataType:
    """An array of structs of a list of records' fields (for a typed empty list)."""
    assert t.record is not None

    def scalar(kind: str) -> str:
        return {"bool": "BOOLEAN", "number": "DOUBLE", "date": "DATE"}.get(kind, "TEXT")

    fields = []
    for f in t.record.fields:
        inner = _list_type(f.type).sql() if f.type.kind == "list" else scalar(f.type.kind)
        fields.append(f'"{f.name}" {inner}')
    return exp.DataType.build(f"STRUCT({', '.join(fields)})[]", dialect="duckdb")


def _int(n: int) -> exp.Expr:
    return exp.Literal.number(n)


class _Layers:
    """Helper columns computed once per row, each in the first layer after what it reads."""

    def __init__(self) -> None:
        self.columns: list[tuple[str, exp.Expr, int]] = []
        self.count = 0

    def add(self, e: exp.Expr, depth: int) -> tuple[exp.Expr, int]:
        self.count += 1
        name = f"{_PREFIX}{self.count}"
        self.columns.append((name, e, depth + 1))
        return _col(name), depth + 1


class SqlCompiler:
    """Compiles one doctrine of a checked program to SQL for one dialect."""

    def __init__(self, program: ir.Program, doctrine: str, dialect: str = "duckdb"):
        if dialect not in DIALECTS:
            raise SqlError(f"unknown dialect {dialect!r}; choose one of {', '.join(DIALECTS)}")
        found = {d.name: d for d in program.doctrines}
        if doctrine not in found:
            raise SqlError(f"no doctrine `{doctrine}`; there is {', '.join(found) or 'none'}")
        self.program = program
        self.dialect = dialect
        self.doctrine = found[doctrine]
        self.doctrines = found
        self.elements = {e.key: e for e in program.elements}
        self.facts = {f.name: f for f in program.facts}
        self.layers = _Layers()
        self.done: dict[str, tuple[exp.Expr, int]] = {}
        self.reads: dict[str, ir.Fact] = {}
        # Facts whose rules read as unknown while they are, as in generated code.
        self.ambiguous = frozenset(ir.ambiguous_of(program))

    # ------------------------------------------------------------ facts and values

    def fact(self, name: str) -> tuple[exp.Expr, int]:
        self.reads[name] = self.facts[name]
        return _col(name), 0

    def fact_ref(self, name: str) -> ir.FactRef:
        return ir.FactRef(name=name, type=self.facts[name].type)

    def const(self, value: object, kind: str) -> exp.Expr:
        if isinstance(value, bool):
            return _true() if value else _false()
        if isinstance(value, datetime.date):
            text = exp.Literal.string(value.isoformat())
            if self.dialect == "sqlite":  # dates are ISO text there, which sorts as dates do
                return text
            return exp.Cast(this=text, to=exp.DataType.build("DATE"))
        if isinstance(value, (int, float)):
            return exp.Literal.number(repr(value) if isinstance(value, float) else value)
        return exp.Literal.string(str(value))

    def value(self, e: ir.Expr, env: dict[int, str]) -> tuple[exp.Expr, int]:
        """A non-truth operand of a comparison: a fact, a field or a constant."""
        if isinstance(e, ir.FactRef):
            return self.fact(e.name)
        if isinstance(e, ir.FieldRef):
            return self.field(e, env), 0
        if isinstance(e, ir.Const):
            return self.const(e.value, e.type.kind), 0
        return self.truth(e, env)

    def field(self, e: ir.FieldRef, env: dict[int, str]) -> exp.Expr:
        var = env[e.var]
        if self.dialect == "sqlite":
            return exp.Anonymous(
                this="json_extract",
                expressions=[_col("value", var), exp.Literal.string(f"$.{e.field}")],
            )
        return exp.Dot(this=exp.to_identifier(var), expression=_id(e.field))

    # ------------------------------------------------------------ truth values

    def truth(self, e: ir.Expr, env: dict[int, str]) -> tuple[exp.Expr, int]:
        """A three-valued condition: TRUE, FALSE or NULL (unknown)."""
        if isinstance(e, ir.FactRef):
            return self.fact(e.name)
        if isinstance(e, ir.FieldRef):
            return self.field(e, env), 0
        if isinstance(e, ir.Const):
            return self.const(e.value, e.type.kind), 0
        if isinstance(e, ir.ElementRef):
            return self.element(e.key)
        if isinstance(e, ir.DoctrineRef):
            return self.named_doctrine(e.name)
        if isinstance(e, (ir.And, ir.Or)):
            parts = [self.truth(i, env) for i in e.items]
            join = _and if isinstance(e, ir.And) else _or
            return join(*(p[0] for p in parts)), max(p[1] for p in parts)
        if isinstance(e, ir.Not):
            inner, depth = self.truth(e.item, env)
            return _not(inner), depth
        if isinstance(e, ir.AtLeast):
            parts = [self.truth(i, env) for i in e.items]
            depth = max(p[1] for p in parts)
            # Sums of 0 or 1 per item: the items certainly true, and those possibly true.
            true_sum: exp.Expr = _int(0)
            could_sum: exp.Expr = _int(0)
            for p, _ in parts:
                one = exp.Case().when(_coalesce(p, False), _int(1)).else_(_int(0))
                maybe = exp.Case().when(_coalesce(p.copy(), True), _int(1)).else_(_int(0))
                true_sum = exp.Add(this=true_sum, expression=one)
                could_sum = exp.Add(this=could_sum, expression=maybe)
            n = _int(e.count)
            return (
                _case(
                    (exp.GTE(this=exp.Paren(this=true_sum), expression=n), _true()),
                    (exp.LT(this=exp.Paren(this=could_sum), expression=n), _false()),
                ),
                depth,
            )
        if isinstance(e, ir.Compare):
            return self.compare(e, env)
        if isinstance(e, ir.Presence):
            ref = self.field(e.field, env)
            test: exp.Expr = exp.Is(this=ref, expression=exp.Null())
            return (_not(test) if e.present else exp.Paren(this=test)), 0
        if isinstance(e, ir.Quantified):
            return self.quantified(e, env)
        if isinstance(e, ir.Chain):
            return self.chain(e, env)
        if isinstance(e, ir.Switch):
            return self.switch(e, env)
        if isinstance(e, ir.Open):  # unknown whatever the facts; the runtime gives the reason
            return _unknown(), 0
        raise SqlError(f"cannot write {type(e).__name__} in SQL")

    def compare(self, e: ir.Compare, env: dict[int, str]) -> tuple[exp.Expr, int]:
        ops = {
            "==": exp.EQ,
            "!=": exp.NEQ,
            "<": exp.LT,
            "<=": exp.LTE,
            ">": exp.GT,
            ">=": exp.GTE,
        }
        quick = self.scale_test(e, env)
        if quick is not None:
            return quick, 0
        sides = []
        depth = 0
        absent: list[exp.Expr] = []
        for side in (e.left, e.right):
            ref, d = self.value(side, env)
            depth = max(depth, d)
            if isinstance(side, ir.FieldRef) and side.optional:
                absent.append(ref)
            if e.type.kind == "scale":
                ref = self.rank(side, ref, e.type.values)
            sides.append(ref)
        result: exp.Expr = ops[e.op](this=sides[0], expression=sides[1])
        if absent:  # an absent optional field makes the comparison false, even beside an unknown
            gone = _or(*(exp.Is(this=a.copy(), expression=exp.Null()) for a in absent))
            result = _case((gone, _false()), (_not(gone), result))
        return exp.Paren(this=result), depth

    def scale_test(self, e: ir.Compare, env: dict[int, str]) -> exp.Expr | None:
        """An ordered enum against a constant, as membership in the values that satisfy it
        (the list holds no NULL, so IN gives NULL exactly when the value is unknown)."""
        if e.type.kind != "scale" or e.op not in ("<", "<=", ">", ">="):
            return None
        if isinstance(e.right, ir.Const) and isinstance(e.left, (ir.FactRef, ir.FieldRef)):
            side, const, op = e.left, e.right, e.op
        elif isinstance(e.left, ir.Const) and isinstance(e.right, (ir.FactRef, ir.FieldRef)):
            side, const, op = e.right, e.left, MIRRORED[e.op]
        else:
            return None
        values = e.type.values
        rank = values.index(str(const.value))
        keep = COMPARISONS[op]
        chosen = [exp.Literal.string(v) for r, v in enumerate(values) if keep(r, rank)]
        ref, _ = self.value(side, env)
        known = _not(exp.Is(this=ref.copy(), expression=exp.Null()))
        if not chosen or len(chosen) == len(values):
            test: exp.Expr = _case((known, _true() if chosen else _false()))
        else:
            test = exp.Paren(this=exp.In(this=ref, expressions=chosen))
        if isinstance(side, ir.FieldRef) and side.optional:  # absent: false
            test = _case((_not(known.copy()), _false()), (known.copy(), test))
        return test

    def rank(self, side: ir.Expr, ref: exp.Expr, values: Sequence[str]) -> exp.Expr:
        if isinstance(side, ir.Const):
            return _int(values.index(str(side.value)))
        return _case(
            *[
                (exp.EQ(this=ref.copy(), expression=exp.Literal.string(v)), _int(i))
                for i, v in enumerate(values)
            ]
        )

    def quantified(self, e: ir.Quantified, env: dict[int, str]) -> tuple[exp.Expr, int]:
        how = _LISTS[self.dialect]
        if how is None:
            raise SqlError(
                f"the {self.dialect} dialect is not supported for doctrines that read a list "
                f"of records (`{e.collection.name}`); use duckdb, spark, trino or sqlite"
            )
        items, depth = self.list_fact(e.collection.name)
        var = f"{_PREFIX}v{e.var}"
        inner = {**env, e.var: var}
        body, body_depth = self.truth(e.body, inner)  # it may read elements' columns
        depth = max(depth, body_depth)
        cast_type = "INTEGER" if self.dialect != "spark" else "INT"
        # 2 for true, 1 for unknown, 0 for false
        mapped: exp.Expr = exp.Coalesce(
            this=exp.Mul(
                this=exp.Cast(this=exp.Paren(this=body), to=exp.DataType.build(cast_type)),
                expression=_int(2),
            ),
            expressions=[_int(1)],
        )
        reduce: type[exp.Expr] = exp.ArrayMin if e.quantifier == "every" else exp.ArrayMax
        if how == "array":
            lam = exp.Lambda(this=mapped, expressions=[exp.to_identifier(var)])
            reduced: exp.Expr = reduce(this=exp.Transform(this=items, expression=lam))
        else:  # sqlite: JSON text, one row per item
            agg = exp.Min if e.quantifier == "every" else exp.Max
            # The item's key in the aggregate, so that SQLite counts it the subquery's own
            # even when the body reads only the case's facts.
            mapped = _case((_not(exp.Is(this=_col("key", var), expression=exp.Null())), mapped))
            table = exp.Table(
                this=exp.Anonymous(this="json_each", expressions=[items]),
                alias=exp.TableAlias(this=exp.to_identifier(var)),
            )
            reduced = exp.Subquery(this=exp.select(agg(this=mapped)).from_(table))
        # The reduction once: an empty list gives `every` true and `some` false, an unknown
        # list gives NULL; then a simple CASE over constants (never over NULL).
        empty = _int(2 if e.quantifier == "every" else 0)
        known = _not(exp.Is(this=items.copy(), expression=exp.Null()))
        settled = exp.Coalesce(this=reduced, expressions=[_case((known, empty))])
        yes, no = (_false(), _true()) if e.quantifier == "no" else (_true(), _false())
        result = exp.Case(
            this=settled,
            ifs=[
                exp.If(this=_int(2), true=yes),
                exp.If(this=_int(0), true=no),
            ],
        )
        return result, depth

    def list_fact(self, name: str) -> tuple[exp.Expr, int]:
        """A list fact, as the case (or a burden) gives it. The library's decided cases never
        fill it: the runtime lists them beside the result as a screening aid only."""
        return self.fact(name)

    def chain(self, e: ir.Chain, env: dict[int, str]) -> tuple[exp.Expr, int]:
        """First branch that applies decides; a branch whose condition is unknown leaves the
        outcome unknown unless every way it could go gives the same result.

        Written without repeating the rest of the chain per branch: `all_true(j)` (every
        outcome still possible from branch j on is true) is
        (NOT COALESCE(c_j, TRUE) OR COALESCE(r_j, FALSE)) AND (COALESCE(c_j, FALSE) OR
        all_true(j + 1)), and `all_false` likewise; the chain is TRUE, FALSE or unknown.
        """
        depth = 0
        parts = []
        for b in e.branches:
            cond, dc = self.truth(b.cond, env)
            res, dr = self.truth(b.result, env)
            if not env:  # at the level of the row: each part a column, computed once
                cond, dc = self.materialize(cond, dc)
                res, dr = self.materialize(res, dr)
            depth = max(depth, dc, dr)
            parts.append((cond, res))
        if isinstance(e.default, ir.Open):
            # Reaching an open default leaves the outcome unknown whatever came before.
            all_true: exp.Expr = _false()
            all_false: exp.Expr = _false()
        else:
            all_true = _true() if e.default else _false()
            all_false = _false() if e.default else _true()
        for cond, res in reversed(parts):
            all_true = _and(
                _or(_not(_coalesce(cond.copy(), True)), _coalesce(res.copy(), False)),
                _or(_coalesce(cond.copy(), False), all_true),
            )
            all_false = _and(
                _or(_not(_coalesce(cond.copy(), True)), _not(_coalesce(res.copy(), True))),
                _or(_coalesce(cond.copy(), False), all_false),
            )
            if not env:  # a column per step keeps the nesting shallow (SQLite's parser)
                all_true, d1 = self.materialize(all_true, depth)
                all_false, d2 = self.materialize(all_false, depth)
                depth = max(d1, d2)
        return _case((all_true, _true()), (all_false, _false())), depth

    def switch(self, e: ir.Switch, env: dict[int, str]) -> tuple[exp.Expr, int]:
        """The arm of the fact's value, else `otherwise`; with the fact unknown, the arms'
        agreement (true if every arm is true, false if every arm is false, else unknown;
        unknown outright for an ambiguous fact, see `program.ambiguous_facts`)."""
        key, depth = self.fact(e.fact.name)
        arms: list[tuple[exp.Expr, exp.Expr]] = []
        for arm in e.arms:
            result, d = self.truth(arm.result, env)
            if not env:  # each arm is read twice: a column, computed once
                result, d = self.materialize(result, d)
            depth = max(depth, d)
            value = self.const(arm.value.value, arm.value.type.kind)
            arms.append((exp.EQ(this=key.copy(), expression=value), result))
        otherwise, d = self.truth(e.otherwise, env)
        depth = max(depth, d)
        if arms and e.fact.name not in self.ambiguous:
            agree: exp.Expr = _case(
                (_and(*(_coalesce(r.copy(), False) for _, r in arms)), _true()),
                (_and(*(_not(_coalesce(r.copy(), True)) for _, r in arms)), _false()),
            )
        else:
            agree = _unknown()
        case = exp.Case().when(exp.Is(this=key.copy(), expression=exp.Null()), agree)
        for test, result in arms:
            case = case.when(test, result.copy())
        return case.else_(otherwise), depth

    def materialize(self, e: exp.Expr, depth: int) -> tuple[exp.Expr, int]:
        if isinstance(e, (exp.Column, exp.Boolean)):
            return e, depth
        return self.layers.add(e, depth)

    def element(self, key: str) -> tuple[exp.Expr, int]:
        if key not in self.done:
            expr, depth = self.truth(self.elements[key].expr, {})
            self.done[key] = self.layers.add(expr, depth)
        return self.done[key]

    def named_doctrine(self, name: str) -> tuple[exp.Expr, int]:
        key = f"doctrine {name}"
        if key not in self.done:
            expr, depth = self.truth(self.doctrines[name].expr, {})
            self.done[key] = self.layers.add(expr, depth)
        return self.done[key]

    # ------------------------------------------------------------ the query

    def query(self, table: str = "cases", keep: Sequence[str] = ()) -> exp.Expr:
        """The whole query over `table`: kept columns, holds, each element, missing (and
        `open` when the doctrine can reach an open outcome)."""
        d = self.doctrine
        labels = [label for label, _ in d.slots]
        for name in (*keep, *labels):
            if name.startswith(_PREFIX):
                raise SqlError(f"`{name}`: names starting {_PREFIX} are the query's own")
        clash = set(keep) & {*labels, *OUTPUT, "open", "doctrine"}
        if clash:
            raise SqlError(f"--keep {sorted(clash)[0]}: the results have a column of that name")
        holds, depth = self.truth(d.expr, {})
        holds, depth = self.materialize(holds, depth)
        slots = [(label, self.element(key)) for label, key in d.slots]
        depth = max([depth, *(s[1][1] for s in slots)])
        slots = self.not_reached(slots)
        presumed = self.presumptions()
        # The first layer: the kept columns and the facts, as the doctrine reads them.
        base = exp.select(*(exp.alias_(_col(k), _id(k)) for k in keep if k not in self.reads))
        for name in sorted(self.reads):
            value: exp.Expr = _col(name)
            if name in presumed:
                case = exp.Case().when(_not(exp.Is(this=_col(name), expression=exp.Null())), value)
                for cond, counted in presumed[name]:
                    if cond is None:  # unconditional: no later burden is reached
                        case = case.else_(counted)
                        break
                    case = case.when(_coalesce(cond, False), counted)
                    # While this burden's condition is unknown, no later one settles the fact:
                    # it stays unknown (the column, NULL here, keeps its type).
                    # (In parentheses: `a AND b IS NULL` would read as `a AND (b IS NULL)`.)
                    unknown = exp.Is(this=exp.Paren(this=cond.copy()), expression=exp.Null())
                    case = case.when(unknown, _col(name))
                value = case
            base = base.select(exp.alias_(value, _id(name)))
        if not base.expressions:
            base = base.select(exp.alias_(_int(0), _id(f"{_PREFIX}0")))
        base = base.from_(exp.to_table(table, dialect=self.dialect))
        ctes = [(f"{_PREFIX}l0", base)]
        for level in range(1, depth + 1):
            cols = [(n, e) for n, e, dd in self.layers.columns if dd == level]
            prev = ctes[-1][0]
            step = exp.select(exp.Column(this=exp.Star(), table=exp.to_identifier(prev)))
            for name, e in cols:
                step = step.select(exp.alias_(e, _id(name)))
            ctes.append((f"{_PREFIX}l{level}", step.from_(prev)))
        last = ctes[-1][0]

        def decided_or_null() -> exp.Expr:  # `[]` when holds is decided; the runtime's else
            return _case(
                (
                    _not(exp.Is(this=holds.copy(), expression=exp.Null())),
                    exp.Literal.string("[]"),
                )
            )

        final = exp.select(
            *(exp.alias_(_col(k), _id(k)) for k in keep),
            exp.alias_(holds, _id("holds")),
            *(exp.alias_(col, _id(label)) for label, (col, _) in slots),
            exp.alias_(decided_or_null(), _id("missing")),
        )
        if self.can_be_open():
            final = final.select(exp.alias_(decided_or_null(), _id("open")))
        final = final.from_(last)
        # SQLite flattens each layer into the next, writing every column out again where it
        # is read: a doctrine of some depth then took seconds and gigabytes to plan.
        # Materialized, each layer is computed once (SQLite 3.35 and later).
        materialized = self.dialect == "sqlite"
        for name, cte in ctes:
            final = final.with_(name, as_=cte, materialized=materialized or None)
        return final

    def not_reached(
        self, slots: list[tuple[str, tuple[exp.Expr, int]]]
    ) -> list[tuple[str, tuple[exp.Expr, int]]]:
        """A failed threshold keeps the court from reaching the elements after it: each such
        element is NULL when a threshold before it is false (the runtime's `not_reached`)."""
        thresholds = self.doctrine.thresholds
        if not thresholds:
            return slots
        columns = dict(slots)
        out = []
        for label, (col, depth) in slots:
            rank = thresholds.index(label) if label in thresholds else len(thresholds)
            failed = [_not(_coalesce(columns[t][0].copy(), True)) for t in thresholds[:rank]]
            if failed:
                col = exp.Case().when(_or(*failed), _unknown()).else_(col)
                depth = max([depth, *(columns[t][1] for t in thresholds[:rank])])
            out.append((label, (col, depth)))
        return out

    def presumptions(self) -> dict[str, list[tuple[exp.Expr | None, exp.Expr]]]:
        """For each fact read that a burden (or the closed world) may fill: (condition over
        the facts as the case gave them, or None; the value it counts as), in the runtime's
        order, the first that applies winning."""
        d = self.doctrine
        out: dict[str, list[tuple[exp.Expr | None, exp.Expr]]] = {}
        burdens = ir.presumptions_of(d, self.elements, self.doctrines)
        for pr in burdens:
            if pr.fact not in self.reads:
                continue
            cond: exp.Expr | None = None
            if pr.cond is not None:
                cond, depth = self.truth(pr.cond, {})
                if depth:  # it reads an element's column, which the first layer lacks
                    raise SqlError(
                        f"cannot write the condition of `absent {pr.fact} counts as` in SQL"
                    )
            out.setdefault(pr.fact, []).append((cond, self.counted(self.facts[pr.fact], pr.value)))
        if d.closed_world:
            for name, fact in self.reads.items():
                if fact.type.kind == "bool":
                    out.setdefault(name, []).append((None, _false()))
        return out

    def counted(self, fact: ir.Fact, value: object) -> exp.Expr:
        """The constant a burden makes an absent fact count as, typed as its column."""
        if fact.type.kind != "list":
            return self.const(value, fact.type.kind)
        if value not in ([], ()):
            raise SqlError(f"cannot write `absent {fact.name} counts as` a non-empty list in SQL")
        if self.dialect == "sqlite":
            return exp.Literal.string("[]")
        return exp.Cast(this=exp.Array(expressions=[]), to=_list_type(fact.type))

    def can_be_open(self) -> bool:
        """Whether the doctrine can reach an open outcome (`open "..."`)."""
        return any(isinstance(n, ir.Open) for n in self.nodes(self.doctrine.expr))

    def nodes(self, expr: ir.Expr) -> list[ir.Expr]:
        """Every node of `expr` and of the elements and doctrines it names, each once."""
        out: list[ir.Expr] = []
        seen: set[str] = set()
        todo = [expr]
        while todo:
            for node in ir.walk(todo.pop()):
                out.append(node)
                if isinstance(node, ir.ElementRef) and "e " + node.key not in seen:
                    seen.add("e " + node.key)
                    todo.append(self.elements[node.key].expr)
                elif isinstance(node, ir.DoctrineRef) and "d " + node.name not in seen:
                    seen.add("d " + node.name)
                    todo.append(self.doctrines[node.name].expr)
        return out

    def kleene_final(self, label: str) -> bool:
        """Whether an element's unknown (NULL) is certainly the runtime's answer too.

        The runtime settles an unknown element when every value of its unknown facts gives
        one answer (`x or not x`); Kleene's tables do not. Where each fact enters the element
        through one test that can go either way (a read-once formula of independent tests),
        the two agree, and a NULL needs no second look; elsewhere the batch engines hand the
        row to the runtime."""
        key = dict(self.doctrine.slots)[label]
        found: list[str] = []
        if not self._tests(self.elements[key].expr, found, set()):
            return False
        return len(found) == len(set(found))

    def _tests(self, e: ir.Expr, found: list[str], seen: set[str]) -> bool:
        if isinstance(e, ir.Const):
            return True
        if isinstance(e, ir.FactRef):
            found.append(e.name)
            return e.type.kind == "bool"
        if isinstance(e, ir.ElementRef):
            return self._tests(self.elements[e.key].expr, found, seen)
        if isinstance(e, ir.DoctrineRef):
            return self._tests(self.doctrines[e.name].expr, found, seen)
        if isinstance(e, (ir.And, ir.Or)):
            return all(self._tests(i, found, seen) for i in e.items)
        if isinstance(e, ir.Not):
            return self._tests(e.item, found, seen)
        if isinstance(e, ir.Compare):
            if isinstance(e.left, ir.FactRef) and isinstance(e.right, ir.Const):
                fact, const, op = e.left, e.right, e.op
            elif isinstance(e.right, ir.FactRef) and isinstance(e.left, ir.Const):
                fact, const, op = e.right, e.left, MIRRORED[e.op]
            else:
                return False
            found.append(fact.name)
            if e.type.kind == "date" and isinstance(const.value, datetime.date):
                # Dates have ends: `d < 0001-01-01` fails and `d <= 9999-12-31` holds for all.
                low, high = datetime.date.min, datetime.date.max
                settled = {
                    "<": const.value <= low,
                    "<=": const.value >= high,
                    ">": const.value >= high,
                    ">=": const.value <= low,
                }
                return not settled.get(op, False)
            if e.type.kind not in ("enum", "scale"):
                return e.type.kind in ("bool", "number", "text")
            values = list(e.type.values)
            if str(const.value) not in values:
                return False
            rank = values.index(str(const.value))
            hits = sum(1 for r in range(len(values)) if COMPARISONS[op](r, rank))
            return 0 < hits < len(values)  # a test every value passes (or fails) is settled
        return False

    def sql(self, table: str = "cases", keep: Sequence[str] = (), pretty: bool = True) -> str:
        try:
            return self.query(table, keep).sql(
                dialect=self.dialect,
                pretty=pretty,
                unsupported_level=sqlglot.ErrorLevel.RAISE,
            )
        except sqlglot.errors.UnsupportedError as exc:
            raise SqlError(
                f"the {self.dialect} dialect lacks what this doctrine needs: {exc}"
            ) from None


def columns(program: ir.Program, doctrine: str) -> dict[str, ir.FactType]:
    """The facts (columns of the input relation) a doctrine reads, with their types."""
    c = SqlCompiler(program, doctrine)
    c.query()
    return {name: fact.type for name, fact in sorted(c.reads.items())}


def doctrine_sql(
    program: ir.Program,
    doctrine: str,
    dialect: str = "duckdb",
    table: str = "cases",
    keep: Sequence[str] = (),
) -> str:
    """The SQL of one doctrine over `table` in `dialect` (see the module's docstring)."""
    return SqlCompiler(program, doctrine, dialect).sql(table, keep)
