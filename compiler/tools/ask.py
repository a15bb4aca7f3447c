"""`doctrine ask`: an interview in the terminal, one question at a time, ending in the memo.

The questions come from `interview.next_step` (the doctrine's own `missing`). Questions and
answers go to standard error and the memo to standard output (or -o), so that
`doctrine ask ... --format json > result.json` keeps the result clean. Answers are read with a
menu on a terminal (prompt_toolkit, when installed), one line each from standard input that is
not a terminal, or from a facts file with --replay.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO

from ..runtime import DoctrineException, Evaluator
from . import interview
from .interview import AnswerError, Question

__all__ = ["Interrupted", "run", "save_facts"]


class Interrupted(DoctrineException):
    """The interview stopped before it was done (Ctrl-C, or the answers ran out)."""


# ---------------------------------------------------------------- showing a question


def describe(question: Question, number: int, menu: bool = False) -> str:
    """A question as the terminal shows it: the fact, its meaning, why it is asked, its type
    (and its choices, numbered, unless a menu shows them)."""
    lines = [f"Question {number}: {question.fact.replace('_', ' ')} ({question.fact})"]
    if question.meaning:
        lines.append(f"  Meaning: {question.meaning}")
    if question.reasons:
        lines.append("  Asked because it can still decide:")
        lines.extend(f"    - {r.element}: {r.title}" for r in question.reasons)
    if menu:
        lines.append(f"  Answer: {question.type} (arrow keys or the number, then Enter)")
        return "\n".join(lines)
    lines.append(f"  Answer: {question.type}; or ? for don't know")
    if question.values:
        lines.extend(f"    {i}) {v}" for i, v in enumerate(question.values, 1))
    elif question.kind == "bool":
        lines.append("    y) yes   n) no")
    return "\n".join(lines)


# ---------------------------------------------------------------- ways of answering

Reader = Callable[[str], str]  # prompt -> one typed line; raises Interrupted at the end


def _line_reader(stream: TextIO, echo: TextIO) -> Reader:
    def read(prompt: str) -> str:
        echo.write(prompt)
        echo.flush()
        line = stream.readline()
        if not line:
            echo.write("\n")
            raise Interrupted("standard input ended before the interview did")
        if not stream.isatty():
            echo.write(line if line.endswith("\n") else line + "\n")  # a transcript
        return line.rstrip("\r\n")

    return read


def _terminal_reader() -> Reader | None:
    """Prompts with line editing and history from prompt_toolkit, if it is installed."""
    try:
        from prompt_toolkit import PromptSession
    except ImportError:  # the plain reader serves
        return None
    session: Any = PromptSession()

    def read(prompt: str) -> str:
        try:
            return str(session.prompt(prompt))
        except EOFError:
            raise Interrupted("the interview was ended (Ctrl-D)") from None

    return read


def _menu(question: Question) -> Any:
    """An arrow-key menu for a yes/no or enum question on a terminal; None if unavailable."""
    try:
        from prompt_toolkit.shortcuts import choice
    except ImportError:
        return None
    options: list[tuple[Any, str]]
    if question.kind == "bool":
        options = [(True, "yes"), (False, "no")]
    else:
        options = [(v, v.replace("_", " ")) for v in question.values]
    options.append((_DONT_KNOW, "don't know"))
    try:
        return choice(message="", options=options)
    except EOFError:
        raise Interrupted("the interview was ended (Ctrl-D)") from None


_DONT_KNOW = object()


class Answerer:
    """Reads the answer to each question: from a terminal, from plain lines, or from a file."""

    def __init__(
        self,
        err: TextIO,
        *,
        replay: Mapping[str, Any] | None = None,
        replay_name: str = "",
        stdin: TextIO | None = None,
        menus: bool | None = None,
    ):
        self.err = err
        self.replay = replay
        self.replay_name = replay_name
        stdin = stdin or sys.stdin
        terminal = stdin.isatty() and err.isatty()
        self.menus = terminal if menus is None else menus
        self.read = (_terminal_reader() if terminal else None) or _line_reader(stdin, err)

    def answer(self, question: Question, number: int) -> Any:
        menu = self.replay is None and self.menus and question.kind in ("bool", "enum", "scale")
        self.err.write("\n" + describe(question, number, menu) + "\n")
        if self.replay is not None:
            value = self.replay.get(question.fact)
            where = f"from {self.replay_name}" if question.fact in self.replay else "not given"
            self.err.write(f"> {interview.show_value(value)} ({where})\n")
            return value
        if question.kind == "list":
            return self._records(question)
        if self.menus and question.kind in ("bool", "enum", "scale"):
            picked = _menu(question)
            if picked is not None:
                self.err.write(
                    f"> {interview.show_value(None if picked is _DONT_KNOW else picked)}\n"
                )
                return None if picked is _DONT_KNOW else picked
        return self._line(question.kind, question.values, "> ")

    def _line(self, kind: str, values: tuple[str, ...], prompt: str, optional: bool = False) -> Any:
        while True:
            text = self.read(prompt)
            if interview.is_dont_know(text) or (optional and not text.strip()):
                return None
            try:
                return interview.parse_value(kind, values, text)
            except AnswerError as exc:
                self.err.write(f"  {exc}\n")

    def _records(self, question: Question) -> Any:
        """A list of records, item by item: whether there is one more, then its fields."""
        records: list[dict[str, Any]] = []
        noun = question.fact.replace("_", " ")
        while True:
            more = self._line(
                "bool", (), f"> Add {'another' if records else 'an'} item to {noun}? (y/n/?) "
            )
            if more is None:
                return records or None  # "don't know" before any item: the list is unknown
            if not more:
                return records
            record: dict[str, Any] = {}
            for f in question.fields:
                hint = (
                    "/".join(f.values)
                    if f.values
                    else {"bool": "y/n", "date": "YYYY-MM-DD"}.get(f.kind, f.kind)
                )
                if f.optional:
                    hint += ", or empty if none"
                value = self._line(f.kind, f.values, f"    {f.name} ({hint}): ", f.optional)
                if value is not None:
                    record[f.name] = value
            records.append(record)


# ---------------------------------------------------------------- saving the answers


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "isoformat") and not isinstance(value, str):
        return value.isoformat()
    return value


def save_facts(path: Path, facts: Mapping[str, Any]) -> None:
    """Write answers as a facts file, YAML or JSON by its suffix; "don't know" as null.

    Written whole to a temporary file and renamed, so an interruption never leaves half a file.
    """
    data = _plain(dict(facts))
    if path.suffix.lower() == ".json":
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    else:
        import yaml

        text = (
            '# Answers of `doctrine ask`; null is "don\'t know". Resume with --facts.\n'
            + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
        )
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------- the interview


def run(
    evaluator: Evaluator,
    answerer: Answerer,
    start: Mapping[str, Any],
    *,
    save: Path | None = None,
    stage: str | None = None,
    strategy: str = interview.DEFAULT_STRATEGY,
) -> tuple[Any, list[str]]:
    """Ask until the outcome is settled or nothing left can change it.

    Returns the result and the facts asked, in order. Raises FactsError when the starting
    facts do not fit, and Interrupted (after saving) when the interview stops early.
    """
    answers: dict[str, Any] = dict(start)
    asked: list[str] = []
    if save is not None:
        save_facts(save, answers)
    try:
        while True:
            step = interview.next_step(evaluator, answers, stage=stage, strategy=strategy)
            if step.question is None:
                return step.result, asked
            value = answerer.answer(step.question, len(asked) + 1)
            # An answer the doctrine refuses (a replayed file's typo) is reported, not kept.
            evaluator.schema.validate({step.question.fact: value})
            answers[step.question.fact] = value
            asked.append(step.question.fact)
            if save is not None:
                save_facts(save, answers)
    except (KeyboardInterrupt, Interrupted) as exc:
        if save is not None:
            save_facts(save, answers)
        raise Interrupted(str(exc) or "the interview was interrupted") from None
