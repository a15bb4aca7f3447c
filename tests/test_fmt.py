"""`doctrine fmt`: a canonical layout that is idempotent, keeps every comment and means the same."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from support import LIBRARY, ROOT, run_cli

from compiler.errors import DoctrineError
from compiler.syntax.parser import parse
from compiler.tools.fmt import _tokens, format_source, parse_with_comments

FIXTURES = ROOT / "tests" / "fixtures" / "fmt"
ALL_LIBRARY = sorted(LIBRARY.rglob("*.doctrine"))


def comments(text: str) -> list[str]:
    return sorted(str(c).rstrip() for c in parse_with_comments(text)[1])


def check_formatting(text: str, name: str) -> str:
    out = format_source(text, name)
    assert format_source(out, name) == out, f"{name}: formatting twice changes it again"
    assert comments(out) == comments(text), f"{name}: a comment was lost or changed"
    assert parse(out, name) == parse(text, name), f"{name}: the meaning changed"
    assert not any(line != line.rstrip() for line in out.splitlines()), "trailing white space"
    assert out.endswith("\n") and not out.endswith("\n\n")
    return out


@pytest.mark.parametrize("path", ALL_LIBRARY, ids=lambda p: str(p.relative_to(LIBRARY)))
def test_every_library_file_formats_idempotently(path: Path) -> None:
    check_formatting(path.read_text(encoding="utf-8"), str(path))


@pytest.mark.parametrize("path", ALL_LIBRARY, ids=lambda p: str(p.relative_to(LIBRARY)))
def test_the_library_is_formatted(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert format_source(text, str(path)) == text, f"run `doctrine fmt {path}`"


def test_the_tricky_sample_formats_as_expected() -> None:
    text = (FIXTURES / "tricky.doctrine").read_text(encoding="utf-8")
    expected = (FIXTURES / "tricky.formatted.doctrine").read_text(encoding="utf-8")
    assert check_formatting(text, "tricky.doctrine") == expected
    assert format_source(expected, "tricky.doctrine") == expected


def test_the_canonical_layout() -> None:
    text = (
        'module m\nimport a,b\nfact x:bool means "x"\n'
        'element e {title "E" holds when x and not x}\n'
        "case c under d { given { x: true, y: false } expect { holds: true } }\n"
    )
    assert format_source(text) == (
        "module m\n\n"
        "import a, b\n\n"
        "fact x: bool\n"
        '  means "x"\n\n'
        "element e {\n"
        '  title "E"\n'
        "  holds when x and not x\n"
        "}\n\n"
        "case c under d {\n"
        "  given {\n"
        "    x: true\n"
        "    y: false\n"
        "  }\n"
        "  expect {\n"
        "    holds: true\n"
        "  }\n"
        "}\n"
    )


def test_a_long_requirement_breaks_before_each_operator() -> None:
    names = [f"factor_number_{i}" for i in range(8)]
    text = "element e { holds when " + " and ".join(names) + " }\n"
    out = format_source(text)
    assert out.splitlines()[1:4] == [
        "  holds when factor_number_0",
        "    and factor_number_1",
        "    and factor_number_2",
    ]
    assert all(len(line) <= 100 for line in out.splitlines())
    # An `and` inside an `or` is indented under it, so precedence shows.
    out = format_source("element e { holds when " + " and ".join(names) + " or other }\n")
    assert out.splitlines()[1:3] == ["  holds when factor_number_0", "      and factor_number_1"]
    assert out.splitlines()[-2] == "    or other"


def test_prose_is_kept_as_written_and_reindented() -> None:
    text = 'element e {\n      note """One line,\n   and the next.\n\n   A paragraph."""\n}\n'
    out = format_source(text)
    assert out == (
        'element e {\n  note """One line,\n    and the next.\n\n    A paragraph."""\n}\n'
    )


def test_blank_lines_in_a_block_are_kept_but_never_doubled() -> None:
    text = 'element e {\n  title "t"\n\n\n\n  note "n"\n  met "m"\n}\n'
    assert format_source(text) == 'element e {\n  title "t"\n\n  note "n"\n  met "m"\n}\n'


def test_a_file_with_a_bad_date_is_still_formatted() -> None:
    text = "authority a {   decided 1989-02-30 }\n"
    with pytest.raises(DoctrineError):
        parse(text, "x")
    assert format_source(text) == "authority a {\n  decided 1989-02-30\n}\n"


def test_a_syntax_error_is_reported() -> None:
    with pytest.raises(DoctrineError) as err:
        format_source("element e { holds a }\n", "bad.doctrine")
    assert "error[D0101]" in err.value.render()


def _with_comments(text: str, rng: random.Random, count: int) -> str:
    tree, _ = parse_with_comments(text)
    tokens = list(_tokens(tree))
    for k, i in enumerate(sorted(rng.sample(range(len(tokens)), count), reverse=True)):
        end = tokens[i].end_pos or 0
        comment = rng.choice([f"  # after {k}\n", f"\n# alone {k}\n", f"\n\n  # apart {k}\n\n"])
        text = text[:end] + comment + text[end:]
    return text


@pytest.mark.parametrize("seed", range(40))
def test_comments_anywhere_survive_and_settle(seed: int) -> None:
    rng = random.Random(seed)
    path = rng.choice([*ALL_LIBRARY, FIXTURES / "tricky.doctrine"])
    text = _with_comments(path.read_text(encoding="utf-8"), rng, 8)
    check_formatting(text, str(path))


# ---------------------------------------------------------------- the command


def test_fmt_check_exits_1_and_changes_nothing(tmp_path: Path) -> None:
    messy = tmp_path / "messy.doctrine"
    messy.write_text("fact x:bool\n", encoding="utf-8")
    tidy = tmp_path / "tidy.doctrine"
    tidy.write_text("fact y: bool\n", encoding="utf-8")
    proc = run_cli("fmt", "--check", messy, tidy)
    assert proc.returncode == 1, proc.stderr
    assert f"would reformat {messy}" in proc.stderr
    assert "tidy" not in proc.stderr.replace("unchanged", "")
    assert messy.read_text(encoding="utf-8") == "fact x:bool\n"

    assert run_cli("fmt", "--check", tidy).returncode == 0


def test_fmt_rewrites_files_and_folders(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    target = tmp_path / "sub" / "a.doctrine"
    target.write_text("fact x:bool\n", encoding="utf-8")
    proc = run_cli("fmt", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert target.read_text(encoding="utf-8") == "fact x: bool\n"
    assert "1 file(s) reformatted" in proc.stderr
    assert run_cli("fmt", "--check", tmp_path).returncode == 0


def test_fmt_diff_and_stdin(tmp_path: Path) -> None:
    target = tmp_path / "a.doctrine"
    target.write_text("fact x:bool\n", encoding="utf-8")
    proc = run_cli("fmt", "--diff", target)
    assert proc.returncode == 1
    assert "-fact x:bool\n+fact x: bool\n" in proc.stdout
    assert target.read_text(encoding="utf-8") == "fact x:bool\n"

    piped = run_cli("fmt", "-", input="fact   x :bool  # c\n")
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout == "fact x: bool # c\n"


def test_fmt_reports_a_syntax_error_with_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.doctrine"
    bad.write_text("element e { holds a }\n", encoding="utf-8")
    proc = run_cli("fmt", bad)
    assert proc.returncode == 2
    assert re.search(r"error\[D0101\]", proc.stderr)
    assert bad.read_text(encoding="utf-8") == "element e { holds a }\n"
