"""A document's shape: its outline, semantic tokens, folding ranges, and the edits of quick
fixes."""

from __future__ import annotations

import re
from typing import Any

from lsprotocol import types
from pygls.workspace import PositionCodec, ServerTextPosition

from ...checking.project import kind_of
from ...syntax import nodes as n
from .analysis import (
    Analysis,
    _lines,
    is_declaration,
    occurrences,
    scan,
    span_range,
)
from .describe import (
    _type_text,
)

# ---------------------------------------------------------------- outline and symbols

_SYMBOL = {
    "fact": types.SymbolKind.Variable,
    "record": types.SymbolKind.Struct,
    "authority": types.SymbolKind.Constant,
    "element": types.SymbolKind.Function,
    "doctrine": types.SymbolKind.Class,
    "case": types.SymbolKind.Event,
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
        kind = kind_of(decl)
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
                        detail=(f"= {slot.target}" if slot.target else "element")
                        + (" (threshold)" if slot.threshold else ""),
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
