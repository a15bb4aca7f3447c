"""The Jinja environment that turns explanation data into markdown, HTML or text documents.

Our templates live in `templates/` (inside the wheel, `compiler/_data/templates`). A user may
point at a folder of their own: those run in Jinja's sandbox, and any template they do not
provide falls back to ours (which run sandboxed with them). Undefined variables are errors
everywhere (StrictUndefined); HTML templates are autoescaped.
"""

from __future__ import annotations

import functools
import re
import textwrap
from collections.abc import Callable, Sequence
from os import PathLike
from pathlib import Path
from typing import Any

import jinja2
import markupsafe

from ..errors import DoctrineException
from ..syntax.resources import data_dir
from .sandbox import BoundedSandbox, render_bounded

__all__ = ["FORMATS", "TemplateProblem", "environment", "render"]

FORMATS: dict[str, str] = {
    "markdown": "md",
    "md": "md",
    "html": "html",
    "text": "txt",
    "txt": "txt",
}
"""Format names accepted, and the suffix of their templates (`explain.md.j2`)."""

KINDS = ("explain", "doc", "diff")


class TemplateProblem(DoctrineException):
    """A template could not be found, compiled or rendered; the message says which and why."""


def _autoescape(name: str | None) -> bool:
    return bool(name) and str(name).endswith((".html.j2", ".html"))


# ---------------------------------------------------------------- filters


def _join(items: Sequence[Any], word: str = "and") -> str:
    """["a", "b", "c"] -> "a, b and c" (semicolons when an item has a comma of its own)."""
    texts: list[str] = [str(i) for i in items]
    if len(texts) <= 1:
        return "".join(texts)
    if any("," in t for t in texts):
        return "; ".join(texts[:-1]) + f"; {word} " + texts[-1]
    return ", ".join(texts[:-1]) + f" {word} " + texts[-1]


def _md(text: Any) -> str:
    """Text made safe inside markdown: no raw HTML can come through, and an asterisk outside
    `code` (a star page, "*1175") starts no emphasis."""
    escaped: str = _ENTITY.sub("&amp;", str(text))
    escaped = escaped.replace("<", "&lt;").replace(">", "&gt;")
    parts = escaped.split("`")
    if len(parts) % 2 == 0:  # an unmatched backtick: no code spans to keep
        return escaped.replace("*", "\\*")
    return "`".join(p if i % 2 else p.replace("*", "\\*") for i, p in enumerate(parts))


_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _html_text(text: Any) -> markupsafe.Markup:
    """Plain text escaped for HTML, even when it arrives marked safe.

    A macro of a template that is not autoescaped (the shared phrases) returns its text raw,
    and Jinja marks it safe when an autoescaped template calls it: escape it all the same.
    """
    return markupsafe.escape(str.__str__(str(text)))


def _plain(text: Any) -> str:
    """Text made safe for a terminal: control characters shown as escapes."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


def _wrap(text: Any, width: int = 78, indent: str = "", first: str | None = None) -> str:
    """Fill a paragraph to `width` columns; `first` prefixes the first line instead of `indent`."""
    return textwrap.fill(
        " ".join(str(text).split()),
        width=width,
        initial_indent=indent if first is None else first,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )


def _table(
    rows: str | Sequence[Sequence[Any]],
    headers: Sequence[str] | None = None,
    width: int = 78,
    indent: str = "  ",
) -> str:
    """Rows as a plain-text table that fits in `width` columns, long cells wrapped in place.

    `rows` is a list of rows of cells, or text with a line per row and a tab between cells.

    Each column gets its natural width when all fit; otherwise the room is shared out so that
    narrow columns keep theirs and the wide ones wrap (a share is never under 8 columns).
    """
    if isinstance(rows, str):  # built in a template: a line per row, tabs between cells
        rows = [line.split("\t") for line in rows.splitlines() if line.strip()]
    table = [[" ".join(str(cell).split()) for cell in row] for row in rows]
    if headers:
        table.insert(0, [str(h) for h in headers])
    if not table:
        return ""
    count = max(len(row) for row in table)
    for row in table:
        row.extend([""] * (count - len(row)))
    natural = [max(len(row[i]) for row in table) for i in range(count)]
    room = max(width - len(indent) - 2 * (count - 1), 8 * count)
    widths = list(natural)
    if sum(natural) > room:
        left, pending = room, sorted(range(count), key=lambda i: natural[i])
        while pending:
            share = max(left // len(pending), 8)
            i = pending.pop(0)
            widths[i] = min(natural[i], share) if pending else max(min(natural[i], left), 8)
            left -= widths[i]
    lines: list[str] = []
    for n, row in enumerate(table):
        cells = [
            textwrap.wrap(cell, widths[i], break_on_hyphens=False) or [""]
            for i, cell in enumerate(row)
        ]
        for k in range(max(len(c) for c in cells)):
            parts = [(c[k] if k < len(c) else "").ljust(widths[i]) for i, c in enumerate(cells)]
            lines.append((indent + "  ".join(parts)).rstrip())
        if n == 0 and headers:
            lines.append(indent + "  ".join("-" * w for w in widths))
    return "\n".join(lines)


# A case name in running text: "Pinder v. Johnson", "DeShaney v. Winnebago County Dep't of
# Social Servs.", "L.W. v. Grubbs". A party is capitalized words, joined by a few small ones;
# words that start a sentence ("In", "See") are not taken for the first party's.
_CAP = r"[A-Z][\w.'&-]*"
_PARTY = rf"{_CAP}(?:(?: (?:of|the|for|de|ex rel\.))* {_CAP})*"
_LEAD = (
    r"(?!(?:In|The|See|Under|As|But|And|Unlike|Like|After|Before|Since|When|While|Cf\.|"
    r"Compare|Accord|Contra|Also|Both|Only|Even|Here|This|That|Thus|Then|Per|From|By|At|"
    r"On|With|Without|Neither|Nor|Both|Under|Applying|Following|Citing)\b)"
)
CASE_NAME = re.compile(rf"\b{_LEAD}{_PARTY} v\. {_PARTY}")


@functools.lru_cache(maxsize=64)
def case_pattern(short: tuple[str, ...] = ()) -> re.Pattern[str]:
    """Full case names, and the short names (`Pinder`, `DeShaney`) of the cases a memo
    cites, as whole words: one pattern, so that a match is never italicized twice."""
    names = "|".join(re.escape(n) for n in sorted(short, key=len, reverse=True) if n)
    if not names:
        return CASE_NAME
    # "Grubbs II": the numeral that tells two decisions of one case apart goes with the name.
    return re.compile(rf"{CASE_NAME.pattern}|\b(?:{names})(?: I{{1,3}}| IV)?\b(?!\.? v\. )")


@jinja2.pass_context
def _case_names(context: Any, text: Any, format: str = "md") -> Any:
    """Case names in running text set in italics: *X v. Y* in markdown, <i> in HTML, and
    _X v. Y_ in plain text (the typewriter's underscore for italics); and so are the short
    names of the cases the memo cites (`case_short_names` in its data: "as Pinder held").
    The text must already be escaped for its format."""
    shown = str(text)
    pattern = case_pattern(tuple(context.get("case_short_names") or ()))
    if format == "html":
        return markupsafe.Markup(pattern.sub(lambda m: f"<i>{m.group()}</i>", shown))
    mark = "*" if format == "md" else "_"
    return pattern.sub(lambda m: f"{mark}{m.group()}{mark}", shown)


def _upfirst(text: Any) -> str:
    shown = str(text)
    return shown[:1].upper() + shown[1:]


def _plural(count: int, one: str = "", many: str = "s") -> str:
    return one if count == 1 else many


FILTERS: dict[str, Callable[..., Any]] = {
    "join_and": lambda items: _join(items, "and"),
    "join_or": lambda items: _join(items, "or"),
    "md": _md,
    "html_text": _html_text,
    "plain": _plain,
    "wrap": _wrap,
    "table": _table,
    "case_names": _case_names,
    "upfirst": _upfirst,
    "plural": _plural,
}


# ---------------------------------------------------------------- environments


def _configure(env: jinja2.Environment) -> jinja2.Environment:
    if isinstance(env, BoundedSandbox):
        env.add_filters(FILTERS)
    else:
        env.filters.update(FILTERS)
    return env


@functools.lru_cache(maxsize=8)
def _environment(user: str | None) -> jinja2.Environment:
    ours = jinja2.FileSystemLoader(str(data_dir("templates")))
    options: dict[str, Any] = {
        "undefined": jinja2.StrictUndefined,
        "autoescape": _autoescape,
        "trim_blocks": True,
        "lstrip_blocks": True,
        "keep_trailing_newline": True,
    }
    if user is None:
        return _configure(jinja2.Environment(loader=ours, **options))
    loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(user), ours])
    return _configure(BoundedSandbox(loader=loader, **options))


def environment(templates: str | PathLike[str] | None = None) -> jinja2.Environment:
    """Our environment, or a sandboxed one over a user's folder (falling back to ours)."""
    if templates is None:
        return _environment(None)
    folder = Path(templates)
    if not folder.is_dir():
        raise TemplateProblem(f"{folder}: not a folder of templates")
    return _environment(str(folder.resolve()))


def _tidy(text: str) -> str:
    """Trailing spaces dropped, runs of blank lines cut to one, one final newline."""
    lines = [line.rstrip() for line in text.splitlines()]
    out = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
    return out + "\n"


def render(
    kind: str, format: str, data: dict[str, Any], templates: str | PathLike[str] | None = None
) -> str:
    """Render `data` with the template for `kind` ("explain", "doc", "diff") in `format`."""
    if format not in FORMATS:
        raise TemplateProblem(f"unknown format {format!r}; use one of markdown, html, text")
    if kind not in KINDS:
        raise TemplateProblem(f"unknown document kind {kind!r}")
    name = f"{kind}.{FORMATS[format]}.j2"
    env = environment(templates)
    try:
        template = env.get_template(name)
        if templates is None:
            return _tidy(template.render(**data))
        return _tidy(render_bounded(template, data))
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateProblem(
            f"template {exc.filename or exc.name or name}, line {exc.lineno}: {exc.message}"
        ) from None
    except jinja2.TemplateNotFound as exc:
        raise TemplateProblem(f"template {exc.name} not found") from None
    except jinja2.exceptions.SecurityError as exc:
        raise TemplateProblem(f"template {name}: not allowed in the sandbox: {exc}") from None
    except jinja2.UndefinedError as exc:
        raise TemplateProblem(f"template {name}: {exc.message}") from None
    except jinja2.TemplateError as exc:
        raise TemplateProblem(f"template {name}: {exc}") from None
    except Exception as exc:
        if templates is None:
            raise  # a bug in our own templates: let it show
        raise TemplateProblem(f"template {name}: {type(exc).__name__}: {exc}") from None
