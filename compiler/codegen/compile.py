"""The pipeline in one place: load -> check -> generate, and importing the result."""

from __future__ import annotations

import os
import stat
import tempfile
import threading
import types
from collections import OrderedDict
from pathlib import Path

import attrs

from ..checking import ir
from ..checking.checker import check
from ..checking.project import CheckedProject
from ..errors import Diagnostic
from ..syntax.loader import load as load_files
from .generator import generate


@attrs.frozen
class Compiled:
    """One compiled file: its program, its Python source, and the warnings met."""

    path: Path
    program: ir.Program
    source: str
    warnings: tuple[Diagnostic, ...]


def check_files(paths: list[Path]) -> tuple[CheckedProject, list[Diagnostic]]:
    """Parse and check files and their imports; raise DoctrineError on any error."""
    return check(load_files(paths))


# What this process compiled, by everything the result depends on: the paths as given, the
# runtime's name, and each loaded file's place and text. A compilation is a pure function of
# those (Compiled and its program are frozen), so a process that compiles the same files again
# (the web app, the MCP server, batch runs, the tests' in-process command line) checks and
# generates them once. Errors are not kept: they are found, and reported, each time.
_COMPILED: OrderedDict[tuple[object, ...], tuple[Compiled, ...]] = OrderedDict()
_COMPILED_LOCK = threading.Lock()
_COMPILED_SIZE = 64
_COMPILED_MAX_CHARS = 1_000_000  # larger projects are not kept in memory


def compile_files(paths: list[Path], runtime: str | None = None) -> list[Compiled]:
    """Compile each file to Python source; raise DoctrineError on any error.

    With `runtime`, the modules import the runtime by that name (see `write_runtime`).
    """
    loaded = load_files(paths)
    key = (
        tuple(str(p) for p in paths),
        tuple(str(p.resolve()) for p in paths),
        runtime,
        str(loaded.root),
        tuple(str(p) for p in loaded.order),
        tuple(sorted(loaded.sources.items())),
    )
    keep = sum(len(text) for text in loaded.sources.values()) <= _COMPILED_MAX_CHARS
    if keep:
        with _COMPILED_LOCK:
            found = _COMPILED.get(key)
            if found is not None:
                _COMPILED.move_to_end(key)
                return list(found)
    project, warnings = check(loaded)
    out = []
    for path in paths:
        program = project.program(path.resolve())
        mine = tuple(w for w in warnings if w.pos and Path(w.pos.path).resolve() == path.resolve())
        out.append(Compiled(path, program, generate(program, runtime), mine))
    if keep:
        with _COMPILED_LOCK:
            _COMPILED[key] = tuple(out)
            while len(_COMPILED) > _COMPILED_SIZE:
                _COMPILED.popitem(last=False)
    return out


def standalone_runtime_name() -> str:
    """The private name of the runtime's copy that standalone modules import: it names this
    version, so modules of two versions in one folder each find their own, and it can shadow
    no package (`_doctrine_runtime_0_1_0`)."""
    from .. import __version__

    return "_doctrine_runtime_" + "".join(c if c.isalnum() else "_" for c in __version__)


def write_runtime(out_dir: Path) -> Path:
    """Write a copy of the runtime package into OUT_DIR under its standalone name; return it.

    The runtime needs only the standard library, so modules compiled with `--standalone`
    run wherever Python does, with no `compiler` package installed.
    """
    from .. import runtime

    source = Path(runtime.__file__).parent
    target = out_dir / standalone_runtime_name()
    target.mkdir(parents=True, exist_ok=True)
    for module in sorted(source.glob("*.py")):
        write_text_atomically(target / module.name, module.read_text(encoding="utf-8"))
    return target


def compile_file(path: str | os.PathLike[str]) -> str:
    """The Python source of the module compiled from one `.doctrine` file."""
    return compile_files([Path(path)])[0].source


def compile_source(text: str, name: str = "doctrine") -> str:
    """Compile doctrine source text that imports nothing (handy in tests and notebooks)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.doctrine"
        path.write_text(text, encoding="utf-8")
        return compile_file(path)


def module_from_source(source: str, name: str, filename: str) -> types.ModuleType:
    """Execute generated source as a fresh module object (not registered in sys.modules)."""
    module = types.ModuleType(name)
    module.__file__ = filename
    exec(compile(source, filename, "exec"), module.__dict__)
    return module


def load(path: str | os.PathLike[str]) -> types.ModuleType:
    """Compile a `.doctrine` file and return it as an imported module."""
    compiled = compile_files([Path(path)])[0]
    name = compiled.program.name
    return module_from_source(compiled.source, name, f"<doctrine {compiled.program.path}>")


def _umask() -> int:
    """The process's umask (read by setting it and putting it back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_text_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` whole or not at all: a temporary file beside it, then a rename.

    A file that was there keeps its permissions; a new one gets the usual ones (0644 under the
    common umask), not the 0600 of a temporary file. A failed write leaves the old file as it was.
    """
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# Module names that would write over a package's own files or a project's setup script.
_RESERVED_LEAVES = frozenset({"setup", "conftest"})


def module_path_problem(name: str) -> str | None:
    """Why a module of this name must not be written as NAME.py, or None if it may."""
    parts = name.split(".")
    for part in parts:
        if part.startswith("__") and part.endswith("__"):
            return f"module {name} would be written as {part}.py, a file Python gives a meaning to"
    if len(parts) == 1 and parts[0] in _RESERVED_LEAVES:
        return f"module {name} would write over {name}.py, a file Python tools give a meaning to"
    return None


def write_module(compiled: Compiled, out_dir: Path) -> Path:
    """Write a compiled module atomically (temporary file, then rename) and return its path.

    A dotted module name (`module trade_secrets.factors`) becomes a folder, so the result
    imports as `trade_secrets.factors` from OUT_DIR. A name that would write over a file with a
    meaning of its own (`app.__init__`, `setup`) is refused with ValueError.
    """
    problem = module_path_problem(compiled.program.name)
    if problem is not None:
        raise ValueError(problem)
    *packages, leaf = compiled.program.name.split(".")
    folder = out_dir.joinpath(*packages)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{leaf}.py"
    write_text_atomically(target, compiled.source)
    return target


__all__ = [
    "Compiled",
    "check_files",
    "compile_file",
    "compile_files",
    "compile_source",
    "load",
    "module_from_source",
    "module_path_problem",
    "standalone_runtime_name",
    "write_module",
    "write_runtime",
    "write_text_atomically",
]
