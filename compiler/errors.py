"""Source positions, diagnostics, and their rendering in the style of rustc."""

from __future__ import annotations

import functools
import os
import stat
from collections.abc import Iterable, Mapping, Sequence
from difflib import get_close_matches
from typing import Literal

import attrs

Severity = Literal["error", "warning"]


@attrs.frozen
class SourcePosition:
    """Where a node sits in a source file: 1-based lines and columns, end exclusive."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


@attrs.frozen
class Diagnostic:
    """One problem found in a doctrine file, with the position where it arises."""

    code: str
    message: str
    pos: SourcePosition | None
    label: str = ""
    help: str = ""
    severity: Severity = "error"
    notes: tuple[str, ...] = ()

    def render(self, sources: Mapping[str, str] | None = None) -> str:
        """The diagnostic as text: header, location, the line with a caret, help."""
        head = f"{self.severity}[{self.code}]: {self.message}"
        if self.pos is None:
            lines = [head]
        else:
            lines = [head, *_snippet(self.pos, self.label, sources or {})]
        # `=` lines sit under the gutter's `|`, as rustc aligns them.
        pad = " " * (len(str(self.pos.line)) + 1 if self.pos is not None else 3)
        lines.extend(f"{pad}= note: {n}" for n in self.notes)
        if self.help:
            lines.append(f"{pad}= help: {self.help}")
        return "\n".join(lines)


# A line longer than twice this is shown around its span, not whole.
_WINDOW = 120


@functools.lru_cache(maxsize=4)
def _lines_of(text: str) -> tuple[str, ...]:
    """Lines as the parser counts them: split at newlines only, not at form feeds or U+2028.
    Cached, since a file with many warnings has each of them rendered."""
    return tuple(line.removesuffix("\r") for line in text.split("\n"))


@functools.lru_cache(maxsize=4)
def _read(path: str, mtime_ns: int, size: int) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return None


def _file_text(path: str) -> str | None:
    """A file's text, read once while it is unchanged; nothing but a regular file is read."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return _read(path, st.st_mtime_ns, st.st_size)


def _snippet(pos: SourcePosition, label: str, sources: Mapping[str, str]) -> list[str]:
    text = sources.get(pos.path)
    if text is None:
        text = _file_text(pos.path)
    gutter = " " * len(str(pos.line))
    out = [f"{gutter}--> {pos}"]
    if text is None:
        return out
    source_lines = _lines_of(text)
    if not 1 <= pos.line <= len(source_lines):
        return out
    line = source_lines[pos.line - 1].expandtabs(1)
    start = max(pos.column, 1)
    end = pos.end_column if pos.end_line == pos.line and pos.end_column > start else start + 1
    end = min(end, max(len(line) + 1, start + 1))
    if len(line) > 2 * _WINDOW:  # a very long line: the part around the span
        lo = max(start - 1 - _WINDOW // 2, 0)
        hi = min(lo + 2 * _WINDOW, len(line))
        head, tail = ("..." if lo else ""), ("..." if hi < len(line) else "")
        shift = lo - len(head)
        start, end = start - shift, min(end, hi + 1) - shift
        end = max(end, start + 1)
        line = head + line[lo:hi] + tail
    caret = " " * (start - 1) + "^" * (end - start)
    out += [f"{gutter} |", f"{pos.line} | {line}", f"{gutter} | {caret} {label}".rstrip()]
    return out


class DoctrineError(Exception):
    """Raised when a doctrine cannot be compiled; carries every diagnostic of the run."""

    def __init__(self, diagnostics: Sequence[Diagnostic], sources: Mapping[str, str] | None = None):
        self.diagnostics = tuple(diagnostics)
        self.sources = dict(sources or {})
        super().__init__(self.render())

    def render(self) -> str:
        """All diagnostics, rendered and separated by blank lines."""
        return "\n\n".join(d.render(self.sources) for d in self.diagnostics)


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """A `did you mean` help line for the closest candidate, or the empty string."""
    close = get_close_matches(word, sorted(set(candidates)), n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else ""
