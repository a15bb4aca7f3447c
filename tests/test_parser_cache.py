"""The parser's tables cached in the user's cache folder (private, keyed on the grammar), and
parsed files and compilations kept in the process (keyed on paths and texts)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from compiler.codegen.compile import compile_files
from compiler.errors import DoctrineError
from compiler.syntax import nodes as n
from compiler.syntax import parser as parser_module
from compiler.syntax.loader import load
from compiler.syntax.parser import ParseCache, build_lark, parse

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


# ---------------------------------------------------------------- parsed files, in this process


def test_a_text_is_parsed_once_per_path_and_content() -> None:
    calls: list[str] = []

    def counting(text: str, shown: str) -> n.Module:
        calls.append(shown)
        return parse(text, shown)

    cache = ParseCache(size=2)
    first = cache.parse(SOURCE, "a.doctrine", counting)
    assert cache.parse(SOURCE, "a.doctrine", counting) is first
    assert calls == ["a.doctrine"]
    # Another path (positions name it) or another text is parsed anew.
    assert cache.parse(SOURCE, "b.doctrine", counting) is not first
    edited = cache.parse(SOURCE + "fact b: bool\n", "a.doctrine", counting)
    assert len(edited.declarations) == len(first.declarations) + 1
    assert calls == ["a.doctrine", "b.doctrine", "a.doctrine"]
    # Two entries kept: the first has gone, and is parsed again.
    cache.parse(SOURCE, "a.doctrine", counting)
    assert len(calls) == 4


def test_a_syntax_error_is_reported_every_time_and_big_texts_are_not_kept() -> None:
    calls: list[str] = []

    def counting(text: str, shown: str) -> n.Module:
        calls.append(shown)
        return parse(text, shown)

    cache = ParseCache(max_chars=len(SOURCE))
    for _ in range(2):
        with pytest.raises(DoctrineError):
            cache.parse("fact a: boo l\n", "bad.doctrine", counting)
    long = SOURCE + "# a comment\n"
    assert cache.parse(long, "long.doctrine", counting) is not cache.parse(
        long, "long.doctrine", counting
    )
    assert calls == ["bad.doctrine"] * 2 + ["long.doctrine"] * 2
    assert cache.entries == {}


def test_the_loader_reads_through_the_process_cache(tmp_path: Path) -> None:
    path = tmp_path / "m.doctrine"
    path.write_text(SOURCE, encoding="utf-8")
    first = load([path]).modules[path.resolve()]
    assert load([path]).modules[path.resolve()] is first
    path.write_text(SOURCE.replace("means", "   means"), encoding="utf-8")
    assert load([path]).modules[path.resolve()] is not first


def test_a_compilation_is_kept_while_its_files_are_unchanged(tmp_path: Path) -> None:
    main = tmp_path / "main.doctrine"
    other = tmp_path / "other.doctrine"
    other.write_text('fact b: bool means "b"\n', encoding="utf-8")
    main.write_text("import other\n" + SOURCE, encoding="utf-8")
    (first,) = compile_files([main])
    (again,) = compile_files([main])
    assert again is first
    assert compile_files([main], runtime="_rt")[0].source != first.source  # another runtime
    # An edit to an imported file is a new compilation, and an error is found every time.
    other.write_text('fact b: bool means "b, edited"\n', encoding="utf-8")
    (edited,) = compile_files([main])
    assert edited is not first and "b, edited" in edited.source
    other.write_text("fact b: boo\n", encoding="utf-8")
    for _ in range(2):
        with pytest.raises(DoctrineError):
            compile_files([main])
