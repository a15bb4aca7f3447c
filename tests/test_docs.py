"""The documentation's examples run as written, and its generated parts cover what they should.

Each ```console session of the pages below runs in a scratch folder (see tests/sessions.py):
the tutorial's in a copy of docs/tutorial/, the guides' in a copy of doctrine/ and examples/.
The Sphinx build itself is a step of `.ci/run` (warnings are errors there).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from sessions import blocks, expected_pattern, run, sessions, shell_env
from support import ROOT

DOCS = ROOT / "docs"
# page -> the folders copied into its scratch folder (their contents, for the tutorial)
PAGES: dict[str, tuple[str, ...]] = {
    "tutorial.md": ("docs/tutorial",),
    "tour.md": ("doctrine", "examples"),
    "commands.md": ("doctrine", "examples"),
    "explanations.md": ("doctrine", "examples"),
    "time-and-place.md": ("doctrine", "examples"),
    "trade-secrets.md": ("doctrine", "examples"),
    "tools.md": ("doctrine", "examples"),
    "site.md": ("doctrine", "examples"),
    "batch.md": ("doctrine", "examples"),
}
SESSIONS = [
    (page, line, command, expected)
    for page in PAGES
    for line, command, expected in sessions((DOCS / page).read_text(encoding="utf-8"), page)
]


# One test per page: a page's sessions build on one another (a file one writes, the next
# reads), so they run in order in one scratch folder, never split between test processes.
@pytest.mark.parametrize("page", list(PAGES))
def test_console_sessions(tmp_path: Path, page: str) -> None:
    env = shell_env(tmp_path / "bin")
    work = tmp_path / "work"
    for folder in PAGES[page]:
        if folder.startswith("docs/"):
            shutil.copytree(ROOT / folder, work, dirs_exist_ok=True)
        else:
            shutil.copytree(ROOT / folder, work / folder)
    work.mkdir(exist_ok=True)
    for _, line, command, expected in [s for s in SESSIONS if s[0] == page]:
        output = run(command, work, env)
        assert expected_pattern(expected).fullmatch(output), (
            f"docs/{page}:{line}: $ {command}\n--- expected\n{expected}--- got\n{output}"
        )


def test_every_page_with_sessions_is_run() -> None:
    with_sessions = sorted(
        p.name
        for p in DOCS.glob("*.md")
        if sessions(p.read_text(encoding="utf-8"), p.name) and p.name in PAGES
    )
    assert with_sessions == sorted(p for p in PAGES if sessions((DOCS / p).read_text(), p))
    assert len(SESSIONS) > 10


def test_the_tutorial_file_passes_its_own_cases() -> None:
    from compiler.tools.cases import run_cases

    outcomes = run_cases([DOCS / "tutorial" / "uhlrig.doctrine"])
    assert [o.name for o in outcomes if not o.passed] == []
    assert len(outcomes) == 4


def _docs_extension() -> object:
    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        import doctrine_docs
    finally:
        sys.path.remove(str(DOCS / "_ext"))
    return doctrine_docs


def test_the_cli_reference_has_every_command() -> None:
    from compiler.tools.cli import build_parser

    ext = _docs_extension()
    text = ext.cli_markdown()  # type: ignore[attr-defined]
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    assert commands
    for name in commands:
        assert f"## doctrine {name}\n" in text
        assert f"usage: doctrine {name}" in text
    assert "--check-links" in text


def test_optional_pages_enter_the_table_of_contents_only_when_they_exist() -> None:
    ext = _docs_extension()
    index = "intro\n\n<!-- optional-pages\nMore guides\nthere\nabsent\n-->\n\nafter\n"
    out = ext.optional_toctree(index, lambda page: page == "there")  # type: ignore[attr-defined]
    assert out == (
        "intro\n\n```{toctree}\n:caption: More guides\n:maxdepth: 1\n\nthere\n```\n\nafter\n"
    )
    assert ext.optional_toctree(index, lambda page: False) == "intro\n\n\nafter\n"  # type: ignore[attr-defined]
    # A page the index does not name still gets into the table of contents.
    more = ext.other_pages("```{toctree}\nlisted\n```\n", ["index", "listed", "new-page"])  # type: ignore[attr-defined]
    assert more.endswith("```{toctree}\n:caption: More\n:maxdepth: 1\n\nnew-page\n```\n")


def test_doctrine_excerpts_of_the_guides_are_from_the_library() -> None:
    """Each line of a ```doctrine excerpt is a line of the library, save elisions (`...`)."""
    library = {
        line.strip()
        for path in (ROOT / "doctrine").rglob("*.doctrine")
        for line in path.read_text(encoding="utf-8").splitlines()
    }
    checked = 0
    for page in sorted(PAGES):
        for lang, body, first in blocks((DOCS / page).read_text(encoding="utf-8")):
            if lang != "doctrine":
                continue
            for i, text in enumerate(body.splitlines()):
                if "..." in text or not text.strip():
                    continue
                checked += 1
                assert text.strip() in library, f"docs/{page}:{first + i}: not in doctrine/: {text}"
    assert checked > 50


def test_python_examples_of_the_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ```pycon blocks of every page run as doctests, from the checkout."""
    import doctest

    monkeypatch.chdir(ROOT)
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    found = 0
    for page in sorted(DOCS.glob("*.md")):
        globs: dict[str, object] = {}
        for lang, body, line in blocks(page.read_text(encoding="utf-8")):
            if lang != "pycon":
                continue
            test = parser.get_doctest(body, globs, f"docs/{page.name}:{line}", str(page), line)
            found += len(test.examples)
            runner.run(test, out=lambda text: print(text, end=""))
    assert found, "no Python examples in docs/"
    assert runner.failures == 0, "a Python example of docs/ fails (see the output)"
