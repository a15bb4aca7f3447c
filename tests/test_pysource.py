"""compiler/codegen/pysource.py writes a generated module exactly as `ast.unparse` would, faster."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

from bench import bench_compile
from compiler.checking.checker import check
from compiler.codegen import generator, pysource
from compiler.syntax.loader import load
from tests.support import ROOT

EVERY_CONSTRUCT = """
module constructs "every construct code generation emits"

fact a: bool means "a"
fact b: bool means "b"
fact c: bool means "c"
fact d: bool means "d"
fact level: enum (low < mid < high < top) means "level"
fact kind: enum (x, y, z) means "kind"
fact when_: date means "when"
fact place: text means "place"
fact amount: number means "amount"
record item {
  grade: enum (g1 < g2 < g3) means "grade"
  opt_grade: optional enum (o1 < o2 < o3) means "og"
  on: date means "on"
  gone: optional date means "gone"
  flag: bool means "flag"
}
fact items: list of item means "items"

element e1 { holds when a and (b or not c) }
element e2 { holds when e1 and level >= mid and high > level }
element e3 { holds when mid < level or level <= low or level > top or level < low }
element e4 { holds when at least 2 of (a, b, c, e1) }
element e5 {
  holds when some i in items where i.grade >= g2 and (i.opt_grade is absent or i.opt_grade < o3)
    and i.flag
}
element e6 { holds when every i in items where i.gone is absent or i.gone > when_ }
element e7 { holds when no i in items where i.on < when_ and i.grade == g1 }
element e8 { holds when kind == y or kind != z and place == "here" and amount >= 3.5 }
element e9 { holds when not (e2 or e3) and (d and (a and (b and c))) }
element e10 {
  general rule false
  exception one when a and b then true {
    exception two when c then false
  }
  exception three when level >= high then true { over one }
}
element e11 {
  first match {
    when d then true
    when level < mid then false
    otherwise true
  }
}
element e12 { holds unless e1 or d }

doctrine big {
  element p = e1
  element q = e2
  element r = e3
  element s = e4
  element t = e5
  element u = e6
  element v = e7
  element w = e8
  element x1 = e9
  element y1 = e10
  element z1 = e11
  element z2 = e12
}
doctrine small {
  element p = e1
  element q = e2
  holds when p and q and (big or e9)
}
doctrine closed_one {
  closed world
  element p = e1
  element q = e4
}

case one under big {
  given { a: true, level: mid, when_: 2001-02-03, amount: 2.5 }
}
"""


def _both(paths: list[Path]) -> None:
    project, _ = check(load(paths))
    for path in paths:
        program = project.program(path.resolve())
        expected = ast.unparse(generator.Generator(program).module())
        assert pysource.unparse(generator.Generator(program).module()) == expected, path


def test_the_library() -> None:
    _both(sorted((ROOT / "doctrine").rglob("*.doctrine")))


def test_every_construct(tmp_path: Path) -> None:
    path = tmp_path / "constructs.doctrine"
    path.write_text(textwrap.dedent(EVERY_CONSTRUCT), encoding="utf-8")
    _both([path])


def test_a_generated_project(tmp_path: Path) -> None:
    _both([bench_compile.project(800, tmp_path)])


@pytest.mark.parametrize(
    "source",
    [
        "x = (1,)\ny = ()\nz = (1, 2.5, float('inf'))",
        "f(a if b else c, (d := e), not (a or b), -x, ~y)",
        "return_ = lambda: a or b and c or (d and e)",
        "q = {*()}\nr = {1, 2}\ns = {**a, 'b': (c, d)}",
        "t = a[1, 2][()][b:c] if x is not None else (y not in z) == w",
        "for i, j in pairs:\n    pass",
        "def f(x, y=None):\n    'doc'\n    if a:\n        b()\n    elif c:\n        pass\n"
        "    else:\n        return (1).real",
        "u = a < b < c and (d := (e if f else g)) is None or h",
        "n = len(f) == 6 + (a is not None) + (b - c) - (d - e) + -g + (h + i) - (j if k else l)",
        "v = (a + b) * c + (not d) - (x := y) + f(a - b)[c + d].e",
        "try:\n    x = f['k']\nexcept KeyError:\n    pass\nelse:\n    y = b + c\nfinally:\n"
        "    z = 1\ntry:\n    pass\nexcept (A, B):\n    pass",
    ],
)
def test_expressions_as_ast_unparse_writes_them(source: str) -> None:
    expected = ast.unparse(ast.parse(source))
    assert pysource.unparse(ast.parse(source)) == expected


def test_an_unknown_node_goes_to_ast_unparse_whole() -> None:
    source = "x = [i async for i in y]\nclass A:\n    z = 1"
    assert pysource.unparse(ast.parse(source)) == ast.unparse(ast.parse(source))
