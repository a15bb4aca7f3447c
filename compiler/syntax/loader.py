"""Reads a doctrine file and, transitively, the files it imports; finds missing ones and cycles."""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from pathlib import Path

import attrs

from ..errors import Diagnostic, DoctrineError, SourcePosition, did_you_mean
from . import nodes as n
from .parser import PARSED

SUFFIX = ".doctrine"

LIBRARY_PREFIX = "doctrine"
"""`import doctrine.vocabulary` names the installed library's `vocabulary`, and nothing else."""

_extra_path: list[Path] = []


def set_search_path(folders: list[str] | list[Path]) -> None:
    """Folders to search for imports before DOCTRINE_PATH (the command line's `--path`)."""
    _extra_path[:] = [Path(f) for f in folders]


def library_dir() -> Path | None:
    """The installed library's folder (the checkout's `doctrine/` in an editable install)."""
    from .resources import data_dir

    try:
        return data_dir("doctrine")
    except FileNotFoundError:
        return None


def search_path() -> list[Path]:
    """Where an import that is not beside its file is looked for, in order: the folders of
    `--path`, those of DOCTRINE_PATH (separated by the platform's os.pathsep), and last the
    installed library."""
    folders = list(_extra_path)
    folders += [Path(f) for f in os.environ.get("DOCTRINE_PATH", "").split(os.pathsep) if f]
    library = library_dir()
    if library is not None:
        folders.append(library)
    return folders


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

    def __init__(self, search: list[Path] | None = None) -> None:
        self.search = search_path() if search is None else search
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

    def parse(self, text: str, shown: str) -> n.Module:
        """Parse one file's text, or take it from this process's earlier parse of it."""
        return PARSED.parse(text, shown)

    def _candidates(self, module: str, folder: Path, root: Path) -> list[tuple[Path, Path]]:
        """(file, the folder it must stay within) for each place `module` may be, in order."""
        parts = module.split(".")
        if parts[0] == LIBRARY_PREFIX and len(parts) > 1:
            library = library_dir()
            if library is None:
                return []
            return [(library.joinpath(*parts[1:]).with_suffix(SUFFIX), library.resolve())]
        places = [(folder.joinpath(*parts).with_suffix(SUFFIX), root)]
        for entry in self.search:
            with contextlib.suppress(OSError, RuntimeError):
                places.append((entry.joinpath(*parts).with_suffix(SUFFIX), entry.resolve()))
        return places

    def find(self, module: str, folder: Path, root: Path) -> tuple[Path, Path]:
        """The file an import names: the first place it exists, else the first place looked."""
        places = self._candidates(module, folder, root)
        for target, within in places:
            if target.exists():
                return target, within
        if places:
            return places[0]
        return folder.joinpath(*module.split(".")).with_suffix(SUFFIX), root

    def not_found(self, imp: n.Import, folder: Path) -> Diagnostic:
        """The error for an import found nowhere, naming every place that was looked in."""
        places = self._candidates(imp.module, folder, folder)
        library = library_dir()
        where = []
        for _target, within in places:
            if library is not None and within == library.resolve():
                where.append("in the installed library")
            elif within != folder:
                where.append(f"in {display_path(within)}{os.sep}")
        if not places:
            message = f"cannot import `{imp.module}`: the installed library is missing"
        else:
            message = f"cannot import `{imp.module}`: no file {display_path(places[0][0])}"
            if imp.module.split(".")[0] == LIBRARY_PREFIX:
                message = f"cannot import `{imp.module}`: the installed library has no such module"
            elif where:
                message += f", nor {', nor '.join(where)}"
        near = sorted(
            {
                p.stem
                for target, _ in places
                if target.parent.is_dir()
                for p in target.parent.glob(f"*{SUFFIX}")
            }
        )
        hint = did_you_mean(imp.module.split(".")[-1], near)
        if not hint and imp.module.split(".")[0] != LIBRARY_PREFIX:
            hint = (
                "an import is looked for beside the importing file, then in the folders of "
                "--path and DOCTRINE_PATH, then in the installed library "
                "(`import doctrine.NAME` names the library's module NAME)"
            )
        return Diagnostic(
            "D0401",
            message,
            imp.pos,
            label="imported here",
            help=hint,
        )

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
            module = self.parse(text, display_path(path))
        except DoctrineError as err:
            self.diagnostics.extend(err.diagnostics)
            return None
        self.modules[path] = module
        self._active.append(path)
        deps: list[Path] = []
        for imp in module.imports:
            target, root_of = self.find(imp.module, path.parent, root)
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
            if not resolved.is_relative_to(root_of):
                self.diagnostics.append(
                    Diagnostic(
                        "D0401",
                        f"cannot import `{imp.module}`: {display_path(target)} links to a file "
                        f"outside the folder it was found in ({display_path(root_of)})",
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
                self.diagnostics.append(self.not_found(imp, path.parent))
                continue
            loaded = self.load(target, imp.pos, root_of)
            if loaded is not None:
                deps.append(loaded)
        self._active.pop()
        self.imports[path] = tuple(deps)
        self.order.append(path)
        return path


def load(paths: list[Path], search: list[Path] | None = None) -> Loaded:
    """Load the given files and their imports; raise DoctrineError on any problem.

    An import is looked for beside the importing file, then along `search` (by default
    `search_path()`: --path, DOCTRINE_PATH, the installed library).
    """
    loader = Loader(search)
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
