"""Makes text safe to show on a terminal: no escape sequences, no lone surrogates.

A fact's value or a doctrine's string can hold anything: an ESC that recolours or clears the
screen, a carriage return that writes over a line, a bidirectional override that reorders what
is read, or half of a surrogate pair, which no UTF-8 output can hold. Every document and
message the command line writes passes through `safe_text`, which shows each such character
as an escape (`\\x1b`, `\\u202e`), so the reader sees what was there and nothing acts on it.
"""

from __future__ import annotations

import re
from typing import Any, TextIO

__all__ = ["SafeStream", "no_surrogates", "safe_text"]

# C0 controls but tab and newline, DEL, C1 controls (CSI is \x9b), the bidirectional
# embeddings, overrides and isolates, and surrogates (which can only be lone in a str).
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _shown(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe_text(text: str) -> str:
    """`text` with every character that could act on a terminal shown as an escape."""
    return UNSAFE.sub(_shown, text)


_SURROGATE = re.compile("[\ud800-\udfff]")


def no_surrogates(text: str) -> str:
    """`text` with each lone surrogate (which UTF-8 cannot encode) shown as an escape."""
    if text.isascii():  # a flag of the string, not a scan: batch results are mostly ASCII
        return text
    return _SURROGATE.sub(_shown, text)


class SafeStream:
    """A text stream whose writes pass through `safe_text` (for standard error and a
    terminal), or with `everything=False` only through `no_surrogates` (standard output sent
    to a file or a pipe, whose data is left as it is but must still be writable)."""

    def __init__(self, stream: TextIO, everything: bool = True):
        self._stream = stream
        self._clean = safe_text if everything else no_surrogates
        self.raw = stream
        """The stream itself, for output of our own that needs control characters (the
        progress bar's carriage returns)."""

    def write(self, text: str) -> int:
        self._stream.write(self._clean(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
