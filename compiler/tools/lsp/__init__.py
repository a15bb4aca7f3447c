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

from .analysis import Analysis, analyse, name_spans, resolve
from .describe import complete, hover_text
from .outline import document_symbols, folding_ranges, semantic_tokens
from .server import DoctrineServer, build_server
from .wire import FrameReader, serve

__all__ = [
    "Analysis",
    "DoctrineServer",
    "FrameReader",
    "analyse",
    "build_server",
    "complete",
    "document_symbols",
    "folding_ranges",
    "hover_text",
    "name_spans",
    "resolve",
    "semantic_tokens",
    "serve",
]
