"""Diagnostics that point at the slip itself and say the fix (issue 16's list)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from support import LIBRARY, run_cli

FACT = 'fact a: bool means "a"\n'


def check(tmp_path: Path, text: str | bytes) -> str:
    source = tmp_path / "m.doctrine"
    if isinstance(text, bytes):
        source.write_bytes(text)
    else:
        source.write_text(text, encoding="utf-8")
    proc = run_cli("check", source)
    assert "Traceback" not in proc.stderr
    return proc.stderr if proc.returncode else ""


@pytest.mark.parametrize(
    ("written", "meant"), [("boolean", "bool"), ("boolen", "bool"), ("numbr", "number")]
)
def test_a_misspelt_type_is_named_whole_with_the_type_it_is_close_to(
    tmp_path: Path, written: str, meant: str
) -> None:
    out = check(tmp_path, f'fact x: {written} means "x"\n')
    assert f"error[D0101]: unknown type `{written}`" in out
    assert "m.doctrine:1:9" in out
    assert "^" * len(written) + " not a type" in out
    assert f"did you mean `{meant}`?" in out


def test_a_file_that_starts_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    assert check(tmp_path, b"\xef\xbb\xbf" + FACT.encode()) == ""
    # Positions on the first line are the ones an editor shows, which does not count the mark.
    out = check(tmp_path, b'\xef\xbb\xbffact a: bool means "a"\nelement e { holds when b }\n')
    assert "m.doctrine:2:24" in out


def test_fmt_drops_the_byte_order_mark(tmp_path: Path) -> None:
    plain = run_cli("fmt", "-", input=FACT)
    proc = run_cli("fmt", "-", input="\ufeff" + FACT)
    assert proc.returncode == plain.returncode == 0 and proc.stdout == plain.stdout


@pytest.mark.parametrize(
    ("tag", "shown"), [("favours plaintiff", "favours"), ('known as "b"', "known")]
)
def test_a_tag_before_means_says_the_order(tmp_path: Path, tag: str, shown: str) -> None:
    out = check(tmp_path, f'fact a: bool {tag} means "a"\n')
    assert f"error[D0101]: `{shown}` before `means`" in out
    assert "a fact's meaning comes first" in out and "m.doctrine:1:14" in out


def test_an_unknown_name_in_missing_is_underlined_alone(tmp_path: Path) -> None:
    out = check(
        tmp_path,
        FACT + "element e { holds when a }\ndoctrine d {\n  element e\n  holds when all of (e)\n}\n"
        "case c under d {\n  given { a: true }\n  expect { holds: true, missing: [a, zzz] }\n}\n",
    )
    assert "error[D0501]: unknown fact `zzz` in `missing`" in out
    assert "m.doctrine:9:38" in out
    assert "\n  |                                      ^^^ not in the vocabulary" in out


def test_one_typo_gives_one_error_not_a_cascade(tmp_path: Path) -> None:
    # Issue 13: a misspelt element bound to a label also gave a D0503 for each case expecting
    # the label. The root cause alone is reported.
    library = tmp_path / "doctrine"
    shutil.copytree(LIBRARY, library)
    danger = library / "state_created_danger.doctrine"
    text = danger.read_text(encoding="utf-8")
    right, typo = "= but_for_causation\n", "= but_for_causatio\n"
    assert text.count(right) == 1
    danger.write_text(text.replace(right, typo), encoding="utf-8")
    proc = run_cli("check", library)
    assert proc.returncode == 2
    found = [line for line in proc.stderr.splitlines() if line.startswith(("error", "warning"))]
    assert found == ["error[D0201]: unknown element `but_for_causatio`"], proc.stderr
    assert "did you mean `but_for_causation`?" in proc.stderr
