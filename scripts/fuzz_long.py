#!/usr/bin/env python3
"""The long fuzz run: the fast tests' strategies, for as long as asked.

    .venv/bin/python scripts/fuzz_long.py --minutes 30 [--report fuzz-report.json]

Rounds of the targets below until the time is up (`--only TARGET` for one):

- generated doctrines (half of them with the law's constructs): each compiles or is refused
  with diagnostics, and the compiled module agrees with the reference interpreter
  (tests/reference.py, a brute force for exact `holds` and `missing`) on random facts;
- doctrines at the edges: nested up to and past the limit, thousands of conditions wide,
  strings of any characters: each compiles or is refused;
- mutations of the library's files (tokens deleted, swapped, duplicated, replaced; random
  bytes, some not UTF-8): each compiles or is refused, never a traceback or a hang;
- random text: the same;
- hostile facts files (random JSON and YAML, and values of every wrong type) against the
  library: each evaluates or is refused with a clear error, within a time limit;
- exactness: generated doctrines with the law's constructs (switches, open outcomes, burdens,
  thresholds): `holds` and `missing` agree with brute force over every completion of the
  unknown facts (tests/test_exact.py);
- SQL: generated doctrines (half with the law's constructs) compiled to SQL give, on DuckDB and
  SQLite, the generated Python code's three-valued answers on random facts (tests/test_sql.py);
- batches: JSON Lines files mixing good cases with hostile lines (huge numbers, deep nesting,
  duplicate keys, wrong types, broken JSON, bytes not UTF-8): one result or error per line,
  never a traceback;
- user templates: random compositions of expensive template operations: each renders or is
  refused with a clear error, within a time limit.

Every input that breaks the contract is a finding: the report lists each distinct one (by
kind and where it was raised) with its first input, and the count of inputs run.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import json
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.setrecursionlimit(1000)  # the default: the run must not hide what a user would meet

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from reference import Reference, disagreements  # noqa: E402
from strategies import (  # noqa: E402
    LIBRARY,
    Hang,
    compile_or_refuse,
    doctrine_sources,
    extreme_sources,
    fact_patterns,
    library_mutations,
    time_limit,
)
from test_exact import disagreements_with_brute_force  # noqa: E402
from test_sql import sql_disagreements  # noqa: E402

from compiler.codegen.compile import compile_files, module_from_source  # noqa: E402
from compiler.runtime import FactsError  # noqa: E402
from compiler.tools.facts import FactsFileError, parse_facts  # noqa: E402

ROUND = settings(
    max_examples=200,
    deadline=None,
    database=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)


class Run:
    def __init__(self, folder: Path):
        self.folder = folder
        self.library = folder / "library"
        shutil.copytree(LIBRARY, self.library)
        self.counts: collections.Counter[str] = collections.Counter()
        self.findings: dict[str, dict[str, Any]] = {}
        compiled = compile_files(sorted(self.library.rglob("*.doctrine")))
        self.doctrines = []
        for c in compiled:
            module = module_from_source(c.source, c.program.name, str(c.path))
            for name in module.DOCTRINES:
                self.doctrines.append((module.DOCTRINES[name], c.program))

    def finding(self, target: str, exc: BaseException | str, sample: Any) -> None:
        if isinstance(exc, BaseException):
            frames = traceback.extract_tb(exc.__traceback__)
            where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
            key = f"{target}: {type(exc).__name__} at {where}"
            text = "".join(traceback.format_exception(exc))[-3000:]
        else:
            key, text = f"{target}: {exc.splitlines()[0][:120]}", exc
        self.counts["findings"] += 1
        if key not in self.findings:
            self.findings[key] = {"count": 0, "input": repr(sample)[:4000], "detail": text}
            print(f"FINDING {key}", flush=True)
        self.findings[key]["count"] += 1

    # ------------------------------------------------------------ targets
    def generated(self) -> None:
        @ROUND
        @given(st.one_of(doctrine_sources(), doctrine_sources(laws=True)), st.data())
        def run(source: str, data: st.DataObject) -> None:
            self.counts["generated doctrines"] += 1
            path = self.folder / "gen.doctrine"
            path.write_text(source, encoding="utf-8")
            try:
                if compile_or_refuse(path) == "refused":
                    return
                compiled = compile_files([path])[0]
                module = module_from_source(compiled.source, "gen", str(path))
                reference = Reference(compiled.program)
                for _ in range(5):
                    facts = data.draw(fact_patterns(compiled.program))
                    for name, evaluator in module.DOCTRINES.items():
                        self.counts["differential fact patterns"] += 1
                        problems = disagreements(evaluator, reference, name, facts)
                        if problems:
                            self.finding("differential", "\n".join(problems), (source, facts))
            except Exception as exc:
                self.finding("generated doctrine", exc, source)

        run()

    def extremes(self) -> None:
        @ROUND
        @given(extreme_sources())
        def run(source: str) -> None:
            self.counts["extreme doctrines"] += 1
            path = self.folder / "extreme.doctrine"
            path.write_text(source, encoding="utf-8", errors="surrogatepass")
            try:
                compile_or_refuse(path)
            except Exception as exc:
                self.finding("extreme doctrine", exc, source)

        run()

    def mutations(self) -> None:
        @ROUND
        @given(library_mutations())
        def run(mutation: tuple[Path, bytes]) -> None:
            self.counts["library mutations"] += 1
            original, data = mutation
            folder = self.library / original.relative_to(LIBRARY).parent
            path = folder / "mutant.doctrine"
            path.write_bytes(data)
            try:
                compile_or_refuse(path)
            except Exception as exc:
                self.finding("library mutation", exc, (original.name, data))

        run()

    def text(self) -> None:
        @ROUND
        @given(st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
        def run(data: bytes) -> None:
            self.counts["random files"] += 1
            path = self.folder / "random.doctrine"
            path.write_bytes(data)
            try:
                compile_or_refuse(path)
            except Exception as exc:
                self.finding("random file", exc, data)

        run()

    def facts(self) -> None:
        scalars = st.one_of(
            st.none(),
            st.booleans(),
            st.integers(),
            st.floats(),
            st.text(max_size=12),
            st.sampled_from(["1989-02-30", "0000-01-01", "9999-12-31", "2000-01-01"]),
        )
        values = st.recursive(
            scalars,
            lambda inner: st.one_of(
                st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
            ),
            max_leaves=20,
        )

        @ROUND
        @given(
            st.integers(0, len(self.doctrines) - 1),
            st.data(),
            st.dictionaries(st.text(max_size=12), values, max_size=5),
            st.sampled_from(["json", "yaml"]),
        )
        def run(which: int, data: st.DataObject, noise: dict[str, Any], form: str) -> None:
            self.counts["facts files"] += 1
            evaluator, program = self.doctrines[which]
            facts: dict[str, Any] = data.draw(fact_patterns(program))
            facts.update(noise)
            for name in list(facts)[: data.draw(st.integers(0, 2))]:
                facts[name] = data.draw(values)
            try:
                text = _dump(facts, form)
            except (TypeError, ValueError):
                return
            try:
                with time_limit(20):
                    try:
                        parsed = parse_facts(text, f"case.{form}")
                        evaluator.evaluate(parsed)
                    except (FactsFileError, FactsError) as exc:
                        if not str(exc).strip():
                            self.finding("facts", "an error with no message", text)
            except (Exception, Hang) as exc:
                self.finding("facts file", exc, text)

        run()

    def exact(self) -> None:
        @ROUND
        @given(doctrine_sources(laws=True), st.data())
        def run(source: str, data: st.DataObject) -> None:
            self.counts["exactness doctrines"] += 1
            path = self.folder / "exact.doctrine"
            path.write_text(source, encoding="utf-8")
            try:
                if compile_or_refuse(path) == "refused":
                    return
                compiled = compile_files([path])[0]
                module = module_from_source(compiled.source, "gen", str(path))
                for _ in range(5):
                    facts = data.draw(fact_patterns(compiled.program))
                    compared, found = disagreements_with_brute_force(
                        compiled.program, module, facts, 5000
                    )
                    self.counts["exactness fact patterns"] += compared
                    for disagreement in found:
                        self.finding("exactness", disagreement, (source, facts))
            except Exception as exc:
                self.finding("exactness doctrine", exc, source)

        run()

    def sql(self) -> None:
        @ROUND
        @given(st.one_of(doctrine_sources(), doctrine_sources(laws=True)), st.data())
        def run(source: str, data: st.DataObject) -> None:
            self.counts["SQL doctrines"] += 1
            path = self.folder / "sql.doctrine"
            path.write_text(source, encoding="utf-8")
            try:
                if compile_or_refuse(path) == "refused":
                    return
                program = compile_files([path])[0].program
                cases = data.draw(st.lists(fact_patterns(program), min_size=1, max_size=12))
                self.counts["SQL fact patterns"] += len(cases) * len(program.doctrines)
                for disagreement in sql_disagreements(source, program, cases):
                    self.finding("sql", disagreement, (source, cases))
            except Exception as exc:
                self.finding("sql doctrine", exc, source)

        run()

    def batches(self) -> None:
        from compiler.tools.cli import main as cli

        doctrine = self.library / "state_created_danger.doctrine"
        program = next(p for e, p in self.doctrines if e.name == "state_created_danger")
        hostile = st.sampled_from(
            [
                '{"culpability": ' + "9" * 5000 + "}",
                "[" * 100_000 + "]" * 100_000,
                '{"affirmative_act": true, "affirmative_act": false}',
                '{"affirmative_act": "yes"}',
                '{"culpabilty": "intent"}',
                "{not json",
                "[1, 2]",
                "null",
                '"text"',
                '{"event_date": "1989-02-30"}',
                '{"event_date": "' + "9" * 200_000 + '"}',
                '{"\ud800": true}',
            ]
        )
        line = st.one_of(
            fact_patterns(program).map(lambda f: json.dumps(f, default=str)),
            hostile,
            st.text(max_size=40).filter(lambda t: "\n" not in t and "\r" not in t),
        )

        @ROUND
        @given(st.lists(line, min_size=1, max_size=12), st.booleans())
        def run(lines: list[str], bad_bytes: bool) -> None:
            self.counts["batch files"] += 1
            self.counts["batch lines"] += len(lines)
            source = self.folder / "cases.jsonl"
            data = "\n".join(lines).encode("utf-8", "surrogatepass") + b"\n"
            if bad_bytes:
                data += b"\xff\xfe{\n"
            source.write_bytes(data)
            out = self.folder / "results.jsonl"
            err = io.StringIO()
            try:
                with (
                    time_limit(60),
                    contextlib.redirect_stderr(err),
                    contextlib.redirect_stdout(io.TextIOWrapper(io.BytesIO(), encoding="utf-8")),
                ):
                    status = cli(["eval", str(doctrine), "--batch", str(source), "-o", str(out)])
                if status not in (0, 2) or "Traceback" in err.getvalue():
                    self.finding("batch", f"exit {status}: {err.getvalue()[-500:]}", lines)
                    return
                written = out.read_text(encoding="utf-8").splitlines()
                given = [x for x in data.split(b"\n") if x.strip()]
                if len(written) != len(given):
                    self.finding(
                        "batch", f"{len(given)} lines in, {len(written)} results out", lines
                    )
            except (Exception, Hang) as exc:
                self.finding("batch file", exc, lines)

        run()

    def templates(self) -> None:
        from compiler.tools.cli import main as cli

        doctrine = self.library / "state_created_danger.doctrine"
        facts = self.folder / "template-facts.json"
        facts.write_text('{"affirmative_act": true}', encoding="utf-8")
        folder = self.folder / "templates"
        folder.mkdir(exist_ok=True)
        big = st.sampled_from(["10", "1000", "10**6", "10**9", "1500000000", "2**62"])
        piece = st.one_of(
            big.map(lambda n: "{{ 'a' * " + n + " }}"),
            big.map(lambda n: "{{ ''.ljust(" + n + ") }}"),
            big.map(lambda n: "{{ 'x'|center(" + n + ") }}"),
            big.map(lambda n: "{{ '%0" + n.replace("*", "") + "d' % 1 }}"),
            st.tuples(big, big).map(lambda p: "{{ (" + p[0] + ") ** (" + p[1] + ") }}"),
            big.map(lambda n: "{% for i in range(" + n + ") %}.{% endfor %}"),
            big.map(lambda n: "{{ lipsum(" + n + ") }}"),
            big.map(lambda n: "{{ ('ab\n' * 1000)|indent(" + n + ") }}"),
            st.just(
                "{% set ns = namespace(s='ab') %}{% for i in range(64) %}"
                "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}"
            ),
            st.just("{{ doctrine.name }} {% for e in elements %}{{ e.label }}{% endfor %}"),
        )

        @ROUND
        @given(st.lists(piece, min_size=1, max_size=4))
        def run(pieces: list[str]) -> None:
            self.counts["templates"] += 1
            (folder / "explain.txt.j2").write_text("".join(pieces), encoding="utf-8")
            err = io.StringIO()
            args = ["explain", str(doctrine), "--facts", str(facts), "--format", "text"]
            try:
                with (
                    time_limit(60),
                    contextlib.redirect_stderr(err),
                    contextlib.redirect_stdout(io.TextIOWrapper(io.BytesIO(), encoding="utf-8")),
                ):
                    status = cli([*args, "--templates", str(folder)])
                text = err.getvalue()
                if status not in (0, 2) or (status == 2 and not text.startswith("error:")):
                    self.finding("template", f"exit {status}: {text[-500:]}", pieces)
            except (Exception, Hang) as exc:
                self.finding("template render", exc, pieces)

        run()


def _dump(facts: dict[str, Any], form: str) -> str:
    import yaml

    if form == "json":
        return json.dumps(facts, default=str)
    return yaml.safe_dump(facts, allow_unicode=True)


TARGETS = (
    "generated",
    "extremes",
    "mutations",
    "text",
    "facts",
    "exact",
    "sql",
    "batches",
    "templates",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--report", default="fuzz-report.json", help="where to write findings")
    parser.add_argument(
        "--only",
        action="append",
        choices=TARGETS,
        help="run only this target (repeatable); all of them by default",
    )
    args = parser.parse_args()
    began = time.monotonic()
    end = began + args.minutes * 60
    with tempfile.TemporaryDirectory() as tmp:
        run = Run(Path(tmp))
        rounds = 0
        targets = [getattr(run, name) for name in args.only or TARGETS]
        while time.monotonic() < end:
            targets[rounds % len(targets)]()
            rounds += 1
            if rounds % len(targets) == 0:
                elapsed = (time.monotonic() - began) / 60
                print(f"{elapsed:.1f} min: {dict(run.counts)}", flush=True)
    # Inputs are files and doctrines; fact patterns and batch lines are counted apart.
    apart = {"findings", "differential fact patterns", "exactness fact patterns"}
    apart |= {"SQL fact patterns", "batch lines"}
    inputs = sum(v for k, v in run.counts.items() if k not in apart)
    report = {
        "minutes": round((time.monotonic() - began) / 60, 1),
        "inputs": inputs,
        "counts": dict(run.counts),
        "findings": run.findings,
    }
    Path(args.report).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in report.items() if k != "findings"}, indent=2))
    print(f"{len(run.findings)} distinct finding(s); report: {args.report}")
    return 1 if run.findings else 0


if __name__ == "__main__":
    sys.exit(main())
