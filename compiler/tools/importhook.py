"""An import hook: after `install()`, `import NAME` finds `NAME.doctrine` and compiles it.

    import compiler
    compiler.install()

    import special_relationship          # special_relationship.doctrine, on sys.path
    special_relationship.evaluate({"custody": "none"})

The finder is appended to `sys.meta_path`, so a Python module of the same name wins. It
looks for `NAME.doctrine` in each folder of `sys.path` (or of the package's `__path__` for
`import pkg.NAME`). The generated Python is cached in `__pycache__` beside the file (as
`NAME.doctrine.<cache tag>.py`, honouring `sys.pycache_prefix` and
`sys.dont_write_bytecode`), with the SHA-256 of the file and of every file it imports (named
relative to the file's folder, so a copied folder is checked against its own files); an import
uses the cache only while all of them, and the compiler's own content (its version, modules
and grammar), are unchanged, and otherwise compiles again. `importlib.reload(module)` does the
same check.

A doctrine that does not compile raises `compiler.errors.DoctrineError` from the import,
its message the compiler's diagnostics.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
import types
from collections.abc import Sequence
from pathlib import Path

from .. import __version__
from ..syntax.resources import grammar_path

SUFFIX = ".doctrine"
_MARK = "# doctrine-cache: "


def cache_path(source: Path) -> Path:
    """Where the Python compiled from `source` is cached."""
    pyc = importlib.util.cache_from_source(str(source) + ".py")
    return Path(pyc[: -len(".pyc")] + ".py")


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


@functools.lru_cache(maxsize=1)
def compiler_digest() -> str:
    """The compiler's own content: its version, every module of the package and the grammar.

    A cache keyed on the version alone serves stale modules while the compiler is edited.
    """
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256(__version__.encode("utf-8"))
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode("utf-8") + b"\0")
        digest.update(path.read_bytes())
    digest.update(grammar_path().read_bytes())
    return f"{__version__}+{digest.hexdigest()[:16]}"


def _read_cache(cache: Path, source: Path) -> str | None:
    """The cached module source, if the compiler and every file it came from are unchanged.

    The files are named relative to the source's folder, so a copied folder checks its own
    files, not the ones it was copied from.
    """
    try:
        text = cache.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    last = text.rstrip("\n").rsplit("\n", 1)[-1]
    if not last.startswith(_MARK):
        return None
    base = source.resolve().parent
    try:
        manifest = json.loads(last[len(_MARK) :])
        if manifest["compiler"] != compiler_digest():
            return None
        for name, digest in manifest["sources"].items():
            if Path(name).is_absolute() or _digest(base / name) != digest:
                return None
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return text


def _write_cache(cache: Path, text: str) -> None:
    if sys.dont_write_bytecode:
        return
    try:
        from ..codegen.compile import write_text_atomically

        cache.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomically(cache, text)
    except OSError:
        pass  # a read-only folder: compile each time, as Python does without __pycache__


def _compile(source: Path) -> str:
    """The module's Python, ending with the manifest of the files it was compiled from."""
    from ..codegen.compile import check_files
    from ..codegen.generator import generate
    from ..syntax.loader import display_path

    resolved = source.resolve()
    project, _ = check_files([source])
    python = generate(project.program(resolved))
    texts = project.loaded.sources  # what was compiled, by display path
    sources = {
        os.path.relpath(p, resolved.parent): hashlib.sha256(
            texts[display_path(p)].encode("utf-8")
        ).hexdigest()
        for p in project.loaded.closure(resolved)
    }
    manifest = json.dumps({"compiler": compiler_digest(), "sources": sources}, sort_keys=True)
    return python.rstrip("\n") + "\n" + _MARK + manifest + "\n"


def source_of(path: Path) -> tuple[str, Path]:
    """The Python for a `.doctrine` file, from the cache when it is current; and the cache."""
    cache = cache_path(path)
    text = _read_cache(cache, path)
    if text is None:
        text = _compile(path)
        _write_cache(cache, text)
    return text, cache


class DoctrineLoader(importlib.abc.Loader):
    """Executes the Python compiled from one `.doctrine` file as the module's body."""

    def __init__(self, fullname: str, path: str) -> None:
        self.name = fullname
        self.path = path

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return None  # the default module

    def exec_module(self, module: types.ModuleType) -> None:
        text, cache = source_of(Path(self.path))
        module.__cached__ = str(cache)  # type: ignore[attr-defined]
        filename = str(cache) if cache.is_file() else f"<doctrine {self.path}>"
        exec(compile(text, filename, "exec"), module.__dict__)

    def get_filename(self, fullname: str) -> str:
        return self.path


class DoctrineFinder(importlib.abc.MetaPathFinder):
    """Finds `NAME.doctrine` on `sys.path`, or on a package's `__path__`."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: types.ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        name = fullname.rpartition(".")[2]
        for entry in sys.path if path is None else path:
            if not isinstance(entry, str):
                continue
            candidate = Path(entry or os.getcwd()) / f"{name}{SUFFIX}"
            if candidate.is_file():
                loader = DoctrineLoader(fullname, str(candidate))
                return importlib.util.spec_from_file_location(
                    fullname, str(candidate), loader=loader
                )
        return None


_FINDER = DoctrineFinder()


def install() -> DoctrineFinder:
    """Let `import NAME` find `NAME.doctrine` (idempotent); returns the finder."""
    if not any(isinstance(f, DoctrineFinder) for f in sys.meta_path):
        sys.meta_path.append(_FINDER)
    return _FINDER


def uninstall() -> None:
    """Remove the finder that `install` added."""
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, DoctrineFinder)]


__all__ = ["DoctrineFinder", "DoctrineLoader", "cache_path", "install", "source_of", "uninstall"]
