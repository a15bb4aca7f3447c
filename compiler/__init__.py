"""doctrine: a declarative language for legal tests, compiled to Python evaluators.

Importing this package is cheap and needs only the standard library, so that compiled
modules can import `compiler.runtime` where lark, attrs and jinja2 are not installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["__version__", "compile_file", "compile_source", "install", "load"]

if TYPE_CHECKING:
    from .codegen.compile import compile_file, compile_source, load
    from .tools.importhook import install


def __getattr__(name: str) -> Any:
    if name in ("compile_file", "compile_source", "load"):
        from .codegen import compile as _compile

        return getattr(_compile, name)
    if name == "install":  # `import NAME` finds NAME.doctrine (compiler/tools/importhook.py)
        from .tools.importhook import install

        return install
    raise AttributeError(f"module 'compiler' has no attribute {name!r}")
