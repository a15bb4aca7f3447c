"""The language server behind `doctrine lsp` (pygls 2, over stdio).

- Diagnostics as you type: every open document is loaded with its unsaved text (and the
  unsaved text of any other open document it imports) and run through the real loader and
  checker; their diagnostics are published for each file of the compilation.
- Hover: a fact's type and meaning, an element's or doctrine's title, requirement and the
  authorities it cites, an authority's citation, an enum value's fact.
- Go to definition, across imports: facts, records, authorities, elements, doctrines, slot
  labels, enum values, and the file an `import` names.
- Completion of fact, element, doctrine, authority and enum value names, narrowed by what
  precedes the cursor (`custody: ` offers custody's values, `cite ` authorities, ...).
- Formatting with `doctrine fmt`'s layout.

Hover and definition use the last analysis that loaded, so they keep working while the
text has a syntax error.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import attrs
from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path
from pygls.workspace import PositionCodec, ServerTextPosition

from .. import __version__
from ..checking.checker import Checker, Entry
from ..errors import Diagnostic, DoctrineError
from ..syntax import nodes as n
from ..syntax.loader import Loaded, Loader, display_path

log = logging.getLogger(__name__)

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


# ---------------------------------------------------------------- analysis


class _OverlayLoader(Loader):
    """The loader, reading open documents from the editor instead of the disk."""

    def __init__(self, overlays: dict[Path, str]) -> None:
        super().__init__()
        self.overlays = overlays

    def read(self, path: Path, at: Any) -> str | None:
        text = self.overlays.get(path.resolve())
        if text is None:
            return super().read(path, at)
        self.sources[display_path(path)] = text
        return text


@attrs.define
class Analysis:
    """What the compiler found for one document: diagnostics, and names when it loaded."""

    path: Path
    diagnostics: dict[Path, list[Diagnostic]]
    sources: dict[Path, str]
    checker: Checker | None = None

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


def _absolute(shown: str) -> Path:
    return Path(os.path.abspath(shown))


def analyse(path: Path, overlays: dict[Path, str]) -> Analysis:
    """Load and check `path` with the open documents' text; never raises on bad input."""
    path = path.resolve()
    loader = _OverlayLoader(overlays)
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


def _word_at(line: str, character: int) -> tuple[str, int, int] | None:
    for m in _WORD.finditer(line):
        if m.start() <= character <= m.end():
            return m.group(), m.start(), m.end()
    return None


def _doctrine_at(module: n.Module, line: int) -> n.DoctrineDecl | None:
    """The doctrine whose block the (1-based) line most likely falls in."""
    best = None
    for decl in module.declarations:  # in the order written: the last one begun before line
        if decl.pos.line <= line:
            best = decl if isinstance(decl, n.DoctrineDecl) else None
    return best


def resolve(analysis: Analysis, text: str, line: int, character: int) -> Target | None:
    """What the word at a (0-based, code point) position names."""
    lines = text.splitlines()
    if line >= len(lines):
        return None
    found = _word_at(lines[line], character)
    if found is None:
        return None
    word, start, _ = found
    before = lines[line][:start]
    module = analysis.module
    if module is not None and re.match(r"\s*import\b", lines[line]):
        for imp in module.imports:
            if word in imp.module.split("."):
                target = analysis.path.parent.joinpath(*imp.module.split(".")).with_suffix(
                    ".doctrine"
                )
                return Target("import", imp.module, path=target)
    if before.endswith("."):  # a field of a record: `a.court`
        return _field(analysis, word)
    if module is not None:
        doctrine = _doctrine_at(module, line + 1)
        if doctrine is not None:
            for slot in doctrine.slots:
                if slot.label == word and not re.match(r"\s*cite\b", lines[line]):
                    return Target("slot", word, pos=slot.pos, detail=doctrine.name, slot=slot)
    entry = analysis.scope.get(word)
    if entry is not None:
        return Target(entry.kind, word, entry=entry, pos=entry.decl.pos)
    for fact in _facts(analysis):
        t = fact.decl.type
        if isinstance(t, n.EnumType) and word in t.values:
            at = t.values.index(word)
            pos = t.value_positions[at] if at < len(t.value_positions) else fact.decl.pos
            return Target("value", word, entry=fact, pos=pos, detail=fact.decl.name)
    return _field(analysis, word)


def _facts(analysis: Analysis) -> list[Entry]:
    return [e for e in analysis.scope.values() if e.kind == "fact"]


def _field(analysis: Analysis, word: str) -> Target | None:
    for entry in analysis.scope.values():
        if entry.kind == "record":
            for f in entry.decl.fields:
                if f.name == word:
                    return Target("field", word, entry=entry, pos=f.pos, detail=entry.decl.name)
    return None


# ---------------------------------------------------------------- hover text


def _type_text(t: n.TypeExpr) -> str:
    if isinstance(t, n.SimpleType):
        return t.kind
    if isinstance(t, n.EnumType):
        return "enum (" + (" < " if t.ordered else ", ").join(t.values) + ")"
    return f"list of {t.record}"


def _where(analysis: Analysis, pos: Any) -> str:
    if pos is None or not pos.line:
        return ""
    return f"*{Path(pos.path).name}:{pos.line}*"


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


def hover_text(analysis: Analysis, target: Target) -> str:
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
        lines = [f"**module** `{target.name}`", "", f"*{display_path(target.path)}*"]
    where = _where(analysis, target.pos)
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
}


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


# ---------------------------------------------------------------- the server


class DoctrineServer(LanguageServer):
    """A pygls server that keeps the last analysis of each open document."""

    def __init__(self) -> None:
        super().__init__("doctrine", __version__)
        self.analyses: dict[str, Analysis] = {}
        self.published: dict[str, set[str]] = {}  # document -> files it published for

    def overlays(self) -> dict[Path, str]:
        out = {}
        for uri, doc in self.workspace.text_documents.items():
            path = to_fs_path(uri)
            if path:
                out[Path(path).resolve()] = doc.source
        return out

    def check(self, uri: str) -> None:
        path = to_fs_path(uri)
        if not path:
            return
        analysis = analyse(Path(path), self.overlays())
        if analysis.checker is not None or uri not in self.analyses:
            self.analyses[uri] = analysis
        codec = self.workspace.position_codec
        open_docs = self.overlays()
        uris = set()
        for file, found in analysis.diagnostics.items():
            file_uri = from_fs_path(str(file)) or str(file)
            uris.add(file_uri)
            text = open_docs.get(file) or analysis.sources.get(file, "")
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(
                    uri=file_uri, diagnostics=[to_lsp(codec, text, d) for d in found]
                )
            )
        for stale in self.published.get(uri, set()) - uris:
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=stale, diagnostics=[])
            )
        self.published[uri] = uris

    def position(self, uri: str, position: types.Position) -> tuple[str, int, int]:
        doc = self.workspace.get_text_document(uri)
        server = doc.position_from_client_units(position)
        return doc.source, server.line, server.character


def build_server() -> DoctrineServer:
    """The server with its features registered."""
    server = DoctrineServer()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: DoctrineServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.check(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: DoctrineServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.check(params.text_document.uri)
        for other in list(ls.analyses):  # documents that import this one see the change
            if other != params.text_document.uri:
                ls.check(other)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: DoctrineServer, params: types.DidSaveTextDocumentParams) -> None:
        ls.check(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: DoctrineServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.analyses.pop(uri, None)
        for stale in ls.published.pop(uri, set()):
            ls.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=stale, diagnostics=[])
            )

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls: DoctrineServer, params: types.HoverParams) -> types.Hover | None:
        uri = params.text_document.uri
        analysis = ls.analyses.get(uri)
        if analysis is None:
            return None
        text, line, character = ls.position(uri, params.position)
        target = resolve(analysis, text, line, character)
        if target is None:
            return None
        return types.Hover(
            contents=types.MarkupContent(
                kind=types.MarkupKind.Markdown, value=hover_text(analysis, target)
            )
        )

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    def definition(ls: DoctrineServer, params: types.DefinitionParams) -> types.Location | None:
        uri = params.text_document.uri
        analysis = ls.analyses.get(uri)
        if analysis is None:
            return None
        text, line, character = ls.position(uri, params.position)
        target = resolve(analysis, text, line, character)
        if target is None:
            return None
        if target.kind == "import" and target.path is not None:
            zero = types.Position(line=0, character=0)
            return types.Location(
                uri=from_fs_path(str(target.path)) or "", range=types.Range(start=zero, end=zero)
            )
        pos = target.pos
        if target.kind == "slot" and target.slot is not None:
            slot = target.slot
            bound = analysis.scope.get(slot.target or "") if slot.element is None else None
            pos = slot.element.pos if slot.element is not None else bound.decl.pos if bound else pos
        if pos is None or not pos.line:
            return None
        file = _absolute(pos.path)
        file_text = ls.overlays().get(file) or analysis.sources.get(file) or ""
        return types.Location(
            uri=from_fs_path(str(file)) or "",
            range=to_range(ls.workspace.position_codec, file_text, pos),
        )

    @server.feature(
        types.TEXT_DOCUMENT_COMPLETION,
        types.CompletionOptions(trigger_characters=[" ", ":"]),
    )
    def completion(ls: DoctrineServer, params: types.CompletionParams) -> types.CompletionList:
        uri = params.text_document.uri
        analysis = ls.analyses.get(uri)
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


def serve() -> None:
    """Run the server over stdin and stdout until the client exits."""
    logging.basicConfig(level=logging.WARNING, format="doctrine lsp: %(message)s")
    build_server().start_io()


__all__ = ["Analysis", "DoctrineServer", "analyse", "build_server", "complete", "serve"]
