"""Syntax highlighting for doctrine source: a Pygments lexer, and HTML for source excerpts.

The lexer is registered as a Pygments plugin (the `pygments.lexers` entry point), so
`pygmentize -l doctrine`, Sphinx (`.. code-block:: doctrine`) and MkDocs (```doctrine)
highlight `.doctrine` source once the package is installed.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import RegexLexer, bygroups, default, words
from pygments.token import (
    Comment,
    Keyword,
    Literal,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Text,
    Whitespace,
)

# What each word is, as the grammar (grammar/doctrine.lark) uses it.
DECLARATIONS = ("fact", "record", "authority", "element", "doctrine", "case")
NAMESPACE = ("module", "import")
KEYWORDS = (
    "means",
    "favours",
    "known",
    "as",
    "enum",
    "list",
    "of",
    "optional",
    "title",
    "holds",
    "when",
    "unless",
    "cite",
    "at",
    "for",
    "met",
    "unmet",
    "note",
    "general",
    "rule",
    "exception",
    "then",
    "over",
    "first",
    "match",
    "otherwise",
    "extends",
    "source",
    "in",
    "force",
    "from",
    "until",
    "drop",
    "rejects",
    "closed",
    "world",
    "on",
    "because",
    "under",
    "given",
    "expect",
    "reporter",
    "court",
    "decided",
    "year",
    "abrogated",
    "by",
    "applied",
    "held",
    "violation",
    "facts",
    "precedents",
)
OPERATOR_WORDS = (
    "and",
    "or",
    "not",
    "is",
    "some",
    "every",
    "no",
    "where",
    "all",
    "any",
    "least",
    "absent",
    "present",
)
CONSTANTS = ("true", "false", "unknown")
TYPES = ("bool", "date", "text", "number")

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"


class DoctrineLexer(RegexLexer):
    """Pygments lexer for the doctrine language (`.doctrine` files)."""

    name = "Doctrine"
    aliases: ClassVar[list[str]] = ["doctrine"]
    filenames: ClassVar[list[str]] = ["*.doctrine"]
    mimetypes: ClassVar[list[str]] = ["text/x-doctrine"]
    url = "https://pypi.org/project/doctrine/"

    tokens: ClassVar[dict[str, list[Any]]] = {
        "root": [
            (r"\s+", Whitespace),
            (r"#[^\n]*", Comment.Single),
            (r'"""', String.Doc, "prose"),
            (r'"', String.Double, "string"),
            (r"\d{4}-\d{2}-\d{2}", Literal.Date),
            (r"\d+(\.\d+)?", Number),
            # `fact custody`, `element custody`, `case wood under d`: the name declared
            (
                r"(fact|record|authority|element|doctrine|case)(\s+)(" + _NAME + ")",
                bygroups(Keyword.Declaration, Whitespace, Name.Class),
            ),
            (r"(module|import)\b", Keyword.Namespace, "modules"),
            (r"(\.)(" + _NAME + ")", bygroups(Punctuation, Name.Attribute)),
            # a field of a record, or a key in `given { custody: none }`
            (r"(" + _NAME + r")(\s*)(:)", bygroups(Name.Attribute, Whitespace, Punctuation)),
            (r"(name)(\s+)(?=\")", bygroups(Keyword, Whitespace)),
            (words(DECLARATIONS, suffix=r"\b"), Keyword.Declaration),
            (words(CONSTANTS, suffix=r"\b"), Keyword.Constant),
            (words(TYPES, suffix=r"\b"), Keyword.Type),
            (words(OPERATOR_WORDS, suffix=r"\b"), Operator.Word),
            (words(KEYWORDS, suffix=r"\b"), Keyword),
            (r"==|!=|<=|>=|<|>|=", Operator),
            (r"[{}()\[\],:]", Punctuation),
            (_NAME, Name),
            (r".", Text),
        ],
        "modules": [
            (r"[ \t]+", Whitespace),
            (_NAME + r"(\." + _NAME + r")*", Name.Namespace),
            (r",", Punctuation),
            default("#pop"),
        ],
        "string": [
            (r'\\(["\\nt]|u[0-9a-fA-F]{4})', String.Escape),
            (r"\\.", String.Double),
            (r'"', String.Double, "#pop"),
            (r'[^"\\\n]+', String.Double),
            (r"\n", String.Double, "#pop"),
        ],
        "prose": [
            (r'\\(["\\nt]|u[0-9a-fA-F]{4})', String.Escape),
            (r'"""', String.Doc, "#pop"),
            (r'[^"\\]+', String.Doc),
            (r'["\\]', String.Doc),
        ],
    }


CSS_CLASS = "doctrine-source"


def highlight_html(source: str, *, inline: bool = False) -> str:
    """Doctrine source as HTML with Pygments' classes (see `stylesheet`).

    A block is a `<div class="doctrine-source"><pre>...</pre></div>`; `inline=True` gives a
    `<code class="doctrine-source">` for a requirement quoted in running text.
    """
    if inline:
        body = highlight(source, DoctrineLexer(), HtmlFormatter(nowrap=True)).rstrip("\n")
        return f'<code class="{CSS_CLASS}">{body}</code>'
    return highlight(source, DoctrineLexer(), HtmlFormatter(cssclass=CSS_CLASS))


def stylesheet(style: str = "default") -> str:
    """The CSS for `highlight_html`, scoped to its class."""
    return str(HtmlFormatter(style=style).get_style_defs(f".{CSS_CLASS}"))


__all__ = ["CSS_CLASS", "DoctrineLexer", "highlight_html", "stylesheet"]
