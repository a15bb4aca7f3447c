"""The parser: source text to the syntax tree (compiler.syntax.nodes), positions, diagnostics."""

from __future__ import annotations

import datetime
from typing import Any

import attrs
import pytest

from compiler.errors import DoctrineError, SourcePosition
from compiler.syntax import nodes as n
from compiler.syntax.parser import decode_string, parse

# ---------------------------------------------------------------- helpers


def only(text: str, path: str = "t.doctrine") -> Any:
    """The single declaration of `text`."""
    module = parse(text, path)
    assert len(module.declarations) == 1
    return module.declarations[0]


def holds(expr: str) -> n.Expr:
    """The expression of `element e { holds when EXPR }`."""
    element = only(f"element e {{ holds when {expr} }}")
    assert element.condition is not None
    return element.condition.expr


def errors(text: str, path: str = "t.doctrine") -> list[Any]:
    with pytest.raises(DoctrineError) as info:
        parse(text, path)
    return list(info.value.diagnostics)


def a(id: str) -> n.Name:
    return n.Name(id=id)


# ---------------------------------------------------------------- module structure


def test_module_header_and_imports() -> None:
    module = parse(
        'module custody "Custody"\nimport vocabulary, sources, a.b\n', "custody.doctrine"
    )
    assert module.path == "custody.doctrine"
    assert module.name == "custody"
    assert module.title == "Custody"
    assert [i.module for i in module.imports] == ["vocabulary", "sources", "a.b"]
    assert module.declarations == ()


def test_empty_file_is_an_empty_module() -> None:
    module = parse("# nothing here\n", "empty.doctrine")
    assert module.name == ""
    assert module.imports == ()
    assert module.declarations == ()


def test_fact_types() -> None:
    module = parse(
        "fact b: bool\n"
        "fact d: date\n"
        "fact t: text\n"
        "fact k: number\n"
        "fact e: enum (x, y)\n"
        'fact s: enum (low < mid < high) means "ordered"\n'
        "record r { name: text  gone: optional date }\n"
        "fact rs: list of r\n",
        "t.doctrine",
    )
    b, d, t, k, e, s, r, rs = module.declarations
    assert b == n.FactDecl(name="b", type=n.SimpleType(kind="bool"))
    assert d.type == n.SimpleType(kind="date")
    assert t.type == n.SimpleType(kind="text")
    assert k.type == n.SimpleType(kind="number")
    assert e.type == n.EnumType(values=("x", "y"), ordered=False)
    assert s.type == n.EnumType(values=("low", "mid", "high"), ordered=True)
    assert s.meaning == "ordered"
    assert r == n.RecordDecl(
        name="r",
        fields=(
            n.FieldDecl(name="name", type=n.SimpleType(kind="text")),
            n.FieldDecl(name="gone", type=n.SimpleType(kind="date"), optional=True),
        ),
    )
    assert rs.type == n.ListType(record="r")


def test_authority() -> None:
    auth = only(
        'authority jensen { name "Jensen v. Conrad" reporter "747 F.2d 185" court "4th"\n'
        "  decided 1984-10-30 abrogated 1989-02-22 by deshaney }"
    )
    assert auth.title == "Jensen v. Conrad"
    assert auth.reporter == "747 F.2d 185"
    assert auth.court == "4th"
    assert auth.decided == datetime.date(1984, 10, 30)
    assert auth.abrogated == datetime.date(1989, 2, 22)
    assert auth.abrogated_by == "deshaney"


def test_cite_with_pinpoint_and_purpose() -> None:
    element = only(
        'element e { holds when x cite pinder at "1175" for "custody does" cite deshaney }'
    )
    assert element.cites == (
        n.Cite(authority="pinder", pinpoint="1175", purpose="custody does"),
        n.Cite(authority="deshaney"),
    )


# ---------------------------------------------------------------- positions


def test_positions_are_recorded() -> None:
    text = "fact custody: bool\n\nelement custodial {\n  holds when custody and not  other\n}\n"
    module = parse(text, "dir/custody.doctrine")
    fact, element = module.declarations
    assert fact.pos == SourcePosition("dir/custody.doctrine", 1, 6, 1, 13)
    assert element.pos == SourcePosition("dir/custody.doctrine", 3, 9, 3, 18)
    assert element.condition.pos.line == 4
    expr = element.condition.expr
    assert isinstance(expr, n.And)
    assert expr.pos == SourcePosition("dir/custody.doctrine", 4, 14, 4, 36)
    custody, negation = expr.items
    assert custody.pos == SourcePosition("dir/custody.doctrine", 4, 14, 4, 21)
    assert negation.pos.column == 26
    assert negation.item.pos == SourcePosition("dir/custody.doctrine", 4, 31, 4, 36)


def test_position_of_a_name_spans_it() -> None:
    compare = holds("culpability >= deliberate_indifference")
    assert isinstance(compare, n.Compare)
    assert (compare.left.pos.column, compare.left.pos.end_column) == (24, 35)
    right = compare.right.pos
    assert right.end_column - right.column == len("deliberate_indifference")


def test_positions_of_case_values() -> None:
    case = only("case c under d {\n  given { custody: none }\n}")
    (pair,) = case.given
    assert pair.pos == SourcePosition("t.doctrine", 2, 11, 2, 18)
    assert pair.value.pos == SourcePosition("t.doctrine", 2, 20, 2, 24)
    assert case.doctrine.pos.column == 14


def test_enum_value_positions() -> None:
    fact = only("fact c: enum (none, incarceration)")
    assert [p.column for p in fact.type.value_positions] == [15, 21]


def test_nodes_equal_regardless_of_position() -> None:
    one = parse("fact x: bool\nelement e { holds when x and y }", "one.doctrine")
    other = parse(
        "# a comment first\n\n  fact   x :bool\n\n\nelement e {\n    holds when\n x\n and y\n}\n",
        "elsewhere/other.doctrine",
    )
    assert one.declarations == other.declarations
    assert one.declarations[1].pos != other.declarations[1].pos
    assert hash(one.declarations) == hash(other.declarations)


def test_position_is_not_part_of_equality_or_repr() -> None:
    name = n.Name(id="x", pos=SourcePosition("a", 1, 1, 1, 2))
    assert name == n.Name(id="x")
    assert name == attrs.evolve(name, pos=SourcePosition("b", 9, 9, 9, 10))
    assert name != n.Name(id="y", pos=name.pos)
    assert "pos" not in repr(name)


def test_position_str_is_file_line_col() -> None:
    assert str(SourcePosition("doctrine/custody.doctrine", 14, 12, 14, 18)) == (
        "doctrine/custody.doctrine:14:12"
    )


# ---------------------------------------------------------------- strings


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ('"plain"', "plain"),
        ('""', ""),
        (r'"a \"quoted\" word"', 'a "quoted" word'),
        (r'"back\\slash"', "back\\slash"),
        (r'"two\nlines"', "two\nlines"),
        (r'"tab\there"', "tab\there"),
        (r'"caf\u00e9"', "café"),
        (
            '"Promises do not create a special relationship — custody does"',
            "Promises do not create a special relationship — custody does",
        ),
    ],
)
def test_decode_string(raw: str, value: str) -> None:
    assert decode_string(raw) == value


@pytest.mark.parametrize("raw", [r'"\q"', r'"\u12"', r'"\x41"', r'"\'"'])
def test_decode_string_rejects_unknown_escapes(raw: str) -> None:
    with pytest.raises(ValueError, match="unknown escape"):
        decode_string(raw)


def test_triple_quoted_prose_is_dedented_and_joined() -> None:
    raw = '''"""The state, by its own power,
        restrained the plaintiff's liberty.

        A second paragraph,
        over two lines."""'''
    assert decode_string(raw) == (
        "The state, by its own power, restrained the plaintiff's liberty.\n\n"
        "A second paragraph, over two lines."
    )


def test_triple_quoted_string_holds_quotes() -> None:
    element = only('element e { note """She said "stay home" and ""waited"".""" holds when x }')
    assert element.notes == ('She said "stay home" and ""waited"".',)


def test_escapes_in_a_title() -> None:
    element = only(r'element e { title "A \"special\" relationship\\" holds when x }')
    assert element.title == 'A "special" relationship\\'


def test_bad_escape_is_a_diagnostic() -> None:
    (diag,) = errors('element e {\n  title "held \\q here"\n  holds when x\n}')
    assert diag.code == "D0103"
    assert "`\\q`" in diag.message
    # The caret sits under the escape itself, not the whole string.
    assert (diag.pos.line, diag.pos.column, diag.pos.end_column) == (2, 15, 17)


# ---------------------------------------------------------------- elements and doctrines


def test_holds_when() -> None:
    element = only("element e { holds when x }")
    assert element.condition == n.Condition(unless=False, expr=a("x"))


def test_holds_unless() -> None:
    element = only("element e { holds unless x or y }")
    assert element.condition == n.Condition(unless=True, expr=n.Or(items=(a("x"), a("y"))))


def test_element_properties() -> None:
    element = only(
        'element e { title "T" holds when x met "yes" unmet "no" note "one" note "two" }'
    )
    assert (element.title, element.met, element.unmet) == ("T", "yes", "no")
    assert element.notes == ("one", "two")


def test_doctrine_slots_bare_alias_and_inline() -> None:
    doctrine = only(
        "doctrine d {\n  element a\n  element b = other\n  element c { holds when x }\n}"
    )
    bare, alias, inline = doctrine.slots
    assert (bare.label, bare.target, bare.element) == ("a", "a", None)
    assert (alias.label, alias.target, alias.element) == ("b", "other", None)
    assert inline.label == "c"
    assert inline.target is None
    assert inline.element.condition == n.Condition(unless=False, expr=a("x"))


def test_doctrine_extends() -> None:
    doctrine = only("doctrine variant extends base { element b = mine holds when a or b }")
    assert doctrine.extends == a("base")
    assert doctrine.extends.pos.column == 26
    assert doctrine.condition == n.Condition(unless=False, expr=n.Or(items=(a("a"), a("b"))))


def test_doctrine_properties() -> None:
    doctrine = only(
        'doctrine d { title "T" source pinder at "1175" court "4th"\n'
        "  in force from 1984-10-30 until 1989-02-22\n"
        '  rejects promise { title "P" on promise_of_protection, relied_on_promise because "no" }\n'
        "}"
    )
    assert doctrine.title == "T"
    assert doctrine.source == n.Cite(authority="pinder", pinpoint="1175")
    assert doctrine.court == "4th"
    assert doctrine.in_force_from == datetime.date(1984, 10, 30)
    assert doctrine.in_force_until == datetime.date(1989, 2, 22)
    (rejects,) = doctrine.rejects
    assert rejects.name == "promise"
    assert rejects.on == (a("promise_of_protection"), a("relied_on_promise"))
    assert rejects.because == "no"


# ---------------------------------------------------------------- expressions


def test_and_or_not_precedence() -> None:
    assert holds("a or b and not c") == n.Or(
        items=(a("a"), n.And(items=(a("b"), n.Not(item=a("c")))))
    )
    assert holds("not a and b") == n.And(items=(n.Not(item=a("a")), a("b")))
    assert holds("(a or b) and c") == n.And(items=(n.Or(items=(a("a"), a("b"))), a("c")))


def test_chains_are_flattened() -> None:
    assert holds("a and b and c") == n.And(items=(a("a"), a("b"), a("c")))
    assert holds("a or b or c or d") == n.Or(items=(a("a"), a("b"), a("c"), a("d")))


def test_all_any_at_least() -> None:
    assert holds("all of (a, b)") == n.And(items=(a("a"), a("b")))
    assert holds("any of (a, b,)") == n.Or(items=(a("a"), a("b")))
    assert holds("at least 2 of (a, b, c)") == n.AtLeast(count=2, items=(a("a"), a("b"), a("c")))


def test_comparisons() -> None:
    assert holds("custody is none") == n.Compare(op="==", left=a("custody"), right=a("none"))
    assert holds("custody is not none") == n.Compare(op="!=", left=a("custody"), right=a("none"))
    assert holds("c >= deliberate_indifference") == n.Compare(
        op=">=", left=a("c"), right=a("deliberate_indifference")
    )
    for op in ("==", "!=", "<", "<=", ">", ">="):
        assert holds(f"x {op} y") == n.Compare(op=op, left=a("x"), right=a("y"))


def test_literals_in_expressions() -> None:
    assert holds("d < 1989-02-22") == n.Compare(
        op="<", left=a("d"), right=n.Literal_(value=datetime.date(1989, 2, 22))
    )
    assert holds('court == "SCOTUS"') == n.Compare(
        op="==", left=a("court"), right=n.Literal_(value="SCOTUS")
    )
    assert holds("k > 1.5") == n.Compare(op=">", left=a("k"), right=n.Literal_(value=1.5))
    assert holds("k == 2") == n.Compare(op="==", left=a("k"), right=n.Literal_(value=2))
    assert holds("x == true") == n.Compare(op="==", left=a("x"), right=n.Literal_(value=True))
    assert holds("false") == n.Literal_(value=False)


@pytest.mark.parametrize("quantifier", ["some", "every", "no"])
def test_quantifiers(quantifier: str) -> None:
    expr = holds(f"{quantifier} p in authorities where p.abrogated is absent")
    assert expr == n.Quantified(
        quantifier=quantifier,
        var="p",
        collection=a("authorities"),
        body=n.Presence(operand=n.Field(var="p", field="abrogated"), present=False),
    )


def test_quantifier_body_with_and_and_present() -> None:
    expr = holds("some p in authorities where p.decided < event_date and p.abrogated is present")
    assert isinstance(expr, n.Quantified)
    assert expr.body == n.And(
        items=(
            n.Compare(op="<", left=n.Field(var="p", field="decided"), right=a("event_date")),
            n.Presence(operand=n.Field(var="p", field="abrogated"), present=True),
        )
    )


def test_quantifier_inside_and_is_parenthesised() -> None:
    expr = holds("x and (no p in ps where p.bad)")
    assert expr == n.And(
        items=(
            a("x"),
            n.Quantified(
                quantifier="no", var="p", collection=a("ps"), body=n.Field(var="p", field="bad")
            ),
        )
    )


def test_literal_nested_in_a_quantifier_is_normalised() -> None:
    expr = holds("some p in ps where (p.a or true)")
    assert expr.body == n.Or(items=(n.Field(var="p", field="a"), n.Literal_(value=True)))


# ---------------------------------------------------------------- cases


def test_case_given_and_expect() -> None:
    case = only(
        "case pinder under special_relationship {\n"
        '  title "Pinder v. Johnson"\n'
        "  given { custody: none, promise_of_protection: true\n"
        "          culpability: unknown  event_date: 1995-06-07  n: 3\n"
        '          authorities: [{name: "A", decided: 1990-01-01}] }\n'
        "  expect { holds: false, custody: false, missing: [culpability] }\n"
        "}"
    )
    assert case.name == "pinder"
    assert case.doctrine == a("special_relationship")
    assert case.title == "Pinder v. Johnson"
    given = {p.key: p.value for p in case.given}
    assert given["custody"] == n.Value(kind="word", value="none")
    assert given["promise_of_protection"] == n.Value(kind="bool", value=True)
    assert given["culpability"] == n.Value(kind="unknown", value=None)
    assert given["event_date"] == n.Value(kind="date", value=datetime.date(1995, 6, 7))
    assert given["n"] == n.Value(kind="number", value=3)
    (record,) = given["authorities"].value
    assert record.kind == "mapping"
    assert [p.key for p in record.value] == ["name", "decided"]
    expect = {p.key: p.value for p in case.expect}
    assert expect["holds"] == n.Value(kind="bool", value=False)
    assert expect["missing"] == n.Value(
        kind="list", value=(n.Value(kind="word", value="culpability"),)
    )


# ---------------------------------------------------------------- syntax errors


def test_syntax_error_names_the_place_and_what_was_expected() -> None:
    (diag,) = errors("fact x: bool\nelement e { holds when x = y }", "m.doctrine")
    assert diag.code == "D0101"
    assert diag.message == "unexpected `=`"
    assert diag.pos == SourcePosition("m.doctrine", 2, 26, 2, 27)
    assert "a comparison (==, !=, <, <=, >, >=)" in diag.label


def test_equals_hint_on_the_first_declaration() -> None:
    (diag,) = errors("element e { holds when x = y }")
    assert "comparisons use `==`" in diag.help


def test_unclosed_block_points_at_the_brace() -> None:
    (diag,) = errors("fact x: bool\nelement e {\n  holds when x\n")
    assert diag.code == "D0102"
    assert (diag.pos.line, diag.pos.column, diag.pos.end_column) == (2, 11, 12)


def test_unclosed_block_skips_braces_in_strings_and_comments() -> None:
    (diag,) = errors('element e {\n  title "{"  # {\n  note """\n{\n"""\n')
    assert diag.code == "D0102"
    assert (diag.pos.line, diag.pos.column) == (1, 11)


def test_single_quotes_hint() -> None:
    (diag,) = errors("element e { title 'x' }")
    assert diag.message == "unexpected `'`"
    assert "double quotes" in diag.help


def test_bad_date_is_a_diagnostic() -> None:
    (diag,) = errors("authority a { decided 1989-02-30 }")
    assert diag.code == "D0104"
    assert "`1989-02-30`" in diag.message
    assert diag.pos == SourcePosition("t.doctrine", 1, 23, 1, 33)


def test_property_given_twice() -> None:
    (diag,) = errors('element e { title "a" holds when x title "b" }')
    assert diag.code == "D0105"
    assert "`title`" in diag.message
    assert diag.pos.column == 36


def test_key_given_twice_in_a_case() -> None:
    (diag,) = errors("case c under d { given { x: true, x: false } }")
    assert diag.code == "D0105"
    assert diag.pos.column == 35


def test_all_transformer_problems_reported_together() -> None:
    diags = errors(
        'authority a { decided 1989-02-30 }\nelement e { title "\\q" holds when x }\n'
        "case c under d { given { x: 2001-02-29 } }"
    )
    assert [d.code for d in diags] == ["D0104", "D0103", "D0104"]
    assert [d.pos.line for d in diags] == [1, 2, 3]
