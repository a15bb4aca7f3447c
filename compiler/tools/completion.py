"""Shell completion scripts for the `doctrine` command, made by shtab from its parser."""

from __future__ import annotations

import argparse

__all__ = ["script"]

# Arguments that name files: (name of the bash function, its extglob, the zsh glob). The
# shells offer folders and the files that fit.
_DOCTRINE = ("doctrine", "*.doctrine", "*.doctrine")
_FACTS = ("facts", "*.@(yaml|yml|json)", "*.(yaml|yml|json)")
_FILES = {
    "file": _DOCTRINE,
    "files": _DOCTRINE,
    "first": _DOCTRINE,
    "second": _DOCTRINE,
    "paths": ("paths", "*.@(doctrine|yaml|yml|json)", "*.(doctrine|yaml|yml|json)"),
    "facts": _FACTS,
    "batch": ("batch", "*.@(jsonl|csv)", "*.(jsonl|csv)"),
}
_FOLDERS = {"templates", "library", "path"}


def script(parser: argparse.ArgumentParser, shell: str) -> str:
    """The completion script for `shell` ("bash" or "zsh")."""
    import shtab

    functions = []
    for action in _actions(parser):
        if action.dest in _FILES:
            name, extglob, zsh_glob = _FILES[action.dest]
            action.complete = {  # type: ignore[attr-defined]
                "bash": f"_doctrine_files_{name}",
                "zsh": f"_files -g '{zsh_glob}'",
            }
            function = (
                f'_doctrine_files_{name}() {{ compgen -d -- "$1"; '
                f"compgen -f -X '!{extglob}' -- \"$1\"; }}"
            )
            if function not in functions:
                functions.append(function)
        elif action.dest in _FOLDERS:
            action.complete = shtab.DIRECTORY  # type: ignore[attr-defined]
        elif action.dest == "output":
            action.complete = shtab.FILE  # type: ignore[attr-defined]
    preamble = {"bash": "shopt -s extglob\n" + "\n".join(functions), "zsh": ""}
    return str(shtab.complete(parser, shell=shell, preamble=preamble[shell]))


def _actions(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    out = []
    for action in parser._actions:
        out.append(action)
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                out.extend(_actions(sub))
    return out
