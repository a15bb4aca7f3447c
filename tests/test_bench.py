"""The benchmark harness (bench/, issue 6) runs at a tiny size, and every engine agrees.

The peer rule engines come from the `bench` extra; those not installed are reported as not run,
and the test checks that each engine that did run agreed with the hand-written function on
every case before any time was counted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench import __main__ as bench_main
from bench import bench_compile, bench_eval, engines

TINY = bench_main.SIZES["tiny"]


@pytest.fixture(scope="module")
def eval_report() -> dict[str, Any]:
    return bench_eval.run(**TINY["eval"])


def test_the_pattern_space() -> None:
    space = engines.patterns()
    assert len(space) == 384
    assert len({json.dumps(p, sort_keys=True) for p in space}) == 384
    assert all(len(p) == 7 for p in space)
    assert len(engines.three_valued_patterns()) == 1_701
    cases = engines.cycled(space, 1_000, seed=1)
    assert len(cases) == 1_000
    # Each pass over the space is a new shuffle holding every pattern once.
    first = {json.dumps(p, sort_keys=True) for p in cases[:384]}
    assert len(first) == 384
    assert cases[:384] != space
    assert engines.cycled(space, 1_000, seed=1) == cases


def test_every_engine_agreed_on_every_case(eval_report: dict[str, Any]) -> None:
    count = TINY["eval"]["count"]
    rows = {r["engine"]: r for r in eval_report["rows"]}
    for name in (
        bench_eval.HAND,
        bench_eval.PREPARED,
        bench_eval.HOLDS,
        bench_eval.FULL_PREPARED,
        bench_eval.FULL,
    ):
        assert rows[name]["agreed"] == count
    assert rows[bench_eval.WALKER]["agreed"] == count
    ran = {name.rsplit(" ", 1)[0] for name in rows} & set(engines.PEER_BATCHES)
    assert ran | set(eval_report["missing_peers"]) == set(engines.PEER_BATCHES)
    for row in eval_report["rows"]:
        assert row["agreed"] == count, row
        assert row["per_case_s"] > 0
    assert rows[bench_eval.HAND]["ratio"] == 1.0
    three = {r["engine"] for r in eval_report["three_valued"]["rows"]}
    assert bench_eval.FULL in three and bench_eval.HAND in three


def test_the_report_renders(eval_report: dict[str, Any]) -> None:
    text = bench_eval.markdown(eval_report)
    assert "hand-written Python" in text and "vs fastest peer" in text
    assert "With unknown facts" in text


def test_a_wrong_engine_is_caught_before_any_time_counts() -> None:
    cases = engines.cycled(engines.patterns(), 400, seed=3)
    blocks = engines.blocks(cases, 100)

    def wrong(fs: Any) -> list[Any]:
        return [
            not engines.hand_written(f) if i == 77 else engines.hand_written(f)
            for i, f in enumerate(fs)
        ]

    runs = {
        bench_eval.HAND: (lambda fs: [engines.hand_written(f) for f in fs], blocks, lambda o: o),
        "wrong": (wrong, blocks, lambda o: o),
    }
    with pytest.raises(bench_eval.Disagreement, match="wrong on case 77"):
        bench_eval.check_agreement(runs, cases)


def test_the_tree_walker_and_peers_compute_the_test() -> None:
    module = __import__("compiler").load(engines.DOCTRINE)
    walker = engines.TreeWalker(module)
    for case in engines.patterns() + engines.three_valued_patterns():
        assert walker(case) is engines.hand_written(case) is module.holds(case), case
    for name, _version, batch in engines.available_peers():
        assert batch(engines.patterns()) == [engines.hand_written(p) for p in engines.patterns()], (
            name
        )


def test_the_generated_projects_compile(tmp_path: Path) -> None:
    main = bench_compile.project(600, tmp_path)
    lines = bench_compile.count_lines(tmp_path)
    assert 450 <= lines <= 800
    phases = bench_compile.compile_phases(main)
    assert set(phases) == {"parse", "check", "codegen", "python"}
    report = bench_compile.run(**TINY["compile"])
    assert len(report["rows"]) == 2 and "growth" in report["rows"][1]
    assert "lines/s" in bench_compile.markdown(report)


@pytest.mark.slow
def test_the_whole_harness_runs_at_a_tiny_size(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_main.main(["--size", "tiny"]) == 0
    out = capsys.readouterr().out
    for heading in (
        "Evaluation:",
        "Compilation of generated projects",
        "Explanations rendered",
        "What would change the outcome",
        "Start-up",
        "Batch evaluation",
        "Hostile facts files",
        "Targets",
    ):
        assert heading in out
