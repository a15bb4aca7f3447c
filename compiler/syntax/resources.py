"""Finds the grammar, templates and library folders, in a checkout or in an installed wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent  # compiler/, above syntax/


def data_dir(name: str) -> Path:
    """Return the folder `name` ("grammar", "templates" or "doctrine", the library) shipped
    with the package.

    A wheel carries it inside the package as `_data/NAME`; an editable install or a
    checkout reads the top-level folder beside the package.
    """
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"the {name}/ folder of the doctrine package is missing")


def grammar_path() -> Path:
    """Return the path of the Lark grammar of the language."""
    return data_dir("grammar") / "doctrine.lark"
