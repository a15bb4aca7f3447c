"""Sphinx configuration of doctrine's documentation (MyST markdown pages, built with -W)."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

project = "doctrine"
author = "the doctrine authors"
copyright = "the doctrine authors"

try:
    from compiler import __version__ as release
except ImportError:  # pragma: no cover - the docs are built with the package installed
    release = ""
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "compiler.tools.sphinxext",  # `.. doctrine:: path`: a doctrine's document in a page
    "doctrine_docs",  # this site's own pages: the CLI reference, optional guides
]

source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_generated/README.md", "Thumbs.db", ".DS_Store", "**/.venv"]
templates_path: list[str] = []

# Headings get anchors, so that `[x](language.md#facts)` links are checked like any other.
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence", "deflist"]

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "undoc-members": False}

# Every warning fails the build (`sphinx-build -W`); a link to a page or a heading that does
# not exist is a warning. The site is built offline: nothing is fetched.
nitpicky = False
# A page that skips a heading level is cosmetic, not a broken link: pages written by other
# parts of the project may do so without failing the build.
suppress_warnings = ["myst.header"]
html_theme = "furo"
html_title = "doctrine"
html_static_path: list[str] = []
pygments_style = "default"
