"""Code generation: the checked Program as Python `ast` nodes, unparsed to module source.

User text reaches the output only as string constants; identifiers are numbered (`_e3`,
`_d0`), never taken from the source, so no name a user writes can collide with ours.
"""

from __future__ import annotations

import ast
import dataclasses
import datetime
import gc
import sys
from typing import Any

from .. import __version__
from ..checking import ir
from ..errors import Diagnostic, DoctrineError
from ..runtime import program
from . import pysource

# An element whose expression, with the small elements it uses, has at most this many nodes
# is computed in place wherever it is used (see Generator.inlined): no call per element.
INLINE_SIZE = 8
# A doctrine naming more facts than this gets no generated `holds` and `evaluate` of its own
# (see Generator.fused): a case under it gives few of them, so reading each one costs more
# than the runtime's loop over the facts given, and the module would grow with every fact.
FUSED_FACTS = 64
# Python's spelling of each comparison of the program's table (program.COMPARISONS): what
# generated code writes must compute what the tree evaluator computes with the table.
_OPS: dict[str, type[ast.cmpop]] = {
    "==": ast.Eq,
    "!=": ast.NotEq,
    "<": ast.Lt,
    "<=": ast.LtE,
    ">": ast.Gt,
    ">=": ast.GtE,
}
assert _OPS.keys() == program.COMPARISONS.keys()


# Every class of the program tree, which code generation writes as constructor calls.
_NODE_CLASSES = frozenset(
    cls
    for cls in vars(program).values()
    if isinstance(cls, type)
    and dataclasses.is_dataclass(cls)
    and cls.__module__ == program.__name__
)
# The conditions INFO builds once when they are written more than once (`_Data.share`).
_SHARED = frozenset(
    (
        program.And,
        program.Or,
        program.Not,
        program.AtLeast,
        program.Compare,
        program.Quantified,
        program.Chain,
        program.Switch,
    )
)


def _name(id: str) -> ast.Name:
    return ast.Name(id=id, ctx=ast.Load())


def _store(id: str) -> ast.Name:
    return ast.Name(id=id, ctx=ast.Store())


def _attr(value: str, attr: str) -> ast.Attribute:
    return ast.Attribute(value=_name(value), attr=attr, ctx=ast.Load())


def _call(func: ast.expr, *args: ast.expr) -> ast.Call:
    return ast.Call(func=func, args=list(args), keywords=[])


def _is(left: ast.expr, right: ast.expr) -> ast.Compare:
    return ast.Compare(left=left, ops=[ast.Is()], comparators=[right])


def _c(value: Any) -> ast.Constant:
    return ast.Constant(value=value)


def _if(test: ast.expr, body: ast.expr, orelse: ast.expr) -> ast.IfExp:
    return ast.IfExp(test=test, body=body, orelse=orelse)


def _assign(target: str, value: ast.expr) -> ast.Assign:
    return ast.Assign(targets=[_store(target)], value=value, lineno=0)  # unparse reads it


def _def(
    name: str,
    params: list[str],
    body: list[ast.stmt],
    doc: str | None = None,
    defaults: list[ast.expr] | None = None,
) -> ast.FunctionDef:
    stmts: list[ast.stmt] = [ast.Expr(_c(doc))] if doc else []
    stmts.extend(body or [ast.Pass()])
    func = ast.FunctionDef(
        name=name,
        args=ast.arguments(
            posonlyargs=[],
            args=[ast.arg(arg=p) for p in params],
            vararg=None,
            kwonlyargs=[],
            kw_defaults=[],
            kwarg=None,
            defaults=defaults or [],
        ),
        body=stmts,
        decorator_list=[],
        returns=None,
        lineno=0,  # the tree is unparsed, never compiled: unparse reads only this
    )
    if sys.version_info >= (3, 12):  # Python 3.12 added type parameters to functions
        setattr(func, "type_params", [])  # noqa: B010 - not a field before 3.12
    return func


def _fresh_memo(given: bool = False) -> ast.stmt:
    """`m = {}` (or, where a caller may pass one, `if m is None: m = {}`): the values of the
    elements computed in this evaluation, so each is computed once per case, not once per use."""
    if not given:
        return _assign("m", ast.Dict(keys=[], values=[]))
    return ast.If(
        test=_is(_name("m"), _c(None)), body=[_assign("m", ast.Dict(keys=[], values=[]))], orelse=[]
    )


def _memo_if_used(body: list[ast.stmt], given: bool = False) -> list[ast.stmt]:
    """`_fresh_memo` where the body reads the memo; none where every element was computed in
    place, since an empty dict made for every case and never read is pure cost."""
    used = any(isinstance(n, ast.Name) and n.id == "m" for s in body for n in ast.walk(s))
    return [_fresh_memo(given)] if used else []


def _memo(key: int, value: ast.expr) -> list[ast.stmt]:
    """`v = m.get(KEY, m); if v is m: v = m[KEY] = VALUE; return v` (m itself marks "not yet")."""
    get = _call(ast.Attribute(value=_name("m"), attr="get", ctx=ast.Load()), _c(key), _name("m"))
    store = ast.Assign(
        targets=[_store("v"), ast.Subscript(value=_name("m"), slice=_c(key), ctx=ast.Store())],
        value=value,
        lineno=0,
    )
    return [
        _assign("v", get),
        ast.If(test=_is(_name("v"), _name("m")), body=[store], orelse=[]),
        ast.Return(_name("v")),
    ]


def _once(key: int | str, body: list[ast.stmt]) -> list[ast.stmt]:
    """The statements of a `missing` walk, skipped when this evaluation already walked here."""
    if not body:
        return body
    seen = ast.Compare(left=_c(key), ops=[ast.In()], comparators=[_name("m")])
    mark = ast.Assign(
        targets=[ast.Subscript(value=_name("m"), slice=_c(key), ctx=ast.Store())],
        value=_c(True),
        lineno=0,
    )
    return [ast.If(test=seen, body=[ast.Return(None)], orelse=[]), mark, *body]


def _plain(value: Any) -> bool:
    """Whether `value` is made only of exact dicts, tuples, str, int, bool and None: data whose
    repr is exactly what `ast.unparse` writes for it (no dates, floats, lists or subclasses)."""
    t = type(value)
    if t is str or t is int or t is bool or value is None:
        return True
    if t is tuple:
        return all(map(_plain, value))
    if t is dict:
        return all(map(_plain, value)) and all(map(_plain, value.values()))
    return False


class _Data:
    """Turns plain data (dicts, tuples, dates) and program nodes into constant expressions.

    A program node becomes a call of its class in `compiler.runtime.program` (imported as
    `_pt`), its fields in order and trailing defaults left out; each distinct type is built
    once, bound to a name (`_T0`), since every fact reference and constant carries one.
    """

    def __init__(self, dates: dict[datetime.date, str]):
        self.dates = dates
        self.types: dict[program.FactType, str] = {}
        self.type_defs: list[ast.stmt] = []
        self.repeated: set[Any] = set()
        self.names: dict[Any, str] = {}

    def share(self, value: Any) -> None:
        """Find the conditions written more than once in `value` (`(a and b) or (a and b)
        or ...`): each is then built once, bound to a name (`_N0`) like the types, so that the
        module's INFO stays proportional to the distinct conditions, not to the repetitions."""
        seen: dict[Any, int] = {}
        stack = [value]
        while stack:
            v = stack.pop()
            t = type(v)
            if t in _SHARED:
                count = seen.get(v, 0)
                seen[v] = count + 1
                if count:
                    continue  # its parts were counted with its first occurrence
                stack.extend(getattr(v, f.name) for f in dataclasses.fields(v))
            elif t in _NODE_CLASSES:
                stack.extend(getattr(v, f.name) for f in dataclasses.fields(v))
            elif t is dict:
                stack.extend(v.values())
            elif t is tuple or t is list:
                stack.extend(v)
        self.repeated = {v for v, count in seen.items() if count > 1}

    def __call__(self, value: Any) -> ast.expr:
        if _plain(value):  # unparsed as its repr, which is what the nodes would give, faster
            return ast.Constant(value=value)
        if isinstance(value, dict):
            return ast.Dict(keys=[self(k) for k in value], values=[self(v) for v in value.values()])
        if isinstance(value, (tuple, list)):
            return ast.Tuple(elts=[self(v) for v in value], ctx=ast.Load())
        if isinstance(value, datetime.date):
            return self.date(value)
        if value is None or isinstance(value, (str, int, float, bool)):
            return _c(value)
        if isinstance(value, program.FactType):
            return self.type(value)
        if type(value) in _NODE_CLASSES:
            if type(value) in _SHARED and value in self.repeated:
                return self.named(value)
            return self.node(value)
        raise TypeError(f"cannot emit {type(value).__name__}")

    def named(self, value: Any) -> ast.Name:
        if value not in self.names:
            made = self.node(value)  # its own shared parts are named (and defined) first
            self.names[value] = f"_N{len(self.names)}"
            self.type_defs.append(_assign(self.names[value], made))
        return _name(self.names[value])

    def node(self, value: Any) -> ast.Call:
        """`_pt.Class(field, ...)`, leaving out the trailing fields that keep their default."""
        fields = dataclasses.fields(value)
        args = [getattr(value, f.name) for f in fields]
        while fields and fields[-1].default is not dataclasses.MISSING:
            if args[-1] != fields[-1].default:
                break
            args.pop()
            fields = fields[:-1]
        return _call(_attr("_pt", type(value).__name__), *(self(a) for a in args))

    def type(self, value: program.FactType) -> ast.Name:
        if value not in self.types:
            made = self.node(value)  # names the types it holds first: they are defined first
            self.types[value] = f"_T{len(self.types)}"
            self.type_defs.append(_assign(self.types[value], made))
        return _name(self.types[value])

    def date(self, value: datetime.date) -> ast.Name:
        if value not in self.dates:
            self.dates[value] = f"_D{len(self.dates)}"
        return _name(self.dates[value])


class Generator:
    """Emits one module for one Program."""

    def __init__(self, program: ir.Program, runtime: str | None = None):
        self.program = program
        self.runtime = runtime
        self.elements = {e.key: e for e in program.elements}
        self.element_ids = {e.key: i for i, e in enumerate(program.elements)}
        self.doctrine_ids = {d.name: i for i, d in enumerate(program.doctrines)}
        self.doctrine_map = {d.name: d for d in program.doctrines}
        # Facts whose rules read as unknown while they are: their arms' agreement is not sound.
        self.ambiguous = ir.ambiguous_of(program)
        self.ranks: dict[tuple[str, ...], str] = {}
        self.dates: dict[datetime.date, str] = {}
        self.data = _Data(self.dates)
        self.temp = 0
        self._nullable: dict[str, bool] = {}
        self.chains: dict[ir.Chain, int] = {}
        self.switches: dict[ir.Switch, int] = {}
        self._reads: dict[str, tuple[str, ...]] = {}
        self._named: dict[str, tuple[str, ...]] = {}  # Generator.named, by doctrine
        self._test_reads: dict[str, tuple[str, ...]] = {}  # Generator.test_reads, by doctrine
        self.chain_funcs: list[ast.stmt] = []
        self._sizes: dict[str, int] = {}
        self.inlining = False  # set while the hot functions (_v, _h) are generated
        # While a fused function is generated: the local holding each fact it has read and
        # checked (see `fused`), read in place of `f.get(name)`.
        self.fact_locals: dict[str, str] = {}

    # -------------------------------------------------------------- values
    def fresh(self, prefix: str = "_t") -> str:
        self.temp += 1
        return f"{prefix}{self.temp}"

    def rank_table(self, values: tuple[str, ...]) -> str:
        if values not in self.ranks:
            self.ranks[values] = f"_R{len(self.ranks)}"
        return self.ranks[values]

    def value(self, e: ir.Expr, env: dict[str, ast.expr]) -> ast.expr:
        """An expression computing `e` as True, False or None (unknown)."""
        if isinstance(e, ir.Const):
            return self.data(e.value)
        if isinstance(e, ir.FactRef):
            local = self.fact_locals.get(e.name)
            return _fact(e.name) if local is None else _name(local)
        if isinstance(e, ir.FieldRef):
            return ast.Subscript(value=_name(f"_v{e.var}"), slice=_c(e.field), ctx=ast.Load())
        if isinstance(e, ir.ElementRef):
            if e.key in env:
                return env[e.key]
            if self.inlining and self.inlined(e.key):  # computed in place: no call
                return self.value(self.elements[e.key].expr, env)
            return _call(_name(f"_e{self.element_ids[e.key]}"), _name("f"), _name("m"))
        if isinstance(e, ir.DoctrineRef):
            return _call(_name(f"_h{self.doctrine_ids[e.name]}"), _name("f"), _name("m"))
        if isinstance(e, (ir.And, ir.Or)):
            return self.junction(e, env)
        if isinstance(e, ir.Not):
            if not self.nullable(e.item):
                return ast.UnaryOp(op=ast.Not(), operand=self.value(e.item, env))
            t = self.fresh()
            walrus = ast.NamedExpr(target=_store(t), value=self.value(e.item, env))
            return _if(_is(walrus, _c(None)), _c(None), ast.UnaryOp(op=ast.Not(), operand=_name(t)))
        if isinstance(e, ir.AtLeast):
            items = ast.Tuple(elts=[self.value(i, env) for i in e.items], ctx=ast.Load())
            return _call(_attr("_rt", "at_least"), _c(e.count), items)
        if isinstance(e, ir.Compare):
            return self.compare(e, env)
        if isinstance(e, ir.Presence):
            test = _is(self.value(e.field, env), _attr("_rt", "ABSENT"))
            return ast.UnaryOp(op=ast.Not(), operand=test) if e.present else test
        if isinstance(e, ir.Quantified):
            return self.quantified(e, env)
        if isinstance(e, ir.Chain):
            return _call(_name(f"_c{self.chain(e)}"), _name("f"), _name("m"))
        if isinstance(e, ir.Switch):
            return _call(_name(f"_w{self.switch(e)}"), _name("f"), _name("m"))
        if isinstance(e, ir.Open):
            return _c(None)  # unknown whatever the facts; `missing` reports the reason
        raise AssertionError(f"unexpected {e!r}")

    def switch(self, e: ir.Switch) -> int:
        """The number of the function choosing a rule by a fact's value (emitted once)."""
        if e in self.switches:
            return self.switches[e]
        i = self.switches[e] = len(self.switches)
        inlining, self.inlining = self.inlining, False
        fact = _fact(e.fact.name)
        merge = _attr("_rt", "merge")
        # The fact unknown: the arms' agreement, stopping at the first disagreement; unknown
        # outright for an ambiguous fact (see `program.ambiguous_facts`).
        agree: list[ast.stmt] = [_assign("_p", _attr("_rt", "OPEN"))]
        if e.fact.name in self.ambiguous:
            agree = [ast.Return(_c(None))]
        else:
            for arm in e.arms:
                agree.append(_assign("_p", _call(merge, _name("_p"), self.value(arm.result, {}))))
                agree.append(
                    ast.If(test=_is(_name("_p"), _c(None)), body=[ast.Return(_c(None))], orelse=[])
                )
            agree.append(
                ast.Return(_call(merge, _name("_p"), _c(None)) if not e.arms else _name("_p"))
            )
        body: list[ast.stmt] = [
            _assign("_k", fact),
            ast.If(test=_is(_name("_k"), _c(None)), body=agree, orelse=[]),
        ]
        miss: list[ast.stmt] = [_assign("_k", fact)]
        unknown: list[ast.stmt] = [ast.Expr(_call(_attr("acc", "add"), _c(e.fact.name)))]
        # An ambiguous fact may take a value no arm names (another rule's, a burden's): then
        # `otherwise` decides, and what it leaves open counts too.
        results = [arm.result for arm in e.arms]
        if e.fact.name in self.ambiguous:
            results.append(e.otherwise)
        for result in results:
            if self.nullable(result):
                unknown.append(
                    ast.If(
                        test=_is(self.value(result, {}), _c(None)),
                        body=self.missing(result) or [ast.Pass()],
                        orelse=[],
                    )
                )
        unknown.append(ast.Return(None))
        miss.append(ast.If(test=_is(_name("_k"), _c(None)), body=unknown, orelse=[]))
        for arm in e.arms:
            test = ast.Compare(
                left=_name("_k"), ops=[ast.Eq()], comparators=[self.data(arm.value.value)]
            )
            body.append(ast.If(test=test, body=[ast.Return(self.value(arm.result, {}))], orelse=[]))
            miss.append(
                ast.If(
                    test=test,
                    body=[
                        *(self.missing(arm.result) if self.nullable(arm.result) else []),
                        ast.Return(None),
                    ],
                    orelse=[],
                )
            )
        body.append(ast.Return(self.value(e.otherwise, {})))
        if self.nullable(e.otherwise):
            miss.extend(self.missing(e.otherwise))
        self.chain_funcs.append(_def(f"_w{i}", ["f", "m"], body))
        self.chain_funcs.append(_def(f"_mw{i}", ["f", "acc", "m"], miss))
        self.inlining = inlining
        return i

    def reads(self, key: str) -> tuple[str, ...]:
        """The facts an element reads, through the elements and doctrines it uses, sorted."""
        if key not in self._reads:
            self._reads[key] = ()  # while looking (no cycles survive the checker)
            out: set[str] = set()
            todo: list[ir.Expr] = [self.elements[key].expr]
            seen: set[str] = set()
            while todo:
                for node in ir.walk(todo.pop()):
                    if isinstance(node, ir.FactRef):
                        out.add(node.name)
                    elif isinstance(node, ir.ElementRef) and node.key not in seen:
                        seen.add(node.key)
                        todo.append(self.elements[node.key].expr)
                    elif isinstance(node, ir.DoctrineRef) and "d:" + node.name not in seen:
                        seen.add("d:" + node.name)
                        todo.append(self.doctrine_map[node.name].expr)
            self._reads[key] = tuple(sorted(out))
        return self._reads[key]

    def chain(self, e: ir.Chain) -> int:
        """The number of the function deciding a rule with exceptions (emitted once)."""
        if e in self.chains:
            return self.chains[e]
        i = self.chains[e] = len(self.chains)
        inlining, self.inlining = self.inlining, False  # emitted once, wherever it is used
        # Branches in priority order: a branch that applies decides; one that may apply
        # leaves its result pending, and the outcome stays unknown if the others differ.
        body: list[ast.stmt] = [_assign("_p", _attr("_rt", "OPEN"))]
        miss: list[ast.stmt] = []
        merge = _attr("_rt", "merge")
        for b in e.branches:
            result = self.value(b.result, {})
            body.append(_assign("_a", self.value(b.cond, {})))
            body.append(
                ast.If(
                    test=_is(_name("_a"), _c(True)),
                    body=[ast.Return(_call(merge, _name("_p"), result))],
                    orelse=[],
                )
            )
            if self.nullable(b.cond):
                body.append(
                    ast.If(
                        test=_is(_name("_a"), _c(None)),
                        body=[
                            _assign("_p", _call(merge, _name("_p"), result)),
                            ast.If(
                                test=_is(_name("_p"), _c(None)),
                                body=[ast.Return(_c(None))],
                                orelse=[],
                            ),
                        ],
                        orelse=[],
                    )
                )
            result_miss = self.missing(b.result) if self.nullable(b.result) else []
            unknown_result: list[ast.stmt] = (
                [ast.If(test=_is(self.value(b.result, {}), _c(None)), body=result_miss, orelse=[])]
                if result_miss
                else []
            )
            miss.append(_assign("_a", self.value(b.cond, {})))
            miss.append(
                ast.If(
                    test=_is(_name("_a"), _c(True)),
                    body=[*unknown_result, ast.Return(None)],
                    orelse=[],
                )
            )
            if self.nullable(b.cond):
                miss.append(
                    ast.If(
                        test=_is(_name("_a"), _c(None)),
                        body=self.missing(b.cond) + unknown_result,
                        orelse=[],
                    )
                )
        default = None if isinstance(e.default, ir.Open) else e.default
        body.append(ast.Return(_call(merge, _name("_p"), _c(default))))
        if isinstance(e.default, ir.Open):  # reached when no branch surely applied
            miss.extend(self.missing(e.default))
        self.chain_funcs.append(_def(f"_c{i}", ["f", "m"], body))
        self.chain_funcs.append(_def(f"_mc{i}", ["f", "acc", "m"], miss))
        self.inlining = inlining
        return i

    def junction(self, e: ir.And | ir.Or, env: dict[str, ast.expr]) -> ast.expr:
        # Kleene logic: a settling value (False for `and`, True for `or`) wins at once;
        # otherwise any unknown item makes the whole unknown.
        settle = isinstance(e, ir.Or)
        items = self.flatten(e, env)
        if not items:
            return _c(not settle)
        temps: list[str] = []
        tests: list[tuple[ast.expr, str | None]] = []
        for item in items:
            code = self.value(item, env)
            if self.nullable(item) and isinstance(code, ast.Name):  # a local already: test it
                temps.append(code.id)
                tests.append((code, code.id))
            elif self.nullable(item):
                t = self.fresh()
                temps.append(t)
                tests.append((ast.NamedExpr(target=_store(t), value=code), t))
            else:
                tests.append((code, None))
        if temps:
            unknown = (
                ast.BoolOp(op=ast.Or(), values=[_is(_name(t), _c(None)) for t in temps])
                if len(temps) > 1
                else _is(_name(temps[0]), _c(None))
            )
            result: ast.expr = _if(unknown, _c(None), _c(not settle))
        else:
            result = _c(not settle)
        # One flat `or` of the tests, not an `if` per item: a junction of thousands of items
        # must not nest thousands deep, which neither ast.unparse nor Python's parser takes.
        settles = [
            _is(code, _c(settle))
            if temp
            else (code if settle else ast.UnaryOp(op=ast.Not(), operand=code))
            for code, temp in tests
        ]
        test = ast.BoolOp(op=ast.Or(), values=settles) if len(settles) > 1 else settles[0]
        return _if(test, _c(settle), result)

    def inlined(self, key: str) -> bool:
        """Whether references to an element compute its expression in place, not by a call."""
        return self.size(self.elements[key].expr) <= INLINE_SIZE

    def size(self, e: ir.Expr) -> int:
        """The number of nodes `e` expands to, counting inlined elements (bounded by design)."""
        if isinstance(e, ir.ElementRef):
            if e.key not in self._sizes:
                self._sizes[e.key] = INLINE_SIZE + 1  # while looking (no cycles survive checks)
                self._sizes[e.key] = self.size(self.elements[e.key].expr)
            n = self._sizes[e.key]
            return n if n <= INLINE_SIZE else 1
        if isinstance(e, (ir.And, ir.Or, ir.AtLeast)):
            return 1 + sum(self.size(i) for i in e.items)
        if isinstance(e, ir.Not):
            return 1 + self.size(e.item)
        if isinstance(e, ir.Compare):
            return 1 + self.size(e.left) + self.size(e.right)
        if isinstance(e, (ir.Quantified, ir.Chain, ir.Switch)):
            return INLINE_SIZE + 1  # never inlined: big, and lambdas or functions of their own
        return 1

    def flatten(self, e: ir.And | ir.Or, env: dict[str, ast.expr]) -> list[ir.Expr]:
        """The items of a junction, with those of nested junctions of the same kind (written so
        or in an inlined element) spliced in: Kleene `and` and `or` are associative."""
        out: list[ir.Expr] = []
        for item in e.items:
            inner = item
            if (
                isinstance(item, ir.ElementRef)
                and self.inlining
                and item.key not in env
                and self.inlined(item.key)
            ):
                inner = self.elements[item.key].expr
            if isinstance(inner, (ir.And, ir.Or)) and type(inner) is type(e):
                out.extend(self.flatten(inner, env))
            else:
                out.append(item)
        # An item written twice is tested once (`x or x` is `x` in Kleene's logic too), so
        # `(a and b) or (a and b) or ...` does not grow the module with each repetition.
        return list(dict.fromkeys(out))

    def compare(self, e: ir.Compare, env: dict[str, ast.expr]) -> ast.expr:
        # Each operand that may be unknown (a fact) or absent (an optional field) is bound
        # once and tested: absent makes the comparison false, unknown makes it unknown.
        scaled = self.scale_test(e, env)
        if scaled is not None:
            return scaled
        guards: list[tuple[str, ast.expr, str]] = []
        operands: list[ast.expr] = []
        for side in (e.left, e.right):
            if isinstance(side, ir.Const):
                scale = e.type.kind == "scale"
                operands.append(
                    _c(e.type.values.index(str(side.value))) if scale else self.data(side.value)
                )
                continue
            ref = self.value(side, env)
            if isinstance(side, ir.FactRef) or (isinstance(side, ir.FieldRef) and side.optional):
                t = self.fresh()
                guards.append((t, ref, "absent" if isinstance(side, ir.FieldRef) else "unknown"))
                ref = _name(t)
            if e.type.kind == "scale":
                ref = ast.Subscript(
                    value=_name(self.rank_table(e.type.values)), slice=ref, ctx=ast.Load()
                )
            operands.append(ref)
        result: ast.expr = ast.Compare(
            left=operands[0], ops=[_OPS[e.op]()], comparators=[operands[1]]
        )
        guards.sort(key=lambda g: g[2] != "absent")  # absent settles to false before unknown
        for t, code, kind in reversed(guards):
            walrus = ast.NamedExpr(target=_store(t), value=code)
            if kind == "unknown":
                result = _if(_is(walrus, _c(None)), _c(None), result)
            else:
                result = _if(_is(walrus, _attr("_rt", "ABSENT")), _c(False), result)
        return result

    def scale_test(self, e: ir.Compare, env: dict[str, ast.expr]) -> ast.expr | None:
        """An ordered enum compared with a constant, as membership in the set of the values
        that satisfy it (`x in {'a', 'b'}`, a constant frozenset): no rank lookup at run time."""
        if e.type.kind != "scale" or e.op not in ("<", "<=", ">", ">="):
            return None
        if isinstance(e.right, ir.Const) and not isinstance(e.left, ir.Const):
            side, const, op = e.left, e.right, e.op
        elif isinstance(e.left, ir.Const) and not isinstance(e.right, ir.Const):
            side, const, op = e.right, e.left, program.MIRRORED[e.op]
        else:
            return None
        if not isinstance(side, (ir.FactRef, ir.FieldRef)):
            return None
        values = e.type.values
        rank = values.index(str(const.value))
        keep = program.COMPARISONS[op]
        chosen = ast.Set(elts=[_c(v) for r, v in enumerate(values) if keep(r, rank)])
        ref = self.value(side, env)
        if isinstance(side, ir.FieldRef) and not side.optional:
            if not chosen.elts:
                return _c(False)
            return ast.Compare(left=ref, ops=[ast.In()], comparators=[chosen])
        t = self.fresh()
        test: ast.expr = (
            ast.Compare(left=_name(t), ops=[ast.In()], comparators=[chosen])
            if chosen.elts
            else _c(False)
        )
        walrus = ast.NamedExpr(target=_store(t), value=ref)
        if isinstance(side, ir.FieldRef):
            return _if(_is(walrus, _attr("_rt", "ABSENT")), _c(False), test)
        return _if(_is(walrus, _c(None)), _c(None), test)

    def quantified(self, e: ir.Quantified, env: dict[str, ast.expr]) -> ast.expr:
        items = self.fresh("_l")
        body = ast.Lambda(
            args=ast.arguments(
                posonlyargs=[],
                args=[ast.arg(arg=f"_v{e.var}")],
                vararg=None,
                kwonlyargs=[],
                kw_defaults=[],
                kwarg=None,
                defaults=[],
            ),
            body=self.value(e.body, env),
        )
        helper = "every" if e.quantifier == "every" else "some"
        run: ast.expr = _call(_attr("_rt", helper), _name(items), body)
        if e.quantifier == "no":
            q = self.fresh()
            run = _if(
                _is(ast.NamedExpr(target=_store(q), value=run), _c(None)),
                _c(None),
                ast.UnaryOp(op=ast.Not(), operand=_name(q)),
            )
        walrus = ast.NamedExpr(target=_store(items), value=self.value(e.collection, env))
        return _if(_is(walrus, _c(None)), _c(None), run)

    def nullable(self, e: ir.Expr) -> bool:
        """Whether `e` can be unknown at all (a constant never is; of a record's fields, only a
        bool the library fills, such as whether a decided case is materially similar)."""
        if isinstance(e, (ir.FactRef, ir.Quantified)):
            return True
        if isinstance(e, ir.FieldRef):
            return e.type.kind == "bool"
        if isinstance(e, ir.Compare):
            return any(isinstance(s, ir.FactRef) for s in (e.left, e.right))
        if isinstance(e, (ir.And, ir.Or, ir.AtLeast)):
            return any(self.nullable(i) for i in e.items)
        if isinstance(e, ir.Not):
            return self.nullable(e.item)
        if isinstance(e, ir.ElementRef):
            if e.key not in self._nullable:
                self._nullable[e.key] = (
                    True  # assume so while looking (no cycles survive the checker)
                )
                self._nullable[e.key] = self.nullable(self.elements[e.key].expr)
            return self._nullable[e.key]
        if isinstance(e, ir.DoctrineRef):
            d = next(d for d in self.program.doctrines if d.name == e.name)
            return self.nullable(d.expr)
        if isinstance(e, ir.Chain):
            return isinstance(e.default, ir.Open) or any(
                self.nullable(b.cond) or self.nullable(b.result) for b in e.branches
            )
        return isinstance(e, (ir.Switch, ir.Open))

    # -------------------------------------------------------------- missing facts
    def missing(self, e: ir.Expr) -> list[ast.stmt]:
        """Statements adding to `acc` the unknown facts that keep `e` (known to be unknown) open."""
        add = _attr("acc", "add")
        if isinstance(e, ir.FactRef):
            return [ast.Expr(_call(add, _c(e.name)))]
        if isinstance(e, ir.FieldRef):
            waiting = _call(_attr("_rt", "open_facts_of"), _name(f"_v{e.var}"))
            return [ast.Expr(_call(_attr("acc", "update"), waiting))]
        if isinstance(e, ir.Compare):
            out: list[ast.stmt] = []
            for side in (e.left, e.right):
                if isinstance(side, ir.FactRef):
                    out.append(
                        ast.If(
                            test=_is(self.value(side, {}), _c(None)),
                            body=[ast.Expr(_call(add, _c(side.name)))],
                            orelse=[],
                        )
                    )
            return out
        if isinstance(e, (ir.And, ir.Or, ir.AtLeast)):
            # Each distinct item once: an item written twice has the same unknown facts.
            return [
                ast.If(test=_is(self.value(item, {}), _c(None)), body=self.missing(item), orelse=[])
                for item in dict.fromkeys(e.items)
                if self.nullable(item)
            ]
        if isinstance(e, ir.Not):
            return self.missing(e.item)
        if isinstance(e, ir.ElementRef):
            return [
                ast.Expr(
                    _call(
                        _name(f"_m{self.element_ids[e.key]}"), _name("f"), _name("acc"), _name("m")
                    )
                )
            ]
        if isinstance(e, ir.DoctrineRef):
            return [
                ast.Expr(
                    _call(
                        _name(f"_md{self.doctrine_ids[e.name]}"),
                        _name("f"),
                        _name("acc"),
                        _name("m"),
                    )
                )
            ]
        if isinstance(e, ir.Chain):
            return [
                ast.Expr(_call(_name(f"_mc{self.chain(e)}"), _name("f"), _name("acc"), _name("m")))
            ]
        if isinstance(e, ir.Switch):
            return [
                ast.Expr(_call(_name(f"_mw{self.switch(e)}"), _name("f"), _name("acc"), _name("m")))
            ]
        if isinstance(e, ir.Open):
            reason = _call(_attr("_rt", "Reason"), _c(e.reason))
            return [ast.Expr(_call(add, reason))]
        if isinstance(e, ir.Quantified):
            items = self.fresh("_l")
            loop = ast.For(
                lineno=0,
                target=_store(f"_v{e.var}"),
                iter=_name(items),
                body=[
                    ast.If(
                        test=_is(self.value(e.body, {}), _c(None)),
                        body=self.missing(e.body) or [ast.Pass()],
                        orelse=[],
                    )
                ],
                orelse=[],
            )
            return [
                _assign(items, self.value(e.collection, {})),
                ast.If(
                    test=_is(_name(items), _c(None)),
                    body=[ast.Expr(_call(add, _c(e.collection.name)))],
                    orelse=[loop],
                ),
            ]
        return []

    def named(self, d: ir.Doctrine) -> tuple[str, ...]:
        """The facts a doctrine names, in the vocabulary's order: those its test reads, those of
        the theories it rejects and those it weighs. A case under the doctrine mostly gives
        these and few others."""
        if d.name not in self._named:
            out = set(self.test_reads(d))
            for rejected in d.rejects:
                out.update(rejected.on)
            out.update(d.facts_weighed)
            self._named[d.name] = tuple(f.name for f in self.program.facts if f.name in out)
        return self._named[d.name]

    def test_reads(self, d: ir.Doctrine) -> tuple[str, ...]:
        """The facts a doctrine's test reads, through its elements and the doctrines it uses,
        in the vocabulary's order."""
        if d.name in self._test_reads:
            return self._test_reads[d.name]
        out: set[str] = set()
        todo: list[ir.Expr] = [d.expr]
        seen: set[str] = set()
        while todo:
            for node in ir.walk(todo.pop()):
                if isinstance(node, ir.FactRef):
                    out.add(node.name)
                elif isinstance(node, ir.ElementRef):
                    out.update(self.reads(node.key))
                elif isinstance(node, ir.DoctrineRef) and node.name not in seen:
                    seen.add(node.name)
                    todo.append(self.doctrine_map[node.name].expr)
        self._test_reads[d.name] = tuple(f.name for f in self.program.facts if f.name in out)
        return self._test_reads[d.name]

    def fact_check(self, local: str, type_: program.FactType, given: bool) -> ast.expr:
        """Whether the value in `local` is a fact of this type as the runtime reads it, without
        conversion (what `Schema.plain` accepts, and ints and finite floats for a number);
        anything else goes to the runtime's full check, which converts or refuses it. A bool
        the case mostly `given` is tested for True and False first, any other for None."""
        x = _name(local)
        unknown = _is(x, _c(None))
        cls = _attr(local, "__class__")
        kind = type_.kind
        tests: list[ast.expr]
        if kind == "bool":
            tests = [_is(x, _c(True)), _is(x, _c(False))]
            tests = [*tests, unknown] if given else [unknown, *tests]
        elif kind in ("enum", "scale"):
            words = ast.Set(elts=[_c(w) for w in type_.values]) if type_.values else None
            member = (
                ast.Compare(left=x, ops=[ast.In()], comparators=[words]) if words else _c(False)
            )
            tests = [unknown, ast.BoolOp(op=ast.And(), values=[_is(cls, _name("str")), member])]
        elif kind == "text":
            tests = [unknown, _is(cls, _name("str"))]
        elif kind == "date":
            tests = [unknown, _is(cls, _attr("_dt", "date"))]
        elif kind == "number":
            # A finite float: inf - inf and nan - nan are nan, which equals nothing.
            finite = ast.Compare(
                left=ast.BinOp(left=x, op=ast.Sub(), right=_name(local)),
                ops=[ast.Eq()],
                comparators=[_c(0.0)],
            )
            tests = [
                unknown,
                _is(cls, _name("int")),
                ast.BoolOp(op=ast.And(), values=[_is(cls, _name("float")), finite]),
            ]
        else:  # a list of records: checked and converted by the runtime, item by item
            return unknown
        return ast.BoolOp(op=ast.Or(), values=tests)

    def fused(self, d: ir.Doctrine, outcome_only: bool, name: str) -> ast.FunctionDef:
        """`holds(facts)` (or `evaluate(facts, stage=None)`) for one doctrine, checking as it
        reads them the facts the doctrine names: the runtime's check of the facts, a loop over
        them, cost more than the evaluation it guarded. The facts the doctrine does not name
        are checked by `Schema.plain`; facts that are not a plain dict in runtime form go to
        the runtime's checked path, which converts them or says what is wrong."""
        i = self.doctrine_ids[d.name]
        types = {f.name: f.type for f in self.program.facts}
        named = self.named(d)
        self.fact_locals = {fact: f"_x{j}" for j, fact in enumerate(named)}
        # The facts the test reads by subscription (a KeyError for one the case leaves out
        # sends the case to the runtime, which reads absent facts as fast), the others the
        # doctrine names with `.get` (mostly absent). Subscription costs half a `.get` call.
        test_reads = set(self.test_reads(d))
        subscribed: list[ast.stmt] = [
            _assign(local, ast.Subscript(value=_name("facts"), slice=_c(fact), ctx=ast.Load()))
            for fact, local in self.fact_locals.items()
            if fact in test_reads
        ]
        gotten: list[ast.stmt] = [
            _assign(local, _call(_attr("facts", "get"), _c(fact)))
            for fact, local in self.fact_locals.items()
            if fact not in test_reads
        ]
        # The case gives no fact the doctrine does not name: as many facts as those read by
        # subscription and the others found with a value (cheaper than a test of the keys,
        # which it leaves for a case that also gives some as None), or none outside the
        # named (a test in C); else the runtime checks the others.
        found: list[ast.expr] = [
            ast.Compare(left=_name(local), ops=[ast.IsNot()], comparators=[_c(None)])
            for fact, local in self.fact_locals.items()
            if fact not in test_reads
        ]
        terms: list[ast.expr] = [_c(len(subscribed))] if subscribed or not found else []
        terms.extend(found)
        count: ast.expr = terms[0]
        for term in terms[1:]:
            count = ast.BinOp(left=count, op=ast.Add(), right=term)
        as_many = ast.Compare(
            left=_call(_name("len"), _name("facts")), ops=[ast.Eq()], comparators=[count]
        )
        only_named = ast.Compare(
            left=_call(_attr("facts", "keys")), ops=[ast.LtE()], comparators=[_name(f"_K{i}")]
        )
        rest = ast.BoolOp(
            op=ast.Or(),
            values=[
                as_many,
                only_named,
                _call(_attr("_SCHEMA", "plain"), _name("facts"), _name(f"_K{i}")),
            ],
        )
        checks = [
            self.fact_check(local, types[fact], fact in test_reads)
            for fact, local in self.fact_locals.items()
        ]
        valid = ast.BoolOp(op=ast.And(), values=[*checks, rest])
        evaluator = _name(f"_E{i}")
        self.inlining = True
        body: list[ast.stmt]
        if outcome_only:
            # Unknown by Kleene's tables: the exact analysis may settle it, as `evaluate` does.
            body = [
                _assign("_y0", self.value(d.expr, {})),
                ast.If(
                    test=ast.Compare(left=_name("_y0"), ops=[ast.IsNot()], comparators=[_c(None)]),
                    body=[ast.Return(_name("_y0"))],
                    orelse=[],
                ),
                ast.Return(_call(_attr(f"_E{i}", "_settled"), _name("facts"), _name("facts"))),
            ]
        elif d.thresholds:
            # The elements a failed threshold leaves unreached: the runtime's to say.
            body = [ast.Return(_call(_attr(f"_E{i}", "_evaluate_plain"), _name("facts")))]
        else:
            env: dict[str, ast.expr] = {}
            body = []
            for n_, (_, key) in enumerate(d.slots):
                body.append(_assign(f"_s{n_}", self.value(ir.ElementRef(key=key), env)))
                env.setdefault(key, _name(f"_s{n_}"))
            body.append(_assign("_y0", self.value(d.expr, env)))
            decided: list[ast.expr] = [
                ast.Compare(left=_name(t), ops=[ast.IsNot()], comparators=[_c(None)])
                for t in ["_y0", *(f"_s{n_}" for n_ in range(len(d.slots)))]
            ]
            elements = ast.Dict(
                keys=[_c(label) for label, _ in d.slots],
                values=[_name(f"_s{n_}") for n_ in range(len(d.slots))],
            )
            result = _call(
                _attr("_rt", "Result"),
                evaluator,
                _name("_y0"),
                elements,
                ast.Tuple(elts=[], ctx=ast.Load()),
                _call(_attr("facts", "copy")),  # the result keeps the facts the case gave
                _attr("_SCHEMA", "_blank"),
            )
            body.append(
                ast.If(
                    test=ast.BoolOp(op=ast.And(), values=decided),
                    body=[ast.Return(result)],
                    orelse=[],
                )
            )
            # Some element or the outcome unknown: the exact analysis decides (facts checked).
            body.append(ast.Return(_call(_attr(f"_E{i}", "_evaluate_plain"), _name("facts"))))
        self.inlining = False
        self.fact_locals = {}
        uses_f = any(isinstance(n, ast.Name) and n.id == "f" for s in body for n in ast.walk(s))
        body = [*_memo_if_used(body), *body]
        if uses_f:  # a function of the module called from here reads the facts as `f`
            body.insert(0, _assign("f", _name("facts")))
        gate: list[ast.expr] = []
        if not outcome_only:
            gate.append(_is(_name("stage"), _c(None)))
        gate.append(_is(_attr("facts", "__class__"), _name("dict")))
        # Every fact the test reads given; and, where the doctrine names many facts, enough
        # of them: reading each costs about as much as the runtime's loop over the facts
        # given, so a case giving few of many is the runtime's.
        least = max(len(subscribed), (7 * len(named) - 30) // 10 if len(named) > 8 else 0)
        if least:
            gate.append(
                ast.Compare(
                    left=_call(_name("len"), _name("facts")),
                    ops=[ast.GtE()],
                    comparators=[_c(least)],
                )
            )
        checked: list[ast.stmt] = [*gotten, ast.If(test=valid, body=body, orelse=[])]
        if subscribed:
            checked = [
                ast.Try(
                    body=subscribed,
                    handlers=[
                        ast.ExceptHandler(type=_name("KeyError"), name=None, body=[ast.Pass()])
                    ],
                    orelse=checked,
                    finalbody=[],
                )
            ]
        fast = ast.If(
            test=ast.BoolOp(op=ast.And(), values=gate) if len(gate) > 1 else gate[0],
            body=checked,
            orelse=[],
        )
        defaults: list[ast.expr] | None = None
        if outcome_only:
            fallback = _call(_attr(f"_E{i}", "checked_holds"), _name("facts"))
            params = ["facts"]
            doc = "Whether the doctrine holds: True, False or None."
        else:
            fallback = _call(_attr(f"_E{i}", "checked_evaluate"), _name("facts"), _name("stage"))
            params, defaults = ["facts", "stage"], [_c(None)]
            doc = "Evaluate the doctrine on a mapping of facts (at a stage, if marked)."
        if name in ("holds", "evaluate"):
            doc = doc.replace("the doctrine", "the module's doctrine")
        return _def(name, params, [fast, ast.Return(fallback)], doc=doc, defaults=defaults)

    def precedents(self, d: ir.Doctrine) -> program.Screening | None:
        """The library's decided cases for a doctrine, with the tests each must pass: the
        bodies of the quantifiers over the list they fill, so a note can say which one fails."""
        if d.precedents is None:
            return None
        list_fact, candidates = d.precedents
        tests = []
        for el in self.program.elements:
            for node in ir.walk(el.expr):
                if isinstance(node, ir.Quantified) and node.collection.name == list_fact:
                    tests.append(program.ScreeningTest(node.var, node.body))
        return program.Screening(list_fact, candidates, tuple(tests))

    # -------------------------------------------------------------- the module
    def info(self) -> program.ModuleInfo:
        """What the module says of itself (its INFO), as the program model's records."""

        def element(el: ir.Element) -> program.ElementInfo:
            return program.ElementInfo(
                key=el.key,
                name=el.name,
                title=el.title,
                requirement=el.text,
                tree=el.expr,
                met=el.met,
                unmet=el.unmet,
                notes=el.notes,
                cites=el.cites,
                facts=tuple(sorted(_facts(el.expr))),
                uses=tuple(r.key for r in ir.walk(el.expr) if isinstance(r, ir.ElementRef)),
                line=el.pos.line,
            )

        def doctrine(d: ir.Doctrine) -> program.DoctrineInfo:
            presumptions = ir.presumptions_of(d, self.elements, self.doctrine_map)
            return program.DoctrineInfo(
                name=d.name,
                title=d.title,
                module=d.module,
                extends=d.extends,
                court=d.court,
                opinion=d.opinion,
                source=d.source,
                in_force_from=d.in_force_from,
                in_force_until=d.in_force_until,
                requirement=d.text,
                tree=d.expr,
                elements=tuple(program.Slot(label, key) for label, key in d.slots),
                rejects=tuple(
                    program.Rejection(r.name, r.title, r.on, r.because, r.cites) for r in d.rejects
                ),
                cites=d.cites,
                notes=d.notes,
                facts_weighed=d.facts_weighed,
                element_facts={label: self.reads(key) for label, key in d.slots},
                closed_world=d.closed_world,
                thresholds=d.thresholds,
                presumptions=tuple(
                    program.Burden(pr.fact, pr.value, pr.text, pr.because, pr.cites, pr.cond)
                    for pr in presumptions
                ),
                line=d.pos.line,
            )

        return program.ModuleInfo(
            module=self.program.name,
            title=self.program.title,
            path=self.program.path,
            main=self.program.main,
            facts={
                f.name: program.FactInfo(
                    name=f.name,
                    kind=f.type.kind,
                    type=f.type.describe(),
                    values=f.type.values,
                    meaning=f.meaning,
                    favours=f.favours,
                    known_as=f.known_as,
                )
                for f in self.program.facts
            },
            elements={el.key: element(el) for el in self.program.elements},
            doctrines={d.name: doctrine(d) for d in self.program.doctrines},
            ambiguous=self.ambiguous,
        )

    def module(self) -> ast.Module:
        p = self.program
        body: list[ast.stmt] = []
        funcs: list[ast.stmt] = []
        for el in p.elements:
            i = self.element_ids[el.key]
            funcs.append(_def(f"_e{i}", ["f", "m"], _memo(i, self.value(el.expr, {}))))
            miss = self.missing(el.expr) if self.nullable(el.expr) else []
            funcs.append(_def(f"_m{i}", ["f", "acc", "m"], _once(~i, miss)))
        for d in p.doctrines:
            i = self.doctrine_ids[d.name]
            env: dict[str, ast.expr] = {}
            stmts: list[ast.stmt] = []
            locals_: list[ast.expr] = []
            self.inlining = True
            for n_, (label, key) in enumerate(d.slots):
                local = f"_s{n_}"
                stmts.append(_assign(local, self.value(ir.ElementRef(key=key), env)))
                env.setdefault(key, _name(local))
                locals_.append(_name(local))
                if label in d.thresholds:
                    # A threshold that fails decides: the other elements are not reached.
                    unreached = ast.Dict(
                        keys=[_c(lb) for lb, _ in d.slots],
                        values=[
                            _name(f"_s{j}")
                            if lb in d.thresholds[: d.thresholds.index(label) + 1]
                            else _c(None)
                            for j, (lb, _) in enumerate(d.slots)
                        ],
                    )
                    stmts.append(
                        ast.If(
                            test=_is(_name(local), _c(False)),
                            body=[
                                ast.Return(ast.Tuple(elts=[_c(False), unreached], ctx=ast.Load()))
                            ],
                            orelse=[],
                        )
                    )
            elements = ast.Dict(keys=[_c(label) for label, _ in d.slots], values=locals_)
            stmts.append(
                ast.Return(ast.Tuple(elts=[self.value(d.expr, env), elements], ctx=ast.Load()))
            )
            funcs.append(_def(f"_v{i}", ["f"], [*_memo_if_used(stmts), *stmts]))
            outcome: list[ast.stmt] = [ast.Return(self.value(d.expr, {}))]
            funcs.append(
                _def(
                    f"_h{i}",
                    ["f", "m"],
                    [*_memo_if_used(outcome, given=True), *outcome],
                    defaults=[_c(None)],
                )
            )
            self.inlining = False
            miss = self.missing(d.expr) if self.nullable(d.expr) else []
            funcs.append(
                _def(
                    f"_md{i}",
                    ["f", "acc", "m"],
                    [_fresh_memo(True), *_once(f"d{i}", miss)],
                    defaults=[_c(None)],
                )
            )
        # The burdens each doctrine applies, then (under a closed world) every bool fact false:
        # one mechanism, read by the runtime before evaluation (fact, value, condition, note).
        presume_ast: dict[str, ast.Tuple] = {}
        conds: dict[ir.Expr, str] = {}
        for d in p.doctrines:
            presumed: list[ast.expr] = []
            for k, pr in enumerate(ir.presumptions_of(d, self.elements, self.doctrine_map)):
                cond: ast.expr = _c(None)
                if pr.cond is not None:
                    if pr.cond not in conds:
                        conds[pr.cond] = f"_p{len(conds)}"
                        funcs.append(
                            _def(
                                conds[pr.cond],
                                ["f"],
                                [_fresh_memo(), ast.Return(self.value(pr.cond, {}))],
                            )
                        )
                    cond = _name(conds[pr.cond])
                presumed.append(
                    ast.Tuple(elts=[_c(pr.fact), self.data(pr.value), cond, _c(k)], ctx=ast.Load())
                )
            if d.closed_world:
                presumed.extend(
                    ast.Tuple(elts=[_c(f.name), _c(False), _c(None), _c(-1)], ctx=ast.Load())
                    for f in p.facts
                    if f.type.kind == "bool"
                )
            presume_ast[d.name] = ast.Tuple(elts=presumed, ctx=ast.Load())
        # `holds` and `evaluate` that check the facts as they read them, for each doctrine the
        # runtime reads plain facts for as given: none a burden, a closed world or the
        # library's precedents give absent facts values of their own.
        fused: dict[str, tuple[str, str]] = {}
        fused_funcs: list[ast.stmt] = []
        named_sets: list[ast.stmt] = []
        for d in p.doctrines:
            if (
                presume_ast[d.name].elts
                or d.precedents is not None
                or len(self.named(d)) > FUSED_FACTS
            ):
                continue
            i = self.doctrine_ids[d.name]
            main = d.name == p.main
            names = ("holds", "evaluate") if main else (f"_fh{i}", f"_fe{i}")
            fused[d.name] = names
            named_sets.append(
                _assign(
                    f"_K{i}",
                    _call(
                        _name("frozenset"),
                        ast.Tuple(elts=[_c(n) for n in self.named(d)], ctx=ast.Load()),
                    ),
                )
            )
            fused_funcs.append(self.fused(d, True, names[0]))
            fused_funcs.append(self.fused(d, False, names[1]))
        info = self.info()
        cases = tuple(
            {
                "name": c.name,
                "doctrine": c.doctrine,
                "title": c.title,
                "source": c.source.citation if c.source else None,
                "notes": c.notes,
                "given": dict(c.given),
                "expect": dict(c.expect),
                "line": c.pos.line,
            }
            for c in p.cases
        )
        facts_spec = tuple((f.name, f.type.kind, f.type.spec()) for f in p.facts)
        self.data.share(info)
        info_ast = self.data(info)
        cases_ast = self.data(cases)
        # Built before the date constants are written, since it may add to them.
        precedents_ast = {d.name: self.data(self.precedents(d)) for d in p.doctrines}
        doc = (
            f"Evaluator compiled by doctrine {__version__} from {p.path}. "
            "Do not edit: recompile.\n\n"
            "Sources (SHA-256):\n"
            + "".join(f"    {name}  {digest}\n" for name, digest in p.sources)
        )
        body.append(ast.Expr(_c(doc)))
        body.append(ast.Import(names=[ast.alias(name="datetime", asname="_dt")]))
        # `compile --standalone`: the runtime's copy beside the module, by its own name.
        runtime = "compiler.runtime" if self.runtime is None else self.runtime
        package, _, leaf = runtime.rpartition(".")
        if package:
            body.append(
                ast.ImportFrom(module=package, names=[ast.alias(name=leaf, asname="_rt")], level=0)
            )
        else:
            body.append(ast.Import(names=[ast.alias(name=runtime, asname="_rt")]))
        body.append(
            ast.ImportFrom(module=runtime, names=[ast.alias(name="program", asname="_pt")], level=0)
        )
        # Before any node is built: a runtime whose program tree has another shape says so.
        body.append(
            ast.Expr(
                _call(
                    _attr("_rt", "require_format"),
                    _c(program.FORMAT),
                    _c(__version__),
                    _name("__name__"),
                )
            )
        )
        body.append(
            _assign(
                "__all__",
                self.data(("DOCTRINE", "DOCTRINES", "CASES", "FACTS", "INFO", "evaluate", "holds")),
            )
        )
        body.append(_assign("SOURCES", self.data(p.sources)))
        for value, name in sorted(self.dates.items(), key=lambda kv: int(kv[1][2:])):
            body.append(
                _assign(
                    name,
                    _call(_attr("_dt", "date"), _c(value.year), _c(value.month), _c(value.day)),
                )
            )
        for values, name in self.ranks.items():
            body.append(
                _assign(
                    name,
                    ast.Dict(
                        keys=[_c(v) for v in values], values=[_c(i) for i in range(len(values))]
                    ),
                )
            )
        body.extend(self.data.type_defs)
        body.append(_assign("FACTS", self.data(facts_spec)))
        body.append(_assign("_SCHEMA", _call(_attr("_rt", "Schema"), _name("FACTS"))))
        body.append(_assign("INFO", info_ast))
        body.append(_assign("CASES", cases_ast))
        body.extend(named_sets)
        body.extend(funcs)
        body.extend(fused_funcs)
        body.extend(self.chain_funcs)
        entries = []
        for d in p.doctrines:
            i = self.doctrine_ids[d.name]
            labels = tuple(label for label, _ in d.slots)
            entries.append(
                (
                    d.name,
                    _call(
                        _attr("_rt", "Evaluator"),
                        _c(d.name),
                        self.data(labels),
                        _name("_SCHEMA"),
                        _name(f"_v{i}"),
                        _name(f"_h{i}"),
                        _name(f"_md{i}"),
                        ast.Subscript(
                            value=_attr("INFO", "doctrines"), slice=_c(d.name), ctx=ast.Load()
                        ),
                        presume_ast[d.name],
                        precedents_ast[d.name],
                        _name("INFO"),  # the trees the exact analysis reads
                        *(
                            [ast.Tuple(elts=[_name(n) for n in fused[d.name]], ctx=ast.Load())]
                            if d.name in fused
                            else []
                        ),
                    ),
                )
            )
        body.append(
            _assign(
                "DOCTRINES",
                ast.Dict(keys=[_c(k) for k, _ in entries], values=[v for _, v in entries]),
            )
        )
        body.append(_assign("DOCTRINE", _c(p.main)))
        for d in p.doctrines:
            if d.name in fused:  # what the fused functions fall back to
                i = self.doctrine_ids[d.name]
                body.append(
                    _assign(
                        f"_E{i}",
                        ast.Subscript(value=_name("DOCTRINES"), slice=_c(d.name), ctx=ast.Load()),
                    )
                )

        def delegate(
            name: str, params: list[str], doc: str, defaults: list[ast.expr] | None = None
        ) -> ast.FunctionDef:
            # `def NAME(PARAMS): return DOCTRINES[DOCTRINE].NAME(PARAMS)`
            method = ast.Attribute(
                value=ast.Subscript(
                    value=_name("DOCTRINES"), slice=_name("DOCTRINE"), ctx=ast.Load()
                ),
                attr=name,
                ctx=ast.Load(),
            )
            call = _call(method, *(_name(p) for p in params))
            return _def(name, params, [ast.Return(call)], doc=doc, defaults=defaults)

        if p.main is None:
            # No doctrine: `evaluate` and `holds` say so, rather than fail on a missing key.
            refuse = _call(_attr("_rt", "no_doctrine"), _name("__name__"))
            for name, params, doc in (
                ("evaluate", ["facts", "stage"], "No doctrine to evaluate: raises NoDoctrine."),
                ("holds", ["facts"], "No doctrine to evaluate: raises NoDoctrine."),
            ):
                defaults: list[ast.expr] | None = [_c(None)] if name == "evaluate" else None
                body.append(_def(name, params, [ast.Return(refuse)], doc=doc, defaults=defaults))
        elif p.main not in fused:
            body.append(
                delegate(
                    "evaluate",
                    ["facts", "stage"],
                    "Evaluate the module's doctrine on a mapping of facts (at a stage, if marked).",
                    defaults=[_c(None)],
                )
            )
            body.append(
                delegate(
                    "holds", ["facts"], "Whether the module's doctrine holds: True, False or None."
                )
            )
        return ast.Module(body=body, type_ignores=[])


def _fact(name: str) -> ast.expr:
    # `f.get(name)`, not `f[name]`: plain valid facts are read as the caller gave them, with
    # no copy filled with every absent fact first (that copy cost as much as the evaluation).
    return _call(_attr("f", "get"), _c(name))


def _facts(e: ir.Expr) -> set[str]:
    return {x.name for x in ir.walk(e) if isinstance(x, ir.FactRef)}


def generate(program: ir.Program, runtime: str | None = None) -> str:
    """The Python source of the module for `program`: deterministic, byte for byte.

    The module imports `compiler.runtime`, or with `runtime` the top-level module of that
    name (a copy of the runtime written beside it by `compile --standalone`).
    """
    # The tree is only unparsed, never compiled, so it needs no line numbers. It is large and
    # holds no cycles: collecting garbage while it is built only walks it again and again.
    enabled = gc.isenabled()
    gc.disable()
    try:
        module = Generator(program, runtime).module()
        source = pysource.unparse(module) + "\n"
        # Never hand out a module Python would refuse (a doctrine nested past what its parser
        # takes): say so as a diagnostic instead. The functions are what can nest too deep;
        # the data (INFO, CASES) is bounded by the parser's limit, and compiling it would
        # cost more memory than all the rest. (unparse left the functions' text in the tree.)
        functions: list[ast.stmt] = [s for s in module.body if isinstance(s, ast.FunctionDef)]
        code = ast.unparse(ast.Module(body=functions, type_ignores=[]))
        compile(code, program.path, "exec", dont_inherit=True)
    except (RecursionError, SyntaxError) as exc:
        reason = exc.msg if isinstance(exc, SyntaxError) else "too deep to generate"
        raise DoctrineError(
            [
                Diagnostic(
                    "D0106",
                    f"{program.path} is nested too deeply to compile to Python ({reason})",
                    None,
                    help="name the inner parts as elements of their own and use them by name",
                )
            ]
        ) from None
    finally:
        if enabled:
            gc.enable()
    return source
