"""The server: documents, debounced checks on a worker thread, and each request's handler."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import re
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from ... import __version__
from ...checking.project import kind_of
from ...errors import DoctrineError
from ...syntax import nodes as n
from ...syntax.loader import (
    SUFFIX,
    Loader,
    display_path,
)
from ...syntax.parser import ParseCache
from .. import highlight
from .analysis import (
    _WORD_ONLY,
    DEBOUNCE,
    MAX_WORKSPACE_FILES,
    Analysis,
    Occurrence,
    Target,
    _absolute,
    _lines,
    _slots,
    _word_at,
    analyse,
    is_declaration,
    occurrences,
    resolve,
    slot_declaration,
    span_range,
    to_lsp,
    to_range,
)
from .describe import (
    _doctrine_files,
    complete,
    hover_text,
    importable,
    workspace_path,
)
from .outline import (
    _DID_YOU_MEAN,
    _SYMBOL,
    _UNKNOWN,
    LEGEND,
    _name_range,
    document_symbols,
    folding_ranges,
    import_edit,
    matches,
    semantic_tokens,
)

# ---------------------------------------------------------------- the server

log = logging.getLogger(__name__)


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
        if analysis.project is not None or uri not in self.analyses:
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
        if mine is not None and mine.project is not None:
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

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def files_changed(ls: DoctrineServer, params: types.DidChangeWatchedFilesParams) -> None:
        """Files changed on the disk (a checkout, another program): the open documents that
        read one are checked again."""
        ls.side.clear()
        ls.walked = None
        open_paths = ls.overlays()
        affected: list[str] = []
        for change in params.changes:
            path = ls.path_of(change.uri)
            if path is None or path in open_paths:
                continue  # an open document's text is the editor's, not the disk's
            ls.generation += 1
            ls.changes[path] = ls.generation
            affected += [
                uri
                for uri, analysis in ls.analyses.items()
                if path in analysis.files and uri not in affected
            ]
        if affected:
            ls.schedule(affected, ls.debounce)

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
    async def symbols(
        ls: DoctrineServer, params: types.DocumentSymbolParams
    ) -> list[types.DocumentSymbol] | None:
        uri = params.text_document.uri
        text = ls.workspace.get_text_document(uri).source
        path = ls.path_of(uri)
        analysis = ls.analyses.get(uri)
        codec = ls.workspace.position_codec

        def outline() -> list[types.DocumentSymbol]:  # off the loop: a long file parses slowly
            source = text
            module: n.Module | None
            try:
                shown = display_path(path) if path else uri
                module = ls.cache.parse(source, shown)
            except DoctrineError:  # while the text does not parse, the last outline that did
                module = analysis.module if analysis is not None else None
                if analysis is None or module is None:
                    return []
                source = analysis.sources.get(analysis.path, text)
            return document_symbols(module, source, codec)

        found: list[types.DocumentSymbol] = await _off_loop(ls, outline)
        return found

    @server.feature(types.WORKSPACE_SYMBOL)
    async def workspace_symbols(
        ls: DoctrineServer, params: types.WorkspaceSymbolParams
    ) -> list[types.SymbolInformation]:
        overlays = ls.overlays()
        codec = ls.workspace.position_codec
        files = ls.workspace_files()
        uris = {path: ls.uri_of(path) for path in files}

        def search() -> list[types.SymbolInformation]:  # off the loop: it may parse many files
            out: list[types.SymbolInformation] = []
            for path in files:
                text = ls.text_of(path, overlays)
                if text is None:
                    continue
                try:
                    module = ls.cache.parse(text, display_path(path))
                except DoctrineError:
                    continue
                lines = _lines(text)
                for decl in module.declarations:
                    if not matches(params.query, decl.name):
                        continue
                    out.append(
                        types.SymbolInformation(
                            name=decl.name,
                            kind=_SYMBOL[kind_of(decl)],
                            location=types.Location(
                                uri=uris[path],
                                range=_name_range(codec, lines, decl.pos, decl.name),
                            ),
                            container_name=module.name,
                        )
                    )
                    if len(out) >= 1000:
                        return out
            return out

        found: list[types.SymbolInformation] = await _off_loop(ls, search)
        return found

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
        from ..fmt import format_source

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
    """The modules the file can import (beside it, on the search path, in the library) that
    declare the name and are not imported yet."""
    analysis = ls.analyses.get(ls.uri_of(path))
    imported = (
        {imp.module for imp in analysis.module.imports} if analysis and analysis.module else set()
    )
    overlays = ls.overlays()
    out = []
    for module, file in importable(path).items():
        if module in imported:
            continue
        text = ls.text_of(file, overlays)
        if text is None or name not in text:
            continue
        try:
            parsed = ls.cache.parse(text, display_path(file))
        except DoctrineError:
            continue
        if any(decl.name == name for decl in parsed.declarations):
            out.append(module)
    return out
