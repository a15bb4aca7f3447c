"""The library from anywhere: the import search path (--path, DOCTRINE_PATH, the installed
library), `import doctrine.NAME`, and commands that follow the working folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compiler.syntax.loader import library_dir
from compiler.tools.cli import main
from tests.support import LIBRARY

UHLRIG = """module uhlrig "The Tenth Circuit's threshold test, built on the library"

import vocabulary, sources

element knew {
  title "The official knew of the danger"
  holds when state_aware_of_danger
  met "The official knew."
  unmet "The official did not know."
}

doctrine uhlrig {
  title "Uhlrig"
  element knowledge = knew
}
"""


def _run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    status = main([str(a) for a in args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user's own folder, far from the checkout, as the working folder."""
    folder = tmp_path / "mine"
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.delenv("DOCTRINE_PATH", raising=False)
    return folder


def test_the_installed_library_is_the_checkouts_in_an_editable_install() -> None:
    found = library_dir()
    assert found is not None and found.resolve() == LIBRARY.resolve()


def test_a_doctrine_elsewhere_builds_on_the_library(
    elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (elsewhere / "uhlrig.doctrine").write_text(UHLRIG, encoding="utf-8")
    (elsewhere / "case.yaml").write_text("state_aware_of_danger: true\n", encoding="utf-8")
    status, out, err = _run(
        capsys, "eval", "uhlrig.doctrine", "--facts", "case.yaml", "--format", "json"
    )
    assert status == 0, err
    assert json.loads(out)["holds"] is True


def test_import_doctrine_name_is_always_the_library(
    elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A vocabulary of one's own, beside the file: `import vocabulary` reads it, and
    # `import doctrine.vocabulary` the library's.
    (elsewhere / "vocabulary.doctrine").write_text(
        'fact my_own: bool means "a fact of mine"\n', encoding="utf-8"
    )
    mine = elsewhere / "mine.doctrine"
    mine.write_text(
        "import vocabulary\n"
        'element e { title "E" holds when my_own met "m" unmet "u" }\n'
        'doctrine d { title "D" element e }\n',
        encoding="utf-8",
    )
    assert _run(capsys, "check", mine)[0] == 0
    theirs = elsewhere / "theirs.doctrine"
    theirs.write_text(
        "import doctrine.vocabulary\n"
        'element e { title "E" holds when state_aware_of_danger met "m" unmet "u" }\n'
        'doctrine d { title "D" element e }\n',
        encoding="utf-8",
    )
    assert _run(capsys, "check", theirs)[0] == 0
    theirs.write_text(
        theirs.read_text(encoding="utf-8").replace("state_aware_of_danger", "my_own"),
        encoding="utf-8",
    )
    status, _, err = _run(capsys, "check", theirs)
    assert status == 2 and "my_own" in err


def test_path_comes_before_doctrine_path_which_comes_before_the_library(
    elsewhere: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for folder, fact in (("first", "from_first"), ("second", "from_second")):
        (elsewhere / folder).mkdir()
        (elsewhere / folder / "shared.doctrine").write_text(
            f'fact {fact}: bool means "{fact}"\n', encoding="utf-8"
        )
    user = elsewhere / "user.doctrine"

    def uses(fact: str) -> int:
        user.write_text(
            "import shared\n"
            f'element e {{ title "E" holds when {fact} met "m" unmet "u" }}\n'
            'doctrine d { title "D" element e }\n',
            encoding="utf-8",
        )
        return _run(capsys, "check", user, "--path", "first")[0]

    monkeypatch.setenv("DOCTRINE_PATH", str(elsewhere / "second"))
    assert uses("from_first") == 0
    assert uses("from_second") == 2
    monkeypatch.setenv("DOCTRINE_PATH", "")
    assert _run(capsys, "check", user)[0] == 2  # neither folder is searched now
    monkeypatch.setenv("DOCTRINE_PATH", str(elsewhere / "second"))
    user.write_text(user.read_text(encoding="utf-8"), encoding="utf-8")
    assert _run(capsys, "check", user)[0] == 0  # DOCTRINE_PATH alone: from_second
    # --path leaves the environment as it found it.
    import os

    assert os.environ["DOCTRINE_PATH"] == str(elsewhere / "second")


def test_an_import_found_nowhere_says_where_it_looked(
    elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (elsewhere / "extra").mkdir()
    bad = elsewhere / "bad.doctrine"
    bad.write_text("import vocabularyy\n", encoding="utf-8")
    status, _, err = _run(capsys, "check", bad, "--path", "extra")
    assert status == 2
    assert (
        "cannot import `vocabularyy`: no file vocabularyy.doctrine, nor in extra/, "
        "nor in the installed library"
    ) in err
    assert "did you mean `vocabulary`?" in err
    bad.write_text("import doctrine.nothere\n", encoding="utf-8")
    status, _, err = _run(capsys, "check", bad)
    assert status == 2
    assert "cannot import `doctrine.nothere`: the installed library has no such module" in err


def test_commands_follow_the_working_folder(
    elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # No doctrine/ here: the installed library.
    status, out, _ = _run(capsys, "test")
    assert status == 0 and out.strip().endswith("0 failed")
    status, out, _ = _run(
        capsys, "which", "special_relationship", "--court", "4th", "--date", "1989-03-10"
    )
    assert status == 0 and out.startswith("special_relationship governed")
    # A doctrine/ folder here is the library instead.
    (elsewhere / "doctrine").mkdir()
    (elsewhere / "doctrine" / "own.doctrine").write_text(
        'fact a: bool means "a"\n'
        'element e { title "E" holds when a met "m" unmet "u" }\n'
        'doctrine own { title "Own" element e }\n'
        "case c under own { given { a: true } expect { holds: true } }\n",
        encoding="utf-8",
    )
    status, out, _ = _run(capsys, "test")
    assert status == 0 and out.strip() == "1 passed, 0 failed"
    status, _, err = _run(
        capsys, "which", "x", "--court", "4th", "--date", "1989-03-10", "--library", "nowhere"
    )
    assert status == 2 and "--library nowhere: no such folder" in err
    (elsewhere / "empty").mkdir()
    status, _, err = _run(capsys, "test", "empty")
    assert status == 2 and "no .doctrine files in empty/" in err
