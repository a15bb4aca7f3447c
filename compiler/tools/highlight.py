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
DECLARATIONS = ("fact", "record", "authority", "element", "doctrine", "case", "threshold")
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
    "open",
    "counts",
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
                r"(" + "|".join(DECLARATIONS) + r")(\s+)(" + _NAME + ")",
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


# ---------------------------------------------------------------- the TextMate grammar

# The TextMate scope of each Pygments token type: editors (VS Code, and those that read
# TextMate grammars) colour what the lexer above names, with the same rules in the same order.
SCOPES = {
    "Comment.Single": "comment.line.number-sign.doctrine",
    "Literal.String.Doc": "string.quoted.triple.doctrine",
    "Literal.String.Double": "string.quoted.double.doctrine",
    "Literal.String.Escape": "constant.character.escape.doctrine",
    "Literal.Date": "constant.other.date.doctrine",
    "Literal.Number": "constant.numeric.doctrine",
    "Keyword.Declaration": "keyword.declaration.doctrine",
    "Name.Class": "entity.name.type.doctrine",
    "Keyword.Namespace": "keyword.control.import.doctrine",
    "Name.Namespace": "entity.name.namespace.doctrine",
    "Name.Attribute": "variable.other.property.doctrine",
    "Keyword.Constant": "constant.language.doctrine",
    "Keyword.Type": "storage.type.doctrine",
    "Operator.Word": "keyword.operator.word.doctrine",
    "Keyword": "keyword.other.doctrine",
    "Operator": "keyword.operator.doctrine",
    "Punctuation": "punctuation.separator.doctrine",
}


def _alternatives(words_: tuple[str, ...]) -> str:
    return r"\b(?:" + "|".join(sorted(words_, key=lambda w: (-len(w), w))) + r")\b"


def textmate_grammar() -> dict[str, Any]:
    """The TextMate grammar of `editors/vscode` (a test keeps the file equal to this)."""
    s = SCOPES
    escape = {"match": r'\\(?:["\\nt]|u[0-9a-fA-F]{4})', "name": s["Literal.String.Escape"]}
    return {
        "$schema": "https://raw.githubusercontent.com/martinring/tmlanguage/master/tmlanguage.json",
        "name": "Doctrine",
        "scopeName": "source.doctrine",
        "fileTypes": ["doctrine"],
        "patterns": [
            {"match": "#.*$", "name": s["Comment.Single"]},
            {
                "begin": '"""',
                "end": '"""',
                "name": s["Literal.String.Doc"],
                "patterns": [escape],
            },
            {"begin": '"', "end": '"|$', "name": s["Literal.String.Double"], "patterns": [escape]},
            {"match": r"\b\d{4}-\d{2}-\d{2}\b", "name": s["Literal.Date"]},
            {"match": r"\b\d+(?:\.\d+)?\b", "name": s["Literal.Number"]},
            {
                "match": r"\b(" + "|".join(DECLARATIONS) + r")\s+(" + _NAME + ")",
                "captures": {
                    "1": {"name": s["Keyword.Declaration"]},
                    "2": {"name": s["Name.Class"]},
                },
            },
            {
                "begin": r"\b(module|import)\b",
                "beginCaptures": {"1": {"name": s["Keyword.Namespace"]}},
                "end": r'(?=["#{]|$)',
                "patterns": [
                    {"match": _NAME + r"(?:\." + _NAME + ")*", "name": s["Name.Namespace"]},
                    {"match": ",", "name": s["Punctuation"]},
                ],
            },
            {
                "match": r"(\.)(" + _NAME + ")",
                "captures": {"1": {"name": s["Punctuation"]}, "2": {"name": s["Name.Attribute"]}},
            },
            {
                "match": "(" + _NAME + r")\s*(:)",
                "captures": {"1": {"name": s["Name.Attribute"]}, "2": {"name": s["Punctuation"]}},
            },
            {"match": r'\bname(?=\s+")', "name": s["Keyword"]},
            {"match": _alternatives(DECLARATIONS), "name": s["Keyword.Declaration"]},
            {"match": _alternatives(CONSTANTS), "name": s["Keyword.Constant"]},
            {"match": _alternatives(TYPES), "name": s["Keyword.Type"]},
            {"match": _alternatives(OPERATOR_WORDS), "name": s["Operator.Word"]},
            {"match": _alternatives(KEYWORDS), "name": s["Keyword"]},
            {"match": "==|!=|<=|>=|<|>|=", "name": s["Operator"]},
            {"match": r"[{}()\[\],:]", "name": s["Punctuation"]},
        ],
    }


__all__ = [
    "CSS_CLASS",
    "SCOPES",
    "DoctrineLexer",
    "highlight_html",
    "stylesheet",
    "textmate_grammar",
]
