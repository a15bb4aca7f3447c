"""The Pygments lexer: registered as a plugin, so `pygmentize -l doctrine` highlights."""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support import LIBRARY, ROOT

from compiler.tools.highlight import CSS_CLASS, DoctrineLexer, highlight_html, stylesheet

SAMPLE = ROOT / "tests" / "fixtures" / "fmt" / "tricky.formatted.doctrine"
PYGMENTIZE = shutil.which("pygmentize", path=str(Path(sys.executable).parent)) or shutil.which(
    "pygmentize"
)


def pygmentize(*args: str | Path) -> subprocess.CompletedProcess[str]:
    assert PYGMENTIZE, "pygmentize is not installed beside this interpreter"
    return subprocess.run(
        [PYGMENTIZE, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_lexer_is_a_pygments_plugin() -> None:
    points = importlib.metadata.entry_points(group="pygments.lexers")
    assert any(p.value == "compiler.tools.highlight:DoctrineLexer" for p in points)
    from pygments.lexers import find_lexer_class_by_name, get_lexer_for_filename

    assert find_lexer_class_by_name("doctrine") is DoctrineLexer
    assert isinstance(get_lexer_for_filename("rules.doctrine"), DoctrineLexer)


def test_pygmentize_highlights_doctrine_source() -> None:
    proc = pygmentize("-l", "doctrine", "-f", "raw", SAMPLE)
    assert proc.returncode == 0, proc.stderr
    tokens = [tuple(line.split("\t", 1)) for line in proc.stdout.splitlines() if "\t" in line]
    assert ("Token.Keyword.Declaration", "'element'") in tokens
    assert ("Token.Name.Class", "'plain'") in tokens
    assert ("Token.Comment.Single", "'# two imports'") in tokens
    assert ("Token.Keyword.Namespace", "'import'") in tokens
    assert ("Token.Name.Namespace", "'vocabulary'") in tokens
    assert ("Token.Operator.Word", "'and'") in tokens
    assert ("Token.Keyword.Constant", "'true'") in tokens
    assert ("Token.Keyword.Type", "'bool'") in tokens
    assert ("Token.Literal.Date", "'2001-02-03'") in tokens
    assert ("Token.Name.Attribute", "'when_'") in tokens
    assert any(kind == "Token.Literal.String.Doc" for kind, _ in tokens)
    assert not any("Error" in kind for kind, _ in tokens)


def test_pygmentize_picks_the_lexer_by_file_name() -> None:
    proc = pygmentize("-N", "rules.doctrine")
    assert proc.stdout.strip() == "doctrine"
    html = pygmentize("-f", "html", SAMPLE)
    assert html.returncode == 0
    assert '<span class="kd">element</span>' in html.stdout


@pytest.mark.parametrize("path", sorted(LIBRARY.rglob("*.doctrine")), ids=lambda p: p.name)
def test_every_library_file_lexes_without_errors(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    tokens = list(DoctrineLexer().get_tokens(text))
    assert "".join(value for _, value in tokens) == text
    assert not [value for kind, value in tokens if "Error" in str(kind)]


def test_html_for_source_excerpts() -> None:
    block = highlight_html("holds when custody is not none  # a comment\n")
    assert block.startswith(f'<div class="{CSS_CLASS}"><pre>')
    assert '<span class="k">holds</span>' in block
    assert '<span class="ow">is</span>' in block
    assert '<span class="c1"># a comment</span>' in block
    inline = highlight_html('a.decided < event_date and a.court == "<b>"', inline=True)
    assert inline.startswith(f'<code class="{CSS_CLASS}">') and "\n" not in inline
    assert '<span class="o">&lt;</span>' in inline
    assert "&lt;b&gt;" in inline and "<b>" not in inline
    assert f".{CSS_CLASS} .k " in stylesheet()
