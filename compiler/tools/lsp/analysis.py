"""What the server knows of a document: its analysis (the loader and checker run over the
editor's unsaved text), positions, and what each name in it refers to."""

from __future__ import annotations

import bisect
import logging
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
from lsprotocol import types
from pygls.workspace import PositionCodec, ServerTextPosition

from ...checking.checker import check_all
from ...checking.project import CheckedProject, Entry
from ...errors import Diagnostic, DoctrineError
from ...syntax import nodes as n
from ...syntax.loader import (
    SUFFIX,
    Loaded,
    Loader,
    display_path,
)
from ...syntax.parser import ParseCache
from .. import highlight

log = logging.getLogger(__name__)

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WORD_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_WORD_ONLY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

# How long the server waits after a change before checking: a burst of keystrokes is one check.
DEBOUNCE = 0.15
# The most `.doctrine` files of the workspace that workspace symbols and references read.
MAX_WORKSPACE_FILES = 2000


# ---------------------------------------------------------------- analysis


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
        return self.cache.parse(text, shown)


@attrs.define
class Analysis:
    """What the compiler found for one document: diagnostics, and names when it loaded."""

    path: Path
    diagnostics: dict[Path, list[Diagnostic]]
    sources: dict[Path, str]
    project: CheckedProject | None = None
    # per module of the analysis, shared by its views from other modules (`at`)
    _values: dict[Path, dict[str, Target]] = attrs.field(factory=dict, repr=False)

    @property
    def scope(self) -> Mapping[str, Entry]:
        if self.project is None:
            return {}
        return self.project.scope(self.path)

    @property
    def module(self) -> n.Module | None:
        if self.project is None:
            return None
        return self.project.loaded.modules.get(self.path)

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
        if self.project is None or path not in self.project.scopes:
            return None
        return attrs.evolve(self, path=path)


def _absolute(shown: str) -> Path:
    return Path(os.path.abspath(shown))


def analyse(path: Path, overlays: dict[Path, str], cache: ParseCache | None = None) -> Analysis:
    """Load and check `path` with the open documents' text; never raises on bad input."""
    path = path.resolve()
    loader = _OverlayLoader(overlays, cache)
    diagnostics: list[Diagnostic] = []
    project = None
    try:
        loader.load(path)
        diagnostics.extend(loader.diagnostics)
        if not loader.diagnostics:
            loaded = Loaded(
                path.parent, loader.modules, loader.imports, loader.sources, tuple(loader.order)
            )
            project = check_all(loaded)
            diagnostics.extend(project.diagnostics)
    except DoctrineError as err:
        diagnostics.extend(err.diagnostics)
    except RecursionError:
        log.warning("%s is nested too deeply to check", path)
    except Exception:  # a bug in the compiler must not take the editor's server down
        log.exception("internal error while checking %s", path)
        project = None
    files = {p for p in loader.order} | {path}
    by_file: dict[Path, list[Diagnostic]] = {p: [] for p in files}
    for d in diagnostics:
        where = _absolute(d.pos.path) if d.pos else path
        bucket = by_file.setdefault(where, [])
        if d not in bucket:
            bucket.append(d)
    sources = {_absolute(shown): text for shown, text in loader.sources.items()}
    return Analysis(path, by_file, sources, project)


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
        scope = analysis.project.scope(entry.module) if analysis.project else {}
        entry = scope.get(doctrine)


def module_path(analysis: Analysis, name: str) -> Path:
    """The file an `import` read: as the loader found it, else beside the importing file."""
    parts = tuple(name.split("."))
    if analysis.project is not None:
        for dep in analysis.project.loaded.imports.get(analysis.path, ()):
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
