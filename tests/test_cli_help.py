"""The command line's help, `python -m compiler`, and the shell completion scripts."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from compiler.tools.cli import build_parser, main
from tests.support import ROOT


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("no commands")


def test_every_command_and_argument_has_a_line_of_help() -> None:
    missing = [
        f"{name} {action.option_strings or action.dest}"
        for name, sub in _commands().items()
        for action in sub._actions
        if not action.help
    ]
    assert not missing, f"give these a help= line (and the command an entry in cli_help): {missing}"


@pytest.mark.parametrize("command", sorted(_commands()))
def test_each_command_help_has_a_description_examples_and_exit_codes(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    usage, _, rest = out.partition("\n\n")
    assert usage.startswith(f"usage: doctrine {command}")
    description = rest.split("\n\n", 1)[0]
    assert len(description.split()) >= 5, f"`{command}` needs a description: {description!r}"
    assert "\nexamples:\n  doctrine " in out
    assert "\nexit status:\n  0  success\n" in out
    assert "  2  an error in the input" in out
    assert max(len(line) for line in out.splitlines() if not line.startswith("  doctrine")) <= 80


def test_the_top_level_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("check", "eval", "explain", "completion"):
        assert f"\n    {command} " in out or f"\n    {command}\n" in out
    assert "doctrine COMMAND --help" in out and "exit status:" in out


def test_python_dash_m_compiler_is_the_command() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "compiler", "--version"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("doctrine ")


def _script(shell: str, tmp_path: Path) -> Path:
    path = tmp_path / f"doctrine.{shell}"
    proc = subprocess.run(
        [sys.executable, "-m", "compiler", "completion", shell],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    path.write_text(proc.stdout, encoding="utf-8")
    return path


def _bash_complete(script: Path, cwd: Path, *words: str) -> list[str]:
    line = " ".join(words)
    current = words[-1] or "''"
    code = (
        f"source {script}\n"
        f"COMP_WORDS=({line}); COMP_CWORD={len(words) - 1}\n"
        f'COMP_LINE="{line}"; COMP_POINT={len(line)}\n'
        f"_shtab_doctrine doctrine {current} {words[-2]}\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    proc = subprocess.run(
        ["bash", "-c", code], capture_output=True, text=True, cwd=cwd, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return sorted(x for x in proc.stdout.splitlines() if x)


def test_bash_completes_commands_options_and_files(tmp_path: Path) -> None:
    script = _script("bash", tmp_path)
    assert _bash_complete(script, tmp_path, "doctrine", "ex") == ["explain"]
    assert "--facts" in _bash_complete(script, tmp_path, "doctrine", "explain", "--f")
    cases = tmp_path / "work"
    (cases / "sub").mkdir(parents=True)
    for name in ("a.yaml", "b.json", "c.doctrine", "d.txt"):
        (cases / name).write_text("", encoding="utf-8")
    facts = _bash_complete(script, cases, "doctrine", "explain", "c.doctrine", "--facts", "")
    assert facts == ["a.yaml", "b.json", "sub"]
    files = _bash_complete(script, cases, "doctrine", "check", "")
    assert files == ["c.doctrine", "sub"]


@pytest.mark.skipif(shutil.which("zsh") is None, reason="no zsh here (apt-get install zsh)")
def test_the_zsh_script_loads(tmp_path: Path) -> None:
    script = _script("zsh", tmp_path)
    folder = tmp_path / "functions"
    folder.mkdir()
    (folder / "_doctrine").write_text(script.read_text(encoding="utf-8"), encoding="utf-8")
    proc = subprocess.run(
        [
            "zsh",
            "-f",
            "-c",
            f"fpath=({folder} $fpath); autoload -U compinit; compinit -u -D;"
            " autoload -U _doctrine; whence -w _doctrine; echo $_comps[doctrine]",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "_doctrine: function" in proc.stdout
    assert proc.stdout.strip().endswith("_doctrine")
