"""Resolves names and checks types across modules, producing one Program per file."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import MappingProxyType
from typing import Any

import attrs

from ..errors import Diagnostic, DoctrineError, SourcePosition, did_you_mean
from ..runtime import convert, value_problem
from ..syntax import nodes as n
from ..syntax.loader import Loaded
from ..syntax.unparse import unparse
from . import ir, precedents
from .lint import lint
from .logic import satisfiable
from .project import (
    EMPTY,
    ChainSite,
    CheckedProject,
    Decision,
    Declared,
    Effective,
    Entry,
    ExceptionChain,
    FirstMatchList,
    decisions,
    family,
    kind_of,
    outcome_word,
)

BOOL = ir.FactType(kind="bool")
TEXT = ir.FactType(kind="text")
DATE = ir.FactType(kind="date")
NUMBER = ir.FactType(kind="number")
_LITERAL_TYPES = {bool: BOOL, str: TEXT, datetime.date: DATE, int: NUMBER, float: NUMBER}
_ORDERED = {"scale", "date", "number"}


_KIND_WORDS = {
    "fact": "a fact",
    "record": "a record",
    "authority": "an authority",
    "element": "an element",
    "doctrine": "a doctrine",
    "case": "a case",
}


@attrs.frozen
class Variable:
    """A quantifier's variable: its number in the checked tree, and the record it ranges over."""

    number: int
    record: ir.RecordType


@attrs.define
class Scope:
    """What names mean at one place in a module."""

    module: Path
    names: dict[str, Entry]
    slots: dict[str, str] = attrs.field(factory=dict)  # label -> element key
    exclude: str | None = None
    vars: dict[str, Variable] = attrs.field(factory=dict)
    # Labels whose element could not be resolved (reported once, as D0201): a use of one says
    # nothing more, rather than falling through to a fact or an unknown name.
    unbound: frozenset[str] = frozenset()

    def visible(self) -> list[str]:
        return [*self.names, *(s for s in self.slots if s != self.exclude), *self.vars]


class Checker:
    """Checks every loaded module; errors are collected, never raised one at a time."""

    def __init__(self, loaded: Loaded):
        self.loaded = loaded
        self.diagnostics: list[Diagnostic] = []
        self.own: dict[Path, dict[str, Entry]] = {}
        self.own_cases: dict[Path, dict[str, Entry]] = {}
        self.scopes: dict[Path, dict[str, Entry]] = {}
        self.types: dict[tuple[Path, str], ir.FactType] = {}
        self.records: dict[tuple[Path, str], ir.RecordType] = {}
        self.authorities: dict[tuple[Path, str], ir.Authority] = {}
        self.elements: dict[str, ir.Element] = {}
        self.doctrines: dict[str, ir.Doctrine] = {}
        self.doctrine_modules: dict[str, Path] = {}
        self.cases: dict[Path, list[ir.Case]] = {}
        self.vocabularies: dict[Path, dict[str, ir.Fact]] = {}
        # Suggestions weigh every known name: past this many in one run they stop, so that a
        # file of thousands of unknown names is checked in time linear in its size.
        self._suggestions_left = 100
        # Labels of each doctrine whose element could not be resolved (already reported as
        # D0201): cases that expect them are not reported again, so one typo gives one error.
        self._unresolved_labels: dict[str, set[str]] = {}
        self._var_counter = 0
        self._module_names: dict[Path, str] = {}
        self._checking_doctrines: list[str] = []
        self._doctrine_cycles: set[str] = set()
        self._doctrine_decls: dict[str, Entry] = {}
        self._pending_checks: list[ChainSite] = []
        self._effective: dict[str, Effective] = {}
        # False once a declaration fails to check: the chains' reasoning then stops.
        self._sound = True
        self._pending: set[str] = set()

    # -------------------------------------------------------------- reporting
    def fail(
        self,
        code: str,
        message: str,
        pos: SourcePosition | None,
        label: str = "",
        help: str = "",
        notes: tuple[str, ...] = (),
    ) -> None:
        self.diagnostics.append(Diagnostic(code, message, pos, label=label, help=help, notes=notes))

    def suggest(self, word: str, candidates: Iterable[str]) -> str:
        """`did you mean` for the first hundred unknown names of a run; nothing after."""
        if self._suggestions_left <= 0:
            return ""
        self._suggestions_left -= 1
        return did_you_mean(word, candidates)

    def warn(
        self, code: str, message: str, pos: SourcePosition, label: str = "", help: str = ""
    ) -> None:
        self.diagnostics.append(
            Diagnostic(code, message, pos, label=label, help=help, severity="warning")
        )

    # -------------------------------------------------------------- scopes
    def module_name(self, path: Path) -> str:
        if path not in self._module_names:
            stem = path.stem
            taken = set(self._module_names.values())
            name, i = stem, 2
            while name in taken:
                name, i = f"{stem}_{i}", i + 1
            self._module_names[path] = name
        return self._module_names[path]

    def build_scopes(self) -> None:
        for path in self.loaded.order:
            module = self.loaded.modules[path]
            own: dict[str, Entry] = {}
            cases: dict[str, Entry] = {}
            for decl in module.declarations:
                if isinstance(decl, n.DoctrineDecl):
                    self._doctrine_decls.setdefault(decl.name, Entry("doctrine", decl, path))
            for decl in module.declarations:
                kind = kind_of(decl)
                if kind == "case":
                    if decl.name in cases:
                        self.fail(
                            "D0203",
                            f"case `{decl.name}` is declared twice",
                            decl.pos,
                            label="declared again here",
                            notes=(f"first declared at {cases[decl.name].decl.pos}",),
                            help="give one of them another name",
                        )
                    else:
                        cases[decl.name] = Entry(kind, decl, path)
                    continue
                if decl.name in own:
                    first = own[decl.name].decl
                    self.fail(
                        "D0203",
                        f"`{decl.name}` is declared twice",
                        decl.pos,
                        label="declared again here",
                        notes=(
                            f"first declared at {first.pos} as {_KIND_WORDS[own[decl.name].kind]}",
                        ),
                        help="give one of them another name",
                    )
                    continue
                own[decl.name] = Entry(kind, decl, path)
            self.own[path] = own
            self.own_cases[path] = cases
        for path in self.loaded.order:
            names = dict(self.own[path])
            module = self.loaded.modules[path]
            for imp, dep in zip(
                _present_imports(module, self.loaded, path), self.loaded.imports[path]
            ):
                for name, entry in self.own[dep].items():
                    if name in names and names[name].decl is not entry.decl:
                        other = names[name]
                        where = (
                            "this module"
                            if other.module == path
                            else f"module `{self.module_name(other.module)}`"
                        )
                        self.fail(
                            "D0204",
                            f"`{name}` is declared both in {where} and in imported "
                            f"module `{self.module_name(dep)}`",
                            imp.pos if imp else None,
                            label="imported here",
                            notes=(f"the other is at {other.decl.pos}",),
                            help="rename one of them; top-level names share one namespace",
                        )
                        continue
                    names[name] = entry
            self.scopes[path] = names

    # -------------------------------------------------------------- types
    def fact_type(self, path: Path, t: n.TypeExpr, owner: str) -> ir.FactType:
        if isinstance(t, n.SimpleType):
            return ir.FactType(kind=t.kind)
        if isinstance(t, n.EnumType):
            seen: set[str] = set()
            for value, pos in zip(t.values, t.value_positions or [t.pos] * len(t.values)):
                if value in seen:
                    self.fail(
                        "D0203",
                        f"`{value}` is listed twice in the values of `{owner}`",
                        pos,
                        label="listed again here",
                    )
                seen.add(value)
            return ir.FactType(kind="scale" if t.ordered else "enum", values=t.values, name=owner)
        record = self.record(path, t.record, t.pos)
        return ir.FactType(kind="list", record=record, name=owner)

    def record(self, path: Path, name: str, pos: SourcePosition) -> ir.RecordType | None:
        entry = self.scopes[path].get(name)
        if entry is None or entry.kind != "record":
            what = (
                f"`{name}` is {_KIND_WORDS[entry.kind]}, not a record"
                if entry
                else f"unknown record `{name}`"
            )
            records = [k for k, e in self.scopes[path].items() if e.kind == "record"]
            self.fail(
                "D0201",
                what,
                pos,
                label="a list holds records declared with `record`",
                help=self.suggest(name, records),
            )
            return None
        key = (entry.module, name)
        if key not in self.records:
            decl: n.RecordDecl = entry.decl
            fields = []
            seen: set[str] = set()
            for f in decl.fields:
                if f.name in seen:
                    self.fail("D0203", f"field `{f.name}` is declared twice in `{name}`", f.pos)
                seen.add(f.name)
                if isinstance(f.type, n.ListType):
                    self.fail("D0304", "a record's field cannot itself be a list", f.type.pos)
                    continue
                fields.append(
                    ir.FieldType(
                        name=f.name,
                        type=self.fact_type(entry.module, f.type, f.name),
                        optional=f.optional,
                        meaning=f.meaning,
                    )
                )
            self.records[key] = ir.RecordType(name=name, fields=tuple(fields))
        return self.records[key]

    def fact(self, entry: Entry) -> ir.FactType:
        key = (entry.module, entry.decl.name)
        if key not in self.types:
            self.types[key] = self.fact_type(entry.module, entry.decl.type, entry.decl.name)
        return self.types[key]

    # -------------------------------------------------------------- authorities
    def authority(self, entry: Entry) -> ir.Authority:
        key = (entry.module, entry.decl.name)
        if key not in self.authorities:
            d: n.AuthorityDecl = entry.decl
            facts = self.given_facts(
                d.facts, self.facts_visible(entry.module), f"authority `{d.name}`"
            )
            if d.facts and d.held is None:
                self.fail(
                    "D0504",
                    f"authority `{d.name}` gives facts but not what it held",
                    d.pos,
                    label="a decided case as data",
                    help="add `held violation` or `held no violation`",
                )
            if d.held is not None and d.applied is None:
                self.fail(
                    "D0504",
                    f"authority `{d.name}` says what it held but not under which doctrine",
                    d.pos,
                    help="add `applied DOCTRINE`, naming the doctrine the court applied",
                )
            self.authorities[key] = ir.Authority(
                name=d.name,
                title=d.title,
                reporter=d.reporter,
                court=d.court,
                year=d.year,
                decided=d.decided,
                abrogated=d.abrogated,
                abrogated_by=d.abrogated_by,
                notes=d.notes,
                applied=d.applied.id if d.applied is not None else None,
                held=d.held,
                facts=facts,
                en_banc=d.en_banc,
                opinion=d.opinion,
                history=d.history,
            )
            if d.abrogated_by is not None:
                by = self.scopes[entry.module].get(d.abrogated_by)
                if by is None or by.kind != "authority":
                    self.fail(
                        "D0201",
                        f"unknown authority `{d.abrogated_by}`",
                        d.pos,
                        help=self.suggest(d.abrogated_by, self._names(entry.module, "authority")),
                    )
        return self.authorities[key]

    def cite(self, path: Path, c: n.Cite) -> ir.Citation | None:
        entry = self.scopes[path].get(c.authority)
        if entry is None or entry.kind != "authority":
            message = (
                f"`{c.authority}` is {_KIND_WORDS[entry.kind]}, not an authority"
                if entry
                else f"unknown authority `{c.authority}`"
            )
            self.fail(
                "D0202",
                message,
                c.pos,
                label="cited here",
                help=self.suggest(c.authority, self._names(path, "authority"))
                or "declare it with `authority NAME { ... }` or import the module that does",
            )
            return None
        auth = self.authority(entry)
        return ir.Citation(
            authority=auth.name,
            citation=auth.citation(c.pinpoint),
            pinpoint=c.pinpoint,
            purpose=c.purpose,
            opinion=auth.opinion,
        )

    def cites(self, path: Path, cites: tuple[n.Cite, ...]) -> tuple[ir.Citation, ...]:
        return tuple(c for c in (self.cite(path, x) for x in cites) if c is not None)

    def _names(self, path: Path, kind: str) -> list[str]:
        return [k for k, e in self.scopes[path].items() if e.kind == kind]

    # -------------------------------------------------------------- expressions
    def condition(self, e: n.Expr, scope: Scope) -> ir.Expr:
        if isinstance(e, n.Name):
            return self.name_condition(e, scope)
        if isinstance(e, n.Literal_):
            if isinstance(e.value, bool):
                return ir.Const(value=e.value, type=BOOL)
            self.fail(
                "D0301",
                f"{_show(e.value)} is not a condition",
                e.pos,
                label="a condition is true or false",
                help="compare it with a fact",
            )
            return ir.Const(value=False, type=BOOL)
        if isinstance(e, n.Field):
            ref, t = self.field(e, scope)
            if ref is not None and t.kind != "bool":
                self.fail(
                    "D0301",
                    f"`{e.var}.{e.field}` is {t.describe()}, not a condition",
                    e.pos,
                    help=f"compare it, as in `{e.var}.{e.field} == ...`",
                )
            return ref if ref is not None else ir.Const(value=False, type=BOOL)
        if isinstance(e, n.And):
            return ir.And(items=tuple(self.condition(i, scope) for i in e.items))
        if isinstance(e, n.Or):
            return ir.Or(items=tuple(self.condition(i, scope) for i in e.items))
        if isinstance(e, n.Not):
            return ir.Not(item=self.condition(e.item, scope))
        if isinstance(e, n.AtLeast):
            if not 1 <= e.count <= len(e.items):
                self.fail(
                    "D0305",
                    f"`at least {e.count} of` {len(e.items)} condition"
                    + ("s" if len(e.items) != 1 else "")
                    + " can "
                    + ("never hold" if e.count > len(e.items) else "never fail"),
                    e.pos,
                    help=f"use a number from 1 to {len(e.items)}",
                )
            return ir.AtLeast(count=e.count, items=tuple(self.condition(i, scope) for i in e.items))
        if isinstance(e, n.Compare):
            return self.compare(e, scope)
        if isinstance(e, n.Presence):
            ref = None
            if isinstance(e.operand, n.Field):
                ref, t = self.field(e.operand, scope)
                if ref is not None and not ref.optional:
                    self.fail(
                        "D0306",
                        f"`{e.operand.var}.{e.operand.field}` is never absent",
                        e.pos,
                        label="a required field",
                        help="only `optional` fields can be absent",
                    )
            else:
                self.fail(
                    "D0306",
                    "only an optional field of a record can be absent or present",
                    e.pos,
                    help="test a field, as in `a.abrogated is absent`",
                )
            if ref is None:
                return ir.Const(value=False, type=BOOL)
            return ir.Presence(field=ref, present=e.present)
        if isinstance(e, n.Quantified):
            return self.quantified(e, scope)
        raise AssertionError(f"unexpected node {e!r}")

    def name_condition(self, e: n.Name, scope: Scope) -> ir.Expr:
        if e.id in scope.vars:
            self.fail(
                "D0301",
                f"`{e.id}` is a record, not a condition",
                e.pos,
                help=f"test one of its fields, as in `{e.id}.FIELD`",
            )
            return ir.Const(value=False, type=BOOL)
        if e.id in scope.slots and e.id != scope.exclude:
            return ir.ElementRef(key=scope.slots[e.id])
        if e.id in scope.unbound and e.id != scope.exclude:
            return ir.Const(value=False, type=BOOL)
        entry = scope.names.get(e.id)
        if entry is None:
            self.unknown_name(e, scope)
            return ir.Const(value=False, type=BOOL)
        if entry.kind == "element":
            return ir.ElementRef(key=self.element_key(entry))
        if entry.kind == "doctrine":
            self.doctrine(entry)
            return ir.DoctrineRef(name=entry.decl.name)
        if entry.kind == "fact":
            t = self.fact(entry)
            if t.kind != "bool":
                example = {
                    "enum": f"`{e.id} is {t.values[0] if t.values else '...'}`",
                    "scale": f"`{e.id} >= {t.values[-1] if t.values else '...'}`",
                    "list": f"`some x in {e.id} where ...`",
                }.get(t.kind, f"`{e.id} == ...`")
                self.fail(
                    "D0301",
                    f"`{e.id}` is {t.describe()}, not a condition",
                    e.pos,
                    label="used as a condition here",
                    help=f"compare it, as in {example}",
                )
            return ir.FactRef(name=e.id, type=t)
        self.fail("D0301", f"`{e.id}` is {_KIND_WORDS[entry.kind]}, not a condition", e.pos)
        return ir.Const(value=False, type=BOOL)

    def unknown_name(self, e: n.Name, scope: Scope, what: str = "") -> None:
        if e.id == scope.exclude:
            self.fail(
                "D0206",
                f"element `{e.id}` refers to itself",
                e.pos,
                label="used in its own definition",
                help="an element is defined by other facts and elements, not by itself",
            )
            return
        suggestion = self.suggest(e.id, scope.visible())
        if not what:
            # Name the kind the user most likely meant: that of the closest declared name.
            close = suggestion.split("`")[1] if suggestion else ""
            entry = scope.names.get(close)
            what = entry.kind if entry is not None and entry.kind in ("fact", "element") else "name"
            if close in scope.slots and close != scope.exclude:
                what = "element"
        self.fail(
            "D0201",
            f"unknown {what} `{e.id}`",
            e.pos,
            label="not declared in this module or its imports",
            help=suggestion,
        )

    def field(self, e: n.Field, scope: Scope) -> tuple[ir.FieldRef | None, ir.FactType]:
        if e.var not in scope.vars:
            if e.var in scope.names:
                self.fail(
                    "D0201",
                    f"`{e.var}` is not a record being quantified over",
                    e.pos,
                    help="fields are read from the variable of `some x in LIST where x.FIELD ...`",
                )
            else:
                self.unknown_name(n.Name(id=e.var, pos=e.pos), scope, "variable")
            return None, BOOL
        var, record = scope.vars[e.var].number, scope.vars[e.var].record
        f = record.field(e.field)
        if f is None:
            self.fail(
                "D0201",
                f"`{record.name}` has no field `{e.field}`",
                e.pos,
                help=self.suggest(e.field, [x.name for x in record.fields]),
            )
            return None, BOOL
        return ir.FieldRef(var=var, field=e.field, type=f.type, optional=f.optional), f.type

    def operand(self, e: n.Expr, scope: Scope) -> tuple[ir.Expr | None, ir.FactType | None]:
        """A comparison's operand: (ir, type); (None, None) for a bare word to read later."""
        if isinstance(e, n.Literal_):
            return ir.Const(value=e.value, type=_LITERAL_TYPES[type(e.value)]), _LITERAL_TYPES[
                type(e.value)
            ]
        if isinstance(e, n.Field):
            ref, t = self.field(e, scope)
            return (ref, t) if ref is not None else (ir.Const(value=False, type=BOOL), None)
        if isinstance(e, n.Name):
            if e.id in scope.vars:
                self.fail("D0301", f"`{e.id}` is a whole record; compare one of its fields", e.pos)
                return ir.Const(value=False, type=BOOL), None
            entry = scope.names.get(e.id)
            if entry is not None and entry.kind == "fact":
                # Compared, a name is the fact even where a label of the doctrine's elements
                # has it too (the lint D0605 says so).
                t = self.fact(entry)
                if t.kind == "list":
                    self.fail(
                        "D0301",
                        f"`{e.id}` is a list; it cannot be compared",
                        e.pos,
                        help=f"quantify over it: `some x in {e.id} where ...`",
                    )
                    return ir.Const(value=False, type=BOOL), None
                return ir.FactRef(name=e.id, type=t), t
            if entry is not None or (e.id in scope.slots and e.id != scope.exclude):
                kind = entry.kind if entry else "element"
                self.fail(
                    "D0301",
                    f"`{e.id}` is {_KIND_WORDS[kind]}; only facts and values are compared",
                    e.pos,
                    help="use it as a condition on its own, without a comparison",
                )
                return ir.Const(value=False, type=BOOL), None
            return None, None
        self.fail(
            "D0301",
            "a comparison compares facts, fields and values, not conditions",
            _pos(e),
            help="compare each fact on its own and join them with `and` / `or`",
        )
        return ir.Const(value=False, type=BOOL), None

    def compare(self, e: n.Compare, scope: Scope) -> ir.Expr:
        left, lt = self.operand(e.left, scope)
        right, rt = self.operand(e.right, scope)
        bad = ir.Const(value=False, type=BOOL)
        if left is None and right is None:
            self.unknown_name(e.left, scope)  # type: ignore[arg-type]
            return bad
        if left is None or right is None:
            word: n.Name = e.left if left is None else e.right  # type: ignore[assignment]
            other_t = rt if left is None else lt
            if other_t is None:
                return bad
            if other_t.kind not in ("enum", "scale"):
                self.unknown_name(word, scope)
                return bad
            if word.id not in other_t.values:
                self.fail(
                    "D0302",
                    f"`{word.id}` is not a value of `{other_t.name}`",
                    word.pos,
                    label=f"`{other_t.name}` is {other_t.describe()}",
                    help=self.suggest(word.id, other_t.values),
                )
                return bad
            const = ir.Const(value=word.id, type=other_t)
            left, lt = (const, other_t) if left is None else (left, lt)
            right, rt = (const, other_t) if right is None else (right, rt)
        if lt is None or rt is None:
            return bad
        if not _same_type(lt, rt):
            self.fail(
                "D0301",
                f"cannot compare {_what(e.left, lt)} with {_what(e.right, rt)}",
                e.pos,
                label="these have different types",
            )
            return bad
        if e.op not in ("==", "!=") and lt.kind not in _ORDERED:
            self.fail(
                "D0303",
                f"`{e.op}` does not apply to {lt.describe()}",
                e.pos,
                label="no order among these values",
                help="declare the values in order with `<` to compare them: enum (a < b < c)"
                if lt.kind == "enum"
                else "use `==` or `!=`",
            )
            return bad
        assert left is not None and right is not None
        if isinstance(left, ir.FactRef) and left == right:
            # A fact compared with itself has one answer whatever its value, even unknown:
            # `d == d` holds and `d < d` fails, so `d` can never be missing for it.
            return ir.Const(value=e.op in ("==", "<=", ">="), type=BOOL)
        return ir.Compare(op=e.op, left=left, right=right, type=lt)

    def quantified(self, e: n.Quantified, scope: Scope) -> ir.Expr:
        entry = scope.names.get(e.collection.id)
        bad = ir.Const(value=False, type=BOOL)
        if entry is None or entry.kind != "fact" or self.fact(entry).kind != "list":
            if entry is None:
                self.unknown_name(e.collection, scope)
            else:
                self.fail(
                    "D0301",
                    f"`{e.collection.id}` is not a list",
                    e.collection.pos,
                    help="quantifiers range over facts declared `list of RECORD`",
                )
            return bad
        t = self.fact(entry)
        if t.record is None:
            return bad
        self._var_counter += 1
        var = self._var_counter
        inner = attrs.evolve(scope, vars={**scope.vars, e.var: Variable(var, t.record)})
        body = self.condition(e.body, inner)
        return ir.Quantified(
            quantifier=e.quantifier,
            var=var,
            collection=ir.FactRef(name=e.collection.id, type=t),
            body=body,
        )

    # -------------------------------------------------------------- elements
    def element_key(self, entry: Entry) -> str:
        key = f"{self.module_name(entry.module)}.{entry.decl.name}"
        if key not in self.elements and key not in self._pending:
            self._pending.add(key)
            scope = Scope(module=entry.module, names=self.scopes[entry.module])
            self.elements[key] = self.build_element(key, entry.decl, scope)
        return key

    def build_element(self, key: str, d: n.ElementDecl, scope: Scope) -> ir.Element:
        decision = self.decision_of(d)
        if decision is None:
            self.fail(
                "D0207",
                f"element `{d.name}` has no `holds when ...`",
                d.pos,
                label="says nothing about when it is met",
                help="add `holds when CONDITION` (or a `general rule` with exceptions, "
                "or a `first match` list) to the element",
            )
            expr: ir.Expr = ir.Const(value=False, type=BOOL)
            text = ""
        else:
            expr, text = self.decide(decision, scope, f"element `{d.name}`")
        return ir.Element(
            key=key,
            name=d.name,
            title=d.title or d.name.replace("_", " "),
            expr=expr,
            text=text,
            cites=self.cites(scope.module, d.cites),
            met=d.met,
            unmet=d.unmet,
            notes=d.notes,
            presumptions=self.burdens(d.burdens, scope),
            module=self.module_name(scope.module),
            pos=d.pos,
        )

    # -------------------------------------------------------------- decisions
    def decision_of(self, d: n.ElementDecl | n.DoctrineDecl) -> Decision | None:
        """How `d` states its outcome, reporting a declaration that states it twice."""
        ways = decisions(d)
        words = {
            "holds": "`holds when`",
            "rule": "a general rule with exceptions",
            "first": "a `first match` list",
            "switch": "a `holds by` switch",
        }
        for way in ways[1:]:
            self.fail(
                "D0209",
                f"`{d.name}` states its outcome twice",
                way.pos,
                label=f"{words[way.kind]}, after {words[ways[0].kind]}",
                help="use one way: `holds when`, a general rule with exceptions, `first match`, "
                "or `holds by`",
            )
        return ways[0] if ways else None

    def decide(self, decision: Decision, scope: Scope, owner: str) -> tuple[ir.Expr, str]:
        """The expression and text of `holds when`, a rule with exceptions, or a first match."""
        payload = decision.payload
        if isinstance(payload, n.Condition):
            expr = self.condition(payload.expr, scope)
            text = unparse(payload.expr)
            if payload.unless:
                return ir.Not(item=expr), f"unless {text}"
            return expr, text
        if isinstance(payload, n.FirstMatch):
            return self.first_match(payload, scope)
        if isinstance(payload, n.Switch):
            return self.switch(payload, scope)
        rule, exceptions = payload.rule, payload.exceptions
        if rule is None:
            self.fail(
                "D0210",
                f"{owner} lists exceptions but no general rule",
                exceptions[0].pos,
                label="an exception to what?",
                help="state the outcome when no exception applies: `general rule false`",
            )
            rule = n.GeneralRule(outcome=False)
        chain, texts = self.exceptions(
            exceptions,
            _outcome_default(rule.outcome),
            scope,
            rule.because,
            self.cites(scope.module, rule.cites),
            parent=None,
            owner=owner,
            rule=rule,
        )
        text = (
            outcome_word(rule.outcome)
            + " as a general rule"
            + "".join(
                f"; exception {b.label}: "
                f"{outcome_word(b.result if isinstance(b.result, ir.Open) else b.outcome)}"
                f" when {t}"
                for b, t in zip(chain.branches, texts)
            )
        )
        return chain, text

    def exceptions(
        self,
        excs: tuple[n.Exception_, ...],
        default: bool | ir.Open,
        scope: Scope,
        because: str,
        cites: tuple[ir.Citation, ...],
        parent: ir.Expr | None,
        owner: str = "",
        rule: n.GeneralRule | None = None,
    ) -> tuple[ir.Chain, list[str]]:
        """The chain of exceptions, and the text of each one's condition (for the rule's
        one-line summary)."""
        labels: dict[str, n.Exception_] = {}
        for e in excs:
            if e.label in labels:
                self.fail(
                    "D0203",
                    f"exception `{e.label}` is declared twice here",
                    e.pos,
                    label="declared again here",
                    help="give each exception its own name",
                )
            labels.setdefault(e.label, e)
        above: dict[str, set[str]] = {e.label: set() for e in excs}
        for e in excs:
            for other in e.over:
                if other.id not in labels:
                    self.fail(
                        "D0201",
                        f"`over {other.id}`: no exception `{other.id}` beside `{e.label}`",
                        other.pos,
                        help=self.suggest(other.id, labels)
                        or "`over` ranks an exception above one of its siblings",
                    )
                elif other.id == e.label:
                    self.fail("D0311", f"exception `{e.label}` is ranked over itself", other.pos)
                else:
                    above[e.label].add(other.id)
        order = self._rank(excs, above)
        branches: list[ir.Branch] = []
        texts: list[str] = []
        for e in order:
            cond = self.condition(e.condition, scope)
            sub_cites = self.cites(scope.module, e.cites)
            if e.exceptions:
                result: ir.Expr = self.exceptions(
                    e.exceptions,
                    _outcome_default(e.outcome),
                    scope,
                    e.because,
                    sub_cites,
                    cond if parent is None else ir.And(items=(parent, cond)),
                )[0]
            else:
                result = _outcome_expr(e.outcome)
            branches.append(
                ir.Branch(
                    label=e.label,
                    cond=cond,
                    result=result,
                    outcome=_outcome_bool(e.outcome),
                    because=e.because,
                    cites=sub_cites,
                )
            )
            texts.append(unparse(e.condition))
        chain = ir.Chain(
            kind="exceptions",
            branches=tuple(branches),
            default=default,
            because=because,
            cites=cites,
        )
        closure = {k: frozenset(self._reach(k, above)) for k in above}
        self._pending_checks.append(
            ExceptionChain(
                chain=chain,
                exceptions=tuple(order),
                ranked_below=closure,
                parent=parent,
                module=scope.module,
                owner=owner,
                rule=rule,
            )
        )
        return chain, texts

    def _rank(
        self, excs: tuple[n.Exception_, ...], above: dict[str, set[str]]
    ) -> list[n.Exception_]:
        """Exceptions in priority order: those ranked `over` others first, else as written."""
        by_label = {e.label: e for e in excs}
        done: list[str] = []
        visiting: list[str] = []

        def visit(label: str) -> None:
            if label in done:
                return
            if label in visiting:
                cycle = [*visiting[visiting.index(label) :], label]
                self.fail(
                    "D0311",
                    "exceptions ranked over each other in a circle: " + " over ".join(cycle),
                    by_label[label].pos,
                    help="remove one of the `over` rankings",
                )
                return
            visiting.append(label)
            for e in excs:  # those that prevail over `label` go before it
                if label in above.get(e.label, ()):
                    visit(e.label)
            visiting.pop()
            done.append(label)

        for e in excs:
            visit(e.label)
        seen: set[str] = set()
        return [by_label[x] for x in done if not (x in seen or seen.add(x))]  # type: ignore[func-returns-value]

    @staticmethod
    def _reach(label: str, above: dict[str, set[str]]) -> set[str]:
        out: set[str] = set()
        todo = list(above.get(label, ()))
        while todo:
            x = todo.pop()
            if x not in out:
                out.add(x)
                todo.extend(above.get(x, ()))
        return out

    def first_match(self, fm: n.FirstMatch, scope: Scope) -> tuple[ir.Expr, str]:
        branches = []
        texts = []
        for i, b in enumerate(fm.branches, 1):
            assert b.condition is not None
            branches.append(
                ir.Branch(
                    label=f"line {i}",
                    cond=self.condition(b.condition, scope),
                    result=_outcome_expr(b.outcome),
                    outcome=_outcome_bool(b.outcome),
                    because=b.because,
                    cites=self.cites(scope.module, b.cites),
                )
            )
            texts.append(f"when {unparse(b.condition)} then {outcome_word(b.outcome)}")
        other = fm.otherwise
        chain = ir.Chain(
            kind="first_match",
            branches=tuple(branches),
            default=_outcome_default(other.outcome),
            because=other.because,
            cites=self.cites(scope.module, other.cites),
        )
        self._pending_checks.append(
            FirstMatchList(chain=chain, lines=tuple(fm.branches), module=scope.module)
        )
        texts.append(f"otherwise {outcome_word(other.outcome)}")
        return chain, "first match: " + "; ".join(texts)

    def _result(self, r: n.Expr | n.Open, scope: Scope) -> tuple[ir.Expr, str]:
        if isinstance(r, n.Open):
            return ir.Open(reason=r.reason), outcome_word(r)
        return self.condition(r, scope), unparse(r)

    def literal(self, v: n.Value, t: ir.FactType, what: str) -> object | None:
        """A literal of a fact's type in the runtime's form, or None after reporting it."""
        value = _plain(v)
        if v.kind == "unknown" or value is None:
            self.fail(
                "D0314",
                f"{what}: `unknown` is not a value",
                v.pos,
                help=f"write a value of the fact's type ({t.describe()})",
            )
            return None
        if t.kind == "list" and value == []:
            return ()
        if t.kind == "list" and t.record is None:
            return None  # a list of an unknown record: reported once, where it is declared
        converted, problem = convert(t.kind, t.spec(), value)
        if problem:
            close = ""
            if t.kind in ("enum", "scale") and isinstance(value, str):
                close = self.suggest(value, t.values)
            self.fail(
                "D0314",
                f"{what}: {problem.split('; did you mean')[0]}",
                v.pos,
                label=f"not {t.describe()}",
                help=close,
            )
            return None
        return converted  # type: ignore[no-any-return]

    def switch_fact(self, name: n.Name, scope: Scope, what: str) -> ir.FactRef | None:
        entry = scope.names.get(name.id)
        if entry is None or entry.kind != "fact":
            self.fail(
                "D0201",
                f"{what}: unknown fact `{name.id}`"
                if entry is None
                else f"{what}: `{name.id}` is {_KIND_WORDS[entry.kind]}, not a fact",
                name.pos,
                help=self.suggest(name.id, self._names(scope.module, "fact"))
                or "name a fact of the vocabulary",
            )
            return None
        return ir.FactRef(name=name.id, type=self.fact(entry))

    def switch(self, sw: n.Switch, scope: Scope) -> tuple[ir.Expr, str]:
        fact = self.switch_fact(sw.fact, scope, "`holds by`")
        arms: list[ir.SwitchArm] = []
        texts: list[str] = []
        seen: dict[object, n.SwitchArm] = {}
        # Whether every arm's value was read: an arm already reported (a value not of the
        # fact's type) leaves the values it meant uncovered, and that is no second error.
        all_read = fact is not None and fact.type.kind != "list"
        for arm in sw.arms:
            result, text = self._result(arm.result, scope)
            texts.append(f"{_show_value(arm.value)} then {text}")
            if fact is None:
                continue
            if fact.type.kind == "list":
                continue
            value = self.literal(arm.value, fact.type, f"`holds by {fact.name}`")
            if value is None:
                all_read = False
                continue
            if value in seen:
                self.fail(
                    "D0314",
                    f"`holds by {fact.name}` has two arms for {_show(value)}",
                    arm.pos,
                    label="the second is never chosen",
                    help="keep one arm for each value",
                )
                continue
            seen[value] = arm
            arms.append(ir.SwitchArm(value=ir.Const(value=value, type=fact.type), result=result))  # type: ignore[arg-type]
        if fact is not None and fact.type.kind == "list":
            self.fail(
                "D0314",
                f"`holds by {fact.name}`: a list cannot choose a rule",
                sw.fact.pos,
                help="switch on a fact with one value: text, an enum, a bool, a date or a number",
            )
        if sw.otherwise is not None:
            other, other_text = self._result(sw.otherwise, scope)
            texts.append(f"otherwise {other_text}")
        else:
            other = ir.Const(value=False, type=BOOL)
            every = (
                (True, False)
                if fact is not None and fact.type.kind == "bool"
                else fact.type.values
                if fact is not None
                else ()
            )
            if fact is not None and all_read and (not every or any(v not in seen for v in every)):
                self.fail(
                    "D0314",
                    f"`holds by {fact.name}` has no `otherwise`",
                    sw.pos,
                    label="says nothing of the values no arm names",
                    help='add `otherwise OUTCOME`, as `otherwise open "REASON"`',
                )
        if fact is None:
            return ir.Const(value=False, type=BOOL), ""
        expr = ir.Switch(fact=fact, arms=tuple(arms), otherwise=other)
        return expr, f"by {fact.name}: " + "; ".join(texts)

    def burdens(self, burdens: tuple[n.Burden, ...], scope: Scope) -> tuple[ir.Presumption, ...]:
        out: list[ir.Presumption] = []
        facts_done: dict[str, n.Burden] = {}
        for b in burdens:
            fact = self.switch_fact(b.fact, scope, "`absent ... counts as`")
            cond = self.condition(b.condition, scope) if b.condition is not None else None
            cites = self.cites(scope.module, b.cites)
            if not b.because:
                self.fail(
                    "D0315",
                    f"the burden on `{b.fact.id}` does not say why",
                    b.pos,
                    help='add `because "..."`: who must show it, and on what authority',
                )
            if fact is None:
                continue
            if cond is not None and b.fact.id in self.facts_of(cond):
                assert b.condition is not None
                self.fail(
                    "D0316",
                    f"the condition of the burden on `{b.fact.id}` reads `{b.fact.id}` itself",
                    b.condition.pos,
                    label=f"the burden applies only when `{b.fact.id}` is not given",
                    help=f"state the condition on facts other than `{b.fact.id}`",
                )
                continue
            if b.fact.id in facts_done and b.condition is None:
                self.warn(
                    "D0315",
                    f"`{b.fact.id}` already has a burden here; this one applies only when "
                    "the earlier ones do not",
                    b.pos,
                )
            facts_done.setdefault(b.fact.id, b)
            value = self.literal(b.value, fact.type, f"`absent {b.fact.id} counts as`")
            if value is None:
                continue
            out.append(
                ir.Presumption(
                    fact=b.fact.id,
                    type=fact.type,
                    value=value,
                    cond=cond,
                    because=b.because,
                    cites=cites,
                    text=unparse(b.condition) if b.condition is not None else "",
                )
            )
        return tuple(out)

    def check_chains(self) -> None:
        """Exceptions that can both apply and decide differently, neither ranked over the
        other (D0312). The lints read the same chains for those that never apply."""
        for site in self._pending_checks:
            if not isinstance(site, ExceptionChain):
                continue  # the first line that matches decides: no conflict is possible
            chain, decls, closure = site.chain, site.exceptions, site.ranked_below
            context = [site.parent] if site.parent is not None else []
            for i, (a, da) in enumerate(zip(chain.branches, decls)):
                for b, db in list(zip(chain.branches, decls))[i + 1 :]:
                    if b.label in closure.get(a.label, ()) or a.label in closure.get(b.label, ()):
                        continue
                    if _outcomes(a.result) == _outcomes(b.result) and len(_outcomes(a.result)) == 1:
                        continue
                    both = satisfiable([*context, a.cond, b.cond], self.elements, self.doctrines)
                    if both is False:
                        continue
                    first, second = sorted((da, db), key=lambda d: (d.pos.line, d.pos.column))
                    message = (
                        f"exceptions `{da.label}` and `{db.label}` can both apply and decide "
                        "differently, and neither is ranked over the other"
                    )
                    help_ = (
                        f"say which prevails: `over {first.label}` in `{second.label}`, "
                        "or the reverse"
                    )
                    if both is None:
                        self.warn(
                            "D0312",
                            message.replace("can both apply", "may both apply"),
                            second.pos,
                            label="may conflict with `" + first.label + "`",
                            help=help_,
                        )
                    else:
                        self.fail(
                            "D0312",
                            message,
                            second.pos,
                            label=f"conflicts with `{first.label}`",
                            help=help_,
                        )

    # -------------------------------------------------------------- doctrines
    def effective(self, entry: Entry, chain: tuple[str, ...] = ()) -> Effective | None:
        """A doctrine's declarations with those it inherits, each with its defining module."""
        d: n.DoctrineDecl = entry.decl
        if d.name in chain:
            path = " -> ".join((*chain[chain.index(d.name) :], d.name))
            self.fail(
                "D0206",
                f"doctrine `{d.name}` extends itself"
                + (f" through {path}" if len(chain) - chain.index(d.name) > 1 else ""),
                d.extends.pos if d.extends is not None else d.pos,
                label="a variant extends another doctrine",
                help="extend the rule this variant departs from, or remove `extends`",
            )
            return None
        base = EMPTY
        if d.answers is not None and not chain:
            other = self.scopes[entry.module].get(d.answers.id)
            if other is None or other.kind != "doctrine":
                self.fail(
                    "D0201",
                    f"unknown doctrine `{d.answers.id}`",
                    d.answers.pos,
                    label="the question it answers",
                    help=did_you_mean(d.answers.id, self._names(entry.module, "doctrine")),
                )
        if d.extends is not None:
            parent = self.scopes[entry.module].get(d.extends.id)
            if parent is None or parent.kind != "doctrine":
                self.fail(
                    "D0201",
                    f"unknown doctrine `{d.extends.id}`",
                    d.extends.pos,
                    label="extended here",
                    help=self.suggest(d.extends.id, self._names(entry.module, "doctrine")),
                )
            else:
                inherited = self.effective(parent, (*chain, d.name))
                if inherited is not None:
                    base = inherited
        slots = dict(base.slots)
        seen: set[str] = set()
        for slot in d.slots:
            if slot.label in seen:
                self.fail(
                    "D0203",
                    f"element `{slot.label}` is declared twice in `{d.name}`",
                    slot.pos,
                    label="declared again here",
                )
                continue
            seen.add(slot.label)
            slots[slot.label] = Declared(slot, entry.module)
        rejects = dict(base.rejects)
        for dropped in d.dropped:
            if dropped.id not in rejects:
                self.fail(
                    "D0201",
                    f"`{d.name}` inherits no rejected theory `{dropped.id}`",
                    dropped.pos,
                    help=self.suggest(dropped.id, rejects) or "nothing to drop",
                )
            rejects.pop(dropped.id, None)
        for r in d.rejects:
            rejects[r.name] = Declared(r, entry.module)
        decision = self.decision_of(d)
        period = (base.in_force_from, base.in_force_until)
        if d.in_force_from or d.in_force_until:  # a period is replaced whole, never half
            period = (d.in_force_from, d.in_force_until)
        return Effective(
            slots=MappingProxyType(slots),
            decision=Declared(decision, entry.module) if decision is not None else base.decision,
            rejects=MappingProxyType(rejects),
            title=d.title or base.title,
            source=Declared(d.source, entry.module) if d.source else base.source,
            court=d.court or base.court,
            in_force_from=period[0],
            in_force_until=period[1],
            cites=tuple(Declared(c, entry.module) for c in d.cites),
            notes=d.notes,
            closed_world=base.closed_world or d.closed_world,
            precedents=(
                Declared(d.precedents, entry.module)
                if d.precedents is not None
                else base.precedents
            ),
            burdens=(*base.burdens, *(Declared(b, entry.module) for b in d.burdens)),
        )

    def doctrine(self, entry: Entry) -> ir.Doctrine | None:
        d: n.DoctrineDecl = entry.decl
        if d.name in self.doctrines:
            return self.doctrines[d.name]
        if d.name in self._checking_doctrines:
            chain = self._checking_doctrines[self._checking_doctrines.index(d.name) :]
            self._doctrine_cycles.update(chain)
            self.fail(
                "D0206",
                "circular definition: " + " -> ".join((*chain, d.name)),
                d.pos,
                label="defined in terms of itself",
                help="a doctrine cannot hold because it holds: break the chain",
            )
            return None
        if d.name in self.doctrine_modules and self.doctrine_modules[d.name] != entry.module:
            self.fail(
                "D0204",
                f"two doctrines are called `{d.name}`",
                d.pos,
                help="doctrine names are unique across the files compiled together",
            )
            return None
        self._checking_doctrines.append(d.name)
        try:
            return self._doctrine(entry)
        finally:
            self._checking_doctrines.pop()

    def _doctrine(self, entry: Entry) -> ir.Doctrine | None:
        d: n.DoctrineDecl = entry.decl
        eff = self.effective(entry)
        if eff is None:
            return None
        self._effective[d.name] = eff
        slot_keys: dict[str, str] = {}
        for label, placed in eff.slots.items():
            slot, module = placed.item, placed.module
            if slot.element is not None:
                # Three parts, where a module's own elements have two (names hold no dots):
                # an element inside doctrine `d` never shares a key with element `x` of a
                # module named `d`.
                slot_keys[label] = f"{self.module_name(entry.module)}.{d.name}.{label}"
                continue
            bound = slot.target or ""  # a slot without an element of its own names one
            target = self.scopes[module].get(bound)
            if target is None or target.kind != "element":
                what = (
                    f"`{slot.target}` is {_KIND_WORDS[target.kind]}, not an element"
                    if target
                    else f"unknown element `{slot.target}`"
                )
                self.fail(
                    "D0201",
                    what,
                    slot.target_pos,
                    label=f"bound to `{label}` here",
                    help=self.suggest(bound, self._names(module, "element"))
                    or "declare it with `element NAME { ... }` or import its module",
                )
                self._unresolved_labels.setdefault(d.name, set()).add(label)
                continue
            slot_keys[label] = self.element_key(target)
        unbound = frozenset(self._unresolved_labels.get(d.name, ()))
        for label, placed in eff.slots.items():
            slot, module = placed.item, placed.module
            if slot.element is None:
                continue
            key = slot_keys[label]
            scope = Scope(
                module=module,
                names=self.scopes[module],
                slots=slot_keys,
                exclude=label,
                unbound=unbound,
            )
            self.elements[key] = self.build_element(key, slot.element, scope)
        # Thresholds first: the court answers them before the elements.
        thresholds = [
            label
            for label, placed in eff.slots.items()
            if placed.item.threshold and label in slot_keys
        ]
        slot_keys = {
            **{label: slot_keys[label] for label in thresholds},
            **{k: v for k, v in slot_keys.items() if k not in thresholds},
        }
        if eff.decision is None:
            expr: ir.Expr = ir.And(items=tuple(ir.ElementRef(key=k) for k in slot_keys.values()))
            text = "all of (" + ", ".join(slot_keys) + ")"
        else:
            decision, module = eff.decision.item, eff.decision.module
            scope = Scope(
                module=module, names=self.scopes[module], slots=slot_keys, unbound=unbound
            )
            expr, text = self.decide(decision, scope, f"doctrine `{d.name}`")
            if thresholds:
                expr = ir.And(items=(*(ir.ElementRef(key=slot_keys[t]) for t in thresholds), expr))
                text = "all of (" + ", ".join(thresholds) + f") and then {text}"
        presumptions: list[ir.Presumption] = []
        for burden in eff.burdens:
            module = burden.module
            scope = Scope(
                module=module, names=self.scopes[module], slots=slot_keys, unbound=unbound
            )
            presumptions.extend(self.burdens((burden.item,), scope))
        if not eff.slots:
            self.fail(
                "D0208",
                f"doctrine `{d.name}` has no elements",
                d.pos,
                help="add `element NAME ...` to the doctrine",
            )
        rejects = []
        for placed_reject in eff.rejects.values():
            r, module = placed_reject.item, placed_reject.module
            on = []
            for name in r.on:
                e = self.scopes[module].get(name.id)
                if e is None or e.kind != "fact":
                    self.fail(
                        "D0201",
                        f"unknown fact `{name.id}`",
                        name.pos,
                        label="a rejected theory rests on facts",
                        help=self.suggest(name.id, self._names(module, "fact")),
                    )
                else:
                    on.append(name.id)
            rejects.append(
                ir.Rejected(
                    name=r.name,
                    title=r.title or r.name.replace("_", " "),
                    on=tuple(on),
                    because=r.because,
                    cites=self.cites(module, r.cites),
                )
            )
        source = None
        if eff.source is not None:
            source = self.cite(eff.source.module, eff.source.item)
        cites = tuple(c for c in (self.cite(x.module, x.item) for x in eff.cites) if c is not None)
        start, end = eff.in_force_from, eff.in_force_until
        if start and end and start >= end:
            self.fail(
                "D0307",
                f"`{d.name}` would be in force from {start} until {end}",
                d.pos,
                help="the start of the period comes before its end",
            )
        doctrine = ir.Doctrine(
            name=d.name,
            title=eff.title or d.name.replace("_", " "),
            module=self.module_name(entry.module),
            extends=d.extends.id if d.extends else None,
            source=source,
            court=eff.court,
            in_force_from=start,
            in_force_until=end,
            slots=tuple(slot_keys.items()),
            expr=expr,
            text=text,
            rejects=tuple(rejects),
            cites=cites,
            notes=eff.notes,
            facts_weighed=(),
            closed_world=eff.closed_world,
            thresholds=tuple(thresholds),
            presumptions=tuple(presumptions),
            opinion=source.opinion if source is not None else "",
            pos=d.pos,
        )
        if eff.precedents is not None:
            names, module = eff.precedents.item, eff.precedents.module
            doctrine = attrs.evolve(doctrine, precedents=self.precedents(names, module, d.name))
        doctrine = attrs.evolve(doctrine, facts_weighed=tuple(sorted(self.facts_of(doctrine.expr))))
        self.doctrines[d.name] = doctrine
        self.doctrine_modules[d.name] = entry.module
        return doctrine

    def facts_of(self, expr: ir.Expr, seen: set[str] | None = None) -> set[str]:
        """The facts an expression reads, through the elements and doctrines it names."""
        seen = set() if seen is None else seen
        out: set[str] = set()
        for node in ir.walk(expr):
            if isinstance(node, ir.FactRef):
                out.add(node.name)
            elif (
                isinstance(node, ir.ElementRef)
                and node.key not in seen
                and node.key in self.elements
            ):
                seen.add(node.key)
                out |= self.facts_of(self.elements[node.key].expr, seen)
            elif (
                isinstance(node, ir.DoctrineRef)
                and node.name not in seen
                and node.name in self.doctrines
            ):
                seen.add(node.name)
                out |= self.facts_of(self.doctrines[node.name].expr, seen)
        return out

    # -------------------------------------------------------------- cases
    def given_facts(
        self, pairs: tuple[n.Pair, ...], facts: dict[str, ir.Fact], owner: str
    ) -> tuple[tuple[str, object], ...]:
        """The facts a case or a decided authority gives, checked against the vocabulary."""
        given = []
        for pair in pairs:
            fact = facts.get(pair.key)
            if fact is None:
                self.fail(
                    "D0501",
                    f"unknown fact `{pair.key}` in {owner}",
                    pair.pos,
                    label="not in the vocabulary",
                    help=self.suggest(pair.key, facts),
                )
                continue
            value = _plain(pair.value)
            if value is None:
                continue  # written `unknown`: the same as leaving it out
            if fact.type.kind == "list" and fact.type.record is None:
                continue  # a list of an unknown record: reported once, where it is declared
            problem = value_problem(fact.type.kind, fact.type.spec(), value)
            if problem:
                close = ""
                if fact.type.kind in ("enum", "scale") and isinstance(value, str):
                    close = self.suggest(value, fact.type.values)
                self.fail(
                    "D0502",
                    f"`{pair.key}`: {problem.split('; did you mean')[0]}",
                    pair.value.pos,
                    label=f"not {fact.type.describe()}",
                    help=close,
                )
                continue
            given.append((pair.key, value))
        return tuple(given)

    # -------------------------------------------------------------- decided cases as data
    def precedents(
        self, names: tuple[n.Name, n.Name], module: Path, doctrine: str
    ) -> tuple[str, tuple[ir.Precedent, ...]] | None:
        """The library's decided cases under a doctrine, as records for a list fact."""
        list_name, applied = names
        entry = self.scopes[module].get(list_name.id)
        if entry is None or entry.kind != "fact" or self.fact(entry).kind != "list":
            self.fail(
                "D0201",
                f"`{list_name.id}` is not a list fact"
                if entry
                else f"unknown fact `{list_name.id}`",
                list_name.pos,
                help="`precedents for LIST from DOCTRINE` fills a fact declared `list of RECORD`",
            )
            return None
        record = self.fact(entry).record
        if record is None:
            return None
        missing = precedents.missing_field(record)
        if missing is not None:
            field_name, want = missing
            self.fail(
                "D0313",
                f"record `{record.name}` needs a field `{field_name}: {want}` "
                "for the library's decided cases to fill it",
                list_name.pos,
                help=precedents.FILLED,
            )
            return None
        target = self.scopes[module].get(applied.id)
        if target is None or target.kind != "doctrine":
            self.fail(
                "D0201",
                f"unknown doctrine `{applied.id}`",
                applied.pos,
                help=self.suggest(applied.id, self._names(module, "doctrine")),
            )
            return None
        target_doctrine = self.doctrine(target)
        family = self.family(applied.id)
        vocabulary = self.facts_visible(module)
        candidates: list[ir.Precedent] = []
        for _name, auth_entry in sorted(self.scopes[module].items()):
            if auth_entry.kind != "authority":
                continue
            auth = self.authority(auth_entry)
            if auth.held is None or auth.applied is None or self.family(auth.applied) != family:
                continue
            candidates.append(
                precedents.candidate(
                    auth, vocabulary, self.doctrines.get(auth.applied), target_doctrine
                )
            )
        return list_name.id, tuple(candidates)

    def family(self, name: str) -> str:
        """The question a doctrine answers (see `project.family`)."""
        return family(name, self._doctrine_decls)

    def case(self, entry: Entry, facts: dict[str, ir.Fact]) -> ir.Case | None:
        c: n.CaseDecl = entry.decl
        target = self.scopes[entry.module].get(c.doctrine.id)
        if target is None or target.kind != "doctrine":
            self.fail(
                "D0201",
                f"`{c.doctrine.id}` is {_KIND_WORDS[target.kind]}, not a doctrine"
                if target is not None
                else f"unknown doctrine `{c.doctrine.id}`",
                c.doctrine.pos,
                label="the case is decided under it",
                help=self.suggest(c.doctrine.id, self._names(entry.module, "doctrine")),
            )
            return None
        doctrine = self.doctrine(target)
        if doctrine is None:
            return None
        given = self.given_facts(c.given, facts, f"case `{c.name}`")
        labels = [label for label, _ in doctrine.slots]
        expect: list[tuple[str, object]] = []
        for pair in c.expect:
            if pair.key == "missing":
                names = _plain(pair.value)
                if not isinstance(names, list) or not all(isinstance(x, str) for x in names):
                    self.fail(
                        "D0503", "`missing` lists fact names, as in [culpability]", pair.value.pos
                    )
                    continue
                items = pair.value.value if pair.value.kind == "list" else ()
                for name, item in zip(names, items):  # type: ignore[call-overload]
                    if name not in facts:
                        self.fail(
                            "D0501",
                            f"unknown fact `{name}` in `missing`",
                            item.pos,  # the wrong name, not the whole list
                            label="not in the vocabulary",
                            help=self.suggest(name, facts),
                        )
                expect.append(("missing", tuple(sorted(names))))
                continue
            if pair.key != "holds" and pair.key not in labels:
                if pair.key in self._unresolved_labels.get(doctrine.name, ()):
                    continue  # the element's own error is the root cause, reported once
                self.fail(
                    "D0503",
                    f"`{c.doctrine.id}` has no element `{pair.key}`",
                    pair.pos,
                    label="expected here",
                    help=self.suggest(pair.key, ["holds", *labels])
                    or f"its elements are {', '.join(labels)}",
                )
                continue
            if pair.value.kind not in ("bool", "unknown"):
                self.fail(
                    "D0503",
                    f"`{pair.key}` is expected to be true, false or unknown",
                    pair.value.pos,
                )
                continue
            expect.append((pair.key, pair.value.value))
        source = self.cite(entry.module, c.source) if c.source else None
        return ir.Case(
            name=c.name,
            doctrine=doctrine.name,
            title=c.title or c.name,
            source=source,
            notes=c.notes,
            given=tuple(given),
            expect=tuple(expect),
            pos=c.pos,
        )

    # -------------------------------------------------------------- the whole
    def check(self) -> None:
        self._pending = set()
        self.build_scopes()
        for path in self.loaded.order:
            for entry in self.own[path].values():
                if entry.kind == "fact":
                    self.fact(entry)
                elif entry.kind == "authority":
                    self.authority(entry)
                elif entry.kind == "record":
                    self.record(path, entry.decl.name, entry.decl.pos)
                elif entry.kind == "element":
                    self.element_key(entry)
                elif entry.kind == "doctrine":
                    self.doctrine(entry)
        self.find_cycles()
        self._sound = not any(d.severity == "error" for d in self.diagnostics)
        if self._sound:
            self.check_chains()
        for path in self.loaded.order:
            facts = self.vocabularies[path] = self.facts_visible(path)
            self.cases[path] = [
                c
                for c in (self.case(e, facts) for e in self.own_cases[path].values())
                if c is not None
            ]

    def facts_visible(self, path: Path) -> dict[str, ir.Fact]:
        """Every fact of the module and of everything it imports: the doctrine's vocabulary."""
        out: dict[str, ir.Fact] = {}
        for p in self.loaded.closure(path):
            for entry in self.own[p].values():
                if entry.kind == "fact" and entry.decl.name not in out:
                    out[entry.decl.name] = ir.Fact(
                        name=entry.decl.name,
                        type=self.fact(entry),
                        meaning=entry.decl.meaning,
                        favours=entry.decl.favours,
                        known_as=entry.decl.known_as,
                        pos=entry.decl.pos,
                    )
        return out

    def find_cycles(self) -> None:
        graph: dict[str, list[str]] = {}
        for key, el in self.elements.items():
            graph["e:" + key] = _refs(el.expr)
        for name, d in self.doctrines.items():
            graph["d:" + name] = [*_refs(d.expr), *("e:" + k for _, k in d.slots)]
        state: dict[str, int] = {}
        reported: set[str] = set()

        def visit(node: str, stack: list[str]) -> None:
            state[node] = 1
            stack.append(node)
            for nxt in graph.get(node, ()):
                if state.get(nxt) == 1:
                    cycle = [*stack[stack.index(nxt) :], nxt]
                    if nxt not in reported and not any(
                        x[2:] in self._doctrine_cycles for x in cycle if x.startswith("d:")
                    ):
                        reported.add(nxt)
                        where = (
                            self.elements[nxt[2:]].pos
                            if nxt.startswith("e:")
                            else self.doctrines[nxt[2:]].pos
                        )
                        # Show the names as written, not the module-qualified keys.
                        names = " -> ".join(
                            self.elements[x[2:]].name if x.startswith("e:") else x[2:]
                            for x in cycle
                        )
                        self.fail(
                            "D0206",
                            f"circular definition: {names}",
                            where,
                            label="defined in terms of itself",
                            help="nothing can be defined by itself, directly or through others",
                        )
                elif nxt not in state:
                    visit(nxt, stack)
            stack.pop()
            state[node] = 2

        for node in sorted(graph):
            if node not in state:
                visit(node, [])

    def result(self) -> CheckedProject:
        """What the checking found, frozen (read-only copies of the checker's tables)."""
        ro = MappingProxyType
        return CheckedProject(
            loaded=self.loaded,
            module_names=ro({p: self.module_name(p) for p in self.loaded.order}),
            declarations=ro({p: ro(dict(own)) for p, own in self.own.items()}),
            case_declarations=ro({p: ro(dict(own)) for p, own in self.own_cases.items()}),
            scopes=ro({p: ro(dict(names)) for p, names in self.scopes.items()}),
            vocabularies=ro({p: ro(v) for p, v in self.vocabularies.items()}),
            fact_types=ro(dict(self.types)),
            authorities=ro(dict(self.authorities)),
            elements=ro(dict(self.elements)),
            doctrines=ro(dict(self.doctrines)),
            cases=ro({p: tuple(cases) for p, cases in self.cases.items()}),
            doctrine_declarations=ro(dict(self._doctrine_decls)),
            effective=ro(dict(self._effective)),
            chains=tuple(self._pending_checks),
            sound=self._sound,
            diagnostics=tuple(self.diagnostics),
        )


def _present_imports(module: n.Module, loaded: Loaded, path: Path) -> Iterator[n.Import | None]:
    """The import statements that loaded, in the order their modules appear in `imports`."""
    resolved: dict[Path, n.Import] = {}
    for imp in module.imports:
        target = path.parent.joinpath(*imp.module.split(".")).with_suffix(".doctrine").resolve()
        resolved.setdefault(target, imp)
    for dep in loaded.imports[path]:
        yield resolved.get(dep)


def _outcomes(e: ir.Expr) -> set[object]:
    if isinstance(e, ir.Const):
        return {bool(e.value)}
    if isinstance(e, ir.Open):
        return {e}
    if isinstance(e, ir.Chain):
        out: set[object] = {e.default}
        for b in e.branches:
            out |= _outcomes(b.result)
        return out
    return {True, False}


def _outcome_expr(o: bool | n.Open) -> ir.Expr:
    """An outcome as an expression: a constant, or an open question."""
    if isinstance(o, n.Open):
        return ir.Open(reason=o.reason)
    return ir.Const(value=o, type=BOOL)


def _outcome_default(o: bool | n.Open) -> bool | ir.Open:
    return ir.Open(reason=o.reason) if isinstance(o, n.Open) else o


def _outcome_bool(o: bool | n.Open) -> bool | None:
    return None if isinstance(o, n.Open) else o


def _same_type(a: ir.FactType, b: ir.FactType) -> bool:
    if a.kind in ("enum", "scale") or b.kind in ("enum", "scale"):
        return a.kind == b.kind and a.values == b.values
    return a.kind == b.kind


def _what(e: n.Expr, t: ir.FactType) -> str:
    if isinstance(e, n.Name):
        return f"`{e.id}` ({t.describe()})"
    if isinstance(e, n.Field):
        return f"`{e.var}.{e.field}` ({t.describe()})"
    if isinstance(e, n.Literal_):
        return f"{_show(e.value)} ({t.describe()})"
    return t.describe()


def _show_value(v: n.Value) -> str:
    value = _plain(v)
    if isinstance(value, bool):
        return "true" if value else "false"
    if v.kind == "string":
        return f'"{value}"'
    return str(value)


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, str):
        return f'`"{value}"`'
    return f"`{value}`"


def _pos(e: Any) -> SourcePosition | None:
    return getattr(e, "pos", None)


def _refs(expr: ir.Expr) -> list[str]:
    out = []
    for node in ir.walk(expr):
        if isinstance(node, ir.ElementRef):
            out.append("e:" + node.key)
        elif isinstance(node, ir.DoctrineRef):
            out.append("d:" + node.name)
    return out


def _plain(v: n.Value) -> object:
    if v.kind == "list":
        return [_plain(x) for x in v.value]  # type: ignore[attr-defined]
    if v.kind == "mapping":
        return {p.key: _plain(p.value) for p in v.value}  # type: ignore[attr-defined]
    return v.value


def check_all(loaded: Loaded) -> CheckedProject:
    """Check all loaded modules and return what was found, errors included, never raising
    on bad doctrine (an editor wants the names that did resolve beside the errors)."""
    checker = Checker(loaded)
    checker.check()
    project = checker.result()
    # The lints run last, over what checking found, and only add warnings.
    found = [*project.diagnostics, *lint(project)]
    return attrs.evolve(project, diagnostics=tuple(_dedupe(found)))


def check(loaded: Loaded) -> tuple[CheckedProject, list[Diagnostic]]:
    """Check all loaded modules; return the checked project and its warnings, or raise a
    DoctrineError with every diagnostic when there is an error."""
    project = check_all(loaded)
    if not project.ok:
        raise DoctrineError(list(project.diagnostics), loaded.sources)
    return project, list(project.diagnostics)


def _dedupe(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    # Diagnostics are frozen and hashable: a dict keeps the first of equals, in linear time.
    out = list(dict.fromkeys(diagnostics))
    return sorted(
        out,
        key=lambda d: (
            d.severity != "error",
            str(d.pos.path) if d.pos else "",
            d.pos.line if d.pos else 0,
            d.pos.column if d.pos else 0,
        ),
    )
