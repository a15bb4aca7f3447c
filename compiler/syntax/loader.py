"""Reads a doctrine file and, transitively, the files it imports; finds missing ones and cycles."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import attrs

from ..errors import Diagnostic, DoctrineError, SourcePosition, did_you_mean
from . import nodes as n
from .parser import parse

SUFFIX = ".doctrine"


def display_path(path: Path) -> str:
    """The path as a user would type it: relative to the working folder when under it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") else rel


@attrs.frozen
class Loaded:
    """The parsed modules of one compilation, in dependency order (imports first)."""

    root: Path
    modules: dict[Path, n.Module]
    imports: dict[Path, tuple[Path, ...]]
    sources: dict[str, str]
    order: tuple[Path, ...]

    def closure(self, path: Path) -> list[Path]:
        """`path` and every module it imports, directly or not, imports first."""
        seen: list[Path] = []

        def visit(p: Path) -> None:
            if p in seen:
                return
            seen.append(p)  # mark before recursing: cycles were reported at load time
            for dep in self.imports.get(p, ()):
                visit(dep)
            seen.remove(p)
            seen.append(p)

        visit(path)
        return seen


class Loader:
    """Loads modules once each, collecting every diagnostic it meets."""

    def __init__(self) -> None:
        self.modules: dict[Path, n.Module] = {}
        self.imports: dict[Path, tuple[Path, ...]] = {}
        self.sources: dict[str, str] = {}
        self.order: list[Path] = []
        self.diagnostics: list[Diagnostic] = []
        self._active: list[Path] = []

    def read(self, path: Path, at: SourcePosition | None) -> str | None:
        shown = display_path(path)
        try:
            if not stat.S_ISREG(path.stat().st_mode):  # a folder, a FIFO, /dev/zero: never read
                self.diagnostics.append(
                    Diagnostic("D0401", f"cannot read {shown}: not a regular file", at)
                )
                return None
            data = path.read_bytes()
        except FileNotFoundError:
            self.diagnostics.append(Diagnostic("D0401", f"no such file: {shown}", at))
            return None
        except OSError as exc:
            self.diagnostics.append(Diagnostic("D0401", f"cannot read {shown}: {exc.strerror}", at))
            return None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            self.diagnostics.append(
                Diagnostic(
                    "D0402", f"{shown} is not UTF-8 text (bad byte at offset {exc.start})", at
                )
            )
            return None
        self.sources[shown] = text
        return text

    def load(
        self, path: Path, at: SourcePosition | None = None, root: Path | None = None
    ) -> Path | None:
        try:
            path = path.resolve()
        except (OSError, RuntimeError):  # RuntimeError: a loop of symbolic links (Python 3.11)
            self.diagnostics.append(
                Diagnostic(
                    "D0401", f"cannot read {display_path(path)}: a loop of symbolic links", at
                )
            )
            return None
        # Imports stay in the folder of the file compiled, or below it, even through links.
        root = path.parent if root is None else root
        if path in self.modules:
            return path
        text = self.read(path, at)
        if text is None:
            return None
        try:
            module = parse(text, display_path(path))
        except DoctrineError as err:
            self.diagnostics.extend(err.diagnostics)
            return None
        self.modules[path] = module
        self._active.append(path)
        deps: list[Path] = []
        for imp in module.imports:
            target = path.parent.joinpath(*imp.module.split(".")).with_suffix(SUFFIX)
            try:
                resolved = target.resolve()
            except (OSError, RuntimeError):
                self.diagnostics.append(
                    Diagnostic(
                        "D0401",
                        f"cannot import `{imp.module}`: {display_path(target)} is a loop of "
                        "symbolic links",
                        imp.pos,
                        label="imported here",
                    )
                )
                continue
            if resolved in self._active:
                chain = [*self._active[self._active.index(resolved) :], resolved]
                names = " -> ".join(p.stem for p in chain)
                self.diagnostics.append(
                    Diagnostic(
                        "D0403",
                        f"import cycle: {names}",
                        imp.pos,
                        label="this import closes the cycle",
                        help="move what both modules need into a third module that imports neither",
                    )
                )
                continue
            if not resolved.is_relative_to(root):
                self.diagnostics.append(
                    Diagnostic(
                        "D0401",
                        f"cannot import `{imp.module}`: {display_path(target)} links to a file "
                        f"outside the folder compiled from ({display_path(root)})",
                        imp.pos,
                        label="imported here",
                        help="an import reads a file in the importing file's folder or below it",
                    )
                )
                continue
            if target.exists() and not target.is_file():
                self.diagnostics.append(
                    Diagnostic(
                        "D0401",
                        f"cannot import `{imp.module}`: {display_path(target)} is not a regular "
                        "file",
                        imp.pos,
                        label="imported here",
                    )
                )
                continue
            if not target.is_file():
                near = [p.stem for p in path.parent.glob(f"*{SUFFIX}")]
                self.diagnostics.append(
                    Diagnostic(
                        "D0401",
                        f"cannot import `{imp.module}`: no file {display_path(target)}",
                        imp.pos,
                        label="imported here",
                        help=did_you_mean(imp.module, near),
                    )
                )
                continue
            loaded = self.load(target, imp.pos, root)
            if loaded is not None:
                deps.append(loaded)
        self._active.pop()
        self.imports[path] = tuple(deps)
        self.order.append(path)
        return path


def load(paths: list[Path]) -> Loaded:
    """Load the given files and their imports; raise DoctrineError on any problem."""
    loader = Loader()
    for path in paths:
        loader.load(path)
    if loader.diagnostics:
        raise DoctrineError(_unique(loader.diagnostics), loader.sources)
    root = paths[0].resolve().parent if paths else Path.cwd()
    return Loaded(root, loader.modules, loader.imports, loader.sources, tuple(loader.order))


def _unique(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    seen: set[Diagnostic] = set()
    out = []
    for d in diagnostics:
        if d not in seen:
            seen.add(d)
            out.append(d)
    return out


def sha256(text: str) -> str:
    """The hex SHA-256 of a source text, as the generated header records it."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
