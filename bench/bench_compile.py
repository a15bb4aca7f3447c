"""Benchmark 2: compiling generated doctrine projects of 1,000, 10,000 and 50,000 lines.

A project is a vocabulary module (facts, an ordered enum, authorities), modules of elements
that import it (and/or/not, comparisons, elements built on other elements, citations, met and
unmet texts), and a main module that imports them all, puts every element in some doctrine
and gives every doctrine worked cases. Parse (reading and parsing every file), check and code
generation (of the main module, which holds every element) are timed apart; the growth from
one size to the next says whether each phase stays linear.
"""

from __future__ import annotations

import itertools
import random
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from .common import say, table

SIZES = (1_000, 10_000, 50_000)
TARGET_LINES, TARGET_SECONDS = 10_000, 2.0
ELEMENTS_PER_MODULE = 40
SLOTS_PER_DOCTRINE = 8
LEVELS = ("low", "some", "mid", "high", "top")


def _vocabulary(facts: int) -> list[str]:
    out = ['module vocab "Facts of the generated project"', ""]
    for i in range(facts):
        out += [f"fact f{i}: bool", f'  means "generated fact number {i}"', ""]
    out += [
        f"fact level: enum ({' < '.join(LEVELS)})",
        '  means "an ordered scale"',
        "",
        "fact kind: enum (alpha, beta, gamma)",
        '  means "a plain enum"',
        "",
    ]
    for i in range(4):
        out += [
            f"authority auth{i} {{",
            f'  name "Party {i} v. Other {i}"',
            f'  reporter "{100 + i} F.3d {1000 + i}"',
            '  court "9th"',
            f"  year {1990 + i}",
            "}",
            "",
        ]
    return out


def _expr(rng: random.Random, facts: int, earlier: list[str]) -> str:
    def atom() -> str:
        roll = rng.random()
        if roll < 0.12:
            return f"level >= {rng.choice(LEVELS[1:])}"
        if roll < 0.18:
            return f"kind == {rng.choice(('alpha', 'beta', 'gamma'))}"
        if roll < 0.35 and earlier:
            return rng.choice(earlier)
        name = f"f{rng.randrange(facts)}"
        return f"not {name}" if rng.random() < 0.15 else name

    a, b, c = atom(), atom(), atom()
    shape = rng.randrange(3)
    if shape == 0:
        return f"{a} and ({b} or {c})"
    if shape == 1:
        return f"({a} or {b}) and {c}"
    return f"{a} and {b} and {c}"


def _module(index: int, rng: random.Random, facts: int, count: int) -> tuple[list[str], list[str]]:
    names: list[str] = []
    out = [f'module m{index} "Generated elements, part {index}"', "", "import vocab", ""]
    for j in range(count):
        name = f"m{index}_e{j}"
        out += [
            f"element {name} {{",
            f'  title "Generated element {j} of module {index}"',
            f"  holds when {_expr(rng, facts, names[-5:])}",
            f'  cite auth{rng.randrange(4)} at "{rng.randrange(1000, 1100)}"',
            f'  met "The generated requirement {j} is met."',
            f'  unmet "The generated requirement {j} is not met."',
            "}",
            "",
        ]
        names.append(name)
    return out, names


def _main(modules: int, elements: list[str], rng: random.Random, facts: int) -> list[str]:
    out = [
        'module main "The generated project\'s doctrines"',
        "",
        "import vocab, " + ", ".join(f"m{i}" for i in range(modules)),
        "",
    ]
    for d in range(0, len(elements), SLOTS_PER_DOCTRINE):
        slots = elements[d : d + SLOTS_PER_DOCTRINE]
        name = f"d{d // SLOTS_PER_DOCTRINE}"
        out += [f"doctrine {name} {{", f'  title "Generated doctrine {name}"']
        out += [f"  element s{k} = {element}" for k, element in enumerate(slots)]
        out += ["}", ""]
        for c in range(2):
            given = ", ".join(
                f"f{i}: {rng.choice(('true', 'false'))}" for i in rng.sample(range(facts), 3)
            )
            out += [
                f"case {name}_c{c} under {name} {{",
                f'  title "Generated case {c} of {name}"',
                f"  given {{ {given}, level: {rng.choice(LEVELS)} }}",
                "}",
                "",
            ]
    return out


def project(lines: int, where: Path, seed: int = 6) -> Path:
    """Write a generated project of about `lines` lines under `where`; return its main file."""
    rng = random.Random(seed)
    facts = 40
    vocabulary = _vocabulary(facts)
    # An element module is ~8 lines per element; the main module ~2.6 lines per element.
    per_element = 8 + 2.6
    modules = max(1, round((lines - len(vocabulary)) / per_element / ELEMENTS_PER_MODULE))
    count = max(1, round((lines - len(vocabulary)) / per_element / modules))
    where.mkdir(parents=True, exist_ok=True)
    (where / "vocab.doctrine").write_text("\n".join(vocabulary) + "\n", encoding="utf-8")
    elements: list[str] = []
    for i in range(modules):
        text, names = _module(i, rng, facts, count)
        (where / f"m{i}.doctrine").write_text("\n".join(text) + "\n", encoding="utf-8")
        elements += names
    main = where / "main.doctrine"
    main.write_text("\n".join(_main(modules, elements, rng, facts)) + "\n", encoding="utf-8")
    return main


def count_lines(folder: Path) -> int:
    """The lines of every .doctrine file in `folder`."""
    return sum(len(p.read_text(encoding="utf-8").splitlines()) for p in folder.glob("*.doctrine"))


def compile_phases(main: Path) -> dict[str, float]:
    """Seconds to parse (read and parse every file), check, and generate the main module."""
    from compiler.checking.checker import check
    from compiler.codegen.generator import generate
    from compiler.syntax.loader import load

    start = time.perf_counter()
    loaded = load([main])
    parsed = time.perf_counter()
    project, _ = check(loaded)
    program = project.program(main.resolve())
    checked = time.perf_counter()
    source = generate(program)
    generated = time.perf_counter()
    compile(source, str(main), "exec")  # what importing the module costs on top
    compiled = time.perf_counter()
    return {
        "parse": parsed - start,
        "check": checked - parsed,
        "codegen": generated - checked,
        "python": compiled - generated,
    }


def run(sizes: tuple[int, ...] = SIZES, repeat: int = 2) -> dict[str, Any]:
    """Compile a generated project of each size; the fastest of `repeat` runs per phase."""
    folder = Path(tempfile.mkdtemp(prefix="doctrine-bench-"))
    rows: list[dict[str, Any]] = []
    try:
        compile_phases(project(200, folder / "warm"))  # imports and grammar, outside the timing
        for size in sizes:
            where = folder / str(size)
            main = project(size, where)
            lines = count_lines(where)
            say(f"compilation: {lines:,} lines in {len(list(where.glob('*.doctrine')))} files")
            best: dict[str, float] = {}
            for _ in range(repeat):
                for phase, seconds in compile_phases(main).items():
                    best[phase] = min(best.get(phase, float("inf")), seconds)
            rows.append({"target": size, "lines": lines, "seconds": best})
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    for before, after in itertools.pairwise(rows):
        scale = after["lines"] / before["lines"]
        after["growth"] = {
            phase: (after["seconds"][phase] / before["seconds"][phase]) / scale
            for phase in after["seconds"]
        }
    near = min(rows, key=lambda r: abs(r["target"] - TARGET_LINES))
    total = sum(near["seconds"][p] for p in ("parse", "check", "codegen"))
    return {
        "rows": rows,
        "target": {
            "lines": near["lines"],
            "seconds": total,
            "goal": TARGET_SECONDS,
            "met": near["target"] == TARGET_LINES and total < TARGET_SECONDS,
        },
    }


def markdown(report: dict[str, Any]) -> str:
    """The compilation table: lines per second per phase, and growth against linear."""
    phases = ("parse", "check", "codegen")
    rows = []
    for r in report["rows"]:
        s = r["seconds"]
        total = sum(s[p] for p in phases)
        growth = r.get("growth")
        rows.append(
            [
                f"{r['lines']:,}",
                *(f"{r['lines'] / s[p]:,.0f}" for p in phases),
                f"{total:.2f} s",
                " / ".join(f"{growth[p]:.2f}" for p in phases) if growth else "-",
            ]
        )
    t = report["target"]
    return "\n".join(
        [
            "Compilation of generated projects (lines per second; growth: time ratio to the "
            "size before, divided by the line ratio, 1.00 = linear, for parse / check / codegen)",
            "",
            table(
                [
                    "lines",
                    "parse lines/s",
                    "check lines/s",
                    "codegen lines/s",
                    "total",
                    "growth vs linear",
                ],
                rows,
            ),
            "",
            f"{t['lines']:,} lines compile in {t['seconds']:.2f} s "
            f"(target under {t['goal']:.0f} s: {'met' if t['met'] else 'NOT met'}).",
        ]
    )
