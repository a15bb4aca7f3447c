"""The parser's tables cached in the user's cache folder: private, keyed on the grammar."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from compiler.syntax import parser as parser_module
from compiler.syntax.parser import build_lark

OPTIONS = {"propagate_positions": True, "maybe_placeholders": False}
SOURCE = 'fact a: bool means "a"\nelement e { holds when a }\n'


def cached(folder: Path) -> list[Path]:
    return sorted(folder.glob("doctrine/grammar-*.lark"))


def test_the_tables_are_saved_once_privately_and_loaded_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first = build_lark(**OPTIONS)
    (saved,) = cached(tmp_path)
    assert stat.S_IMODE((tmp_path / "doctrine").stat().st_mode) == 0o700
    before = saved.stat().st_mtime_ns
    second = build_lark(**OPTIONS)
    assert cached(tmp_path) == [saved] and saved.stat().st_mtime_ns == before
    assert first.parse(SOURCE) == second.parse(SOURCE)


def test_other_options_and_another_grammar_get_their_own_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    build_lark(**OPTIONS)
    build_lark(**OPTIONS, keep_all_tokens=True)
    assert len(cached(tmp_path)) == 2
    grammar = tmp_path / "doctrine.lark"
    original = parser_module.grammar_path().read_text(encoding="utf-8")
    grammar.write_text(original + "\n// an edit\n", encoding="utf-8")
    monkeypatch.setattr(parser_module, "grammar_path", lambda: grammar)
    build_lark(**OPTIONS)
    assert len(cached(tmp_path)) == 3


def test_a_folder_others_can_write_to_is_not_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    (tmp_path / "doctrine").mkdir()
    os.chmod(tmp_path / "doctrine", 0o777)
    assert build_lark(**OPTIONS).parse(SOURCE)
    assert cached(tmp_path) == []


def test_a_broken_cache_file_is_rebuilt_not_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    build_lark(**OPTIONS)
    (saved,) = cached(tmp_path)
    saved.write_bytes(b"not a cache\n")
    assert build_lark(**OPTIONS).parse(SOURCE)
