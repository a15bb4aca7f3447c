"""What the server says about a name: hover text, and the names completion offers."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from lsprotocol import types

from ...syntax import nodes as n
from ...syntax.loader import (
    LIBRARY_PREFIX,
    SUFFIX,
    library_dir,
    search_path,
)
from .analysis import (
    MAX_WORKSPACE_FILES,
    Analysis,
    Target,
    _absolute,
    _doctrine_at,
)

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
    project = analysis.project
    out = []
    for c in cites:
        entry = project.scope(module).get(c.authority) if project else None
        authority = project.authority(entry) if project and entry else None
        if authority is not None:
            text = authority.citation(c.pinpoint)
        else:
            text = c.authority + (f", {c.pinpoint}" if c.pinpoint else "")
        out.append(f"- {text}" + (f": “{c.purpose}”" if c.purpose else ""))
    return out


def _element_text(analysis: Analysis, decl: n.ElementDecl, module: Path) -> list[str]:
    out = [f"**element** `{decl.name}`" + (f": {decl.title}" if decl.title else "")]
    project = analysis.project
    if project is not None:
        name = project.module_names.get(module)
        element = project.elements.get(f"{name}.{decl.name}") if name else None
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
        role = "threshold" if slot.threshold else "element"
        lines = [f"**{role}** `{slot.label}` of doctrine `{target.detail}`"]
        if role == "threshold":
            lines += ["", "Answered first: when it fails, the other elements are not reached."]
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
        authority = analysis.project.authority(entry) if analysis.project else None
        citation = authority.citation() if authority else entry.decl.name
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
        shown = workspace_path(target.path, root)
        library = library_dir()
        if library is not None and Path(shown).is_absolute():  # outside the workspace
            with contextlib.suppress(ValueError):
                shown = f"the installed library: {target.path.relative_to(library.resolve())}"
        lines = [f"**module** `{target.name}`", "", f"*{shown}*"]
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


def importable(path: Path, limit: int = MAX_WORKSPACE_FILES) -> dict[str, Path]:
    """The modules a file can import, by the name an `import` gives them: `.doctrine` files in
    its folder and below, then in the search path (`--path`, DOCTRINE_PATH), then the
    installed library's as `doctrine.NAME`. A file reachable by two names is listed once."""
    folder = path.parent
    out: dict[str, Path] = {}
    files: set[Path] = {path.resolve()}

    def add(name: str, file: Path) -> None:
        resolved = file.resolve()
        if name not in out and resolved not in files:
            files.add(resolved)
            out[name] = resolved

    for found in _doctrine_files(folder, limit):
        add(".".join(found.relative_to(folder).with_suffix("").parts), found)
    library = library_dir()
    for entry in search_path():
        prefix = (LIBRARY_PREFIX,) if library is not None and entry == library else ()
        for found in _doctrine_files(entry, limit):
            add(".".join(prefix + found.relative_to(entry).with_suffix("").parts), found)
    return out


def module_names(path: Path, limit: int = MAX_WORKSPACE_FILES) -> list[str]:
    """The names of the modules a file can import (see `importable`)."""
    return list(importable(path, limit))


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
