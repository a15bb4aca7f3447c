"""Parsing: Lark's LALR parser over grammar/doctrine.lark, and a Transformer to nodes."""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import os
import re
import sys
import textwrap
import threading
from collections import OrderedDict
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import attrs
import lark
from lark import Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from ..errors import Diagnostic, DoctrineError, DoctrineException, SourcePosition, did_you_mean
from . import nodes as n
from .resources import grammar_path


def _cache_folder() -> Path | None:
    """The user's cache folder for doctrine, made private; None where it cannot be used.

    A cached parser is a pickle, and loading a pickle runs code: so only a folder of this
    user's own that no one else can write to is trusted.
    """
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = Path(base) / "doctrine"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = folder.stat()
    except OSError:
        return None
    getuid = getattr(os, "getuid", None)
    if getuid is not None and (info.st_uid != getuid() or info.st_mode & 0o022):
        return None
    return folder


def build_lark(**options: Any) -> lark.Lark:
    """An LALR parser for the grammar; its tables come from the user's cache when saved before.

    Building the tables takes most of a second; loading them a few milliseconds. The cache file
    is named by the grammar's content, these options, and the lark and Python versions, and lark
    checks the same inside it, so an edited grammar or another lark never loads stale tables. It
    is read and written under a lock, so no process sees it half-written.
    """
    grammar = grammar_path().read_text(encoding="utf-8")
    options = {"parser": "lalr", **options}
    folder = _cache_folder()
    if folder is None:
        return lark.Lark(grammar, **options)
    key = hashlib.sha256(
        "\0".join(
            [
                grammar,
                repr(sorted((k, repr(v)) for k, v in options.items() if k != "lexer_callbacks")),
                repr(sorted(options.get("lexer_callbacks", {}))),
                lark.__version__,
                sys.version,
            ]
        ).encode("utf-8")
    ).hexdigest()[:32]
    target = folder / f"grammar-{key}.lark"
    try:
        lock = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return lark.Lark(grammar, **options)
    try:
        with contextlib.suppress(ImportError, OSError):
            import fcntl  # not on Windows, where the cache goes unlocked

            fcntl.flock(lock, fcntl.LOCK_EX)
        return lark.Lark(grammar, cache=str(target), **options)
    finally:
        os.close(lock)  # which releases the lock


# The longest number a doctrine may write: far past any count, sum or limit in law, and well
# inside what Python reads and compiles (4,300 digits) and what a float holds (308 digits).
MAX_NUMBER_DIGITS = 300


@lru_cache(maxsize=1)
def lark_parser() -> lark.Lark:
    """The LALR parser, built once per process (or loaded from the cache) from the grammar."""
    return build_lark(propagate_positions=True, maybe_placeholders=False)


# ---------------------------------------------------------------- syntax errors

# What a terminal is called in an "expected ..." message.
_TERMINAL_NAMES = {
    "NAME": "a name",
    "STRING": 'a string ("...")',
    "DATE": "a date (YYYY-MM-DD)",
    "INT": "a whole number",
    "NUMBER": "a number",
    "LBRACE": "`{`",
    "RBRACE": "`}`",
    "LPAR": "`(`",
    "RPAR": "`)`",
    "LSQB": "`[`",
    "RSQB": "`]`",
    "COMMA": "`,`",
    "COLON": "`:`",
    "DOT": "`.`",
    "EQUAL": "`=`",
    "LESSTHAN": "`<`",
    "COMPARATOR": "a comparison (==, !=, <, <=, >, >=)",
    "$END": "the end of the file",
}

_TOP_LEVEL = {"MODULE", "IMPORT", "FACT", "RECORD", "AUTHORITY", "ELEMENT", "DOCTRINE", "CASE"}
_QUANTIFIERS = {"some", "every", "no"}
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|==|!=|<=|>=|\S")


def _previous_word(text: str, offset: int) -> str:
    """The word or symbol just before `offset`, skipping comments and strings roughly."""
    before = re.sub(r"#[^\n]*", " ", text[:offset])
    words = _WORD.findall(before)
    return words[-1] if words else ""


def _hint(found: str, found_type: str, prev: str, accepts: set[str], context: str) -> str:
    """Help for the slips people make most, judged from the tokens around the error."""
    if "COLON" in accepts and context in ("given", "expect", "facts"):
        return "a value in `given` or `expect` is written `name: value`"
    if found == "=" and ("COMPARATOR" in accepts or "IS" in accepts):
        return "comparisons use `==` (or `is`); a single `=` binds an element to a label"
    if prev == "holds" and found_type not in ("WHEN", "UNLESS"):
        return "`holds` is followed by `when` or `unless`, as in `holds when custody is not none`"
    if prev in _QUANTIFIERS and found_type == "NAME":
        return (
            f"after `not`, `and` or `or`, put the quantifier in parentheses: "
            f"`not ({prev} x in LIST where ...)`"
        )
    if found_type == "STRING" and prev in ("cite", "source"):
        return 'cite a declared authority by its name, as in `cite pinder_v_johnson at "1175"`'
    if "COLON" in accepts and len(accepts) <= 2 and context == "fact":
        return "a fact needs a type, as in `fact promise_of_protection: bool`"
    if accepts >= {"COMMA", "LESSTHAN"} and found_type == "NAME":
        return "separate the values of an enum with `,` (unordered) or `<` (ordered, lowest first)"
    if accepts == {"UNDER"}:
        return "a case names the doctrine it is decided under: `case NAME under DOCTRINE { ... }`"
    return ""


def _describe(terminals: set[str]) -> str:
    names = []
    for term in sorted(terminals):
        if term in _TERMINAL_NAMES:
            names.append(_TERMINAL_NAMES[term])
        elif term.startswith("__") or term in ("WS", "COMMENT"):
            continue
        else:
            names.append(f"`{term.lower()}`")
    names = sorted(set(names))
    if not names:
        return "something else"
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " or " + names[-1]


def _unclosed_brace(text: str) -> tuple[int, int] | None:
    """The line and column of the last `{` never closed, skipping strings and comments."""
    stack: list[tuple[int, int]] = []
    line, col, i = 1, 0, 0
    while i < len(text):
        ch = text[i]
        col += 1
        if ch == "\n":
            line, col = line + 1, 0
        elif ch == "#":
            while i < len(text) and text[i] != "\n":
                i += 1
            continue
        elif ch == '"':
            quote = '"""' if text.startswith('"""', i) else '"'
            j = i + len(quote)
            while j < len(text) and not text.startswith(quote, j):
                if text[j] == "\\":
                    j += 1
                if text[j : j + 1] == "\n":
                    line, col = line + 1, 0
                j += 1
            col += j - i
            i = j + len(quote)
            continue
        elif ch == "{":
            stack.append((line, col))
        elif ch == "}" and stack:
            stack.pop()
        i += 1
    return stack[-1] if stack else None


# The type keywords, and the terminals that show a type may stand where the error is.
_TYPES = ("bool", "date", "text", "number", "enum", "list")
_TYPE_TERMINALS = frozenset({"BOOL", "DATE_TYPE", "TEXT", "NUMBER_TYPE"})


def _type_typo(
    text: str,
    offset: int,
    found: str,
    found_type: str,
    expected: set[str],
    path: str,
    line: int,
    column: int,
) -> Diagnostic | None:
    """`fact x: boolean` or `fact x: boolen`: an unknown type, with the type it is close to.

    The lexer reads `boolean` as the keyword `bool` and then `ean`, so the word is taken whole
    from the text around the error.
    """
    if not found or not (found[0].isalpha() or found[0] == "_"):
        return None
    start = offset
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_"):
        start -= 1
    end = offset
    while end < len(text) and (text[end].isalnum() or text[end] == "_"):
        end += 1
    word = text[start:end]
    glued_to_a_type = start < offset and text[start:offset] in _TYPES
    if not (glued_to_a_type or (found_type == "NAME" and expected & _TYPE_TERMINALS)):
        return None
    first = column - (offset - start)
    return Diagnostic(
        "D0101",
        f"unknown type `{word}`",
        SourcePosition(path, line, first, line, first + len(word)),
        label="not a type",
        help=did_you_mean(word, _TYPES)
        or "the types are bool, date, text, number, enum (A, B) or enum (LOW < HIGH), list of R",
    )


def _syntax_diagnostic(err: UnexpectedInput, text: str, path: str) -> Diagnostic:
    line = getattr(err, "line", -1)
    column = getattr(err, "column", -1)
    lines = text.splitlines() or [""]
    if line is None or line < 1:
        line, column = len(lines), len(lines[-1]) + 1
    width = 1
    found, found_type = "the end of the file", "$END"
    expected: set[str] = set()
    offset = len(text)
    if isinstance(err, UnexpectedToken):
        token = err.token
        expected = set(err.expected)
        interactive = getattr(err, "interactive_parser", None)
        if interactive is not None:
            # A narrower list is a nicety, never a reason to fail while reporting.
            with contextlib.suppress(Exception):
                expected = set(interactive.accepts()) or expected
        if token.type != "$END":
            width = max(len(str(token).splitlines()[0] if str(token) else ""), 1)
            found, found_type = str(token), token.type
            offset = token.start_pos or 0
        else:
            line, column = len(lines), len(lines[-1]) + 1
    elif isinstance(err, UnexpectedCharacters):
        expected = set(err.allowed or ())
        offset = err.pos_in_stream or 0
        if offset < len(text):
            found, found_type = text[offset], "CHAR"
    elif isinstance(err, UnexpectedEOF):
        expected = set(err.expected)
    pos = SourcePosition(path, line, column, line, column + width)

    # A block left open shows up at the end of the file, or where the next declaration starts.
    if "RBRACE" in expected and (found_type == "$END" or found_type in _TOP_LEVEL):
        opened = _unclosed_brace(text[:offset])
        if opened is not None:
            where = (
                "at the end of the block"
                if found_type == "$END"
                else f"before `{found}` on line {line}"
            )
            return Diagnostic(
                "D0102",
                "unclosed block: this `{` is never closed",
                SourcePosition(path, opened[0], opened[1], opened[0], opened[1] + 1),
                label="opened here",
                help=f"add the matching `}}` {where}",
            )
    if found_type == "CHAR" and found == '"':
        rest = text[offset:].split("\n", 1)[0]
        return Diagnostic(
            "D0103",
            "unterminated string",
            SourcePosition(path, line, column, line, column + len(rest)),
            label="this string has no closing quote on its line",
            help='close it with `"`; for text over several lines use triple quotes: """..."""',
        )
    typo = _type_typo(text, offset, found, found_type, expected, path, line, column)
    if typo is not None:
        return typo
    if found in ("favours", "known") and "MEANS" in expected:
        return Diagnostic(
            "D0101",
            f"`{found}` before `means`",
            pos,
            label="a fact's meaning comes first",
            help="write the meaning, then the tags: "
            f'`fact NAME: TYPE means "..." {"known as" if found == "known" else found} ...`',
        )
    if found_type == "CHAR" and found == "'":
        hint = 'strings are written in double quotes: "..."'
    else:
        keywords = re.findall(
            r"\b(fact|given|expect|facts)\b", re.sub(r"#[^\n]*", "", text[:offset])
        )
        context = keywords[-1] if keywords else ""
        hint = _hint(found, found_type, _previous_word(text, offset), expected, context)
    shown = "the end of the file" if found_type == "$END" else f"`{found}`"
    return Diagnostic(
        "D0101",
        f"unexpected {shown}",
        pos,
        label=f"expected {_describe(expected)}",
        help=hint,
    )


# ---------------------------------------------------------------- strings

_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}


class BadEscape(DoctrineException, ValueError):
    """A backslash followed by something the language does not know, at `offset` in the token."""

    def __init__(self, message: str, offset: int, width: int, label: str = "unknown escape"):
        super().__init__(message)
        self.offset, self.width, self.label = offset, width, label


def decode_string(raw: str) -> str:
    """Decode a string token; raises ValueError naming a bad escape."""
    long = raw.startswith('"""')
    body = raw[3:-3] if long else raw[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        j = body.find("\\", i)  # copy the run up to the next backslash at once
        if j < 0:
            out.append(body[i:])
            break
        out.append(body[i:j])
        i = j
        nxt = body[i + 1 : i + 2]
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        elif nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", body[i + 2 : i + 6]):
            code = int(body[i + 2 : i + 6], 16)
            low = body[i + 6 : i + 12]
            if 0xD800 <= code < 0xDC00 and re.fullmatch(r"\\u[dD][c-fC-F][0-9a-fA-F]{2}", low):
                # A pair of escapes, as JSON writes a character beyond U+FFFF: one character.
                out.append(chr(0x10000 + ((code - 0xD800) << 10) + (int(low[2:], 16) - 0xDC00)))
                i += 12
                continue
            if 0xD800 <= code < 0xE000:
                raise BadEscape(
                    f"`\\u{body[i + 2 : i + 6]}` is half of a surrogate pair, not a character",
                    i + (3 if long else 1),
                    6,
                    "lone surrogate",
                )
            out.append(chr(code))
            i += 6
        else:
            raise BadEscape(f"unknown escape `\\{nxt}`", i + (3 if long else 1), len(nxt) + 1)
    text = "".join(out)
    if long:
        # Prose in triple quotes: paragraphs apart by blank lines, lines joined by spaces.
        paragraphs = re.split(r"\n\s*\n", textwrap.dedent(text).strip())
        text = "\n\n".join(" ".join(p.split()) for p in paragraphs)
    return text


# ---------------------------------------------------------------- the transformer


def _tok_pos(path: str, tok: Token) -> SourcePosition:
    return SourcePosition(
        path,
        tok.line or 0,
        tok.column or 0,
        tok.end_line or tok.line or 0,
        tok.end_column or tok.column or 0,
    )


_SINGLE = {
    "title",
    "met",
    "unmet",
    "court",
    "source",
    "name",
    "reporter",
    "year",
    "decided",
    "abrogated",
    "because",
    "period",
    "holds",
    "on",
    "given",
    "expect",
    "rule",
    "first",
    "switch",
    "closed",
    "applied",
    "held",
    "facts",
    "precedents",
    "en_banc",
    "opinion",
    "history",
    "answers",
}


@v_args(meta=True)
class ToNodes(Transformer[Token, n.Module]):
    """Builds nodes from Lark's tree, collecting diagnostics instead of stopping."""

    def __init__(self, path: str):
        super().__init__()
        self.path = path
        self.diagnostics: list[Diagnostic] = []

    # helpers -------------------------------------------------------
    def pos(self, meta: Any) -> SourcePosition:
        if getattr(meta, "empty", True):
            return n.NOWHERE
        return SourcePosition(self.path, meta.line, meta.column, meta.end_line, meta.end_column)

    def tpos(self, tok: Token) -> SourcePosition:
        return _tok_pos(self.path, tok)

    def fail(
        self, code: str, message: str, pos: SourcePosition, label: str = "", help: str = ""
    ) -> None:
        self.diagnostics.append(Diagnostic(code, message, pos, label=label, help=help))

    def string(self, meta: Any, children: list[Token]) -> n.Value:
        return n.Value(kind="string", value=self._str(children[0]), pos=self.tpos(children[0]))

    def _str(self, tok: Token) -> str:
        try:
            return decode_string(str(tok))
        except BadEscape as exc:
            before = str(tok)[: exc.offset]
            line = (tok.line or 0) + before.count("\n")
            column = (
                (len(before) - before.rfind("\n"))
                if "\n" in before
                else (tok.column or 0) + len(before)
            )
            self.fail(
                "D0103",
                f"bad string: {exc}",
                SourcePosition(self.path, line, column, line, column + exc.width),
                label=exc.label,
                help='the escapes are \\" \\\\ \\n \\t and \\uXXXX; write a backslash as `\\\\`',
            )
            return ""

    def _date(self, tok: Token) -> datetime.date | None:
        try:
            return datetime.date.fromisoformat(str(tok))
        except ValueError:
            self.fail(
                "D0104",
                f"`{tok}` is not a calendar date",
                self.tpos(tok),
                label="no such day",
                help="dates are written YYYY-MM-DD, as 1989-02-22",
            )
            return None

    def _items(self, kind: str, items: list[Any]) -> dict[str, Any]:
        """Gather (key, value, pos) items, reporting properties given twice."""
        out: dict[str, Any] = {}
        for item in items:
            if isinstance(item, n.Exception_):
                out.setdefault("exception", []).append(item)
                continue
            key, value, pos = item
            if key in _SINGLE:
                if key in out:
                    self.fail(
                        "D0105",
                        f"`{key}` is given twice in this {kind}",
                        pos,
                        label="second one here",
                        help=f"keep one `{key}`",
                    )
                    continue
                out[key] = value
            else:
                out.setdefault(key, []).append(value)
        return out

    # module --------------------------------------------------------
    def start(self, meta: Any, children: list[Any]) -> n.Module:
        name, title = "", ""
        imports: list[n.Import] = []
        decls = []
        for child in children:
            if isinstance(child, tuple) and child and child[0] == "module":
                name, title = child[1], child[2]
            elif isinstance(child, list):
                imports.extend(child)
            else:
                decls.append(child)
        return n.Module(
            path=self.path,
            name=name,
            title=title,
            imports=tuple(imports),
            declarations=tuple(decls),
            pos=self.pos(meta),
        )

    def module_decl(self, meta: Any, children: list[Any]) -> tuple[str, str, str]:
        title = self._str(children[1]) if len(children) > 1 else ""
        return ("module", children[0][0], title)

    def import_stmt(self, meta: Any, children: list[Any]) -> list[n.Import]:
        return [n.Import(module=name, pos=pos) for name, pos in children]

    def dotted_name(self, meta: Any, children: list[Token]) -> tuple[str, SourcePosition]:
        return ".".join(str(c) for c in children), self.pos(meta)

    # facts ---------------------------------------------------------
    def fact_decl(self, meta: Any, children: list[Any]) -> n.FactDecl:
        name, typ = children[0], children[1]
        meaning = next((c for c in children[2:] if isinstance(c, str)), "")
        tags = [c for c in children[2:] if isinstance(c, tuple)]
        favours = [value for key, value in tags if key == "favours"]
        if len(favours) > 1:
            self.fail("D0105", f"`favours` is given twice for `{name}`", self.tpos(name))
        return n.FactDecl(
            name=str(name),
            type=typ,
            meaning=meaning,
            favours=favours[0] if favours else "",
            known_as=tuple(value for key, value in tags if key == "known_as"),
            pos=self.tpos(name),
        )

    def favours_tag(self, meta: Any, c: list[Token]) -> tuple[str, str]:
        return ("favours", str(c[0]))

    def known_as_tag(self, meta: Any, c: list[Token]) -> tuple[str, str]:
        return ("known_as", self._str(c[0]))

    def fact_meaning(self, meta: Any, children: list[Any]) -> str:
        return self._str(children[0])

    def meaning(self, meta: Any, children: list[Any]) -> str:
        return self._str(children[0])

    def simple_type(self, meta: Any, children: list[Token]) -> n.SimpleType:
        return n.SimpleType(kind=str(children[0]), pos=self.pos(meta))  # type: ignore[arg-type]

    def _enum(self, meta: Any, children: list[Token], ordered: bool) -> n.EnumType:
        return n.EnumType(
            values=tuple(str(c) for c in children),
            ordered=ordered,
            value_positions=tuple(self.tpos(c) for c in children),
            pos=self.pos(meta),
        )

    def enum_type(self, meta: Any, children: list[Token]) -> n.EnumType:
        return self._enum(meta, children, False)

    def scale_type(self, meta: Any, children: list[Token]) -> n.EnumType:
        return self._enum(meta, children, True)

    def list_type(self, meta: Any, children: list[Token]) -> n.ListType:
        return n.ListType(record=str(children[0]), pos=self.tpos(children[0]))

    def record_decl(self, meta: Any, children: list[Any]) -> n.RecordDecl:
        return n.RecordDecl(
            name=str(children[0]), fields=tuple(children[1:]), pos=self.tpos(children[0])
        )

    def field_decl(self, meta: Any, children: list[Any]) -> n.FieldDecl:
        name = children[0]
        optional = False
        rest = list(children[1:])
        if isinstance(rest[0], Token) and rest[0].type == "OPTIONAL":
            optional = True
            rest = rest[1:]
        meaning = rest[1] if len(rest) > 1 else ""
        return n.FieldDecl(
            name=str(name), type=rest[0], optional=optional, meaning=meaning, pos=self.tpos(name)
        )

    # authorities -----------------------------------------------------
    def authority_decl(self, meta: Any, children: list[Any]) -> n.AuthorityDecl:
        name = children[0]
        props = self._items("authority", children[1:])
        abrogated = props.get("abrogated") or (None, None)
        return n.AuthorityDecl(
            name=str(name),
            title=props.get("name", ""),
            reporter=props.get("reporter", ""),
            court=props.get("court", ""),
            year=props.get("year"),
            decided=props.get("decided"),
            abrogated=abrogated[0],
            abrogated_by=abrogated[1],
            notes=tuple(props.get("note", [])),
            applied=props.get("applied"),
            held=props.get("held"),
            facts=props["facts"].value if "facts" in props else (),
            en_banc=props.get("en_banc", False),
            opinion=props.get("opinion", ""),
            history=props.get("history", ""),
            pos=self.tpos(name),
        )

    def applied_item(self, meta: Any, c: list[Token]) -> tuple[str, n.Name, SourcePosition]:
        return ("applied", n.Name(id=str(c[0]), pos=self.tpos(c[0])), self.pos(meta))

    def held_item(self, meta: Any, c: list[Token]) -> tuple[str, bool, SourcePosition]:
        return ("held", not c, self.pos(meta))

    def facts_item(self, meta: Any, c: list[Any]) -> tuple[str, n.Value, SourcePosition]:
        return ("facts", c[0], self.pos(meta))

    def precedents_item(self, meta: Any, c: list[Token]) -> tuple[str, Any, SourcePosition]:
        names = (
            n.Name(id=str(c[0]), pos=self.tpos(c[0])),
            n.Name(id=str(c[1]), pos=self.tpos(c[1])),
        )
        return ("precedents", names, self.pos(meta))

    def en_banc_item(self, meta: Any, c: list[Any]) -> tuple[str, bool, SourcePosition]:
        return ("en_banc", True, self.pos(meta))

    def opinion_item(self, meta: Any, c: list[Any]) -> tuple[str, str, SourcePosition]:
        return ("opinion", self._str(c[0]), self.pos(meta))

    def history_item(self, meta: Any, c: list[Any]) -> tuple[str, str, SourcePosition]:
        return ("history", self._str(c[0]), self.pos(meta))

    def name_item(self, meta: Any, c: list[Any]) -> tuple[str, str, SourcePosition]:
        return ("name", self._str(c[0]), self.pos(meta))

    def reporter_item(self, meta: Any, c: list[Any]) -> tuple[str, str, SourcePosition]:
        return ("reporter", self._str(c[0]), self.pos(meta))

    def decided_item(self, meta: Any, c: list[Token]) -> tuple[str, Any, SourcePosition]:
        return ("decided", self._date(c[0]), self.pos(meta))

    def year_item(self, meta: Any, c: list[Token]) -> tuple[str, int, SourcePosition]:
        text = str(c[0])
        # Checked on the text: a 5,000-digit year must not reach int() (Python refuses it).
        if len(text) > 4 or not datetime.MINYEAR <= int(text) <= datetime.MAXYEAR:
            self.fail(
                "D0104",
                f"`{text[:20]}{'...' if len(text) > 20 else ''}` is not a year of the calendar",
                self.tpos(c[0]),
                label="no such year",
                help=f"years run from {datetime.MINYEAR} to {datetime.MAXYEAR}",
            )
            return ("year", datetime.MAXYEAR, self.pos(meta))
        return ("year", int(text), self.pos(meta))

    def abrogated_item(self, meta: Any, c: list[Token]) -> tuple[str, Any, SourcePosition]:
        by = str(c[1]) if len(c) > 1 else None
        return ("abrogated", (self._date(c[0]), by), self.pos(meta))

    # elements ------------------------------------------------------
    def title_item(self, meta: Any, c: list[Any]) -> tuple[str, str, SourcePosition]:
        return ("title", self._str(c[0]), self.pos(meta))

    def met_item(self, meta: Any, c: list[Any]) -> tuple[str, str, SourcePosition]:
        return ("met", self._str(c[0]), self.pos(meta))

    def unmet_item(self, meta: Any, c: list[Any]) -> tuple[str, str, SourcePosition]:
        return ("unmet", self._str(c[0]), self.pos(meta))

    def note_item(self, meta: Any, c: list[Any]) -> tuple[str, str, SourcePosition]:
        return ("note", self._str(c[0]), self.pos(meta))

    def court_item(self, meta: Any, c: list[Any]) -> tuple[str, str, SourcePosition]:
        return ("court", self._str(c[0]), self.pos(meta))

    def because_item(self, meta: Any, c: list[Any]) -> tuple[str, str, SourcePosition]:
        return ("because", self._str(c[0]), self.pos(meta))

    def holds_item(self, meta: Any, c: list[Any]) -> tuple[str, n.Condition, SourcePosition]:
        cond = n.Condition(unless=str(c[0]) == "unless", expr=c[1], pos=self.pos(meta))
        return ("holds", cond, self.pos(meta))

    def pinpoint(self, meta: Any, c: list[Any]) -> tuple[str, str]:
        return ("pinpoint", self._str(c[0]))

    def purpose(self, meta: Any, c: list[Any]) -> tuple[str, str]:
        return ("purpose", self._str(c[0]))

    def _cite(self, meta: Any, c: list[Any]) -> n.Cite:
        parts = dict(c[1:])
        return n.Cite(
            authority=str(c[0]),
            pinpoint=parts.get("pinpoint", ""),
            purpose=parts.get("purpose", ""),
            pos=self.tpos(c[0]),
        )

    def cite_item(self, meta: Any, c: list[Any]) -> tuple[str, n.Cite, SourcePosition]:
        return ("cite", self._cite(meta, c), self.pos(meta))

    def source_item(self, meta: Any, c: list[Any]) -> tuple[str, n.Cite, SourcePosition]:
        return ("source", self._cite(meta, c), self.pos(meta))

    # general rules and exceptions ------------------------------------
    def outcome(self, meta: Any, c: list[Any]) -> n.Outcome:
        if isinstance(c[0], n.Open):
            return c[0]
        return str(c[0]) == "true"

    def open_outcome(self, meta: Any, c: list[Token]) -> n.Open:
        return n.Open(reason=self._str(c[0]), pos=self.pos(meta))

    # switches and burdens --------------------------------------------
    def switch_arm(self, meta: Any, c: list[Any]) -> n.SwitchArm:
        result = c[1] if isinstance(c[1], n.Open) else _normalise_operands(c[1])
        return n.SwitchArm(value=c[0], result=result, pos=self.pos(meta))

    def switch_otherwise(self, meta: Any, c: list[Any]) -> tuple[str, Any, SourcePosition]:
        result = c[0] if isinstance(c[0], n.Open) else _normalise_operands(c[0])
        return ("otherwise", result, self.pos(meta))

    def switch_item(self, meta: Any, c: list[Any]) -> tuple[str, n.Switch, SourcePosition]:
        arms = tuple(x for x in c[1:] if isinstance(x, n.SwitchArm))
        other = next((x for x in c[1:] if isinstance(x, tuple)), None)
        switch = n.Switch(
            fact=n.Name(id=str(c[0]), pos=self.tpos(c[0])),
            arms=arms,
            otherwise=other[1] if other else None,
            otherwise_pos=other[2] if other else n.NOWHERE,
            pos=self.pos(meta),
        )
        return ("switch", switch, self.pos(meta))

    def burden_when(self, meta: Any, c: list[Any]) -> tuple[str, Any]:
        return ("when", _normalise_operands(c[0]))

    def burden_item(self, meta: Any, c: list[Any]) -> tuple[str, n.Burden, SourcePosition]:
        fact, value = c[1], c[2]
        rest = c[3:]
        condition = None
        if rest and isinstance(rest[0], tuple) and rest[0][0] == "when":
            condition = rest[0][1]
            rest = rest[1:]
        props = self._items("burden", rest)
        self._no_over(props, "a burden")
        burden = n.Burden(
            fact=n.Name(id=str(fact), pos=self.tpos(fact)),
            value=value,
            condition=condition,
            because=props.get("because", ""),
            cites=tuple(props.get("cite", [])),
            pos=self.pos(meta),
        )
        return ("burden", burden, self.pos(meta))

    def over_item(
        self, meta: Any, c: list[Token]
    ) -> tuple[str, tuple[n.Name, ...], SourcePosition]:
        return ("over", tuple(n.Name(id=str(t), pos=self.tpos(t)) for t in c), self.pos(meta))

    def rule_item(self, meta: Any, c: list[Any]) -> tuple[str, n.GeneralRule, SourcePosition]:
        props = self._items("general rule", c[1:])
        self._no_over(props, "a general rule")
        rule = n.GeneralRule(
            outcome=c[0],
            because=props.get("because", ""),
            cites=tuple(props.get("cite", [])),
            pos=self.pos(meta),
        )
        return ("rule", rule, self.pos(meta))

    def _no_over(self, props: dict[str, Any], what: str) -> None:
        for names in props.get("over", []):
            self.fail(
                "D0105",
                f"`over` ranks exceptions; {what} has none to rank",
                names[0].pos,
                help="put `over OTHER` inside the exception that prevails",
            )

    def exception_item(self, meta: Any, c: list[Any]) -> n.Exception_:
        props = self._items("exception", c[3:])
        over = tuple(name for names in props.get("over", []) for name in names)
        return n.Exception_(
            label=str(c[0]),
            condition=_normalise_operands(c[1]),
            outcome=c[2],
            because=props.get("because", ""),
            cites=tuple(props.get("cite", [])),
            over=over,
            exceptions=tuple(props.get("exception", [])),
            pos=self.tpos(c[0]),
        )

    def branch_item(self, meta: Any, c: list[Any]) -> n.Branch:
        props = self._items("line", c[2:])
        self._no_over(props, "a first-match line")
        return n.Branch(
            condition=_normalise_operands(c[0]),
            outcome=c[1],
            because=props.get("because", ""),
            cites=tuple(props.get("cite", [])),
            pos=self.pos(meta),
        )

    def otherwise_item(self, meta: Any, c: list[Any]) -> n.Branch:
        props = self._items("line", c[1:])
        self._no_over(props, "`otherwise`")
        return n.Branch(
            condition=None,
            outcome=c[0],
            because=props.get("because", ""),
            cites=tuple(props.get("cite", [])),
            pos=self.pos(meta),
        )

    def first_match_item(self, meta: Any, c: list[Any]) -> tuple[str, n.FirstMatch, SourcePosition]:
        first = n.FirstMatch(branches=tuple(c[:-1]), otherwise=c[-1], pos=self.pos(meta))
        return ("first", first, self.pos(meta))

    def _element(self, name: Token, items: list[Any]) -> n.ElementDecl:
        props = self._items("element", items)
        return n.ElementDecl(
            name=str(name),
            title=props.get("title", ""),
            condition=props.get("holds"),
            rule=props.get("rule"),
            exceptions=tuple(props.get("exception", [])),
            first_match=props.get("first"),
            switch=props.get("switch"),
            burdens=tuple(props.get("burden", [])),
            cites=tuple(props.get("cite", [])),
            met=props.get("met", ""),
            unmet=props.get("unmet", ""),
            notes=tuple(props.get("note", [])),
            pos=self.tpos(name),
        )

    def element_decl(self, meta: Any, c: list[Any]) -> n.ElementDecl:
        return self._element(c[0], c[1:])

    # doctrines -----------------------------------------------------
    def from_date(self, meta: Any, c: list[Token]) -> tuple[str, Any]:
        return ("from", self._date(c[0]))

    def until_date(self, meta: Any, c: list[Token]) -> tuple[str, Any]:
        return ("until", self._date(c[0]))

    def period_item(self, meta: Any, c: list[Any]) -> tuple[str, dict[str, Any], SourcePosition]:
        return ("period", dict(c), self.pos(meta))

    def slot_bare(self, meta: Any, c: list[Token]) -> tuple[str, n.Slot, SourcePosition]:
        slot = n.Slot(
            label=str(c[0]), target=str(c[0]), pos=self.tpos(c[0]), target_pos=self.tpos(c[0])
        )
        return ("slot", slot, self.pos(meta))

    def slot_alias(self, meta: Any, c: list[Token]) -> tuple[str, n.Slot, SourcePosition]:
        slot = n.Slot(
            label=str(c[0]), target=str(c[1]), pos=self.tpos(c[0]), target_pos=self.tpos(c[1])
        )
        return ("slot", slot, self.pos(meta))

    def slot_inline(self, meta: Any, c: list[Any]) -> tuple[str, n.Slot, SourcePosition]:
        element = self._element(c[0], c[1:])
        return (
            "slot",
            n.Slot(label=str(c[0]), element=element, pos=self.tpos(c[0])),
            self.pos(meta),
        )

    def threshold_alias(self, meta: Any, c: list[Token]) -> tuple[str, n.Slot, SourcePosition]:
        target = c[1] if len(c) > 1 else c[0]
        slot = n.Slot(
            label=str(c[0]),
            target=str(target),
            threshold=True,
            pos=self.tpos(c[0]),
            target_pos=self.tpos(target),
        )
        return ("slot", slot, self.pos(meta))

    def threshold_inline(self, meta: Any, c: list[Any]) -> tuple[str, n.Slot, SourcePosition]:
        element = self._element(c[0], c[1:])
        slot = n.Slot(label=str(c[0]), element=element, threshold=True, pos=self.tpos(c[0]))
        return ("slot", slot, self.pos(meta))

    def on_item(self, meta: Any, c: list[Token]) -> tuple[str, tuple[n.Name, ...], SourcePosition]:
        return ("on", tuple(n.Name(id=str(t), pos=self.tpos(t)) for t in c), self.pos(meta))

    def rejects_item(self, meta: Any, c: list[Any]) -> tuple[str, n.Rejects, SourcePosition]:
        props = self._items("theory", c[1:])
        rejects = n.Rejects(
            name=str(c[0]),
            title=props.get("title", ""),
            on=props.get("on", ()),
            because=props.get("because", ""),
            cites=tuple(props.get("cite", [])),
            pos=self.tpos(c[0]),
        )
        return ("rejects", rejects, self.pos(meta))

    def closed_item(self, meta: Any, c: list[Token]) -> tuple[str, bool, SourcePosition]:
        return ("closed", True, self.pos(meta))

    def drop_item(self, meta: Any, c: list[Token]) -> tuple[str, n.Name, SourcePosition]:
        return ("drop", n.Name(id=str(c[0]), pos=self.tpos(c[0])), self.pos(meta))

    def doctrine_decl(self, meta: Any, c: list[Any]) -> n.DoctrineDecl:
        name = c[0]
        rest = list(c[1:])
        extends = None
        if rest and isinstance(rest[0], Token):
            extends = n.Name(id=str(rest[0]), pos=self.tpos(rest[0]))
            rest = rest[1:]
        props = self._items("doctrine", rest)
        period = props.get("period", {})
        return n.DoctrineDecl(
            name=str(name),
            extends=extends,
            title=props.get("title", ""),
            source=props.get("source"),
            court=props.get("court", ""),
            in_force_from=period.get("from"),
            in_force_until=period.get("until"),
            slots=tuple(props.get("slot", [])),
            condition=props.get("holds"),
            rule=props.get("rule"),
            exceptions=tuple(props.get("exception", [])),
            first_match=props.get("first"),
            switch=props.get("switch"),
            burdens=tuple(props.get("burden", [])),
            rejects=tuple(props.get("rejects", [])),
            dropped=tuple(props.get("drop", [])),
            closed_world=props.get("closed", False),
            precedents=props.get("precedents"),
            answers=props.get("answers"),
            cites=tuple(props.get("cite", [])),
            notes=tuple(props.get("note", [])),
            pos=self.tpos(name),
        )

    def answers_item(self, meta: Any, c: list[Token]) -> tuple[str, n.Name, SourcePosition]:
        return ("answers", n.Name(id=str(c[0]), pos=self.tpos(c[0])), self.pos(meta))

    # cases ---------------------------------------------------------
    def case_decl(self, meta: Any, c: list[Any]) -> n.CaseDecl:
        props = self._items("case", c[2:])
        return n.CaseDecl(
            name=str(c[0]),
            doctrine=n.Name(id=str(c[1]), pos=self.tpos(c[1])),
            title=props.get("title", ""),
            source=props.get("source"),
            notes=tuple(props.get("note", [])),
            given=props.get("given", n.Value(kind="mapping", value=())).value,
            expect=props.get("expect", n.Value(kind="mapping", value=())).value,
            pos=self.tpos(c[0]),
        )

    def given_item(self, meta: Any, c: list[Any]) -> tuple[str, n.Value, SourcePosition]:
        return ("given", c[0], self.pos(meta))

    def expect_item(self, meta: Any, c: list[Any]) -> tuple[str, n.Value, SourcePosition]:
        return ("expect", c[0], self.pos(meta))

    def mapping(self, meta: Any, c: list[n.Pair]) -> n.Value:
        seen: set[str] = set()
        for pair in c:
            if pair.key in seen:
                self.fail(
                    "D0105",
                    f"`{pair.key}` is given twice",
                    pair.pos,
                    label="second one here",
                    help=f"keep one `{pair.key}`",
                )
            seen.add(pair.key)
        return n.Value(kind="mapping", value=tuple(c), pos=self.pos(meta))

    def pair(self, meta: Any, c: list[Any]) -> n.Pair:
        return n.Pair(key=str(c[0]), value=c[1], pos=self.tpos(c[0]))

    # values and operands share these: the tree tells which by its parent
    def date(self, meta: Any, c: list[Token]) -> n.Value:
        return n.Value(kind="date", value=self._date(c[0]), pos=self.tpos(c[0]))

    def number(self, meta: Any, c: list[Token]) -> n.Value:
        text = str(c[0])
        if len(text) > MAX_NUMBER_DIGITS:
            # Python refuses to read (or to compile) a whole number this long, and a decimal
            # this long is not one a float can hold.
            self.fail(
                "D0107",
                f"a number of {len(text):,} digits is longer than doctrine reads",
                self.tpos(c[0]),
                label="too long",
                help=f"numbers have at most {MAX_NUMBER_DIGITS} digits",
            )
            return n.Value(kind="number", value=0, pos=self.tpos(c[0]))
        value: int | float = float(text) if "." in text else int(text)
        return n.Value(kind="number", value=value, pos=self.tpos(c[0]))

    def true(self, meta: Any, c: list[Any]) -> n.Value:
        return n.Value(kind="bool", value=True, pos=self.pos(meta))

    def false(self, meta: Any, c: list[Any]) -> n.Value:
        return n.Value(kind="bool", value=False, pos=self.pos(meta))

    def unknown(self, meta: Any, c: list[Any]) -> n.Value:
        return n.Value(kind="unknown", value=None, pos=self.pos(meta))

    def word(self, meta: Any, c: list[Token]) -> n.Value:
        return n.Value(kind="word", value=str(c[0]), pos=self.tpos(c[0]))

    def sequence(self, meta: Any, c: list[n.Value]) -> n.Value:
        return n.Value(kind="list", value=tuple(c), pos=self.pos(meta))

    # expressions ---------------------------------------------------
    def name(self, meta: Any, c: list[Token]) -> n.Name:
        return n.Name(id=str(c[0]), pos=self.tpos(c[0]))

    def field(self, meta: Any, c: list[Token]) -> n.Field:
        return n.Field(var=str(c[0]), field=str(c[1]), pos=self.pos(meta))

    def _flatten(self, cls: type, c: list[Any]) -> list[Any]:
        out: list[Any] = []
        for item in c:
            out.extend(getattr(item, "items", ()) if isinstance(item, cls) else [item])
        return out

    def or_(self, meta: Any, c: list[Any]) -> n.Or:
        return n.Or(items=tuple(self._flatten(n.Or, c)), pos=self.pos(meta))

    def and_(self, meta: Any, c: list[Any]) -> n.And:
        return n.And(items=tuple(self._flatten(n.And, c)), pos=self.pos(meta))

    def not_(self, meta: Any, c: list[Any]) -> n.Not:
        return n.Not(item=c[0], pos=self.pos(meta))

    def all_of(self, meta: Any, c: list[Any]) -> n.And:
        return n.And(items=tuple(c), pos=self.pos(meta))

    def any_of(self, meta: Any, c: list[Any]) -> n.Or:
        return n.Or(items=tuple(c), pos=self.pos(meta))

    def at_least(self, meta: Any, c: list[Any]) -> n.AtLeast:
        return n.AtLeast(count=int(c[0]), items=tuple(c[1:]), pos=self.pos(meta))

    def compare(self, meta: Any, c: list[Any]) -> n.Compare:
        return n.Compare(
            op=str(c[1]), left=_operand(c[0]), right=_operand(c[2]), pos=self.pos(meta)
        )

    def is_(self, meta: Any, c: list[Any]) -> n.Compare:
        return n.Compare(op="==", left=_operand(c[0]), right=_operand(c[1]), pos=self.pos(meta))

    def is_not(self, meta: Any, c: list[Any]) -> n.Compare:
        return n.Compare(op="!=", left=_operand(c[0]), right=_operand(c[1]), pos=self.pos(meta))

    def presence(self, meta: Any, c: list[Any]) -> n.Presence:
        return n.Presence(
            operand=_operand(c[0]), present=str(c[1]) == "present", pos=self.pos(meta)
        )

    def quantified(self, meta: Any, c: list[Any]) -> n.Quantified:
        return n.Quantified(
            quantifier=str(c[0]),  # type: ignore[arg-type]
            var=str(c[1]),
            collection=n.Name(id=str(c[2]), pos=self.tpos(c[2])),
            body=_operand(c[3]),
            pos=self.pos(meta),
        )


def _operand(item: Any) -> Any:
    """Literals inside expressions become Literal_ nodes; everything else passes."""
    if isinstance(item, n.Value):
        return n.Literal_(value=item.value, pos=item.pos)  # type: ignore[arg-type]
    return item


def _normalise_operands(expr: Any) -> Any:
    """Turn the stray string tuples and Values the grammar shares with cases into Literal_."""
    expr = _operand(expr)
    if isinstance(expr, (n.And, n.Or)):
        return type(expr)(items=tuple(_normalise_operands(i) for i in expr.items), pos=expr.pos)
    if isinstance(expr, n.AtLeast):
        return n.AtLeast(
            count=expr.count, items=tuple(_normalise_operands(i) for i in expr.items), pos=expr.pos
        )
    if isinstance(expr, n.Not):
        return n.Not(item=_normalise_operands(expr.item), pos=expr.pos)
    if isinstance(expr, n.Quantified):
        return attrs.evolve(expr, body=_normalise_operands(expr.body))
    if isinstance(expr, n.Compare):
        return attrs.evolve(
            expr, left=_normalise_operands(expr.left), right=_normalise_operands(expr.right)
        )
    if isinstance(expr, n.Presence):
        return attrs.evolve(expr, operand=_normalise_operands(expr.operand))
    return expr


# Deeper than this a file is refused: the compiler's passes recurse over the tree, and the
# compiled module must stay within what Python's own parser takes (some 200 parentheses).
MAX_NESTING = 48


def _flatten_junctions(tree: lark.Tree[Token]) -> None:
    """Splice `a or b or c`, which Lark builds one level per operator, into one node (in place,
    without recursion), so that a long list of conditions is not taken for deep nesting."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if node.data in ("or_", "and_"):
            flat: list[Any] = []
            todo = list(reversed(node.children))
            while todo:
                child = todo.pop()
                if isinstance(child, lark.Tree) and child.data == node.data:
                    todo.extend(reversed(child.children))
                else:
                    flat.append(child)
            node.children = flat
        stack.extend(c for c in node.children if isinstance(c, lark.Tree))


def _too_deep(tree: lark.Tree[Token], path: str) -> Diagnostic | None:
    """A diagnostic at the first place nested more than MAX_NESTING deep, if there is one."""
    stack: list[tuple[lark.Tree[Token], int, SourcePosition]] = [(tree, 1, n.NOWHERE)]
    while stack:
        node, depth, pos = stack.pop()
        meta = node.meta
        if not getattr(meta, "empty", True):
            pos = SourcePosition(path, meta.line, meta.column, meta.line, meta.column + 1)
        if depth > MAX_NESTING:
            return Diagnostic(
                "D0106",
                f"nested more than {MAX_NESTING} deep",
                pos if pos is not n.NOWHERE else None,
                label="too deep here",
                help="name the inner parts as elements of their own and use them by name",
            )
        stack.extend((c, depth + 1, pos) for c in node.children if isinstance(c, lark.Tree))
    return None


def strip_bom(text: str) -> str:
    """The text without the byte order mark some editors put at the start of a UTF-8 file.

    Editors do not count the mark as a column, so positions stay as the user sees them.
    """
    return text[1:] if text.startswith("\ufeff") else text


def parse(text: str, path: str) -> n.Module:
    """Parse one file's text into a Module; raises DoctrineError with every syntax problem."""
    text = strip_bom(text)
    try:
        tree = lark_parser().parse(text)
    except UnexpectedInput as err:
        raise DoctrineError([_syntax_diagnostic(err, text, path)], {path: text}) from None
    _flatten_junctions(tree)
    deep = _too_deep(tree, path)
    if deep is not None:
        raise DoctrineError([deep], {path: text})
    builder = ToNodes(path)
    try:
        module = builder.transform(tree)
    except lark.exceptions.VisitError as err:  # an internal bug, never the user's mistake
        raise err.orig_exc from None
    if builder.diagnostics:
        raise DoctrineError(builder.diagnostics, {path: text})
    return _fix_conditions(module)


class ParseCache:
    """Parsed modules by (shown path, text), most recently used kept.

    A module is frozen all the way down, so one parse serves every later load of the same text
    at the same path in this process: the language server re-parses only the file that changed,
    and a process that compiles the same files again (the web app, the MCP server, a notebook,
    the tests' in-process command line) parses each once. A syntax error is never cached, so it
    is reported again each time. Texts longer than `max_chars` are not kept (they would pin
    their whole syntax tree in memory for a load that is rarely repeated).
    """

    def __init__(self, size: int = 512, max_chars: int | None = None) -> None:
        self.size = size
        self.max_chars = max_chars
        self.entries: OrderedDict[tuple[str, str], n.Module] = OrderedDict()
        self.lock = threading.Lock()

    def parse(
        self, text: str, shown: str, parser: Callable[[str, str], n.Module] | None = None
    ) -> n.Module:
        """The module of `text` at `shown`, parsed by `parser` (`parse` by default)."""
        parser = parser or parse
        if self.max_chars is not None and len(text) > self.max_chars:
            return parser(text, shown)
        key = (shown, hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest())
        with self.lock:
            found = self.entries.get(key)
            if found is not None:
                self.entries.move_to_end(key)
                return found
        module = parser(text, shown)  # raises DoctrineError on a syntax error: not cached
        with self.lock:
            self.entries[key] = module
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)
        return module


PARSED = ParseCache(size=256, max_chars=1_000_000)
"""The process's parsed files, which `syntax.loader.Loader` reads through."""


def _fix_conditions(module: n.Module) -> n.Module:
    def cond(c: n.Condition | None) -> n.Condition | None:
        return None if c is None else attrs.evolve(c, expr=_normalise_operands(c.expr))

    def element(e: n.ElementDecl) -> n.ElementDecl:
        return attrs.evolve(e, condition=cond(e.condition))

    decls: list[Any] = []
    for d in module.declarations:
        if isinstance(d, n.ElementDecl):
            d = element(d)
        elif isinstance(d, n.DoctrineDecl):
            slots = tuple(
                attrs.evolve(s, element=element(s.element)) if s.element else s for s in d.slots
            )
            d = attrs.evolve(d, slots=slots, condition=cond(d.condition))
        decls.append(d)
    return attrs.evolve(module, declarations=tuple(decls))
