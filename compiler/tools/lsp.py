"""The language server behind `doctrine lsp` (pygls 2, over stdio).

- Diagnostics as you type, debounced: after a pause in typing, the changed document is loaded
  with the unsaved text of every open document and run through the real loader and checker,
  then each open document that imports it. Checking runs on a worker thread, so hover and the
  other requests are answered meanwhile from the last analysis; results for a text that has
  changed since are dropped. Parsed modules are cached by their text.
- Hover: a fact's type and meaning, an element's or doctrine's title, requirement and the
  authorities it cites, an authority's citation, an enum value's fact; paths are shown
  relative to the workspace.
- Go to definition, references, document highlights and rename (with prepareRename), across
  imports: facts, records, authorities, elements, doctrines, slot labels (also as `expect`
  keys), enum values, record fields, and the file an `import` names.
- Document symbols (the outline), workspace symbols, semantic tokens, folding ranges.
- Completion of names, narrowed by what precedes the cursor (`custody: ` offers custody's
  values, `cite ` authorities, `import ` module names, ...).
- Code actions: the checker's "did you mean" as a quick fix, and an `import` added for a name
  declared in a module beside the file.
- Formatting with `doctrine fmt`'s layout.
- `untitled:` documents are checked as if they were saved in the workspace folder.

Hover and definition use the last analysis that loaded, so they keep working while the
text has a syntax error.
"""

from __future__ import annotations

import asyncio
import bisect
import concurrent.futures
import hashlib
import json
import logging
import os
import re
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import attrs
from lsprotocol import types
from pygls.io_ import StdoutWriter
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path
from pygls.workspace import PositionCodec, ServerTextPosition

from .. import __version__
from ..checking.checker import Checker, Entry
from ..errors import Diagnostic, DoctrineError
from ..syntax import nodes as n
from ..syntax.loader import (
    LIBRARY_PREFIX,
    SUFFIX,
    Loaded,
    Loader,
    display_path,
    library_dir,
    search_path,
)
from . import highlight

log = logging.getLogger(__name__)

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WORD_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_WORD_ONLY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

# How long the server waits after a change before checking: a burst of keystrokes is one check.
DEBOUNCE = 0.15
# The most `.doctrine` files of the workspace that workspace symbols and references read.
MAX_WORKSPACE_FILES = 2000


# ---------------------------------------------------------------- analysis


class ParseCache:
    """Parsed modules by (shown path, text): an edit re-parses only the file that changed."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self.entries: OrderedDict[tuple[str, str], n.Module] = OrderedDict()
        self.lock = threading.Lock()

    def parse(self, text: str, shown: str, parse: Callable[[str, str], n.Module]) -> n.Module:
        key = (shown, hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest())
        with self.lock:
            found = self.entries.get(key)
            if found is not None:
                self.entries.move_to_end(key)
                return found
        module = parse(text, shown)  # raises DoctrineError on a syntax error: not cached
        with self.lock:
            self.entries[key] = module
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)
        return module


class _OverlayLoader(Loader):
    """The loader, reading open documents from the editor instead of the disk."""

    def __init__(self, overlays: dict[Path, str], cache: ParseCache | None = None) -> None:
        super().__init__()
        self.overlays = overlays
        self.cache = cache

    def read(self, path: Path, at: Any) -> str | None:
        text = self.overlays.get(path.resolve())
        if text is None:
            return super().read(path, at)
        self.sources[display_path(path)] = text
        return text

    def parse(self, text: str, shown: str) -> n.Module:
        if self.cache is None:
            return super().parse(text, shown)
        return self.cache.parse(text, shown, super().parse)


@attrs.define
class Analysis:
    """What the compiler found for one document: diagnostics, and names when it loaded."""

    path: Path
    diagnostics: dict[Path, list[Diagnostic]]
    sources: dict[Path, str]
    checker: Checker | None = None
    # per module of the analysis, shared by its views from other modules (`at`)
    _values: dict[Path, dict[str, Target]] = attrs.field(factory=dict, repr=False)

    @property
    def scope(self) -> dict[str, Entry]:
        if self.checker is None:
            return {}
        return self.checker.scopes.get(self.path, {})

    @property
    def module(self) -> n.Module | None:
        if self.checker is None:
            return None
        return self.checker.loaded.modules.get(self.path)

    @property
    def values(self) -> dict[str, Target]:
        """The enum values in scope, by name (the first fact declaring one wins)."""
        found = self._values.get(self.path)
        if found is None:
            found = {}
            for fact in self.scope.values():
                t = fact.decl.type if fact.kind == "fact" else None
                if not isinstance(t, n.EnumType):
                    continue
                for at, word in enumerate(t.values):
                    pos = t.value_positions[at] if at < len(t.value_positions) else fact.decl.pos
                    found.setdefault(
                        word, Target("value", word, entry=fact, pos=pos, detail=fact.decl.name)
                    )
            self._values[self.path] = found
        return found

    @property
    def files(self) -> set[Path]:
        """Every file the analysis read: the document and what it imports."""
        return {self.path, *self.sources, *self.diagnostics}

    def at(self, path: Path) -> Analysis | None:
        """The same analysis seen from another module of it, if it holds that module."""
        if path == self.path:
            return self
        if self.checker is None or path not in self.checker.scopes:
            return None
        return attrs.evolve(self, path=path)


def _absolute(shown: str) -> Path:
    return Path(os.path.abspath(shown))


def analyse(path: Path, overlays: dict[Path, str], cache: ParseCache | None = None) -> Analysis:
    """Load and check `path` with the open documents' text; never raises on bad input."""
    path = path.resolve()
    loader = _OverlayLoader(overlays, cache)
    diagnostics: list[Diagnostic] = []
    checker = None
    try:
        loader.load(path)
        diagnostics.extend(loader.diagnostics)
        if not loader.diagnostics:
            loaded = Loaded(
                path.parent, loader.modules, loader.imports, loader.sources, tuple(loader.order)
            )
            checker = Checker(loaded)
            checker.check()
            diagnostics.extend(checker.diagnostics)
    except DoctrineError as err:
        diagnostics.extend(err.diagnostics)
    except RecursionError:
        log.warning("%s is nested too deeply to check", path)
    except Exception:  # a bug in the compiler must not take the editor's server down
        log.exception("internal error while checking %s", path)
        checker = None
    files = {p for p in loader.order} | {path}
    by_file: dict[Path, list[Diagnostic]] = {p: [] for p in files}
    for d in diagnostics:
        where = _absolute(d.pos.path) if d.pos else path
        bucket = by_file.setdefault(where, [])
        if d not in bucket:
            bucket.append(d)
    sources = {_absolute(shown): text for shown, text in loader.sources.items()}
    return Analysis(path, by_file, sources, checker)


# ---------------------------------------------------------------- positions


def _lines(text: str) -> list[str]:
    return text.splitlines(True) or [""]


def to_range(codec: PositionCodec, text: str, pos: Any) -> types.Range:
    """A SourcePosition (1-based, end exclusive, code points) as an LSP range."""
    if pos is None or pos.line < 1:
        zero = types.Position(line=0, character=0)
        return types.Range(start=zero, end=zero)
    lines = _lines(text)
    start = ServerTextPosition(pos.line - 1, max(pos.column - 1, 0))
    end = ServerTextPosition(max(pos.end_line, pos.line) - 1, max(pos.end_column - 1, 0))
    if (end.line, end.character) <= (start.line, start.character):
        end = ServerTextPosition(start.line, start.character + 1)
    return types.Range(
        start=codec.position_to_client_units(lines, start),
        end=codec.position_to_client_units(lines, end),
    )


def span_range(
    codec: PositionCodec, lines: list[str], line: int, start: int, end: int
) -> types.Range:
    """A span of one line (0-based, code points) as an LSP range."""
    if line < len(lines) and lines[line].isascii():  # code points are UTF-16 units there
        return types.Range(
            start=types.Position(line=line, character=start),
            end=types.Position(line=line, character=end),
        )
    return types.Range(
        start=codec.position_to_client_units(lines, ServerTextPosition(line, start)),
        end=codec.position_to_client_units(lines, ServerTextPosition(line, end)),
    )


def to_lsp(codec: PositionCodec, text: str, d: Diagnostic) -> types.Diagnostic:
    message = d.message
    if d.label:
        message += f" ({d.label})"
    message += "".join(f"\nnote: {note}" for note in d.notes)
    if d.help:
        message += f"\nhelp: {d.help}"
    return types.Diagnostic(
        range=to_range(codec, text, d.pos),
        message=message,
        severity=(
            types.DiagnosticSeverity.Warning
            if d.severity == "warning"
            else types.DiagnosticSeverity.Error
        ),
        code=d.code,
        source="doctrine",
    )


# ---------------------------------------------------------------- what a name is


@attrs.frozen
class Target:
    """What a name at the cursor refers to."""

    kind: str  # fact, record, authority, element, doctrine, case, value, slot, field, import
    name: str
    entry: Entry | None = None
    pos: Any = None  # where it is declared (SourcePosition)
    path: Path | None = None  # the file, for an import
    detail: str = ""  # the fact of an enum value, the doctrine of a slot
    slot: n.Slot | None = None

    @property
    def key(self) -> tuple[str, str, int, int]:
        """The same for every use of one declaration, wherever it is used from."""
        if self.kind == "import":
            return ("import", str(self.path), 0, 0)
        if self.pos is None or not self.pos.line:
            return (self.kind, self.name, 0, 0)
        return (self.kind, str(_absolute(self.pos.path)), self.pos.line, self.pos.column)


def _word_at(line: str, character: int) -> tuple[str, int, int] | None:
    """The word touching the position (on it, or just after it), found outwards from it."""
    start = min(max(character, 0), len(line))
    while start > 0 and line[start - 1] in _WORD_CHARS:
        start -= 1
    m = _WORD.match(line, start)
    if m is None or m.end() < character:
        return None
    return m.group(), m.start(), m.end()


_STARTS: OrderedDict[int, tuple[n.Module, list[int]]] = OrderedDict()
_STARTS_LOCK = threading.Lock()


def _declaration_at(module: n.Module, line: int) -> Any:
    """The last declaration begun at or before the (1-based) line: the one it most likely
    falls in. Found by bisection, since every name of a file asks."""
    with _STARTS_LOCK:
        found = _STARTS.get(id(module))
        if found is None or found[0] is not module:
            found = (module, [d.pos.line for d in module.declarations])
            _STARTS[id(module)] = found
            while len(_STARTS) > 32:
                _STARTS.popitem(last=False)
    at = bisect.bisect_right(found[1], line) - 1
    return module.declarations[at] if at >= 0 else None


_SLOTS: OrderedDict[int, tuple[n.DoctrineDecl, dict[str, n.Slot]]] = OrderedDict()


def _slot_index(doctrine: n.DoctrineDecl) -> dict[str, n.Slot]:
    """A doctrine's slots by label (the first of a label wins, as the checker reads them)."""
    with _STARTS_LOCK:
        found = _SLOTS.get(id(doctrine))
        if found is None or found[0] is not doctrine:
            index: dict[str, n.Slot] = {}
            for slot in doctrine.slots:
                index.setdefault(slot.label, slot)
            found = (doctrine, index)
            _SLOTS[id(doctrine)] = found
            while len(_SLOTS) > 64:
                _SLOTS.popitem(last=False)
    return found[1]


def _doctrine_at(module: n.Module, line: int) -> n.DoctrineDecl | None:
    """The doctrine whose block the (1-based) line most likely falls in."""
    decl = _declaration_at(module, line)
    return decl if isinstance(decl, n.DoctrineDecl) else None


def _case_at(module: n.Module, line: int) -> n.CaseDecl | None:
    decl = _declaration_at(module, line)
    return decl if isinstance(decl, n.CaseDecl) else None


def _slots(analysis: Analysis, doctrine: str) -> Iterator[tuple[n.DoctrineDecl, n.Slot]]:
    """A doctrine's slots, its own first, then those it extends (through `extends`)."""
    seen: set[str] = set()
    entry = analysis.scope.get(doctrine)
    while entry is not None and entry.kind == "doctrine" and doctrine not in seen:
        seen.add(doctrine)
        decl: n.DoctrineDecl = entry.decl
        for slot in decl.slots:
            yield decl, slot
        if decl.extends is None:
            return
        doctrine = decl.extends.id
        scope = analysis.checker.scopes.get(entry.module, {}) if analysis.checker else {}
        entry = scope.get(doctrine)


def module_path(analysis: Analysis, name: str) -> Path:
    """The file an `import` read: as the loader found it, else beside the importing file."""
    parts = tuple(name.split("."))
    if analysis.checker is not None:
        for dep in analysis.checker.loaded.imports.get(analysis.path, ()):
            if dep.with_suffix("").parts[-len(parts) :] == parts:
                return dep
    return analysis.path.parent.joinpath(*parts).with_suffix(SUFFIX)


def resolve_in(analysis: Analysis, lines: list[str], line: int, character: int) -> Target | None:
    """What the word at a (0-based, code point) position of the analysed file names."""
    if line >= len(lines):
        return None
    found = _word_at(lines[line], character)
    if found is None:
        return None
    word, start, end = found
    text = lines[line]
    before = text[:start]
    module = analysis.module
    if module is not None and re.match(r"\s*import\b", text):
        for imp in module.imports:
            if word in imp.module.split("."):
                return Target("import", imp.module, path=module_path(analysis, imp.module))
    if before.endswith("."):  # a field of a record: `a.court`
        return _field(analysis, word)
    if module is not None:
        case = _case_at(module, line + 1)
        if case is not None and text[end:].lstrip().startswith(":"):
            for pair in case.expect:  # an `expect` key: the doctrine's element of that label
                if pair.pos.line == line + 1 and pair.pos.column - 1 == start:
                    return _label(analysis, case.doctrine.id, word)
        doctrine = _doctrine_at(module, line + 1)
        if doctrine is not None:
            slot = _slot_index(doctrine).get(word)
            if slot is not None and not re.match(r"\s*cite\b", text):
                right = slot.target_pos
                if not (right != slot.pos and right.line == line + 1 and right.column - 1 == start):
                    return Target("slot", word, pos=slot.pos, detail=doctrine.name, slot=slot)
                # else `element custody = custody`: the right side is the element
    entry = analysis.scope.get(word)
    if entry is not None:
        return Target(entry.kind, word, entry=entry, pos=entry.decl.pos)
    value = analysis.values.get(word)
    if value is not None:
        return value
    return _field(analysis, word)


def _label(analysis: Analysis, doctrine: str, word: str) -> Target | None:
    if word == "holds":
        entry = analysis.scope.get(doctrine)
        if entry is not None:
            return Target(entry.kind, doctrine, entry=entry, pos=entry.decl.pos)
        return None
    for decl, slot in _slots(analysis, doctrine):
        if slot.label == word:
            return Target("slot", word, pos=slot.pos, detail=decl.name, slot=slot)
    return None


def resolve(analysis: Analysis, text: str, line: int, character: int) -> Target | None:
    """What the word at a (0-based, code point) position names."""
    return resolve_in(analysis, text.splitlines(), line, character)


def _facts(analysis: Analysis) -> list[Entry]:
    return [e for e in analysis.scope.values() if e.kind == "fact"]


def _field(analysis: Analysis, word: str) -> Target | None:
    for entry in analysis.scope.values():
        if entry.kind == "record":
            for f in entry.decl.fields:
                if f.name == word:
                    return Target("field", word, entry=entry, pos=f.pos, detail=entry.decl.name)
    return None


def slot_declaration(analysis: Analysis, target: Target) -> Any:
    """Where the element behind a slot is declared (the slot itself when it has none)."""
    slot = target.slot
    if slot is None:
        return target.pos
    if slot.element is not None:
        return slot.element.pos
    found = analysis.scope.get(slot.target or "")
    return found.decl.pos if found is not None else target.pos


# ---------------------------------------------------------------- occurrences of names

# One pass over the text for what the server needs of its tokens: strings and comments (so that
# no name is found in them), names, and braces. It follows the Pygments lexer's rules (a test
# checks they find the same names) at a fraction of its cost: semantic tokens are asked for
# after every change.
_SCAN = re.compile(
    r'(?P<prose>"""(?:[^"\\]|\\.|"(?!""))*(?:"""|\Z))'
    r'|(?P<string>"(?:[^"\\\n]|\\.)*(?:"|$))'
    r"|(?P<comment>#[^\n]*)"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<brace>[{}])",
    re.MULTILINE,
)
_RESERVED = frozenset(
    highlight.KEYWORDS
    + highlight.OPERATOR_WORDS
    + highlight.CONSTANTS
    + highlight.TYPES
    + highlight.DECLARATIONS
    + highlight.NAMESPACE
)
_KEY_AFTER = re.compile(r"[ \t]*:")
_STRING_AFTER = re.compile(r"\s+\"")


@attrs.frozen
class Token:
    kind: str  # prose, string, comment, word, brace
    line: int  # 0-based
    column: int  # code points
    text: str
    offset: int  # in the text


def scan(text: str) -> Iterator[Token]:
    """The tokens of the text that the server uses, with their lines and columns."""
    line, line_start, done = 0, 0, 0
    for m in _SCAN.finditer(text):
        start = m.start()
        breaks = text.count("\n", done, start)  # only since the last token: long lines stay linear
        if breaks:
            line += breaks
            line_start = text.rindex("\n", done, start) + 1
        kind = m.lastgroup or ""
        yield Token(kind, line, start - line_start, m.group(), start)
        done = m.end()
        inside = m.group().count("\n")
        if inside:
            line += inside
            line_start = text.rindex("\n", start, done) + 1


def name_spans(text: str) -> Iterator[tuple[int, int, int]]:
    """(line, start, end) of each name in the text (0-based, code points): no keyword, string
    or comment. A reserved word is a name where the lexer makes it one: declared
    (`fact title`), a key (`title: x`), a field (`a.title`), or on an `import` line."""
    previous: Token | None = None
    imports = -1  # the line of the last `import` or `module` keyword
    for token in scan(text):
        if token.kind != "word":
            previous = token
            continue
        word, line, column = token.text, token.line, token.column
        end = column + len(word)
        named = word not in _RESERVED or imports == line
        if word == "name" and _STRING_AFTER.match(text, token.offset + 4):
            named = False  # `name "Pinder v. Johnson"` in an authority
        if not named:
            at = token.offset
            named = (
                (at > 0 and text[at - 1] == ".")
                or bool(_KEY_AFTER.match(text, at + len(word)))
                or (
                    previous is not None
                    and previous.kind == "word"
                    and previous.text in highlight.DECLARATIONS
                    and previous.line == line
                )
            )
        if word in highlight.NAMESPACE and not named:
            imports = line
        if named:
            yield line, column, end
        previous = token


@attrs.frozen
class Occurrence:
    line: int
    start: int
    end: int
    target: Target


def occurrences(analysis: Analysis, text: str) -> Iterator[Occurrence]:
    """Every name in the analysed file's text, with what it names."""
    lines = text.splitlines()
    for line, start, end in name_spans(text):
        target = resolve_in(analysis, lines, line, start)
        if target is not None:
            yield Occurrence(line, start, end, target)


def is_declaration(occ: Occurrence, path: Path) -> bool:
    pos = occ.target.pos
    if occ.target.kind == "import" or pos is None or not pos.line:
        return False
    return _absolute(pos.path) == path and pos.line == occ.line + 1 and pos.column == occ.start + 1


# ---------------------------------------------------------------- hover text


def _type_text(t: n.TypeExpr) -> str:
    if isinstance(t, n.SimpleType):
        return t.kind
    if isinstance(t, n.EnumType):
        return "enum (" + (" < " if t.ordered else ", ").join(t.values) + ")"
    return f"list of {t.record}"


def workspace_path(path: Path, root: Path | None) -> str:
    """A path as the user sees it: relative to the workspace folder when under it."""
    if root is not None:
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            pass
    return str(path)


def _where(pos: Any, root: Path | None) -> str:
    if pos is None or not pos.line:
        return ""
    return f"*{workspace_path(_absolute(pos.path), root)}:{pos.line}*"


def _cites(analysis: Analysis, cites: Iterable[n.Cite], module: Path) -> list[str]:
    checker = analysis.checker
    out = []
    for c in cites:
        entry = checker.scopes.get(module, {}).get(c.authority) if checker else None
        if checker is not None and entry is not None and entry.kind == "authority":
            text = checker.authority(entry).citation(c.pinpoint)
        else:
            text = c.authority + (f", {c.pinpoint}" if c.pinpoint else "")
        out.append(f"- {text}" + (f": “{c.purpose}”" if c.purpose else ""))
    return out


def _element_text(analysis: Analysis, decl: n.ElementDecl, module: Path) -> list[str]:
    out = [f"**element** `{decl.name}`" + (f": {decl.title}" if decl.title else "")]
    checker = analysis.checker
    if checker is not None:
        key = f"{checker.module_name(module)}.{decl.name}"
        element = checker.elements.get(key)
        if element is not None and element.text:
            out += ["", "```doctrine", f"holds when {element.text}", "```"]
    if decl.met:
        out += ["", f"Met: {decl.met}"]
    if decl.unmet:
        out += ["", f"Not met: {decl.unmet}"]
    cites = _cites(analysis, decl.cites, module)
    if cites:
        out += ["", "Authorities:", *cites]
    return out


def hover_text(analysis: Analysis, target: Target, root: Path | None = None) -> str:
    """Markdown for a hover: the meaning of the name and the authorities for it."""
    entry = target.entry
    lines: list[str] = []
    if target.kind == "fact" and entry is not None:
        d: Any = entry.decl
        lines = [f"**fact** `{d.name}`: {_type_text(d.type)}"]
        if d.meaning:
            lines += ["", d.meaning]
        tags = []
        if d.favours:
            tags.append(f"favours {d.favours}")
        tags += [f"known as {k}" for k in d.known_as]
        if tags:
            lines += ["", "; ".join(tags)]
    elif target.kind == "value" and entry is not None:
        d = entry.decl
        lines = [f"**value** `{target.name}` of fact `{d.name}`: {_type_text(d.type)}"]
        if d.meaning:
            lines += ["", f"`{d.name}`: {d.meaning}"]
    elif target.kind == "element" and entry is not None:
        lines = _element_text(analysis, entry.decl, entry.module)
    elif target.kind == "slot" and target.slot is not None:
        slot = target.slot
        lines = [f"**element** `{slot.label}` of doctrine `{target.detail}`"]
        bound = analysis.scope.get(slot.target or "") if slot.element is None else None
        if slot.element is not None:
            lines += ["", *_element_text(analysis, slot.element, analysis.path)]
        elif bound is not None and bound.kind == "element":
            lines += ["", *_element_text(analysis, bound.decl, bound.module)]
        elif bound is not None and bound.kind == "doctrine":
            lines += ["", f"the doctrine `{bound.decl.name}`: {bound.decl.title}"]
    elif target.kind == "doctrine" and entry is not None:
        d = entry.decl
        lines = [f"**doctrine** `{d.name}`" + (f": {d.title}" if d.title else "")]
        if d.source is not None:
            lines += ["", "Source:", *_cites(analysis, [d.source], entry.module)]
        if d.slots:
            lines += ["", "Elements: " + ", ".join(f"`{s.label}`" for s in d.slots)]
        cites = _cites(analysis, d.cites, entry.module)
        if cites:
            lines += ["", "Authorities:", *cites]
    elif target.kind == "authority" and entry is not None:
        checker = analysis.checker
        citation = checker.authority(entry).citation() if checker else entry.decl.name
        lines = [f"**authority** `{entry.decl.name}`", "", citation]
        lines += [f"\n{note}" for note in entry.decl.notes]
    elif target.kind == "record" and entry is not None:
        lines = [f"**record** `{entry.decl.name}`", ""]
        for f in entry.decl.fields:
            opt = "optional " if f.optional else ""
            lines.append(
                f"- `{f.name}`: {opt}{_type_text(f.type)}"
                + (f" — {f.meaning}" if f.meaning else "")
            )
    elif target.kind == "field" and entry is not None:
        f = next(f for f in entry.decl.fields if f.name == target.name)
        lines = [f"**field** `{f.name}` of record `{target.detail}`: {_type_text(f.type)}"]
        if f.meaning:
            lines += ["", f.meaning]
    elif target.kind == "case" and entry is not None:
        d = entry.decl
        lines = [
            f"**case** `{d.name}` under `{d.doctrine.id}`" + (f": {d.title}" if d.title else "")
        ]
    elif target.kind == "import" and target.path is not None:
        lines = [f"**module** `{target.name}`", "", f"*{workspace_path(target.path, root)}*"]
    where = _where(target.pos, root)
    if where and target.kind != "import":
        lines += ["", f"declared at {where}"]
    return "\n".join(lines)


# ---------------------------------------------------------------- completion


_KIND = {
    "fact": types.CompletionItemKind.Variable,
    "element": types.CompletionItemKind.Function,
    "doctrine": types.CompletionItemKind.Class,
    "authority": types.CompletionItemKind.Reference,
    "record": types.CompletionItemKind.Struct,
    "value": types.CompletionItemKind.EnumMember,
    "slot": types.CompletionItemKind.Field,
    "module": types.CompletionItemKind.Module,
}


def module_names(path: Path, limit: int = MAX_WORKSPACE_FILES) -> list[str]:
    """The modules a file can import: `.doctrine` files in its folder and below, then in the
    search path (`--path`, DOCTRINE_PATH), then the installed library's as `doctrine.NAME`."""
    folder = path.parent
    out: list[str] = []
    seen: set[str] = set()

    def add(name: str) -> None:
        if name not in seen:
            seen.add(name)
            out.append(name)

    for found in _doctrine_files(folder, limit):
        if found != path:
            add(".".join(found.relative_to(folder).with_suffix("").parts))
    library = library_dir()
    for entry in search_path():
        prefix = (LIBRARY_PREFIX,) if library is not None and entry == library else ()
        for found in _doctrine_files(entry, limit):
            add(".".join(prefix + found.relative_to(entry).with_suffix("").parts))
    return out


def _doctrine_files(folder: Path, limit: int) -> list[Path]:
    """Up to `limit` `.doctrine` files under the folder, skipping hidden folders and venvs."""
    out: list[Path] = []
    for visited, (here, dirs, names) in enumerate(os.walk(folder)):
        if visited > 4 * limit:  # a home folder as the workspace: do not walk all of it
            break
        dirs[:] = sorted(
            d for d in dirs if not d.startswith(".") and d not in ("node_modules", "__pycache__")
        )
        for name in sorted(names):
            if name.endswith(SUFFIX) and not name.startswith("."):
                out.append(Path(here) / name)
                if len(out) >= limit:
                    return out
    return out


def _item(label: str, kind: str, detail: str = "", doc: str = "") -> types.CompletionItem:
    return types.CompletionItem(
        label=label,
        kind=_KIND.get(kind, types.CompletionItemKind.Text),
        detail=detail or kind,
        documentation=types.MarkupContent(kind=types.MarkupKind.Markdown, value=doc)
        if doc
        else None,
    )


def complete(
    analysis: Analysis, text: str, line: int, character: int
) -> list[types.CompletionItem]:
    """The names that fit at the position."""
    lines = text.splitlines()
    prefix = lines[line][:character] if line < len(lines) else ""
    scope = analysis.scope
    entries = list(scope.values())

    def of(kind: str) -> list[types.CompletionItem]:
        out = []
        for e in entries:
            if e.kind != kind:
                continue
            d = e.decl
            if kind == "fact":
                out.append(_item(d.name, kind, _type_text(d.type), d.meaning))
            else:
                out.append(_item(d.name, kind, kind, getattr(d, "title", "")))
        return out

    def values(fact: str) -> list[types.CompletionItem] | None:
        entry = scope.get(fact)
        if entry is None or entry.kind != "fact":
            return None
        t = entry.decl.type
        if isinstance(t, n.EnumType):
            return [_item(v, "value", f"value of {fact}", entry.decl.meaning) for v in t.values]
        if isinstance(t, n.SimpleType) and t.kind == "bool":
            return [_item(v, "value", "bool") for v in ("true", "false", "unknown")]
        return None

    if re.match(r"\s*import\s+(?:[\w.]+\s*,\s*)*[\w.]*$", prefix):
        return [_item(name, "module", "module") for name in module_names(analysis.path)]
    m = re.search(r"\b([A-Za-z_]\w*)\s*:\s*\w*$", prefix)  # `custody: ` in given / expect
    if m and (found := values(m.group(1))) is not None:
        return found
    m = re.search(r"\b([A-Za-z_]\w*)\s+(?:is\s+not|is|==|!=)\s+\w*$", prefix)
    if m and (found := values(m.group(1))) is not None:
        return found
    if re.search(r"\b(?:cite|source)\s+\w*$", prefix):
        return of("authority")
    if re.search(r"\bunder\s+\w*$", prefix) or re.search(r"\bextends\s+\w*$", prefix):
        return of("doctrine")
    if re.search(r"\belement\s+\w+\s*=\s*\w*$", prefix):
        return of("element") + of("doctrine")
    items = of("fact") + of("element") + of("doctrine")
    module = analysis.module
    if module is not None:
        doctrine = _doctrine_at(module, line + 1)
        if doctrine is not None:
            items += [_item(s.label, "slot", f"element of {doctrine.name}") for s in doctrine.slots]
    for e in entries:
        if e.kind == "fact" and isinstance(e.decl.type, n.EnumType):
            items += [_item(v, "value", f"value of {e.decl.name}") for v in e.decl.type.values]
    seen: set[tuple[str, Any]] = set()
    unique = []
    for item in items:
        if (item.label, item.kind) not in seen:
            seen.add((item.label, item.kind))
            unique.append(item)
    return unique


# ---------------------------------------------------------------- outline and symbols

_SYMBOL = {
    "fact": types.SymbolKind.Variable,
    "record": types.SymbolKind.Struct,
    "authority": types.SymbolKind.Constant,
    "element": types.SymbolKind.Function,
    "doctrine": types.SymbolKind.Class,
    "case": types.SymbolKind.Event,
}
_DECL_KIND = {
    n.FactDecl: "fact",
    n.RecordDecl: "record",
    n.AuthorityDecl: "authority",
    n.ElementDecl: "element",
    n.DoctrineDecl: "doctrine",
    n.CaseDecl: "case",
}


def _name_range(codec: PositionCodec, lines: list[str], pos: Any, name: str) -> types.Range:
    line = max(pos.line - 1, 0)
    start = max(pos.column - 1, 0)
    return span_range(codec, lines, line, start, start + len(name))


def _block_ends(text: str) -> dict[int, int]:
    """For each line (0-based) where a `{` block opens, the line of its `}`."""
    ends: dict[int, int] = {}
    stack: list[int] = []
    for token in scan(text):
        if token.text == "{" and token.kind == "brace":
            stack.append(token.line)
        elif token.text == "}" and token.kind == "brace" and stack:
            opened = stack.pop()
            ends[opened] = max(ends.get(opened, token.line), token.line)
    return ends


def document_symbols(
    module: n.Module, text: str, codec: PositionCodec
) -> list[types.DocumentSymbol]:
    """The outline: each declaration, with a record's fields and a doctrine's elements."""
    lines = _lines(text)
    ends = _block_ends(text)
    out = []
    decls = list(module.declarations)
    for i, decl in enumerate(decls):
        kind = _DECL_KIND[type(decl)]
        first = decl.pos.line - 1
        last = ends.get(first, first)
        if i + 1 < len(decls):  # never past the next declaration
            last = min(last, max(decls[i + 1].pos.line - 2, first))
        end_col = len(lines[last].rstrip("\r\n")) if last < len(lines) else 0
        whole = span_range(codec, lines, first, 0, 0)
        whole.end = codec.position_to_client_units(lines, ServerTextPosition(last, end_col))
        children: list[types.DocumentSymbol] = []
        if isinstance(decl, n.RecordDecl):
            for f in decl.fields:
                r = _name_range(codec, lines, f.pos, f.name)
                children.append(
                    types.DocumentSymbol(
                        name=f.name,
                        kind=types.SymbolKind.Field,
                        range=r,
                        selection_range=r,
                        detail=_type_text(f.type),
                    )
                )
        elif isinstance(decl, n.DoctrineDecl):
            for slot in decl.slots:
                r = _name_range(codec, lines, slot.pos, slot.label)
                children.append(
                    types.DocumentSymbol(
                        name=slot.label,
                        kind=types.SymbolKind.Field,
                        range=r,
                        selection_range=r,
                        detail=f"= {slot.target}" if slot.target else "element",
                    )
                )
        elif isinstance(decl, n.FactDecl) and isinstance(decl.type, n.EnumType):
            for value, pos in zip(decl.type.values, decl.type.value_positions, strict=False):
                r = _name_range(codec, lines, pos, value)
                children.append(
                    types.DocumentSymbol(
                        name=value, kind=types.SymbolKind.EnumMember, range=r, selection_range=r
                    )
                )
        detail = ""
        if isinstance(decl, n.FactDecl):
            detail = _type_text(decl.type)
        elif isinstance(decl, n.CaseDecl):
            detail = f"under {decl.doctrine.id}"
        elif getattr(decl, "title", ""):
            detail = str(getattr(decl, "title", ""))
        out.append(
            types.DocumentSymbol(
                name=decl.name,
                kind=_SYMBOL[kind],
                range=whole,
                selection_range=_name_range(codec, lines, decl.pos, decl.name),
                detail=detail or None,
                children=children or None,
            )
        )
    return out


def matches(query: str, name: str) -> bool:
    """A fuzzy match, as editors do it: the query's letters in order, any case."""
    rest = iter(name.lower())
    return all(ch in rest for ch in query.lower())


# ---------------------------------------------------------------- semantic tokens

TOKEN_TYPES = [
    "namespace",  # a module
    "type",  # a record
    "class",  # a doctrine
    "enumMember",  # a value of an enum fact
    "function",  # an element
    "variable",  # a fact
    "property",  # a doctrine's element label, a record's field
    "event",  # a case
    "macro",  # an authority
]
TOKEN_MODIFIERS = ["declaration"]
_TOKEN_OF = {
    "import": "namespace",
    "record": "type",
    "doctrine": "class",
    "value": "enumMember",
    "element": "function",
    "fact": "variable",
    "slot": "property",
    "field": "property",
    "case": "event",
    "authority": "macro",
}
LEGEND = types.SemanticTokensLegend(token_types=TOKEN_TYPES, token_modifiers=TOKEN_MODIFIERS)


def semantic_tokens(analysis: Analysis, text: str, codec: PositionCodec) -> list[int]:
    """LSP's relative encoding of each name's kind (keywords are the TextMate grammar's job)."""
    lines = _lines(text)
    data: list[int] = []
    last_line, last_start = 0, 0
    for occ in occurrences(analysis, text):
        kind = _TOKEN_OF.get(occ.target.kind)
        if kind is None:
            continue
        r = span_range(codec, lines, occ.line, occ.start, occ.end)
        line, start = r.start.line, r.start.character
        delta = start - last_start if line == last_line else start
        modifiers = 1 if is_declaration(occ, analysis.path) else 0
        data += [
            line - last_line,
            delta,
            r.end.character - start,
            TOKEN_TYPES.index(kind),
            modifiers,
        ]
        last_line, last_start = line, start
    return data


# ---------------------------------------------------------------- folding


def folding_ranges(text: str) -> list[types.FoldingRange]:
    """Blocks in braces, prose strings over several lines, and runs of comment lines."""
    out = []
    for opened, closed in sorted(_block_ends(text).items()):
        if closed - 1 > opened:
            out.append(types.FoldingRange(start_line=opened, end_line=closed - 1))
    comments: list[int] = []
    for token in scan(text):
        if token.kind == "comment":
            comments.append(token.line)
        breaks = token.text.count("\n")
        if token.kind == "prose" and breaks:
            out.append(types.FoldingRange(start_line=token.line, end_line=token.line + breaks))
    run: list[int] = []
    for c in [*comments, -2]:
        if run and c != run[-1] + 1:
            if len(run) > 1:
                out.append(
                    types.FoldingRange(
                        start_line=run[0], end_line=run[-1], kind=types.FoldingRangeKind.Comment
                    )
                )
            run = []
        run.append(c)
    return out


# ---------------------------------------------------------------- code actions

_DID_YOU_MEAN = re.compile(r"did you mean `([A-Za-z_][A-Za-z0-9_.]*)`\?")
_UNKNOWN = re.compile(r"unknown \w+ `([A-Za-z_][A-Za-z0-9_]*)`")


def import_edit(text: str, module: str) -> types.TextEdit:
    """Insert `import MODULE` after the last import, or after the `module` line."""
    lines = text.splitlines()
    at = 0
    for i, line in enumerate(lines):
        if re.match(r"\s*import\b", line) or re.match(r"\s*module\b", line):
            at = i + 1
        elif line.strip() and not line.lstrip().startswith("#") and at:
            break
    new = f"import {module}\n"
    if at and re.match(r"\s*module\b", lines[at - 1]):
        new = "\n" + new  # a blank line between the module line and its imports
    where = types.Position(line=at, character=0)
    return types.TextEdit(range=types.Range(start=where, end=where), new_text=new)


# ---------------------------------------------------------------- the server


class DoctrineServer(LanguageServer):
    """A pygls server that keeps the last analysis of each open document, checks after a pause
    in typing on a worker thread, and re-checks only what a change can affect."""

    def __init__(self) -> None:
        super().__init__("doctrine", __version__)
        self.analyses: dict[str, Analysis] = {}
        self.published: dict[str, set[str]] = {}  # document -> files it published for
        self.cache = ParseCache()
        self.debounce = DEBOUNCE
        self.root: Path | None = None
        self.untitled: dict[Path, str] = {}  # where an untitled document is checked -> its uri
        self.pending: list[str] = []  # documents to check, in order
        self.generation = 0  # bumped by each change
        self.changes: dict[Path, int] = {}  # the generation of each file's last change
        self.timer: asyncio.TimerHandle | None = None
        self.running = False
        self.walked: tuple[float, list[Path]] | None = None  # when, and what was found
        self.side: dict[Path, Analysis] = {}  # analyses of files not open (for references)
        self.executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="doctrine-check"
        )

    # ---- documents and paths

    def path_of(self, uri: str) -> Path | None:
        """The file a document is checked as; an untitled one as if saved in the workspace."""
        path = to_fs_path(uri)
        if path:
            return Path(path).resolve()
        if uri.startswith("untitled:"):
            name = re.sub(r"[^A-Za-z0-9_]", "_", uri.split(":", 1)[1]) or "untitled"
            folder = self.root or Path.cwd()
            where = (folder / f"{name}{SUFFIX}").resolve()
            self.untitled[where] = uri
            return where
        return None

    def uri_of(self, path: Path) -> str:
        return self.untitled.get(path) or from_fs_path(str(path)) or str(path)

    def overlays(self) -> dict[Path, str]:
        out = {}
        for uri, doc in list(self.workspace.text_documents.items()):
            path = self.path_of(uri)
            if path:
                out[path] = doc.source
        return out

    def text_of(self, path: Path, overlays: dict[Path, str] | None = None) -> str | None:
        overlays = self.overlays() if overlays is None else overlays
        if path in overlays:
            return overlays[path]
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def dependents(self, uri: str) -> list[str]:
        """The open documents whose last analysis read the document's file."""
        path = self.path_of(uri)
        return [
            other
            for other, analysis in self.analyses.items()
            if other != uri and path in analysis.files
        ]

    # ---- checking, debounced, off the event loop

    def schedule(self, uris: Iterable[str], delay: float) -> None:
        for uri in uris:
            if uri in self.pending:
                self.pending.remove(uri)
            self.pending.append(uri)
        loop = asyncio.get_running_loop()
        if self.timer is not None:
            self.timer.cancel()
        self.timer = loop.call_later(delay, self._start)

    def _start(self) -> None:
        self.timer = None
        if self.running or not self.pending:
            return  # the running batch starts the next when it ends
        batch, self.pending = self.pending, []
        overlays = self.overlays()
        versions = {uri: self._version(uri) for uri in batch}
        generation = self.generation
        loop = asyncio.get_running_loop()
        self.running = True

        def work() -> list[str]:
            """On the worker thread: check each document; the rest if a change came."""
            for i, uri in enumerate(batch):
                if self.generation != generation:
                    return batch[i:]
                path = self.path_of(uri)
                if path is None:
                    continue
                analysis = analyse(path, overlays, self.cache)
                loop.call_soon_threadsafe(self._publish, uri, analysis, versions[uri], generation)
            return []

        future = loop.run_in_executor(self.executor, work)
        future.add_done_callback(self._finished)

    def _finished(self, future: asyncio.Future[list[str]]) -> None:
        self.running = False
        try:
            left = future.result()
        except Exception:
            log.exception("internal error while checking")
            left = []
        for uri in reversed(left):
            if uri not in self.pending:
                self.pending.insert(0, uri)
        if self.pending and self.timer is None:
            self._start()

    def _version(self, uri: str) -> int | None:
        doc = self.workspace.text_documents.get(uri)
        return doc.version if doc is not None else None

    def _publish(self, uri: str, analysis: Analysis, version: int | None, generation: int) -> None:
        """On the event loop: publish a check's diagnostics unless its text is outdated."""
        if uri not in self.workspace.text_documents:
            return  # closed meanwhile
        if self._version(uri) != version or any(
            self.changes.get(p, 0) > generation for p in analysis.files
        ):
            # It read a text that has changed since: check it again (with the change's batch).
            if uri not in self.pending:
                self.pending.append(uri)
            return
        self.publish(uri, analysis, version)

    def changed(self, uri: str) -> None:
        """Note that a document's text changed (or went back to the disk's)."""
        self.generation += 1
        path = self.path_of(uri)
        if path is not None:
            self.changes[path] = self.generation

    def publish(self, uri: str, analysis: Analysis, version: int | None) -> None:
        if analysis.checker is not None or uri not in self.analyses:
            self.analyses[uri] = analysis
        for path in [p for p, a in list(self.side.items()) if analysis.path in a.files]:
            self.side.pop(path, None)
        codec = self.workspace.position_codec
        open_docs = self.overlays()
        uris = set()
        for file, found in analysis.diagnostics.items():
            if file != analysis.path and file in open_docs:
                continue  # an open document publishes its own diagnostics
            file_uri = self.uri_of(file)
            uris.add(file_uri)
            text = open_docs.get(file) or analysis.sources.get(file, "")
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(
                    uri=file_uri,
                    diagnostics=[to_lsp(codec, text, d) for d in found],
                    version=version if file == analysis.path else None,
                )
            )
        for stale in self.published.get(uri, set()) - uris:
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=stale, diagnostics=[])
            )
        self.published[uri] = uris

    # ---- requests

    def position(self, uri: str, position: types.Position) -> tuple[str, int, int]:
        doc = self.workspace.get_text_document(uri)
        server = doc.position_from_client_units(position)
        return doc.source, server.line, server.character

    def analysis(self, uri: str) -> Analysis | None:
        """The document's last analysis; for a document asked about before its first check
        ended (a request right after opening it), one made now."""
        found = self.analyses.get(uri)
        if found is not None or uri not in self.workspace.text_documents:
            return found
        path = self.path_of(uri)
        if path is None:
            return None
        found = analyse(path, self.overlays(), self.cache)
        self.analyses[uri] = found
        return found

    def target_at(self, uri: str, position: types.Position) -> tuple[Analysis, Target] | None:
        analysis = self.analysis(uri)
        if analysis is None:
            return None
        text, line, character = self.position(uri, position)
        target = resolve(analysis, text, line, character)
        return (analysis, target) if target is not None else None

    def workspace_files(self) -> list[Path]:
        """The workspace's `.doctrine` files and the open documents. The folder is walked
        again after a few seconds, not for each keystroke of a symbol search."""
        now = time.monotonic()
        if self.walked is None or now - self.walked[0] > 5:
            files = _doctrine_files(self.root, MAX_WORKSPACE_FILES) if self.root else []
            self.walked = (now, [p.resolve() for p in files])
        out = list(self.walked[1])
        known = set(out)
        out += [path for path in self.overlays() if path not in known]
        return out

    def analysis_for(self, path: Path, overlays: dict[Path, str]) -> Analysis | None:
        """An analysis that holds the file: an open document's, or one made for it."""
        uri = self.uri_of(path)
        mine = self.analyses.get(uri)
        if mine is not None and mine.checker is not None:
            return mine
        for analysis in list(self.analyses.values()):
            found = analysis.at(path)
            if found is not None:
                return found
        if path not in self.side:
            self.side[path] = analyse(path, overlays, self.cache)
        return self.side[path].at(path)

    def references(
        self, target: Target, overlays: dict[Path, str], declaration: bool = True
    ) -> list[tuple[Path, str, Occurrence]]:
        """Every use of the target's declaration in the workspace and the open documents
        (runs on the worker thread: it may check files no document has opened)."""
        word = re.compile(rf"\b{re.escape(target.name)}\b")
        out = []
        for path in self.workspace_files():
            text = self.text_of(path, overlays)
            if text is None or not word.search(text):
                continue
            analysis = self.analysis_for(path, overlays)
            if analysis is None:
                continue
            for occ in occurrences(analysis, text):
                if text.splitlines()[occ.line][occ.start : occ.end] != target.name:
                    continue
                same = occ.target.key == target.key
                if not same and _shorthand(analysis, occ, target):
                    same = True
                if same and (declaration or not is_declaration(occ, path)):
                    out.append((path, text, occ))
        return out


def _shorthand(analysis: Analysis, occ: Occurrence, target: Target) -> bool:
    """`element plain` in a doctrine names both a label and the element `plain`."""
    slot = occ.target.slot
    if occ.target.kind != "slot" or slot is None or target.kind != "element":
        return False
    if (slot.pos.line, slot.pos.column) != (occ.line + 1, occ.start + 1):
        return False  # a use of the label elsewhere names the label only
    if slot.element is not None or slot.target != target.name or slot.target_pos != slot.pos:
        return False
    entry = analysis.scope.get(slot.target or "")
    return entry is not None and entry.decl.pos == target.pos


# Words a rename may not give whatever the place: those of expressions, and the keys a case's
# `expect` reserves. (Other keywords are refused where the renamed text would not parse.)
KEYWORDS = frozenset(highlight.OPERATOR_WORDS + highlight.CONSTANTS) | {"holds", "missing"}


def _refuse(message: str) -> None:
    from pygls.exceptions import JsonRpcInvalidParams

    raise JsonRpcInvalidParams(message)


def _taken(analysis: Analysis, target: Target, new: str) -> bool:
    """Whether the new name already names something where the target is declared."""
    if target.kind == "slot" and target.detail:
        return any(slot.label == new for _, slot in _slots(analysis, target.detail))
    if target.kind == "value" and target.entry is not None:
        t = target.entry.decl.type
        return isinstance(t, n.EnumType) and new in t.values
    if target.kind == "field" and target.entry is not None:
        return any(f.name == new for f in target.entry.decl.fields)
    home = target.entry.module if target.entry is not None else analysis.path
    seen = analysis.at(home) or analysis
    return new in seen.scope


async def _off_loop(ls: DoctrineServer, work: Callable[[], Any]) -> Any:
    return await asyncio.get_running_loop().run_in_executor(ls.executor, work)


def build_server() -> DoctrineServer:
    """The server with its features registered."""
    server = DoctrineServer()

    @server.feature(types.INITIALIZE)
    def initialize(ls: DoctrineServer, params: types.InitializeParams) -> None:
        folders = params.workspace_folders or []
        root = folders[0].uri if folders else params.root_uri
        path = to_fs_path(root) if root else params.root_path
        ls.root = Path(path).resolve() if path else None
        options = params.initialization_options
        if isinstance(options, dict) and isinstance(options.get("debounce"), int | float):
            # milliseconds, as editors' settings give it; bounded to something sane
            ls.debounce = min(max(float(options["debounce"]), 0.0), 5000.0) / 1000

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: DoctrineServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.schedule([params.text_document.uri], 0)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: DoctrineServer, params: types.DidChangeTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.changed(uri)
        ls.schedule([uri, *ls.dependents(uri)], ls.debounce)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: DoctrineServer, params: types.DidSaveTextDocumentParams) -> None:
        ls.side.clear()

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: DoctrineServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        dependents = ls.dependents(uri)
        ls.analyses.pop(uri, None)
        if uri in ls.pending:
            ls.pending.remove(uri)
        for stale in ls.published.pop(uri, set()):
            ls.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=stale, diagnostics=[])
            )
        ls.changed(uri)
        if dependents:  # they now read the file from the disk
            ls.schedule(dependents, ls.debounce)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls: DoctrineServer, params: types.HoverParams) -> types.Hover | None:
        found = ls.target_at(params.text_document.uri, params.position)
        if found is None:
            return None
        analysis, target = found
        return types.Hover(
            contents=types.MarkupContent(
                kind=types.MarkupKind.Markdown, value=hover_text(analysis, target, ls.root)
            )
        )

    def location(ls: DoctrineServer, analysis: Analysis, pos: Any) -> types.Location | None:
        if pos is None or not pos.line:
            return None
        file = _absolute(pos.path)
        file_text = ls.overlays().get(file) or analysis.sources.get(file) or ""
        return types.Location(
            uri=ls.uri_of(file), range=to_range(ls.workspace.position_codec, file_text, pos)
        )

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    def definition(ls: DoctrineServer, params: types.DefinitionParams) -> types.Location | None:
        found = ls.target_at(params.text_document.uri, params.position)
        if found is None:
            return None
        analysis, target = found
        if target.kind == "import" and target.path is not None:
            zero = types.Position(line=0, character=0)
            return types.Location(
                uri=ls.uri_of(target.path), range=types.Range(start=zero, end=zero)
            )
        if target.kind == "slot":
            return location(ls, analysis, slot_declaration(analysis, target))
        return location(ls, analysis, target.pos)

    @server.feature(types.TEXT_DOCUMENT_REFERENCES)
    async def references(
        ls: DoctrineServer, params: types.ReferenceParams
    ) -> list[types.Location] | None:
        found = ls.target_at(params.text_document.uri, params.position)
        if found is None or found[1].kind == "import":
            return None
        target = found[1]
        overlays = ls.overlays()
        hits = await _off_loop(
            ls, lambda: ls.references(target, overlays, params.context.include_declaration)
        )
        codec = ls.workspace.position_codec
        return [
            types.Location(
                uri=ls.uri_of(path),
                range=span_range(codec, _lines(text), occ.line, occ.start, occ.end),
            )
            for path, text, occ in hits
        ]

    @server.feature(types.TEXT_DOCUMENT_DOCUMENT_HIGHLIGHT)
    def highlights(
        ls: DoctrineServer, params: types.DocumentHighlightParams
    ) -> list[types.DocumentHighlight] | None:
        uri = params.text_document.uri
        found = ls.target_at(uri, params.position)
        if found is None:
            return None
        analysis, target = found
        text = ls.workspace.get_text_document(uri).source
        lines = _lines(text)
        codec = ls.workspace.position_codec
        out = []
        for occ in occurrences(analysis, text):
            if occ.target.key == target.key or _shorthand(analysis, occ, target):
                kind = (
                    types.DocumentHighlightKind.Write
                    if is_declaration(occ, analysis.path)
                    else types.DocumentHighlightKind.Read
                )
                out.append(
                    types.DocumentHighlight(
                        range=span_range(codec, lines, occ.line, occ.start, occ.end), kind=kind
                    )
                )
        return out

    @server.feature(types.TEXT_DOCUMENT_PREPARE_RENAME)
    def prepare_rename(
        ls: DoctrineServer, params: types.PrepareRenameParams
    ) -> types.PrepareRenamePlaceholder | None:
        uri = params.text_document.uri
        found = ls.target_at(uri, params.position)
        if found is None or found[1].kind == "import":
            return None
        text, line, character = ls.position(uri, params.position)
        word = _word_at(text.splitlines()[line], character)
        if word is None:
            return None
        r = span_range(ls.workspace.position_codec, _lines(text), line, word[1], word[2])
        return types.PrepareRenamePlaceholder(range=r, placeholder=word[0])

    @server.feature(types.TEXT_DOCUMENT_RENAME)
    async def rename(ls: DoctrineServer, params: types.RenameParams) -> types.WorkspaceEdit | None:
        new = params.new_name
        if not _WORD_ONLY.match(new) or new in KEYWORDS:
            _refuse(f"`{new}` is not a name doctrine accepts")
        found = ls.target_at(params.text_document.uri, params.position)
        if found is None or found[1].kind == "import":
            return None
        analysis, target = found
        if new != target.name and _taken(analysis, target, new):
            _refuse(f"`{new}` is already declared there: renaming would make two of it")
        overlays = ls.overlays()
        hits = await _off_loop(ls, lambda: ls.references(target, overlays))
        codec = ls.workspace.position_codec
        changes: dict[str, list[types.TextEdit]] = {}
        edited: dict[Path, tuple[str, list[tuple[Occurrence, str]]]] = {}
        for path, text, occ in hits:
            replacement = new
            slot = occ.target.slot
            if occ.target.key != target.key and slot is not None:
                replacement = f"{slot.label} = {new}"  # `element plain`: keep the label
            elif (
                target.kind == "slot"
                and slot is not None
                and slot.target_pos == slot.pos
                and slot.target
                and slot.element is None
                and is_declaration(occ, path)
            ):
                replacement = f"{new} = {slot.target}"  # keep the element it names
            r = span_range(codec, _lines(text), occ.line, occ.start, occ.end)
            changes.setdefault(ls.uri_of(path), []).append(
                types.TextEdit(range=r, new_text=replacement)
            )
            edited.setdefault(path, (text, []))[1].append((occ, replacement))
        for path, (text, edits) in edited.items():  # a keyword may be a name in some places only
            lines = text.split("\n")
            for occ, replacement in sorted(edits, key=lambda e: (e[0].line, -e[0].start)):
                row = lines[occ.line]
                lines[occ.line] = row[: occ.start] + replacement + row[occ.end :]
            try:
                Loader().parse("\n".join(lines), display_path(path))
            except DoctrineError:
                _refuse(f"`{new}` cannot be a name in {workspace_path(path, ls.root)}")
        return types.WorkspaceEdit(changes=changes)

    @server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    def symbols(
        ls: DoctrineServer, params: types.DocumentSymbolParams
    ) -> list[types.DocumentSymbol] | None:
        uri = params.text_document.uri
        text = ls.workspace.get_text_document(uri).source
        path = ls.path_of(uri)
        module: n.Module | None
        try:
            module = ls.cache.parse(text, display_path(path) if path else uri, Loader().parse)
        except DoctrineError:  # while the text does not parse, the outline of the last that did
            analysis = ls.analyses.get(uri)
            module = analysis.module if analysis is not None else None
            if analysis is None or module is None:
                return []
            text = analysis.sources.get(analysis.path, text)
        return document_symbols(module, text, ls.workspace.position_codec)

    @server.feature(types.WORKSPACE_SYMBOL)
    def workspace_symbols(
        ls: DoctrineServer, params: types.WorkspaceSymbolParams
    ) -> list[types.SymbolInformation]:
        overlays = ls.overlays()
        codec = ls.workspace.position_codec
        out: list[types.SymbolInformation] = []
        for path in ls.workspace_files():
            text = ls.text_of(path, overlays)
            if text is None:
                continue
            try:
                module = ls.cache.parse(text, display_path(path), Loader().parse)
            except DoctrineError:
                continue
            lines = _lines(text)
            for decl in module.declarations:
                if not matches(params.query, decl.name):
                    continue
                out.append(
                    types.SymbolInformation(
                        name=decl.name,
                        kind=_SYMBOL[_DECL_KIND[type(decl)]],
                        location=types.Location(
                            uri=ls.uri_of(path),
                            range=_name_range(codec, lines, decl.pos, decl.name),
                        ),
                        container_name=module.name,
                    )
                )
                if len(out) >= 1000:
                    return out
        return out

    @server.feature(types.TEXT_DOCUMENT_SEMANTIC_TOKENS_FULL, LEGEND)
    async def tokens(
        ls: DoctrineServer, params: types.SemanticTokensParams
    ) -> types.SemanticTokens:
        uri = params.text_document.uri
        analysis = ls.analysis(uri)
        if analysis is None:
            return types.SemanticTokens(data=[])
        text = ls.workspace.get_text_document(uri).source
        codec = ls.workspace.position_codec
        # off the event loop: a long file takes a while, and hovers must not wait for it
        data = await _off_loop(ls, lambda: semantic_tokens(analysis, text, codec))
        return types.SemanticTokens(data=data)

    @server.feature(types.TEXT_DOCUMENT_FOLDING_RANGE)
    def folding(ls: DoctrineServer, params: types.FoldingRangeParams) -> list[types.FoldingRange]:
        return folding_ranges(ls.workspace.get_text_document(params.text_document.uri).source)

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]),
    )
    def code_actions(
        ls: DoctrineServer, params: types.CodeActionParams
    ) -> list[types.CodeAction] | None:
        uri = params.text_document.uri
        doc = ls.workspace.get_text_document(uri)
        path = ls.path_of(uri)
        out = []
        for d in params.context.diagnostics:
            if d.source != "doctrine":
                continue
            said = doc.text_in_client_range(d.range) if hasattr(doc, "text_in_client_range") else ""
            m = _DID_YOU_MEAN.search(d.message)
            if m and _WORD_ONLY.match(said):
                out.append(
                    types.CodeAction(
                        title=f"Change `{said}` to `{m.group(1)}`",
                        kind=types.CodeActionKind.QuickFix,
                        diagnostics=[d],
                        is_preferred=True,
                        edit=types.WorkspaceEdit(
                            changes={uri: [types.TextEdit(range=d.range, new_text=m.group(1))]}
                        ),
                    )
                )
            u = _UNKNOWN.search(d.message)
            if u and path is not None:
                for module in _declaring(ls, path, u.group(1)):
                    out.append(
                        types.CodeAction(
                            title=f"Import `{module}` (it declares `{u.group(1)}`)",
                            kind=types.CodeActionKind.QuickFix,
                            diagnostics=[d],
                            edit=types.WorkspaceEdit(
                                changes={uri: [import_edit(doc.source, module)]}
                            ),
                        )
                    )
        return out

    @server.feature(
        types.TEXT_DOCUMENT_COMPLETION,
        types.CompletionOptions(trigger_characters=[" ", ":"]),
    )
    def completion(ls: DoctrineServer, params: types.CompletionParams) -> types.CompletionList:
        uri = params.text_document.uri
        analysis = ls.analysis(uri)
        if analysis is None:
            return types.CompletionList(is_incomplete=False, items=[])
        text, line, character = ls.position(uri, params.position)
        return types.CompletionList(
            is_incomplete=False, items=complete(analysis, text, line, character)
        )

    @server.feature(types.TEXT_DOCUMENT_FORMATTING)
    def formatting(
        ls: DoctrineServer, params: types.DocumentFormattingParams
    ) -> list[types.TextEdit] | None:
        from .fmt import format_source

        doc = ls.workspace.get_text_document(params.text_document.uri)
        try:
            formatted = format_source(doc.source, doc.path or doc.uri)
        except DoctrineError:
            return None  # the diagnostics already say why
        if formatted == doc.source:
            return []
        lines = doc.lines
        end = types.Position(line=len(lines), character=0)
        return [
            types.TextEdit(
                range=types.Range(start=types.Position(line=0, character=0), end=end),
                new_text=formatted,
            )
        ]

    return server


def _declaring(ls: DoctrineServer, path: Path, name: str) -> list[str]:
    """The modules beside the file (or below it) that declare the name, not yet imported."""
    analysis = ls.analyses.get(ls.uri_of(path))
    imported = (
        {imp.module for imp in analysis.module.imports} if analysis and analysis.module else set()
    )
    overlays = ls.overlays()
    out = []
    for module in module_names(path):
        if module in imported:
            continue
        file = path.parent.joinpath(*module.split(".")).with_suffix(SUFFIX)
        text = ls.text_of(file.resolve(), overlays)
        if text is None or name not in text:
            continue
        try:
            parsed = ls.cache.parse(text, display_path(file), Loader().parse)
        except DoctrineError:
            continue
        if any(decl.name == name for decl in parsed.declarations):
            out.append(module)
    return out


# ---------------------------------------------------------------- reading the client's messages

_HEADER = re.compile(rb"Content-Length:[ \t]*([0-9]{1,9})[ \t]*\r?\n", re.IGNORECASE)
_HEADER_END = re.compile(rb"\r?\n\r?\n")
MAX_MESSAGE = 256 * 1024 * 1024


class FrameReader:
    """Splits the client's byte stream into messages.

    Stray bytes and a header with a wrong length lose at most the message they damage (and,
    when the pipe cuts the next header in two, that one): the reader finds the next header
    and goes on. Each byte is scanned a bounded number of times, however the stream is cut.
    """

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.scanned = 0  # how far the body being received was searched for a header

    def feed(self, data: bytes) -> list[bytes | None]:
        """The whole messages the data completes (None for bytes that were no message)."""
        self.buffer += data
        return list(self._take())

    def _drop(self, upto: int) -> None:
        del self.buffer[:upto]
        self.scanned = 0

    def _take(self) -> Iterator[bytes | None]:
        buffer = self.buffer
        while True:
            header = _HEADER.search(buffer)
            if header is None:
                # keep only what could still begin a header
                cut = buffer.rfind(b"\n")
                if cut >= 0:
                    self._drop(cut + 1)
                if len(buffer) > 4096:
                    self._drop(len(buffer) - 4096)
                return
            end = _HEADER_END.search(buffer, header.start())
            if end is None:
                if header.start():
                    self._drop(header.start())
                return
            later = _HEADER.search(buffer, header.end(), end.start())
            if later is not None:  # two headers in one block: the last one counts
                self._drop(later.start())
                continue
            length = int(header.group(1))
            body_start = end.end()
            if length > MAX_MESSAGE:
                self._drop(body_start)
                yield None
                continue
            complete = len(buffer) - body_start >= length
            # A header inside the body (a raw line break cannot be in JSON): the length was
            # wrong, and the message ends where the next begins.
            since = max(body_start, self.scanned - 64)
            inside = _HEADER.search(buffer, since, body_start + length + 64)
            if (
                inside is not None
                and inside.start() < body_start + length
                and (complete or _HEADER_END.search(buffer, inside.start()) is not None)
            ):
                self._drop(inside.start())
                yield None
                continue
            if not complete:
                self.scanned = len(buffer)
                return
            body = bytes(buffer[body_start : body_start + length])
            self._drop(body_start + length)
            yield body


async def _serve(server: DoctrineServer, stdin: BinaryIO) -> None:
    loop = asyncio.get_running_loop()
    chunks: asyncio.Queue[bytes] = asyncio.Queue()
    fd = stdin.fileno()

    def pump() -> None:  # a daemon thread, so a client that keeps stdin open cannot hold exit
        while True:
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            loop.call_soon_threadsafe(chunks.put_nowait, data)
            if not data:
                return

    threading.Thread(target=pump, name="doctrine-lsp-reader", daemon=True).start()
    reader = FrameReader()
    protocol = server.protocol
    stop = server._stop_event
    while stop is None or not stop.is_set():
        data = await chunks.get()
        if not data:
            return
        for body in reader.feed(data):
            if body is None:
                log.warning("skipped bytes that were not a message")
                continue
            try:
                message = json.loads(body, object_hook=protocol.structure_message)
            except Exception:
                log.warning("skipped a message that is not JSON-RPC")
                continue
            if not hasattr(message, "jsonrpc"):
                log.warning("skipped a message that is not JSON-RPC")
                continue
            try:
                protocol.handle_message(message)
            except (SystemExit, KeyboardInterrupt):
                raise
            except Exception:
                log.exception("internal error while handling a message")


def serve(stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
    """Run the server over stdin and stdout until the client exits."""
    logging.basicConfig(level=logging.WARNING, format="doctrine lsp: %(message)s")
    sys.setswitchinterval(0.001)  # let requests through promptly while a check runs
    server = build_server()
    server._stop_event = threading.Event()
    server.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))
    try:
        asyncio.run(_serve(server, stdin or sys.stdin.buffer))
    except BrokenPipeError:
        log.error("the client closed the connection")
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.shutdown()  # type: ignore[no-untyped-call]
        server.executor.shutdown(wait=False, cancel_futures=True)


__all__ = [
    "Analysis",
    "DoctrineServer",
    "FrameReader",
    "analyse",
    "build_server",
    "complete",
    "document_symbols",
    "folding_ranges",
    "resolve",
    "semantic_tokens",
    "serve",
]
