"""The package's layers: no import reaches from a lower layer up to a higher one.

From the bottom: `compiler.runtime` (what generated code imports: the standard library only),
`compiler.errors`, then `syntax`, `checking`, `codegen`, `explain`, `law` and `tools`. A module
may import its own layer and those below it. The runtime has exactly one way up, documented in
`Result.explain`: a function-level import of `compiler.explain.explanation.explain_result`.
The package's `__init__` imports nothing of its own at module level (generated code imports it),
and reaches its public functions (`compiler.load`, `compiler.install`, ...) lazily.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from support import ROOT, clean_env, doctrine_file

from compiler.codegen.compile import compile_files, write_module

PACKAGE = ROOT / "compiler"

LAYERS = ("runtime", "errors", "syntax", "checking", "codegen", "explain", "law", "tools")

# The one import from the runtime upwards (Result.explain needs jinja2; the runtime must not).
RUNTIME_WAY_UP = ("compiler.explain.explanation", "explain_result")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> int | None:
    """The rank of a module of the package in LAYERS; None for the package itself."""
    parts = module.split(".")
    if parts[0] != "compiler":
        raise ValueError(module)
    if len(parts) == 1 or parts[1] in ("__init__", "__main__"):
        return None
    return LAYERS.index(parts[1])


def imports(path: Path) -> list[tuple[str, tuple[str, ...], bool, int]]:
    """Each import of `compiler` modules in a file: (module, names, at module level, line)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name(path)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    top_level = {id(node) for node in tree.body}
    # Imports under `if TYPE_CHECKING:` are for the type checker only; they do not run.
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            top_level.update(id(inner) for inner in ast.walk(node))
            for inner in ast.walk(node):
                inner._type_checking = True
    found = []
    for node in ast.walk(tree):
        if getattr(node, "_type_checking", False):
            continue
        at_top = id(node) in top_level
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                if node.level > 1:
                    base = base[: -(node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target.split(".")[0] != "compiler":
                continue
            names = tuple(alias.name for alias in node.names)
            # `from compiler.x import y` may name a module y: count it as importing x.y.
            for name in names:
                candidate = PACKAGE.parent / (target + "." + name).replace(".", "/")
                if candidate.with_suffix(".py").is_file() or candidate.is_dir():
                    found.append((f"{target}.{name}", (), at_top, node.lineno))
                else:
                    found.append((target, (name,), at_top, node.lineno))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "compiler":
                    found.append((alias.name, (), at_top, node.lineno))
    return found


def package_files() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "_data" not in p.parts)


def test_every_module_belongs_to_a_layer() -> None:
    for path in package_files():
        name = module_name(path)
        if name in ("compiler", "compiler.__main__"):
            continue
        assert layer_of(name) is not None, name


def test_no_import_goes_from_a_lower_layer_to_a_higher_one() -> None:
    arrows = []
    for path in package_files():
        source = module_name(path)
        rank = layer_of(source)
        for target, names, _at_top, line in imports(path):
            target_rank = layer_of(target)
            if rank is None or target_rank is None:
                continue  # the package itself: checked below
            if target_rank <= rank:
                continue
            if source == "compiler.runtime" and (target, names) == (
                RUNTIME_WAY_UP[0],
                (RUNTIME_WAY_UP[1],),
            ):
                continue
            arrows.append(f"{path.relative_to(ROOT)}:{line}: {source} -> {target}")
    assert arrows == []


# What the layers above may take from the checker: the two entry points. They get a frozen
# `checking.project.CheckedProject`; the mutable `Checker` stays inside `checking/`.
CHECKER_API = {"check", "check_all"}


def test_only_checking_itself_reaches_into_the_checker() -> None:
    reached = []
    for path in package_files():
        if module_name(path).startswith("compiler.checking"):
            continue
        for target, names, _at_top, line in imports(path):
            if target == "compiler.checking.checker" and (not names or set(names) - CHECKER_API):
                reached.append(f"{path.relative_to(ROOT)}:{line}: {names or target}")
    assert reached == []


def test_the_runtime_goes_up_once_and_only_inside_a_function() -> None:
    found = [
        (t, n, top)
        for path in sorted((PACKAGE / "runtime").glob("*.py"))
        for t, n, top, _ in imports(path)
        if t.split(".")[:2] != ["compiler", "runtime"]  # its own modules (the program tree)
    ]
    assert found == [(RUNTIME_WAY_UP[0], (RUNTIME_WAY_UP[1],), False)]


def test_the_runtime_and_the_package_need_the_standard_library_alone() -> None:
    for path in (PACKAGE / "__init__.py", *sorted((PACKAGE / "runtime").glob("*.py"))):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.Import):
                roots = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                roots = [(node.module or "").split(".")[0]]
            else:
                continue
            for root in roots:
                assert root in sys.stdlib_module_names or root == "__future__", (path, root)
    # The package's own __init__ imports nothing of the package at module level.
    assert [t for t, _n, top, _ in imports(PACKAGE / "__init__.py") if top] == []


# What a compiled module imports of the package: the runtime and its program tree.
RUNTIME_MODULES = ("compiler.runtime", "compiler.runtime.program")
# The runtime's own modules, which it imports whole (its package, the program tree, the
# three-valued logic and the tree evaluator).
RUNTIME_FILES = sorted(p.name for p in (PACKAGE / "runtime").glob("*.py"))

STANDALONE = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("m", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
def loaded():
    return sorted(m for m in sys.modules
                  if m.split(".")[0] in ("compiler", "lark", "attrs", "jinja2", "yaml"))
imported = loaded()
print(json.dumps({
    "imported": imported,
    "fractions": "fractions" in sys.modules,
    "settled": module.evaluate({
        "directed_at_plaintiff": True, "affirmative_act": False, "but_for_cause": False,
        "increased_risk": False, "harm_foreseeable": False, "danger_known_or_obvious": False,
        "culpability": "none",
    }).holds,
    "after settled": loaded(),
    "holds": module.evaluate({}).holds,
    "loaded": loaded(),
}))
"""


def test_a_compiled_module_imports_with_the_standard_library_and_the_runtime_alone(
    tmp_path: Path,
) -> None:
    (compiled,) = compile_files([doctrine_file("state_created_danger")])
    source_path = write_module(compiled, tmp_path / "out")
    tree = ast.parse(source_path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            roots = [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for root in roots:
            first = root.split(".")[0]
            assert first in sys.stdlib_module_names or root in RUNTIME_MODULES, root
    # Run it with no site-packages (-S) and only the package's __init__ and runtime beside it.
    standalone = tmp_path / "standalone"
    (standalone / "compiler" / "runtime").mkdir(parents=True)
    for name in ("__init__.py", *(f"runtime/{file}" for file in RUNTIME_FILES)):
        (standalone / "compiler" / name).write_bytes((PACKAGE / name).read_bytes())
    proc = subprocess.run(
        [sys.executable, "-S", "-E", "-c", STANDALONE, str(source_path)],
        cwd=standalone,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    runtime = ["compiler.runtime"] + [
        f"compiler.runtime.{file[:-3]}" for file in RUNTIME_FILES if file != "__init__.py"
    ]
    out = json.loads(proc.stdout)
    # The exact analysis (and its `fractions`) loads with the first result Kleene's logic
    # leaves unknown, not with the module: every import of a compiled module would pay for it.
    kleene = ["compiler", *(m for m in runtime if m != "compiler.runtime.exact")]
    assert out["imported"] == out["after settled"] == kleene
    assert out["fractions"] is False
    assert (out["settled"], out["holds"]) == (False, None)
    assert out["loaded"] == ["compiler", *runtime]
