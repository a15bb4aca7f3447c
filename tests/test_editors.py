"""Editors: the VS Code extension's TextMate grammar, the Pygments lexer and the Lark grammar
agree on every keyword, and highlight the shared fixture alike; the heavy tests run the npm
grammar-test tool on the same fixture, package the extension, and drive Neovim's client."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from support import ROOT

from compiler.tools import highlight
from compiler.tools.highlight import SCOPES, DoctrineLexer, textmate_grammar

VSCODE = ROOT / "editors" / "vscode"
GRAMMAR = VSCODE / "syntaxes" / "doctrine.tmLanguage.json"
FIXTURES = sorted((VSCODE / "test").glob("*.doctrine"))
REGENERATE = (
    'python -c "import json; from compiler.tools.highlight import textmate_grammar; '
    "open('editors/vscode/syntaxes/doctrine.tmLanguage.json', 'w')"
    ".write(json.dumps(textmate_grammar(), indent=2) + '\\n')\""
)


def lark_keywords() -> set[str]:
    """Every word the Lark grammar reserves (its quoted literals, comments left out)."""
    words = set()
    for line in (ROOT / "grammar" / "doctrine.lark").read_text(encoding="utf-8").splitlines():
        code = line.split("//", 1)[0]
        words |= set(re.findall(r'"([a-z_]+)"', code))
    return words


def lexer_keywords() -> set[str]:
    lists = ("DECLARATIONS", "NAMESPACE", "KEYWORDS", "OPERATOR_WORDS", "CONSTANTS", "TYPES")
    return {w for name in lists for w in getattr(highlight, name)} | {"name"}


def test_the_textmate_grammar_is_made_from_the_lexer() -> None:
    written = json.loads(GRAMMAR.read_text(encoding="utf-8"))
    assert written == textmate_grammar(), f"regenerate the grammar: {REGENERATE}"


def test_the_three_grammars_know_the_same_keywords() -> None:
    lark, lexer = lark_keywords(), lexer_keywords()
    assert lark - lexer == set(), "keywords of the Lark grammar that the highlighters miss"
    assert lexer - lark == set(), "highlighted keywords the Lark grammar does not have"
    # and each one is coloured by some rule of the TextMate grammar (Python's `re` reads these
    # patterns as Oniguruma does)
    rules = [r.get("match") or r["begin"] for r in textmate_grammar()["patterns"]]
    for word in sorted(lark):
        line = f'x {word} "y"'
        hits = [r for r in rules if (m := re.search(r, line)) and word in m.group(0)]
        assert hits, f"no TextMate rule highlights `{word}`"


def test_the_language_configuration_matches_the_language() -> None:
    config = json.loads((VSCODE / "language-configuration.json").read_text(encoding="utf-8"))
    assert config["comments"] == {"lineComment": "#"}
    assert ["{", "}"] in config["brackets"]
    package = json.loads((VSCODE / "package.json").read_text(encoding="utf-8"))
    [language] = package["contributes"]["languages"]
    assert language["extensions"] == [".doctrine"] == [f".{e}" for e in DoctrineLexer.aliases]
    [grammar] = package["contributes"]["grammars"]
    assert grammar["scopeName"] == textmate_grammar()["scopeName"]
    assert (VSCODE / grammar["path"]).resolve() == GRAMMAR


_ASSERTION = re.compile(r"#\s*(<-+|\^+)")


def expectations(text: str) -> tuple[str, list[tuple[int, int, list[str]]]]:
    """The fixture without its assertion lines, and (line, column, scopes) for each asserted
    column, in the format of vscode-tmgrammar-test."""
    source: list[str] = []
    wanted: list[tuple[int, int, list[str]]] = []
    for i, line in enumerate(text.splitlines()):
        if i == 0 or not _ASSERTION.match(line):
            source.append(line)
            continue
        m = _ASSERTION.match(line)
        assert m is not None
        marks = m.group(1)
        scopes = line[m.end() :].split()
        columns = range(0, len(marks) - 1) if marks.startswith("<") else range(m.start(1), m.end(1))
        wanted += [(len(source) - 1, c, scopes) for c in columns]
    return "\n".join(source) + "\n", wanted


def scope_of(kind: object) -> str:
    while kind is not None:
        name = str(kind).removeprefix("Token.")
        if name in SCOPES:
            return SCOPES[name]
        kind = getattr(kind, "parent", None)
    return "source.doctrine"


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.name)
def test_the_lexer_colours_the_shared_fixtures_as_the_textmate_grammar_must(
    fixture: Path,
) -> None:
    source, wanted = expectations(fixture.read_text(encoding="utf-8"))
    assert wanted
    at: dict[tuple[int, int], str] = {}
    line, col = 0, 0
    for _, kind, value in DoctrineLexer().get_tokens_unprocessed(source):
        for ch in value:
            at[(line, col)] = scope_of(kind)
            line, col = (line + 1, 0) if ch == "\n" else (line, col + 1)
    lines = source.splitlines()
    for row, column, scopes in wanted:
        got = at.get((row, column))
        for scope in scopes:
            assert scope in ("source.doctrine", got), (
                f"{fixture.name}: `{lines[row]}` column {column}: the lexer gives {got}, "
                f"the fixture wants {scope}"
            )


# ---------------------------------------------------------------- heavy: npm and the extension


def npm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["npm", *args], cwd=VSCODE, capture_output=True, text=True, timeout=600, check=False
    )


@pytest.fixture(scope="module")
def node_modules() -> Path:
    if shutil.which("npm") is None:
        pytest.fail("npm is not installed (the heavy step of .ci/run installs it)")
    if not (VSCODE / "node_modules" / ".bin" / "vscode-tmgrammar-test").exists():
        proc = npm("install", "--no-audit", "--no-fund")
        assert proc.returncode == 0, proc.stderr
    return VSCODE / "node_modules"


@pytest.mark.heavy
def test_vscode_tmgrammar_test_passes_on_the_shared_fixtures(node_modules: Path) -> None:
    proc = subprocess.run(
        [
            str(node_modules / ".bin" / "vscode-tmgrammar-test"),
            "-g",
            str(GRAMMAR),
            *[str(f) for f in FIXTURES],
        ],
        cwd=VSCODE,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.heavy
def test_the_extension_packages_as_a_vsix(node_modules: Path, tmp_path: Path) -> None:
    check = subprocess.run(
        ["node", "--check", "extension.js"], cwd=VSCODE, capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stderr
    out = tmp_path / "doctrine.vsix"
    proc = subprocess.run(
        [
            str(node_modules / ".bin" / "vsce"),
            "package",
            "--allow-missing-repository",
            "--skip-license",
            "-o",
            str(out),
        ],
        cwd=VSCODE,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        input="y\n",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    names = set(zipfile.ZipFile(out).namelist())
    for wanted in (
        "extension/package.json",
        "extension/extension.js",
        "extension/language-configuration.json",
        "extension/syntaxes/doctrine.tmLanguage.json",
        "extension/node_modules/vscode-languageclient/package.json",
    ):
        assert wanted in names, wanted
    assert not any(n.startswith("extension/test/") for n in names)


@pytest.mark.parametrize(
    "path",
    [*sorted((ROOT / "doctrine").rglob("*.doctrine")), *FIXTURES],
    ids=lambda p: p.name,
)
def test_the_language_server_finds_the_names_the_lexer_finds(path: Path) -> None:
    """The server's fast scan (semantic tokens, references, rename) and the lexer agree."""
    from pygments.token import Name

    from compiler.tools.lsp import name_spans

    text = path.read_text(encoding="utf-8")
    kinds = (Name, Name.Class, Name.Attribute, Name.Namespace)
    lexer: set[tuple[int, int, int]] = set()
    line, col = 0, 0
    for _, kind, value in DoctrineLexer().get_tokens_unprocessed(text):
        if kind in kinds:
            for m in re.finditer(r"[A-Za-z_][A-Za-z0-9_]*", value):
                lexer.add((line, col + m.start(), col + m.end()))
        breaks = value.count("\n")
        line, col = (
            (line + breaks, len(value) - value.rindex("\n") - 1)
            if breaks
            else (line, col + len(value))
        )
    assert set(name_spans(text)) == lexer
