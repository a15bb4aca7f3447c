"""The grammar: an LALR(1) grammar without conflicts, that parses every file of the library."""

from __future__ import annotations

from pathlib import Path

import lark
import pytest

from compiler.syntax.parser import lark_parser, parse
from compiler.syntax.resources import grammar_path

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = sorted((ROOT / "doctrine").glob("*.doctrine"))


def test_grammar_is_the_checkout_file() -> None:
    assert grammar_path().resolve() == (ROOT / "grammar" / "doctrine.lark").resolve()


def test_grammar_builds_strictly() -> None:
    """strict=True turns any shift/reduce or reduce/reduce conflict, and any two terminals
    whose patterns can match the same text, into an error when the parser is built."""
    lark.Lark(grammar_path().read_text(encoding="utf-8"), parser="lalr", strict=True)


def test_grammar_builds_strictly_with_positions() -> None:
    """The options the compiler builds it with, plus strict."""
    lark.Lark(
        grammar_path().read_text(encoding="utf-8"),
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=False,
        strict=True,
    )


def test_a_conflict_would_be_caught() -> None:
    """The strict build is not vacuous: an ambiguous grammar fails it."""
    with pytest.raises(lark.exceptions.GrammarError):
        lark.Lark('start: a | b\na: "x"\nb: "x"\n', parser="lalr", strict=True)


def test_library_is_not_empty() -> None:
    assert len(LIBRARY) >= 5


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.name)
def test_library_file_parses(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    lark_parser().parse(text)  # the raw grammar accepts it
    module = parse(text, str(path))  # and the transformer builds nodes without a diagnostic
    assert module.declarations


@pytest.mark.parametrize(
    "source",
    [
        "",
        "# only a comment\n",
        'module m "A title"\n',
        "import a, b.c\n",
        "fact x: bool\n",
        'fact x: enum (a, b, c) means "three"\n',
        "fact x: enum (low < mid < high)\n",
        "record r { a: text  b: optional date }\nfact rs: list of r\n",
        'authority a { name "A v. B" reporter "1 U.S. 1" court "4th"\n'
        "  decided 1990-01-02 year 1990 }",
        "authority a { abrogated 1999-01-01 by b }",
        "element e { holds when x }",
        "element e { holds unless x and not y or z }",
        "element e { holds when at least 2 of (a, b, c,) }",
        "element e { holds when all of (a, b) and any of (c, d) }",
        "element e { holds when some r in rs where r.b is absent }",
        "element e { holds when every r in rs where r.b is present }",
        'element e { holds when no r in rs where r.a == "x" }',
        "element e { holds when x >= high and d < 1989-02-22 and n != 1.5 }",
        'element e { cite a at "12" for "the point" }',
        "doctrine d extends c { element x element y = z element w { holds when v } }",
        "doctrine d { in force from 1980-01-01 until 1989-02-22 }",
        'doctrine d { rejects t { on a, b because "no" } }',
        "case c under d { given { a: true, b: [1, 2], c: {x: y} d: unknown }\n"
        "  expect { holds: false } }",
    ],
)
def test_constructs_parse(source: str) -> None:
    lark_parser().parse(source)


@pytest.mark.parametrize(
    "source",
    [
        "element e { holds x }",  # `holds` needs `when` or `unless`
        "element e { holds when x = y }",  # `=` is not a comparison
        "fact x: enum (a b)",
        "element e { holds when a and some x in y where b }",  # unparenthesised quantifier
        "case c { }",  # no `under`
        "element e { title 'single quotes' }",
        'element e { title "unclosed }',
    ],
)
def test_mistakes_do_not_parse(source: str) -> None:
    with pytest.raises(lark.exceptions.UnexpectedInput):
        lark_parser().parse(source)


def test_keywords_are_reserved_only_where_expected() -> None:
    """The contextual lexer lets a name be spelled like a keyword used elsewhere."""
    lark_parser().parse(
        "fact holds: bool\nfact title: bool\nelement when { holds when holds and title }"
    )
