"""The README's commands, run as written, so that they cannot go stale.

- Its opening lines are the two commands, and `.ci/run` installs and tests as the second does.
- Each ```console block is a shell session (tests/sessions.py), run in a copy of doctrine/ and
  examples/: each `$ COMMAND` must print what follows it, `...` standing for what it elides.
- The ```pycon blocks run as doctests, from the checkout.
"""

from __future__ import annotations

import doctest
import re
import shutil
from pathlib import Path

import pytest
from sessions import blocks, expected_pattern, run, sessions, shell_env
from support import ROOT

README = ROOT / "README.md"
TEXT = README.read_text(encoding="utf-8")
BLOCKS = blocks(TEXT)
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)

SETUP = (
    "python3 -m venv .venv && .venv/bin/pip install -e . && "
    ".venv/bin/doctrine compile doctrine/state_created_danger.doctrine -o build/ && "
    ".venv/bin/doctrine explain doctrine/state_created_danger.doctrine "
    "--facts examples/kennedy-dissent.yaml --format text"
)
TESTS = "python3 -m venv .venv && .venv/bin/pip install -e '.[dev]' && .venv/bin/pytest -n auto"


def test_readme_opens_with_the_two_commands() -> None:
    title, rest = TEXT.split("\n", 1)
    assert title.startswith("# ")
    match = FENCE.search(rest)
    assert match is not None
    assert rest[: match.start()].strip() == "", "the commands must come first"
    assert match.group(2).splitlines() == [SETUP, TESTS]


def test_ci_installs_and_tests_as_the_readme_says() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert ci.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in ci
    assert re.search(r'"\$\w+/bin/pip" install -e \'\.\[dev\]\'', ci), "install as the README"
    assert re.search(r'"\$\w+/bin/pytest"', ci), "test as the README"
    for check in ('ruff" check compiler tests', 'ruff" format --check compiler tests', 'mypy"'):
        assert check in ci


SESSIONS = sessions(TEXT, "README.md")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    work = tmp_path_factory.mktemp("readme")
    for folder in ("doctrine", "examples"):
        shutil.copytree(ROOT / folder, work / folder)
    return work, shell_env(tmp_path_factory.mktemp("bin"))


def test_readme_has_sessions() -> None:
    commands = [command for _, command, _ in SESSIONS]
    assert any(c.startswith("doctrine eval") for c in commands)
    assert any(c.startswith("doctrine check") for c in commands)


@pytest.mark.parametrize(
    ("line", "command", "expected"), SESSIONS, ids=[f"line{n}" for n, _, _ in SESSIONS]
)
def test_console_session(
    workdir: tuple[Path, dict[str, str]], line: int, command: str, expected: str
) -> None:
    work, env = workdir
    output = run(command, work, env)
    assert expected_pattern(expected).fullmatch(output), (
        f"README.md:{line}: $ {command}\n--- expected\n{expected}--- got\n{output}"
    )


def test_tour_excerpts_are_from_the_library() -> None:
    """Each line of a ```doctrine excerpt is a line of the library, save elisions (`...`)."""
    library = {
        line.strip()
        for path in (ROOT / "doctrine").glob("*.doctrine")
        for line in path.read_text(encoding="utf-8").splitlines()
    }
    excerpts = [(body, line) for lang, body, line in BLOCKS if lang == "doctrine"]
    assert excerpts
    for body, first in excerpts:
        for i, text in enumerate(body.splitlines()):
            if "..." in text or not text.strip():
                continue
            assert text.strip() in library, f"README.md:{first + i}: not in doctrine/: {text}"


def test_python_examples(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    globs: dict[str, object] = {}
    found = 0
    for lang, body, line in BLOCKS:
        if lang != "pycon":
            continue
        test = parser.get_doctest(body, globs, f"README.md:{line}", str(README), line)
        found += len(test.examples)
        runner.run(test, out=lambda text: print(text, end=""))
    assert found, "the README has no Python examples"
    assert runner.failures == 0, "a Python example of the README fails (see the output)"


def test_the_readme_is_a_front_page() -> None:
    """Under 300 lines, and every link into the repository leads to a file that exists."""
    assert len(TEXT.splitlines()) < 300
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", TEXT)
    assert links
    for link in links:
        if "://" not in link:
            assert (ROOT / link).exists(), f"README.md links to {link}, which does not exist"
