"""Source positions, diagnostics, and their rendering in the style of rustc."""

from __future__ import annotations

import functools
import os
import stat
from collections.abc import Iterable, Mapping, Sequence
from difflib import get_close_matches
from typing import Literal

import attrs

from .runtime import DoctrineException as DoctrineException  # the one base, re-exported

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


class DoctrineError(DoctrineException):
    """Raised when a doctrine cannot be compiled; carries every diagnostic of the run."""

    def __init__(self, diagnostics: Sequence[Diagnostic], sources: Mapping[str, str] | None = None):
        self.diagnostics = tuple(diagnostics)
        self.sources = dict(sources or {})
        super().__init__(self.render())

    def render(self) -> str:
        """All diagnostics, rendered and separated by blank lines."""
        return "\n\n".join(d.render(self.sources) for d in self.diagnostics)


# How many candidates one suggestion weighs in full: enough for any real vocabulary, and a
# bound on the work of one call however many names a file declares.
_MAX_WEIGHED = 200


def _likeness(word: str, candidate: str) -> tuple[int, int, str]:
    """A cheap sort key, likeliest first: most characters shared at both ends, nearest length."""
    shortest = min(len(word), len(candidate))
    start = 0
    while start < shortest and word[start] == candidate[start]:
        start += 1
    end = 0
    while end < shortest - start and word[-1 - end] == candidate[-1 - end]:
        end += 1
    return (-(start + end), abs(len(word) - len(candidate)), candidate)


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """A `did you mean` help line for the closest candidate, or the empty string.

    Over a large vocabulary only the likeliest candidates are weighed (the longest shared start
    and end, then the nearest length), so one call costs time linear in the vocabulary.
    """
    pool = set(candidates)
    if len(pool) > _MAX_WEIGHED:
        pool = set(sorted(pool, key=lambda c: _likeness(word, c))[:_MAX_WEIGHED])
    close = get_close_matches(word, sorted(pool), n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else ""


# ---------------------------------------------------------------- the registry of codes

_A = 'fact a: bool means "a"\n'
_B = 'fact b: bool means "b"\n'
_D = "doctrine d {\n  element e\n  holds when all of (e)\n}\n"
_E = "element e { holds when a }\n"


@attrs.frozen
class Code:
    """One diagnostic code: what it is called, what it means, and a file that shows it.

    `example` is doctrine source that produces the code when checked (`doctrine check`); a
    line `--- NAME.doctrine` starts another file beside it. Empty where no single source can
    (a file that is not UTF-8; a command's own check).
    """

    code: str
    title: str
    explanation: str
    example: str = ""
    severity: Severity = "error"


CODES: Mapping[str, Code] = {
    c.code: c
    for c in (
        Code(
            "D0101",
            "syntax error",
            "The text does not fit the grammar here; the message names what was expected, and "
            "the help names the common slip where it recognises one.",
            _A + "element e { holds when a = true }\n",
        ),
        Code(
            "D0102",
            "unclosed block",
            "A `{` that is never closed; the caret shows where it was opened.",
            _A + "element e {\n  holds when a\n",
        ),
        Code(
            "D0103",
            "bad string",
            "A string with an escape that does not exist (such as `\\q`), or with no closing "
            "quote on its line.",
            'fact a: bool means "a \\q"\n',
        ),
        Code(
            "D0104",
            "no such date",
            "A date that is not a day of the calendar (such as `1989-02-30`), or a year "
            "outside 1 to 9999.",
            _A + _E + "doctrine d {\n  element e\n  in force from 1989-02-30\n}\n",
        ),
        Code(
            "D0105",
            "given twice",
            "Something given twice: a property of a declaration (two `title`s), a key of a "
            "case's mapping, a fact's `favours`; or an `over` ranking with nothing to rank.",
            _A + 'element e {\n  title "one"\n  title "two"\n  holds when a\n}\n',
        ),
        Code(
            "D0106",
            "nested too deeply",
            "An expression nested too deeply to parse or to compile to Python: name the inner "
            "parts as elements of their own.",
            _A + "element e { holds when " + "not (" * 60 + "a" + ")" * 60 + " }\n",
        ),
        Code(
            "D0107",
            "number too long",
            "A number longer than doctrine reads (more than 300 digits).",
            'fact n: number means "n"\nelement e { holds when n > ' + "9" * 301 + " }\n",
        ),
        Code(
            "D0201",
            "unknown name",
            "An unknown name: fact, element, doctrine, record, field, quantified variable, the "
            "authority of `abrogated ... by`, the exception of `over`, the theory of `drop "
            "rejects`; or a slot bound to something that is not an element. The help offers "
            "the closest known name.",
            _A + "element e { holds when aa }\n",
        ),
        Code(
            "D0202",
            "unknown authority",
            "A `cite` or `source` of an authority that is not declared.",
            _A + _E + "doctrine d {\n  source nobody\n  element e\n}\n",
        ),
        Code(
            "D0203",
            "declared twice",
            "A name declared twice: a declaration or case of a module, a value of an enum, a "
            "field of a record, an element of a doctrine.",
            _A + _A,
        ),
        Code(
            "D0204",
            "name clash across modules",
            "One name declared in a module and in a module it imports, or two doctrines of one "
            "name in the files compiled together.",
            'module example "example"\nimport other\n'
            + _A
            + '--- other.doctrine\nmodule other "other"\n'
            + _A,
        ),
        Code(
            "D0206",
            "circular definition",
            "A doctrine that extends itself, or an element or doctrine that depends on itself.",
            _A + "element e { holds when e and a }\n",
        ),
        Code(
            "D0207",
            "never says when it holds",
            "An element or doctrine that never says when it holds.",
            _A + 'element e {\n  title "e"\n}\n',
        ),
        Code(
            "D0208",
            "doctrine without elements",
            "A doctrine with no elements.",
            _A + 'doctrine d {\n  title "d"\n  holds when a\n}\n',
        ),
        Code(
            "D0209",
            "outcome stated twice",
            "A declaration that states its outcome twice (`holds when` and a general rule, say).",
            _A + 'element e {\n  holds when a\n  general rule false { because "no" }\n}\n',
        ),
        Code(
            "D0210",
            "exceptions without a general rule",
            "Exceptions need a general rule to be exceptions to.",
            _A + 'element e {\n  exception x when a then true { because "yes" }\n}\n',
        ),
        Code(
            "D0301",
            "type error",
            "Something that is not a condition used as one, or a comparison of values of "
            "different types.",
            _A + 'fact when: date means "when"\nelement e { holds when a == when }\n',
        ),
        Code(
            "D0302",
            "not a value of the enum",
            "A word that is not a value of the enum it is compared with.",
            'fact c: enum (low, high) means "c"\nelement e { holds when c is hihg }\n',
        ),
        Code(
            "D0303",
            "no order",
            "An ordering (`<`, `>=` ...) of values that have no order: a plain enum, a bool, text.",
            'fact c: enum (low, high) means "c"\nelement e { holds when c >= high }\n',
        ),
        Code(
            "D0304",
            "list in a record",
            "A record field that is itself a list.",
            'record r {\n  x: bool means "x"\n}\nrecord s {\n  rs: list of r means "rs"\n}\n',
        ),
        Code(
            "D0305",
            "at least N out of range",
            "`at least N of` with N less than 1 or more than the conditions listed.",
            _A + _B + "element e { holds when at least 3 of (a, b) }\n",
        ),
        Code(
            "D0306",
            "absent or present of a required value",
            "`is absent` or `is present` on something other than an optional field.",
            _A + "element e { holds when a is absent }\n",
        ),
        Code(
            "D0307",
            "period ends before it begins",
            "An `in force` period that ends before it begins.",
            _A + _E + "doctrine d {\n  element e\n  in force from 2000-01-01 until 1990-01-01\n}\n",
        ),
        Code(
            "D0311",
            "exceptions ranked in a circle",
            "Exceptions ranked over each other in a circle, or over themselves.",
            _A + _B + 'element e {\n  general rule false { because "no" }\n'
            '  exception x when a then true { because "x" over y }\n'
            '  exception y when b then true { because "y" over x }\n}\n',
        ),
        Code(
            "D0312",
            "conflicting exceptions",
            "Two exceptions with different outcomes that can (or may) both apply, and no "
            "ranking between them: say which prevails with `over`.",
            _A + _B + 'element e {\n  general rule false { because "no" }\n'
            '  exception x when a then true { because "x" }\n'
            '  exception y when b then false { because "y" }\n}\n',
        ),
        Code(
            "D0313",
            "record cannot hold decided cases",
            "A record that lacks a field the library's decided cases need to fill it (for "
            "`precedents ... from ...`).",
            'record r {\n  name: text means "name"\n}\nfact rs: list of r means "rs"\n'
            + _A
            + _E
            + "doctrine d {\n  element e\n  precedents for rs from d\n}\n",
        ),
        Code(
            "D0314",
            "switch that does not fit its fact",
            "A `holds by FACT` switch (or a burden) whose value does not fit its fact, two arms "
            "for one value, a list fact to switch on, or no `otherwise` where the arms do not "
            "name every value.",
            'fact c: enum (low, high) means "c"\n'
            'element e {\n  holds by c {\n    "low" then true\n    "hihg" then false\n  }\n}\n',
        ),
        Code(
            "D0315",
            "burden without a reason",
            "A burden (`absent FACT counts as ...`) that does not say why, or a second one on a "
            "fact that can never apply.",
            _A + _B + "element e {\n  absent a counts as false { }\n  holds when a or b\n}\n",
        ),
        Code(
            "D0316",
            "burden whose condition reads its own fact",
            "A burden (`absent FACT counts as ... when CONDITION`) whose condition reads FACT: "
            "the burden applies only when the case does not give FACT, so the condition would "
            "always read it as unknown. State the condition on other facts.",
            _A + _B + 'element e {\n  absent a counts as false when a or b { because "no" }\n'
            "  holds when a\n}\n",
        ),
        Code(
            "D0401",
            "file not found",
            "A file or an imported module that cannot be found or read.",
            "import nowhere_to_be_found\n" + _A,
        ),
        Code(
            "D0402",
            "not UTF-8",
            "A file that is not UTF-8 text (saved as Latin-1 or UTF-16, say): save it as UTF-8.",
        ),
        Code(
            "D0403",
            "import cycle",
            "Modules that import each other in a cycle.",
            'module example "example"\nimport other\n'
            + _A
            + '--- other.doctrine\nmodule other "other"\nimport example\n'
            + _B,
        ),
        Code(
            "D0501",
            "unknown fact in a case",
            "A case (or a decided authority) that gives, or lists as missing, a fact outside "
            "the vocabulary.",
            _A + _E + _D + "case c under d {\n  given { aa: true }\n  expect { holds: true }\n}\n",
        ),
        Code(
            "D0502",
            "wrong value in a case",
            "A case that gives a fact a value of the wrong type, or outside its enum.",
            _A + _E + _D + "case c under d {\n  given { a: 3 }\n  expect { holds: true }\n}\n",
        ),
        Code(
            "D0503",
            "impossible expectation",
            "A case that expects something it cannot: an element the doctrine lacks, a value "
            "other than true, false or unknown, a `missing` that is not a list of names.",
            _A + _E + _D + "case c under d {\n  given { a: true }\n  expect { f: true }\n}\n",
        ),
        Code(
            "D0504",
            "decided case without its holding",
            "An authority given as a decided case (with `facts`) that does not say what it "
            "held, or under which doctrine.",
            _A + 'authority x {\n  name "X v. Y"\n  facts { a: true }\n}\n',
        ),
        Code(
            "D0601",
            "unused element",
            "An element that nothing uses, in a file that has a doctrine or cases.",
            _A + _E + "element unused { holds when a }\n" + _D,
            "warning",
        ),
        Code(
            "D0602",
            "exception never applies",
            "An exception or a `first match` line that can never apply.",
            _A + 'element e {\n  general rule false { because "no" }\n'
            '  exception x when a and not a then true { because "x" }\n}\n',
            "warning",
        ),
        Code(
            "D0603",
            "changes nothing",
            "A general rule with no exceptions, or an exception that gives the same outcome as "
            "the rule.",
            _A + 'element e {\n  general rule false { because "no" }\n'
            '  exception x when a then false { because "x" }\n}\n',
            "warning",
        ),
        Code(
            "D0604",
            "no decided case found",
            "A `precedents` line that finds no decided case applying its doctrine.",
            'record precedent {\n  name: text means "n"\n  court: text means "c"\n'
            '  decided: date means "d"\n  recognizes_right: bool means "r"\n'
            '  abrogated: optional date means "a"\n  materially_similar: bool means "m"\n}\n'
            'fact authorities: list of precedent means "authorities"\n'
            + _A
            + _E
            + "doctrine d {\n  element e\n}\n"
            "doctrine d2 {\n  element e\n  precedents for authorities from d\n}\n",
            "warning",
        ),
        Code(
            "D0605",
            "a label and a fact of one name",
            "A name that is both a fact and the label of one of the doctrine's elements, where "
            "either could be meant: compared, the name reads the fact (only facts are "
            "compared); alone as a condition, with a bool fact of that name, it is the element. "
            "Give the element another label to say which is meant.",
            'fact c: enum (low < high) means "c"\nelement e { holds when c >= low }\n'
            "doctrine d {\n  element c = e\n  holds when c >= high\n}\n",
            "warning",
        ),
        Code(
            "D0701",
            "no such doctrine to draw",
            "`doctrine graph FILE --doctrine NAME`: no doctrine of that name in the file or its "
            "imports.",
        ),
    )
}


def code_table() -> str:
    """The registry as a Markdown table of code and what is wrong (docs/codes.md has it)."""
    rows = [f"| {c.code} | {c.title}: {c.explanation} |" for c in CODES.values()]
    return "\n".join(["| code | what is wrong |", "| --- | --- |", *rows]) + "\n"


def diagnostics_page() -> str:
    """docs/diagnostics.md: every code with its meaning and an example, from the registry."""
    out = [
        "# Diagnostic codes",
        "",
        "<!-- Written by `python -m compiler.errors` from the registry in compiler/errors.py;",
        "     do not edit by hand (tests/test_errors.py checks it). -->",
        "",
        "Each problem `doctrine check` (and every command that reads doctrine files) reports",
        "has a code. Errors make the command exit with status 2; warnings are printed and do",
        "not. This page is written from the registry of codes in `compiler/errors.py`.",
        "",
    ]
    for c in CODES.values():
        kind = "warning" if c.severity == "warning" else "error"
        lead = "A warning." if kind == "warning" else "An error."
        out += [f"## {c.code}: {c.title}", "", f"{lead} {c.explanation}", ""]
        if c.example:
            for i, part in enumerate(c.example.split("--- ")):
                if i:
                    name, _, part = part.partition("\n")
                    out += [f"with `{name}` beside it:", ""]
                out += ["```doctrine", part.rstrip("\n"), "```", ""]
    return "\n".join(out).rstrip("\n") + "\n"


if __name__ == "__main__":  # python -m compiler.errors: rewrite docs/diagnostics.md
    import pathlib

    target = pathlib.Path(__file__).resolve().parent.parent / "docs" / "diagnostics.md"
    target.write_text(diagnostics_page(), encoding="utf-8")
    print(f"wrote {target}")
