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
from jinja2.sandbox import SandboxedEnvironment

from ..syntax.resources import data_dir

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


class TemplateProblem(Exception):
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
    """Text made safe inside markdown: no raw HTML can come through."""
    escaped: str = _ENTITY.sub("&amp;", str(text))
    return escaped.replace("<", "&lt;").replace(">", "&gt;")


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
    "upfirst": _upfirst,
    "plural": _plural,
}


# ---------------------------------------------------------------- environments


def _configure(env: jinja2.Environment) -> jinja2.Environment:
    env.filters.update(FILTERS)
    return env


# The largest string, list or number a user's template may build with `*` or `**`.
_MAX_SIZE = 1_000_000


class _BoundedSandbox(SandboxedEnvironment):
    """Jinja's sandbox, which guards attributes but not arithmetic, with `*` and `**` bounded
    so that `{{ 'a' * 10**10 }}` is refused instead of exhausting memory."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        numbers = isinstance(left, (int, float)) and isinstance(right, (int, float))
        if operator == "**" and numbers and abs(right) > 64 and abs(left) > 1:
            raise jinja2.exceptions.SecurityError("`**` result too large for a template")
        if operator == "*":
            for seq, count in ((left, right), (right, left)):
                sized = isinstance(seq, (str, list, tuple)) and isinstance(count, int)
                if sized and len(seq) * count > _MAX_SIZE:
                    raise jinja2.exceptions.SecurityError("`*` builds too much for a template")
            if (
                isinstance(left, int)
                and isinstance(right, int)
                and (left.bit_length() + right.bit_length() > 4096)
            ):
                raise jinja2.exceptions.SecurityError("`*` result too large for a template")
        return super().call_binop(context, operator, left, right)


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
    return _configure(_BoundedSandbox(loader=loader, **options))


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
        return _tidy(template.render(**data))
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
