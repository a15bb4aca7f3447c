"""A library of doctrines compiled once, by name: what `doctrine serve` and `doctrine mcp` offer."""

from __future__ import annotations

import datetime
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from ..codegen.compile import compile_files, module_from_source
from ..explain.explanation import module_info
from ..runtime import DoctrineException, Evaluator, FactsError, Result, program

__all__ = ["Entry", "Library", "LibraryError", "default_library"]


class LibraryError(DoctrineException):
    """No library where one was looked for; the message says where."""


def default_library(given: str | None = None) -> Path:
    """The folder given, else `doctrine/` in the working folder, else the installed library."""
    if given is not None:
        path = Path(given)
        if not path.is_dir():
            raise LibraryError(f"{given}: not a folder of .doctrine files")
        return path
    here = Path("doctrine")
    if here.is_dir():
        return here
    from ..syntax.loader import library_dir

    installed = library_dir()
    if installed is None:
        raise LibraryError(
            "no doctrine/ folder here and no library installed with the package: "
            "name a folder of .doctrine files"
        )
    return installed


@attrs.frozen
class Entry:
    """One doctrine of the library: its compiled evaluator and where it came from."""

    name: str
    path: Path
    relative: str  # the file's path inside the library, with / separators
    evaluator: Evaluator
    module: types.ModuleType

    @property
    def info(self) -> program.DoctrineInfo:
        """The doctrine's own entry of the module's INFO."""
        return module_info(self.evaluator).doctrines[self.name]

    @property
    def title(self) -> str:
        return self.info.title or self.name

    def summary(self) -> dict[str, Any]:
        """Name, title, court, period, elements and facts weighed: a line of a catalogue."""
        info = self.info
        return {
            "name": self.name,
            "title": self.title,
            "court": info.court or None,
            "in_force_from": _iso(info.in_force_from),
            "in_force_until": _iso(info.in_force_until),
            "elements": [e.label for e in info.elements],
            "facts_weighed": list(info.facts_weighed),
            "file": self.relative,
        }

    def describe(self) -> dict[str, Any]:
        """The doctrine for a client: its summary, its elements with their tests, its source,
        and the JSON Schema of its facts."""
        from .factschema import doctrine_schema

        module = module_info(self.evaluator)
        elements = []
        for e in self.info.elements:
            el = module.elements.get(e.key)
            elements.append(
                {
                    "name": e.label,
                    "title": (el.title if el is not None else "") or e.label,
                    "requirement": el.requirement if el is not None else "",
                }
            )
        source = self.info.source
        return {
            **self.summary(),
            "requirement": self.info.requirement,
            "source": source.citation if source is not None else None,
            "elements": elements,
            "facts_schema": doctrine_schema(self.evaluator),
        }

    def evaluate(self, facts: Any, stage: str | None = None) -> Result:
        """Evaluate facts as a client sent them; FactsError names each fact that does not fit."""
        if not isinstance(facts, Mapping):
            raise FactsError(["facts: expected an object of fact names to values"])
        return self.evaluator.evaluate(facts, stage=stage)


def _iso(value: datetime.date | None) -> str | None:
    return value.isoformat() if value is not None else None


class Library:
    """Every doctrine declared by the files of a folder, compiled once, by name."""

    def __init__(self, folder: Path, entries: dict[str, Entry]):
        self.folder = folder
        self.entries = entries

    @classmethod
    def load(cls, folder: Path) -> Library:
        """Compile every .doctrine file under `folder`; raises DoctrineError on any error."""
        paths = sorted(folder.rglob("*.doctrine"))
        if not paths:
            raise LibraryError(f"{folder}: no .doctrine files")
        entries: dict[str, Entry] = {}
        for compiled in compile_files(paths):
            program = compiled.program
            module = module_from_source(compiled.source, program.name, f"<doctrine {program.path}>")
            name = getattr(module, "DOCTRINE", None)
            if name is None or name in entries:
                continue
            relative = compiled.path.resolve().relative_to(folder.resolve()).as_posix()
            entries[name] = Entry(name, compiled.path, relative, module.DOCTRINES[name], module)
        return cls(folder, dict(sorted(entries.items())))

    def get(self, name: str) -> Entry | None:
        return self.entries.get(name)

    def unknown(self, name: str) -> str:
        """The message for a name the library lacks, with a close match where there is one."""
        from difflib import get_close_matches

        close = get_close_matches(name, list(self.entries), n=1)
        hint = f"; did you mean `{close[0]}`?" if close else ""
        return f"no doctrine `{name}` in this library{hint}"
