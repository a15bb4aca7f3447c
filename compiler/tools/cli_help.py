"""The command line's help: what each command does, examples, and its exit statuses."""

from __future__ import annotations

import argparse
import textwrap

__all__ = ["COMMANDS", "EXIT_STATUS", "apply_help"]

# What every command's exit status means, unless its own entry says more.
EXIT_STATUS: dict[int, str] = {
    0: "success",
    2: "an error in the input (a doctrine, facts or case file, or the command line); "
    "the message names the file, line and column, or the fact",
    3: "an internal error of doctrine (a bug: please report it)",
}

# command: (description, examples, exit statuses of its own)
COMMANDS: dict[str, tuple[str, tuple[str, ...], dict[int, str]]] = {
    "check": (
        "Parse and check doctrine files: names, types, imports, duplicates, unused elements. "
        "Every problem of a run is reported, each with file:line:col and a caret.",
        ("doctrine check my_test.doctrine", "doctrine check doctrine/"),
        {},
    ),
    "compile": (
        "Write each doctrine file as an importable Python module, or (--target sql) one "
        "doctrine as one SQL query over a table of cases.",
        (
            "doctrine compile my_test.doctrine -o build/",
            "doctrine compile my_test.doctrine -o dist/ --standalone",
            "doctrine compile my_test.doctrine --target sql --dialect spark --keep id -o q.sql",
        ),
        {},
    ),
    "eval": (
        "Evaluate a doctrine on the facts of a case: whether it holds, each element, and the "
        "facts that could still change the outcome.",
        (
            "doctrine eval doctrine/state_created_danger.doctrine --facts case.yaml",
            "doctrine eval my_test.doctrine --facts case.json --format json",
            "doctrine eval my_test.doctrine --batch cases.jsonl -o results.jsonl --jobs 2",
            "doctrine eval my_test.doctrine --batch cases.parquet --keep id -o results.parquet",
        ),
        {2: "an error in the input, or (with --batch) a case that could not be evaluated"},
    ),
    "which": (
        "Name the doctrine of the library that governed a question for a court on a day.",
        (
            "doctrine which special_relationship --court 4th --date 1989-03-10",
            "doctrine which state_created_danger --court 9th --date 2003-09-01 --library law/",
        ),
        {1: "no doctrine of the library governed then"},
    ),
    "test": (
        "Run the worked cases of doctrine files and of YAML or JSON case files, and report "
        "each that fails.",
        ("doctrine test", "doctrine test my_test.doctrine cases/ -v"),
        {1: "a case failed"},
    ),
    "explain": (
        "Explain a doctrine's result on the facts of a case as a memo: the conclusion first, "
        "then each element with the facts it turned on, the authorities, and what would "
        "change the outcome.",
        (
            "doctrine explain doctrine/special_relationship.doctrine --facts pinder.yaml",
            "doctrine explain my_test.doctrine --facts case.yaml --format html -o memo.html",
            "doctrine explain my_test.doctrine --facts case.yaml --format docx -o memo.docx \\\n"
            "      --to 'Judge Alvarez' --from 'Law clerk' --date today --re 'Smith v. Jones'",
        ),
        {},
    ),
    "doc": (
        "Write a doctrine out as a readable document: its elements, what each requires, the "
        "facts it weighs and its authorities. No facts are needed.",
        ("doctrine doc my_test.doctrine", "doctrine doc my_test.doctrine --format html -o t.html"),
        {},
    ),
    "diff": (
        "Compare two doctrines on the same facts: where they agree, and where they first part.",
        ("doctrine diff majority.doctrine dissent.doctrine --facts case.yaml",),
        {},
    ),
    "fmt": (
        "Format doctrine files in the canonical layout, keeping comments.",
        ("doctrine fmt my_test.doctrine", "doctrine fmt --check doctrine/", "doctrine fmt -"),
        {1: "with --check or --diff: some file would be reformatted"},
    ),
    "graph": (
        "Draw the element tree of a doctrine, with what it imports, as Graphviz or Mermaid.",
        (
            "doctrine graph my_test.doctrine | dot -Tsvg > tree.svg",
            "doctrine graph my_test.doctrine --format mermaid -o tree.mmd",
        ),
        {},
    ),
    "lsp": (
        "Run the language server over standard input and output, for an editor to start.",
        ("doctrine lsp",),
        {},
    ),
    "site": (
        "Write a library as a static website: a page per doctrine, element, authority, fact, "
        "worked case and module, each case's memo, an index by court and period, and an "
        "offline search page.",
        (
            "doctrine site -o public/",
            "doctrine site my_library/ -o public/ --title 'Our tests' --check-links",
        ),
        {},
    ),
    "completion": (
        "Print a shell completion script for doctrine's commands and options.",
        (
            "doctrine completion bash > ~/.local/share/bash-completion/completions/doctrine",
            'doctrine completion zsh > "${fpath[1]}/_doctrine"',
        ),
        {},
    ),
    # The front ends of compiler/tools/commands.py (the `ask` helper's).
    "schema": (
        "Write the JSON Schema (draft 2020-12) of the facts a doctrine accepts: types, enums, "
        "dates, records, and each fact's meaning, for editors and forms.",
        (
            "doctrine schema doctrine/state_created_danger.doctrine -o facts.schema.json",
            "doctrine schema doctrine/vocabulary.doctrine",
        ),
        {},
    ),
    "ask": (
        "Interview: ask one fact at a time, only those that can still change the outcome, "
        "with why each is asked; then print the memo. Questions go to standard error, the memo "
        "to standard output.",
        (
            "doctrine ask doctrine/state_created_danger.doctrine --save answers.yaml",
            "doctrine ask my_test.doctrine --facts answers.yaml --save answers.yaml",
            "doctrine ask my_test.doctrine --replay case.yaml --format json",
        ),
        {130: "the interview stopped before it was done (the answers are saved with --save)"},
    ),
    "serve": (
        "Serve the library as a local web app (one-question-at-a-time interviews, memos, "
        "downloads) and a JSON API described at /openapi.json.",
        ("doctrine serve", "doctrine serve my_library/ --port 8080"),
        {},
    ),
    "mcp": (
        "Serve the library's doctrines as tools for AI assistants over the Model Context "
        "Protocol (standard input and output). See docs/mcp.md for the set-up.",
        ("doctrine mcp", "doctrine mcp /path/to/library"),
        {},
    ),
}


# The help of arguments many commands share, for those declared without a line of help.
_USUAL = {
    "file": "the doctrine file",
    "files": "doctrine files, or folders of them",
    "output": "write to OUT, not standard output",
    "doctrine": "a doctrine of FILE other than its main one",
}


def _epilog(command: str | None) -> str:
    examples: tuple[str, ...] = ()
    statuses = dict(EXIT_STATUS)
    if command in COMMANDS:
        _, examples, own = COMMANDS[command]
        statuses.update(own)
    lines = []
    if examples:
        lines.append("examples:")
        lines.extend(f"  {e}" for e in examples)
        lines.append("")
    lines.append("exit status:")
    for code, text in sorted(statuses.items()):
        lines.append(
            textwrap.fill(text, 78, initial_indent=f"  {code}  ", subsequent_indent="     ")
        )
    return "\n".join(lines)


def apply_help(parser: argparse.ArgumentParser) -> None:
    """Give the parser and each command's parser a description, examples and exit statuses."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = (
        "examples:\n"
        "  doctrine check doctrine/\n"
        "  doctrine eval doctrine/state_created_danger.doctrine --facts case.yaml\n"
        "  doctrine explain doctrine/special_relationship.doctrine --facts case.yaml\n"
        "  doctrine COMMAND --help    (what a command does, its options, examples)\n\n"
        + _epilog(None)
    )
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                for argument in sub._actions:  # the usual arguments, where help was left out
                    if not argument.help and argument.dest in _USUAL:
                        argument.help = _USUAL[argument.dest]
                sub.formatter_class = argparse.RawDescriptionHelpFormatter
                text = sub.description or (COMMANDS[name][0] if name in COMMANDS else "")
                # Paragraphs filled to 78 columns (the raw formatter keeps the examples' lines).
                sub.description = "\n\n".join(
                    textwrap.fill(" ".join(para.split()), 78) for para in text.split("\n\n")
                )
                if not sub.epilog:
                    sub.epilog = _epilog(name)
