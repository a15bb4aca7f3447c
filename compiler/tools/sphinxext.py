"""A Sphinx extension: `.. doctrine:: path` puts a doctrine's document in a page of your site.

In `conf.py`, add `"compiler.tools.sphinxext"` to `extensions`; then, in reStructuredText,

    .. doctrine:: ../doctrine/special_relationship.doctrine
       :doctrine: special_relationship
       :site: https://example.org/library/

or in MyST markdown, a ```` ```{doctrine} ```` fence with the same argument and options. The
path is relative to the page. The block is what `doctrine site` writes for the doctrine (its
document, elements, rejected theories, variants, drawing and worked cases), styled by a
stylesheet of its own; `:site:` links each name to that address of a site built with
`doctrine site`, and without it names are plain code. Builders other than HTML get the
doctrine as `doctrine doc --format text` writes it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

from .. import __version__

CSS = "doctrine-site.css"


class DoctrineDirective(SphinxDirective):
    """`.. doctrine:: PATH` with options `:doctrine: NAME` and `:site: URL`."""

    required_arguments = 1
    has_content = False
    option_spec: ClassVar[dict[str, Any]] = {
        "doctrine": directives.unchanged,
        "site": directives.uri,
    }

    def run(self) -> list[nodes.Node]:
        from ..errors import DoctrineError
        from .site import SiteError, doctrine_fragment, doctrine_text

        rel, path = self.env.relfn2path(self.arguments[0])
        target = Path(path)
        # The page is rebuilt when the file or a file beside it (its imports) changes.
        for other in sorted(target.parent.glob("*.doctrine")):
            self.env.note_dependency(str(other))
        name = self.options.get("doctrine")
        site = str(self.options.get("site") or "")
        try:
            html = doctrine_fragment(target, name, site)
            text = doctrine_text(target, name)
        except DoctrineError as err:
            first = err.diagnostics[0].render(err.sources) if err.diagnostics else str(err)
            raise self.error(f"doctrine: {rel} does not compile:\n{first}") from None
        except (SiteError, OSError) as exc:
            raise self.error(f"doctrine: {exc}") from None
        raw = nodes.raw("", html, format="html")
        literal = nodes.literal_block(text, text)
        only = _only_not_html(literal)
        return [raw, only]


def _only_not_html(node: nodes.Node) -> nodes.Node:
    from sphinx import addnodes

    only = addnodes.only(expr="not html")
    only += node
    return only


def _write_css(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    from ..syntax.resources import data_dir

    css = (data_dir("templates") / "site" / "fragment.css").read_text(encoding="utf-8")
    static = Path(app.outdir) / "_static"
    static.mkdir(parents=True, exist_ok=True)
    (static / CSS).write_text(css, encoding="utf-8")


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the directive and its stylesheet."""
    app.add_directive("doctrine", DoctrineDirective)
    app.add_css_file(CSS)
    app.connect("build-finished", _write_css)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}


__all__ = ["DoctrineDirective", "setup"]
