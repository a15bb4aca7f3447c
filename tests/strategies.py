"""Hypothesis strategies shared by the differential and fuzz tests and scripts/fuzz_long.py:
random doctrines that the checker accepts (mostly), random facts for a checked program, and
mutations of the library's files."""

from __future__ import annotations

import contextlib
import copy
import datetime
import functools
import re
import signal
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from compiler.checking import ir
from compiler.codegen.compile import Compiled, compile_files, module_from_source
from compiler.errors import DoctrineError

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "doctrine"
LIBRARY_FILES = sorted(LIBRARY.rglob("*.doctrine"))


@functools.cache
def compiled_library() -> dict[str, tuple[Compiled, types.ModuleType]]:
    """Every library file compiled (together) and imported, by its path under LIBRARY: once per
    test process, for the test files that compare engines over the whole library. Read only."""
    out = {}
    for compiled in compile_files(LIBRARY_FILES):
        name = str(compiled.path.relative_to(LIBRARY))
        out[name] = (compiled, module_from_source(compiled.source, compiled.program.name, name))
    return out


DATES = ("2000-01-01", "2000-06-01", "2001-01-01")
NUMBERS = ("0", "1", "2.5")
TEXTS = ('"x"', '"y"', '""')
ENUM_VALUES = ("v_a", "v_b", "v_c")
SCALE_VALUES = ("lo", "mid", "hi")
OPS = ("==", "!=", "<", "<=", ">", ">=")

# ---------------------------------------------------------------- random doctrines


class _Vocabulary:
    """The facts a generated file declares, by kind."""

    def __init__(self, draw: Callable[..., Any]):
        self.bools = [f"b{i}" for i in range(draw(st.integers(1, 4)))]
        self.enums = [f"k{i}" for i in range(draw(st.integers(0, 2)))]
        self.scales = [f"s{i}" for i in range(draw(st.integers(0, 2)))]
        self.dates = [f"d{i}" for i in range(draw(st.integers(0, 1)))]
        self.numbers = [f"n{i}" for i in range(draw(st.integers(0, 1)))]
        self.texts = [f"t{i}" for i in range(draw(st.integers(0, 1)))]
        self.lists = ["items"] if draw(st.booleans()) else []

    def declarations(self) -> str:
        lines = [f"fact {b}: bool" for b in self.bools]
        lines += [f"fact {k}: enum ({', '.join(ENUM_VALUES)})" for k in self.enums]
        lines += [f"fact {s}: enum ({' < '.join(SCALE_VALUES)})" for s in self.scales]
        lines += [f"fact {d}: date" for d in self.dates]
        lines += [f"fact {n}: number" for n in self.numbers]
        lines += [f"fact {t}: text" for t in self.texts]
        if self.lists:
            lines.append(
                "record r {\n  flag: bool\n  when: optional date\n"
                f"  level: enum ({' < '.join(SCALE_VALUES)})\n}}"
            )
            lines.append("fact items: list of r")
        return "\n".join(lines) + "\n"


def _atom(draw: Callable[..., Any], v: _Vocabulary, names: list[str], var: str | None) -> str:
    kinds = ["bool", "bool", "literal"]
    kinds += ["enum"] * bool(v.enums) + ["scale"] * bool(v.scales) + ["date"] * bool(v.dates)
    kinds += ["number"] * bool(v.numbers) + ["text"] * bool(v.texts) + ["name"] * bool(names)
    kinds += ["field", "field"] * (var is not None)
    kinds += ["quantifier"] * bool(v.lists)
    kind = draw(st.sampled_from(kinds))
    pick = lambda xs: draw(st.sampled_from(xs))  # noqa: E731 - a short local helper
    if kind == "bool":
        return pick(v.bools)
    if kind == "literal":
        return pick(("true", "false"))
    if kind == "name":
        return pick(names)
    if kind == "enum":
        left = pick(v.enums)
        right = pick([*ENUM_VALUES, *v.enums])
        return f"{left} {pick(('is', 'is not', '==', '!='))} {right}"
    if kind == "scale":
        left, right = pick(v.scales), pick([*SCALE_VALUES, *v.scales])
        if draw(st.booleans()):
            left, right = right, left
        if left in SCALE_VALUES and right in SCALE_VALUES:
            right = pick(v.scales)
        return f"{left} {pick(OPS)} {right}"
    if kind == "date":
        return f"{pick(v.dates)} {pick(OPS)} {pick(DATES)}"
    if kind == "number":
        return f"{pick(v.numbers)} {pick(OPS)} {pick(NUMBERS)}"
    if kind == "text":
        return f"{pick(v.texts)} {pick(('==', '!='))} {pick(TEXTS)}"
    if kind == "field":
        assert var is not None
        field = pick(("flag", "when", "level"))
        if field == "flag":
            return f"{var}.flag"
        if field == "when":
            choices = [f"{var}.when is absent", f"{var}.when is present"]
            choices += [f"{var}.when {pick(OPS)} {pick(DATES)}"]
            choices += [f"{var}.when {pick(OPS)} {d}" for d in v.dates]
            return pick(choices)
        return f"{var}.level {pick(OPS)} {pick([*SCALE_VALUES, *v.scales])}"
    inner = "x" if var is None else var + "x"
    body = _expr(draw, v, names, inner, draw(st.integers(0, 2)))
    quantifier = pick(("some", "every", "no"))
    return f"({quantifier} {inner} in items where {body})"


def _expr(
    draw: Callable[..., Any], v: _Vocabulary, names: list[str], var: str | None, depth: int
) -> str:
    if depth <= 0 or draw(st.integers(0, 3)) == 0:
        return _atom(draw, v, names, var)
    form = draw(st.sampled_from(("not", "and", "or", "all", "any", "at_least")))
    if form == "not":
        return f"not ({_expr(draw, v, names, var, depth - 1)})"
    parts = [_expr(draw, v, names, var, depth - 1) for _ in range(draw(st.integers(2, 4)))]
    if form in ("and", "or"):
        return f" {form} ".join(f"({p})" for p in parts)
    if form == "at_least":
        count = draw(st.integers(1, len(parts)))
        return f"at least {count} of ({', '.join(parts)})"
    return f"{form} of ({', '.join(parts)})"


def _exceptions(
    draw: Callable[..., Any],
    v: _Vocabulary,
    names: list[str],
    prefix: str,
    depth: int,
    laws: bool = False,
) -> str:
    labels = [f"{prefix}{i}" for i in range(draw(st.integers(1, 3)))]
    out = []
    for i, label in enumerate(labels):
        cond = _expr(draw, v, names, None, 2)
        outcome = _outcome(draw, laws)
        inner = [f"over {', '.join(labels[i + 1 :])}"] if labels[i + 1 :] else []
        if depth > 0 and draw(st.integers(0, 3)) == 0:
            inner.append(_exceptions(draw, v, names, label + "_", depth - 1, laws))
        block = " { " + " ".join(inner) + " }" if inner else ""
        out.append(f"exception {label} when {cond} then {outcome}{block}")
    return "\n    ".join(out)


def _outcome(draw: Callable[..., Any], laws: bool) -> str:
    """A rule's outcome: true or false, or (with the law's constructs) an open question."""
    choices = ("true", "false", 'open "r1"', 'open "r2"') if laws else ("true", "false")
    return str(draw(st.sampled_from(choices)))


def _switch(draw: Callable[..., Any], v: _Vocabulary, names: list[str]) -> str:
    """`holds by FACT { ... }` over a bool, enum or text fact, each arm a condition or open."""
    kinds = [("bool", v.bools, ("true", "false"))]
    kinds += [("enum", v.enums, tuple(f'"{x}"' for x in ENUM_VALUES))] * bool(v.enums)
    kinds += [("text", v.texts, TEXTS[:2])] * bool(v.texts)
    _, facts, values = draw(st.sampled_from(kinds))
    fact = draw(st.sampled_from(facts))
    chosen = draw(st.lists(st.sampled_from(values), min_size=1, max_size=len(values), unique=True))

    def arm() -> str:
        if draw(st.integers(0, 3)) == 0:
            return f'open "{fact} {len(chosen)}"'
        return _expr(draw, v, names, None, 2)

    lines = [f"{value} then {arm()}" for value in chosen]
    if len(chosen) < len(values) or draw(st.booleans()):
        lines.append(f"otherwise {arm()}")
    return f"holds by {fact} {{\n      " + "\n      ".join(lines) + "\n    }"


def _decision(
    draw: Callable[..., Any], v: _Vocabulary, names: list[str], laws: bool = False
) -> str:
    forms = ("when", "when", "unless", "rule", "first", *(("switch",) * laws))
    form = draw(st.sampled_from(forms))
    if form == "switch":
        return _switch(draw, v, names)
    if form in ("when", "unless"):
        return f"holds {form} {_expr(draw, v, names, None, 3)}"
    if form == "rule":
        rule = _outcome(draw, laws)
        return f"general rule {rule}\n    {_exceptions(draw, v, names, 'x', 1, laws)}"
    lines = [
        f"when {_expr(draw, v, names, None, 2)} then {_outcome(draw, laws)}"
        for _ in range(draw(st.integers(1, 3)))
    ]
    lines.append(f"otherwise {_outcome(draw, laws)}")
    return "first match {\n      " + "\n      ".join(lines) + "\n    }"


def _burden(draw: Callable[..., Any], v: _Vocabulary) -> str:
    """`absent FACT counts as VALUE [when ...]`, for a bool, an enum or the list."""
    kinds = [(b, ("true", "false")) for b in v.bools]
    kinds += [(k, tuple(f'"{x}"' for x in ENUM_VALUES)) for k in v.enums]
    kinds += [("items", ("[]",))] * bool(v.lists)
    fact, values = draw(st.sampled_from(kinds))
    # The condition reads other facts: one reading its own fact is refused (D0316).
    others = copy.copy(v)
    for kind in ("bools", "enums", "lists"):
        setattr(others, kind, [x for x in getattr(v, kind) if x != fact])
    wanted = others.bools and draw(st.booleans())
    when = f" when {_expr(draw, others, [], None, 1)}" if wanted else ""
    return f'absent {fact} counts as {draw(st.sampled_from(values))}{when} {{ because "b" }}'


@st.composite
def doctrine_sources(draw: Callable[..., Any], laws: bool = False) -> str:
    """The text of a doctrine file: a vocabulary, elements, one or two doctrines, maybe a case.

    Exceptions are ranked each over the later ones, so the checker finds no conflict; what
    else it refuses (a condition that is always false, say) stays: refusals are fine. With
    `laws`, also the law's constructs: switches, open outcomes, burdens and thresholds.
    """
    v = _Vocabulary(draw)
    out = [v.declarations()]
    elements: list[str] = []
    for i in range(draw(st.integers(1, 4))):
        name = f"e{i}"
        burdens = [_burden(draw, v) for _ in range(draw(st.integers(0, 2 * laws)))]
        body = "\n    ".join([_decision(draw, v, elements, laws), *burdens])
        out.append(f"element {name} {{\n    {body}\n}}")
        elements.append(name)
    labels = []
    slots = []
    for i in range(draw(st.integers(1, 3))):
        label = f"l{i}"
        kind = "threshold" if laws and i == 0 and draw(st.booleans()) else "element"
        if draw(st.booleans()):
            slots.append(f"{kind} {label} = {draw(st.sampled_from(elements))}")
        else:
            slots.append(f"{kind} {label} {{ {_decision(draw, v, elements, laws)} }}")
        labels.append(label)
    for e in elements:
        if not any(s.endswith(f"= {e}") for s in slots):
            slots.append(f"element {e}")
            labels.append(e)
    body = list(slots)
    if draw(st.booleans()):
        body.append(_decision(draw, v, labels, laws))
    if laws and draw(st.booleans()):
        body.append(_burden(draw, v))
    if draw(st.integers(0, 3)) == 0:
        body.append("closed world")
    out.append("doctrine main {\n  " + "\n  ".join(body) + "\n}")
    if draw(st.booleans()):
        cond = _expr(draw, v, ["main"], None, 2)
        out.append(f"doctrine other {{\n  element m {{ holds when {cond} }}\n}}")
    if draw(st.integers(0, 2)) == 0:  # a variant: one element replaced, one added
        replaced = draw(st.sampled_from(labels))
        out.append(
            f"doctrine variant extends main {{\n"
            f"  element {replaced} {{ {_decision(draw, v, elements, laws)} }}\n"
            f"  element extra = {draw(st.sampled_from(elements))}\n}}"
        )
    if draw(st.booleans()):
        value = draw(st.sampled_from(("true", "false", "unknown")))
        out.append(
            f"case c under main {{\n  given {{ {v.bools[0]}: true }}\n"
            f"  expect {{ holds: {value} }}\n}}"
        )
    return "\n\n".join(out) + "\n"


# ---------------------------------------------------------------- random facts


def _constants(program: ir.Program) -> dict[str, set[Any]]:
    """The constants a program compares with, by kind, so random facts meet them."""
    out: dict[str, set[Any]] = {"date": set(), "number": set(), "text": set()}
    todo: list[Any] = [e.expr for e in program.elements] + [d.expr for d in program.doctrines]
    while todo:
        e = todo.pop()
        if isinstance(e, ir.Const) and e.type.kind in out:
            out[e.type.kind].add(e.value)
        elif isinstance(e, (ir.And, ir.Or, ir.AtLeast)):
            todo.extend(e.items)
        elif isinstance(e, ir.Not):
            todo.append(e.item)
        elif isinstance(e, ir.Compare):
            todo += [e.left, e.right]
        elif isinstance(e, ir.Quantified):
            todo.append(e.body)
        elif isinstance(e, ir.Chain):
            for b in e.branches:
                todo += [b.cond, b.result]
    for d in program.doctrines:
        for c in (d.precedents or ("", ()))[1]:
            out["text"].add(c.court)
            for day in (c.decided, c.abrogated):
                if day is not None:
                    out["date"].add(day)
    days = {day + datetime.timedelta(days=k) for day in out["date"] for k in (-1, 0, 1)}
    out["date"] = days | {datetime.date(1990, 1, 1), datetime.date(2020, 1, 1)}
    out["number"] |= {0, 1, -1, 2.5}
    out["text"] |= {"", "other", "9th", "4th", "SCOTUS"}
    return out


def _value(kind: str, t: ir.FactType, constants: dict[str, set[Any]]) -> st.SearchStrategy[Any]:
    if kind == "bool":
        return st.booleans()
    if kind in ("enum", "scale"):
        return st.sampled_from(t.values)
    if kind in ("date", "number", "text"):
        return st.sampled_from(sorted(constants[kind], key=repr))
    assert t.record is not None
    fields = {}
    optional = {}
    for f in t.record.fields:
        value = _value(f.type.kind, f.type, constants)
        if f.optional:
            optional[f.name] = value
        else:
            fields[f.name] = value
    return st.lists(st.fixed_dictionaries(fields, optional=optional), max_size=3)


def fact_patterns(program: ir.Program) -> st.SearchStrategy[dict[str, Any]]:
    """Facts for a checked program: each fact left out, given as null, or given a value."""
    constants = _constants(program)
    optional = {
        f.name: st.one_of(st.none(), _value(f.type.kind, f.type, constants)) for f in program.facts
    }
    return st.fixed_dictionaries({}, optional=optional)


# ---------------------------------------------------------------- mutations of library files

_TOKEN = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""|"(?:[^"\\\n]|\\.)*"|#[^\n]*|\s+|[A-Za-z_][A-Za-z0-9_]*'
    r"|\d{4}-\d{2}-\d{2}|\d+(?:\.\d+)?|==|!=|<=|>=|.",
    re.DOTALL,
)
_HOSTILE = (
    "{",
    "}",
    "(",
    ")",
    '"',
    '"""',
    "\\",
    "\x00",
    "\u202e",
    "\ufeff",
    "\r",
    "not",
    "and",
    "or",
    "__import__",
    "__class__",
    "import",
    "exception",
    "element",
    "1989-02-30",
    "99999999999999999999",
    "\ud800",
)


def tokens(text: str) -> list[str]:
    """The file as tokens (strings, comments, words, numbers, symbols, runs of space)."""
    return _TOKEN.findall(text)


@st.composite
def library_mutations(draw: Callable[..., Any]) -> tuple[Path, bytes]:
    """A library file with a few tokens deleted, swapped, duplicated or replaced, or bytes
    thrown in (some not UTF-8); with the file's path, for its imports."""
    path = draw(st.sampled_from(LIBRARY_FILES))
    toks = tokens(path.read_text(encoding="utf-8"))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(("delete", "swap", "duplicate", "replace", "insert")))
        i = draw(st.integers(0, len(toks) - 1))
        j = draw(st.integers(0, len(toks) - 1))
        if op == "delete":
            del toks[i]
        elif op == "swap":
            toks[i], toks[j] = toks[j], toks[i]
        elif op == "duplicate":
            toks.insert(i, toks[j])
        elif op == "replace":
            toks[i] = draw(st.sampled_from(_HOSTILE))
        else:
            toks.insert(i, draw(st.text(min_size=1, max_size=8)))
        if not toks:
            toks = [""]
    data = "".join(toks).encode("utf-8", errors="surrogatepass")
    if draw(st.integers(0, 4)) == 0:
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=6)) + data[at:]
    return path, data


# ---------------------------------------------------------------- the front end's contract


class Hang(Exception):
    """An input took longer than its time limit."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise Hang in this (main) thread when the block runs longer than `seconds`."""

    def alarm(signum: int, frame: Any) -> None:
        raise Hang(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def compile_or_refuse(path: Path, seconds: float = 30) -> str:
    """Compile one file: "compiled" (and the module imports and evaluates an empty case) or
    "refused" (with diagnostics that render). Anything else raises: a traceback, a hang."""
    with time_limit(seconds):
        try:
            compiled = compile_files([path])
        except DoctrineError as err:
            assert err.diagnostics, "a DoctrineError with no diagnostic"
            assert err.render().strip(), "diagnostics that render as nothing"
            return "refused"
        for c in compiled:
            for w in c.warnings:
                assert w.render().strip()
            module = module_from_source(c.source, c.program.name, str(path))
            for evaluator in module.DOCTRINES.values():
                evaluator.evaluate({})
    return "compiled"


# ---------------------------------------------------------------- extremes


def string_literal(text: str, draw: Callable[..., Any]) -> str:
    """`text` as a doctrine string: each character raw where the grammar allows it, else (or
    at random) escaped, \\uXXXX included."""
    out = ['"']
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ord(ch) < 0x10000 and draw(st.integers(0, 3)) == 0:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out) + '"'


@st.composite
def extreme_sources(draw: Callable[..., Any]) -> str:
    """Doctrines at the edges: conditions nested up to and past the limit, or thousands wide;
    strings of any characters (NUL, bidi controls, lone surrogates by escape)."""
    form = draw(st.sampled_from(["not", "all of", "any of", "at least", "paren", "junction"]))
    depth = draw(st.integers(0, 70))
    width = draw(st.integers(1, 1500))
    facts = [f"b{i}" for i in range(draw(st.integers(1, 40)))]
    cond = draw(st.sampled_from(facts))
    if form == "not":
        cond = "not " * depth + cond
    elif form == "paren":
        cond = "(" * depth + cond + ")" * depth
    elif form == "junction":
        ops = [draw(st.sampled_from(["and", "or"])) for _ in range(depth)]
        for op in ops:
            cond = f"({draw(st.sampled_from(facts))} {op} {cond})"
        items = [draw(st.sampled_from(facts)) for _ in range(width)]
        cond = f"{cond} {draw(st.sampled_from(['and', 'or']))} " + " or ".join(items)
    else:
        head = {"all of": "all of (", "any of": "any of (", "at least": "at least 1 of (b0, "}
        cond = head[form] * depth + cond + ")" * depth
    text = draw(st.text(max_size=40))
    means = string_literal(text, draw)
    decls = "".join(f"fact {f}: bool means {means}\n" for f in facts)
    return decls + f"doctrine d {{\n  title {means}\n  element e {{ holds when {cond} }}\n}}\n"
