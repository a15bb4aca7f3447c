"""Runs the worked cases written in doctrine files against their compiled doctrines."""

from __future__ import annotations

from pathlib import Path

import attrs

from .compile import compile_files, module_from_source


@attrs.frozen
class CaseOutcome:
    """One case: whether it passed, and each disagreement when it did not."""

    name: str
    where: str
    passed: bool
    problems: tuple[str, ...]
    expected: dict[str, object]
    actual: dict[str, object]


def _show(value: object) -> str:
    if value is None:
        return "unknown"
    return "true" if value is True else "false" if value is False else str(value)


def run_cases(paths: list[Path]) -> list[CaseOutcome]:
    """Compile the files and run every case they declare, in order."""
    outcomes = []
    for compiled in compile_files(paths):
        if not compiled.program.cases:
            continue
        module = module_from_source(compiled.source, compiled.program.name, str(compiled.path))
        for case in module.CASES:
            result = module.DOCTRINES[case["doctrine"]].evaluate(case["given"])
            actual: dict[str, object] = {
                "holds": result.holds,
                **result.elements,
                "missing": tuple(result.missing),
            }
            problems = []
            for key, want in case["expect"].items():
                got = actual.get(key)
                if key == "missing":
                    wanted, found = tuple(want), tuple(result.missing)
                    if wanted != found:
                        problems.append(
                            f"missing: expected [{', '.join(wanted)}], got [{', '.join(found)}]"
                        )
                elif got is not want:
                    problems.append(f"{key}: expected {_show(want)}, got {_show(got)}")
            outcomes.append(
                CaseOutcome(
                    name=case["name"],
                    where=f"{compiled.program.path}:{case['line']}",
                    passed=not problems,
                    problems=tuple(problems),
                    expected=dict(case["expect"]),
                    actual=actual,
                )
            )
    return outcomes
