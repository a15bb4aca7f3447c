"""The parts of doctrine's documentation written at build time, from the code itself.

- `_generated/cli.md`: the command-line reference, from the argparse parser's own help.
- `library/` in the output: the library's own site, as `doctrine site doctrine` writes it.
- The guides other parts of the project add (docs/interview.md, batch.md, editors.md ...) go
  into the table of contents when they exist: the index names them in an `optional-pages`
  block, and the build leaves out those that are absent rather than failing.
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parents[1]
GENERATED = DOCS / "_generated"


def _parser() -> argparse.ArgumentParser:
    from compiler.tools.cli import build_parser

    return build_parser()


def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, str, argparse.ArgumentParser]]:
    out = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            for name, sub in action.choices.items():
                out.append((name, helps.get(name, ""), sub))
    return out


def cli_markdown() -> str:
    """The reference of every `doctrine` command, as markdown, from the parser's help."""
    parser = _parser()
    parser.prog = "doctrine"
    lines = [
        "# Command-line reference",
        "",
        "Written when the documentation is built, from the help of the `doctrine` command",
        "itself (`doctrine COMMAND --help` prints the same). The",
        "[guide to the commands](../commands.md) shows them at work.",
        "",
        "```text",
        _help(parser),
        "```",
        "",
    ]
    for name, summary, sub in _subcommands(parser):
        lines += [f"## doctrine {name}", ""]
        if summary:
            lines += [summary[:1].upper() + summary[1:] + ".", ""]
        lines += ["```text", _help(sub), "```", ""]
    return "\n".join(lines)


def _help(parser: argparse.ArgumentParser) -> str:
    # A fixed width (argparse reads COLUMNS), so that the page does not depend on the terminal
    # of whoever builds it; the parser's own formatter keeps its examples' layout.
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "90"
    try:
        text = parser.format_help()
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved
    return re.sub(r"[ \t]+\n", "\n", text).rstrip()


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _generate(app: Any) -> None:
    _write(GENERATED / "cli.md", cli_markdown())


_OPTIONAL = re.compile(r"^<!-- optional-pages\n(.*?)^-->\n", re.MULTILINE | re.DOTALL)


def optional_toctree(text: str, exists: Any) -> str:
    """Turn the index's `optional-pages` comment into a toctree of the pages that exist."""

    def replace(match: re.Match[str]) -> str:
        body = match.group(1).splitlines()
        caption = body[0].strip()
        pages = [p.strip() for p in body[1:] if p.strip() and exists(p.strip())]
        if not pages:
            return ""
        return (
            "```{toctree}\n:caption: "
            + caption
            + "\n:maxdepth: 1\n\n"
            + "\n".join(pages)
            + "\n```\n"
        )

    return _OPTIONAL.sub(replace, text)


def other_pages(text: str, pages: list[str]) -> str:
    """A toctree of the pages the index does not list, so that a new page never breaks the build."""
    listed = {line.strip() for line in text.splitlines()}
    rest = [p for p in pages if p not in listed and p != "index"]
    if not rest:
        return text
    return text + "\n```{toctree}\n:caption: More\n:maxdepth: 1\n\n" + "\n".join(rest) + "\n```\n"


def _source_read(app: Any, docname: str, source: list[str]) -> None:
    if docname == app.config.root_doc:
        text = optional_toctree(source[0], lambda page: (DOCS / f"{page}.md").is_file())
        pages = sorted(p.stem for p in DOCS.glob("*.md"))
        source[0] = other_pages(text, pages)


def _library_site(app: Any, exception: Exception | None) -> None:
    """The library's own site (`doctrine site doctrine`), beside the pages, under library/."""
    if exception is not None or app.builder.format != "html":
        return
    from compiler.tools.site import broken_links, build_site

    out = Path(app.outdir) / "library"
    build_site(DOCS.parent / "doctrine", out, title="The doctrine library")
    broken = broken_links(out)
    if broken:
        raise RuntimeError("the library's site has broken links: " + "; ".join(broken[:5]))


def setup(app: Any) -> dict[str, Any]:
    app.connect("builder-inited", _generate)
    app.connect("build-finished", _library_site)
    app.connect("source-read", _source_read)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
