"""Explanation documents: `doctrine explain`, `doctrine doc` and `doctrine diff`.

Golden files under tests/golden/ hold the expected documents byte for byte; run with
UPDATE_GOLDEN=1 to write them afresh (then read the diff before committing it). The documents
are produced by the real command line, in a child process, from the library's doctrines.
"""

from __future__ import annotations

import datetime
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import LIBRARY, ROOT, check_golden, clean_env, doctrine_file, run_cli

import compiler
from compiler.explain.explanation import (
    comparison,
    explanation,
    module_info,
    render_comparison,
    render_documentation,
    render_explanation,
)
from compiler.explain.render import TemplateProblem, render

GOLDEN = ROOT / "tests" / "golden"
FACTS = GOLDEN / "facts"
FORMATS = {"markdown": "md", "html": "html", "text": "txt"}

# (golden name, doctrine, facts): Kennedy (the dissent's facts and rule), Pinder, Grubbs II,
# and a case that cannot be decided yet.
EXPLAINED = [
    ("kennedy-dissent", "state_created_danger", "kennedy-dissent"),
    ("pinder", "special_relationship", "pinder"),
    ("grubbs-2", "state_created_danger", "grubbs-2"),
    ("culpability-unknown", "state_created_danger", "culpability-unknown"),
]
# (golden name, A, B, facts): the Kennedy majority's facts under the majority's rule and the
# dissent's; Pinder's facts under Jensen v. Conrad and under DeShaney as Pinder applies it.
COMPARED = [
    (
        "kennedy-majority-vs-dissent",
        "state_created_danger_kennedy_majority",
        "state_created_danger",
        "kennedy-majority",
    ),
    ("pinder-jensen-vs-deshaney", "special_relationship_jensen", "special_relationship", "pinder"),
]


def cli_ok(*args: str | Path) -> str:
    proc = run_cli(*args)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stderr}"
    return proc.stdout


def load_facts(name: str) -> dict[str, Any]:
    data = yaml.safe_load((FACTS / f"{name}.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    data.pop("title", None)  # the case's name, which the CLI gives memos: not a fact
    return data


@pytest.fixture(scope="module")
def modules() -> dict[str, Any]:
    """Every doctrine file of the library, compiled once."""
    return {
        p.relative_to(LIBRARY).as_posix(): compiler.load(p)
        for p in sorted(LIBRARY.rglob("*.doctrine"))
    }


def result_of(modules: dict[str, Any], doctrine: str, facts: str) -> Any:
    return modules[f"{doctrine}.doctrine"].evaluate(load_facts(facts))


# ---------------------------------------------------------------- golden documents


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("name", "doctrine", "facts"), EXPLAINED, ids=[e[0] for e in EXPLAINED])
def test_explain_golden(name: str, doctrine: str, facts: str, fmt: str) -> None:
    out = cli_ok(
        "explain", doctrine_file(doctrine), "--facts", FACTS / f"{facts}.yaml", "--format", fmt
    )
    check_golden(GOLDEN / "explain" / f"{name}.{FORMATS[fmt]}", out)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("name", "a", "b", "facts"), COMPARED, ids=[c[0] for c in COMPARED])
def test_diff_golden(name: str, a: str, b: str, facts: str, fmt: str) -> None:
    out = cli_ok(
        "diff",
        doctrine_file(a),
        doctrine_file(b),
        "--facts",
        FACTS / f"{facts}.yaml",
        "--format",
        fmt,
    )
    check_golden(GOLDEN / "diff" / f"{name}.{FORMATS[fmt]}", out)


@pytest.mark.parametrize("fmt", FORMATS)
def test_doc_golden_for_a_variant(fmt: str) -> None:
    out = cli_ok("doc", doctrine_file("special_relationship_jensen"), "--format", fmt)
    check_golden(GOLDEN / "doc" / f"special_relationship_jensen.{FORMATS[fmt]}", out)


# ---------------------------------------------------------------- what the memo says


def test_the_conclusion_comes_first_in_one_sentence(modules: dict[str, Any]) -> None:
    text = result_of(modules, "state_created_danger", "kennedy-dissent").explain("markdown")
    body = text.split("## Conclusion\n\n", 1)[1]
    first = body.split("\n", 1)[0]
    assert first == ("**Not met.** The test fails because causation and culpability are not met.")
    assert text.index("## Conclusion") < text.index("## Elements")


def test_undetermined_says_what_to_ask(modules: dict[str, Any]) -> None:
    text = result_of(modules, "state_created_danger", "culpability-unknown").explain("markdown")
    assert "**Cannot be decided yet.**" in text
    needed = text.split("## Facts still needed\n\n", 1)[1].split("\n\n", 1)[0]
    # The fact in words, its meaning, then what to answer and the name to give it under.
    assert needed.startswith("- Culpability — the official's state of mind toward the danger")
    assert needed.endswith(
        " (one of, from least to most: none, negligence, gross negligence, recklessness, "
        "deliberate indifference, intent; `culpability`)"
    )
    assert "Had culpability been at least deliberate indifference, the test would be met." in text
    assert "Had culpability been at most recklessness, the test would not be met." in text


def test_pinder_answers_promise_reliance_and_knowledge(modules: dict[str, Any]) -> None:
    data = explanation(result_of(modules, "special_relationship", "pinder"))
    rejects = {r["name"]: r for r in data["rejects"]}
    assert list(rejects) == ["promise", "reliance", "knowledge"]
    assert all(r["raised"] for r in rejects.values())
    promise = [c["citation"] for c in rejects["promise"]["cites"]]
    assert "Pinder v. Johnson, 54 F.3d 1169, 1175 (4th Cir. 1995) (en banc)" in promise
    assert any(c.startswith("DeShaney v. Winnebago County") for c in promise)
    assert rejects["promise"]["cites"][0]["purpose"] == (
        "Promises do not create a special relationship — custody does"
    )
    unweighed = {q["name"]: q["answered_by"] for q in data["unweighed"]}
    assert unweighed == {
        "promise_of_protection": ["A promise of protection", "Reliance on a promise of protection"],
        "relied_on_promise": ["Reliance on a promise of protection"],
        "state_aware_of_danger": ["Officials' knowledge of the danger"],
    }


def test_facts_are_quoted_from_the_case(modules: dict[str, Any]) -> None:
    data = explanation(result_of(modules, "state_created_danger", "kennedy-dissent"))
    causation = next(e for e in data["elements"] if e["label"] == "causation")
    assert [(q["name"], q["value"], q["answer"]) for q in causation["facts"]] == [
        ("but_for_cause", "false", "no"),
        ("harm_foreseeable", "false", "no"),
    ]
    text = render_explanation(result_of(modules, "state_created_danger", "kennedy-dissent"))
    # The fact in words first, then its meaning, then its name and value for reference.
    assert (
        "- Affirmative act: yes — the state acted, rather than failed to act"
        " (`affirmative_act: true`)\n"
    ) in text


def test_kennedy_counterfactual_reads_as_the_dissent_would_put_it(modules: dict[str, Any]) -> None:
    text = result_of(modules, "state_created_danger", "kennedy-dissent").explain("markdown")
    assert (
        "- Had it been found that but for the state's act the plaintiff would not have "
        "faced the danger, that the danger was known to the official or obvious and that "
        "the ultimate injury was a foreseeable consequence of the act, and had culpability "
        "been at least deliberate indifference, the test would be met."
    ) in text


def test_authorities_carry_pinpoints(modules: dict[str, Any]) -> None:
    data = explanation(result_of(modules, "state_created_danger", "grubbs-2"))
    culpability = next(e for e in data["elements"] if e["label"] == "culpability")
    grubbs = [c for c in culpability["cites"] if c["authority"] == "grubbs_ii"]
    assert (
        grubbs[0]["citation"] == "L.W. v. Grubbs (Grubbs II), 92 F.3d 894, 899-900 (9th Cir. 1996)"
    )
    assert grubbs[0]["name"] == "L.W. v. Grubbs (Grubbs II)"
    assert grubbs[0]["pinpoint"] == "899-900"


def test_the_clearly_established_element_goes_through_each_precedent(
    modules: dict[str, Any],
) -> None:
    facts = yaml.safe_load((ROOT / "examples" / "pinder-immunity.yaml").read_text("utf-8"))
    result = modules["qualified_immunity_special_relationship.doctrine"].evaluate(facts)
    data = explanation(result)
    element = next(e for e in data["elements"] if e["label"] == "clearly_established")
    fails = {m["title"].split(",")[0]: m["unmet"] for m in element["members"]}
    assert fails["DeShaney v. Winnebago County"] == ["recognizes right"]
    # Jensen fails twice: it held no violation, and DeShaney had rejected it by then.
    assert fails["Jensen v. Conrad"] == [
        "abrogated is not given or abrogated is after event date",
        "recognizes right",
    ]
    # The special relationship's answers to the promise come through the violation element.
    assert {r["under"] for r in data["rejects"]} == {"special_relationship"}


def test_a_variant_says_how_it_differs(modules: dict[str, Any]) -> None:
    evaluator = modules["special_relationship_jensen.doctrine"].DOCTRINES[
        "special_relationship_jensen"
    ]
    text = render_documentation(evaluator, "markdown")
    section = text.split("## How it differs from `special_relationship`", 1)[1]
    assert (
        "under `special_relationship`, met when custody is met; here, when at least one of "
        "custody, promise or knowledge is met."
    ) in section
    assert "**Promise** (added)" in section
    assert (
        "**Accepts a theory `special_relationship` rejects:** A promise of protection." in section
    )
    assert (
        "**In force:** under `special_relationship`, from 1976-11-30; here, from 1984-10-05 until "
        "1989-02-22." in section
    )


def test_a_period_is_checked_against_the_event_date(modules: dict[str, Any]) -> None:
    facts = {**load_facts("pinder"), "event_date": "1989-03-10"}
    result = modules["special_relationship_jensen.doctrine"].evaluate(facts)
    text = " ".join(result.explain("text").split())
    assert "the conduct (1989-03-10) falls outside that period" in text


# ---------------------------------------------------------------- comparisons


def test_kennedy_rules_part_on_causation(modules: dict[str, Any]) -> None:
    facts = load_facts("kennedy-majority")
    a = modules["state_created_danger_kennedy_majority.doctrine"].evaluate(facts)
    b = modules["state_created_danger.doctrine"].evaluate(facts)
    data = comparison(a, b)
    assert (a.holds, b.holds) == (True, False)
    assert [r["words"] for r in data["agree"]] == [
        "specific plaintiff",
        "affirmative conduct",
        "culpability",
    ]
    assert data["parting"]["label"] == "causation"
    assert data["parting"]["same_test"] is False
    assert [r["title"] for r in data["parting"]["answers"]] == [
        "An increase in a risk that already existed"
    ]


def test_pinder_under_jensen_and_deshaney_part_on_the_promise(modules: dict[str, Any]) -> None:
    facts = load_facts("pinder")
    a = modules["special_relationship_jensen.doctrine"].evaluate(facts)
    b = modules["special_relationship.doctrine"].evaluate(facts)
    data = comparison(a, b)
    assert data["parting"]["label"] == "promise"
    assert data["parting"]["b"] is None
    assert [r["title"] for r in data["parting"]["answers"]] == [
        "A promise of protection",
        "Reliance on a promise of protection",
    ]
    text = render_comparison(a, b, "text")
    assert "special_relationship answers the theory: A promise of protection" in text


# ---------------------------------------------------------------- every doctrine documents


@pytest.mark.parametrize("fmt", FORMATS)
def test_doc_renders_for_every_file_of_the_library(modules: dict[str, Any], fmt: str) -> None:
    from compiler.explain.explanation import render_module_documentation

    for name, module in modules.items():
        if module.DOCTRINE is None:
            schema = {n: (kind, spec) for n, kind, spec in module.FACTS}
            text = render_module_documentation(module.INFO, schema, fmt)
        else:
            text = render_documentation(module.DOCTRINES[module.DOCTRINE], fmt)
        assert text.endswith("\n") and len(text) > 200, name
        if module.DOCTRINE is not None:
            title = module.INFO.doctrines[module.DOCTRINE].title
            head = title.split(":")[0]
            flat = " ".join(text.split())  # the text format wraps long titles
            assert head in flat or head.replace("'", "&#39;") in flat, name


@pytest.mark.parametrize(
    "path", ["state_created_danger.doctrine", "duty_to_protect.doctrine", "knowledge.doctrine"]
)
def test_doc_command(path: str) -> None:
    out = cli_ok("doc", LIBRARY / path)
    assert out.startswith("# ")


def test_explain_every_worked_case(modules: dict[str, Any]) -> None:
    """Every case written in the library explains in every format, deterministically."""
    count = 0
    for name, module in modules.items():
        for case in module.CASES:
            result = module.DOCTRINES[case["doctrine"]].evaluate(case["given"])
            data = explanation(result, case=case["name"])
            for fmt in FORMATS:
                text = render("explain", fmt, data)
                assert text == render_explanation(result, fmt, case=case["name"]), name
            count += 1
    assert count >= 40


# ---------------------------------------------------------------- formats and safety


def test_markup_in_text_facts_comes_out_escaped() -> None:
    doctrine = doctrine_file("qualified_immunity_state_created_danger")
    facts = FACTS / "script.yaml"
    html = cli_ok("explain", doctrine, "--facts", facts, "--format", "html")
    assert "<script" not in html.lower() and "<b>" not in html
    assert "&lt;script&gt;alert(&#39;circuit&#39;)&lt;/script&gt;" in html
    assert (
        "&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt; v. &lt;b&gt;Smith&lt;/b&gt; &amp; Co."
        in html
    )
    markdown = cli_ok("explain", doctrine, "--facts", facts, "--format", "markdown")
    assert "<script" not in markdown.lower() and "<b>" not in markdown
    assert "&lt;script&gt;alert('circuit')&lt;/script&gt;" in markdown
    other = doctrine_file("qualified_immunity_special_relationship")
    for fmt in ("html", "markdown"):
        diff = cli_ok("diff", doctrine, other, "--facts", facts, "--format", fmt)
        assert "<script" not in diff.lower(), fmt


def test_control_characters_are_shown_in_text(tmp_path: Path) -> None:
    facts = tmp_path / "bell.yaml"
    facts.write_text('circuit: "9th\\u001b[31m"\n', encoding="utf-8")
    out = cli_ok(
        "explain",
        doctrine_file("qualified_immunity_state_created_danger"),
        "--facts",
        facts,
        "--format",
        "text",
    )
    assert "\x1b" not in out and "9th\\x1b[31m" in out


def test_html_is_one_standalone_file(modules: dict[str, Any]) -> None:
    html = result_of(modules, "state_created_danger", "kennedy-dissent").explain("html")
    assert html.startswith("<!DOCTYPE html>\n") and html.endswith("</html>\n")
    assert "<style>" in html and "@media print" in html
    assert "<link" not in html and "src=" not in html and "http" not in html.split("</style>")[0]


def test_output_is_deterministic_and_undated(modules: dict[str, Any]) -> None:
    outs = {
        cli_ok(
            "explain",
            doctrine_file("state_created_danger"),
            "--facts",
            FACTS / "grubbs-2.yaml",
            "--format",
            "html",
        )
        for _ in range(2)
    }
    assert len(outs) == 1
    today = datetime.date.today()
    text = outs.pop()
    for stamp in (today.isoformat(), today.strftime("%B %-d, %Y")):
        assert stamp not in text


def test_output_file(tmp_path: Path) -> None:
    target = tmp_path / "memo.html"
    proc = run_cli(
        "explain",
        doctrine_file("special_relationship"),
        "--facts",
        FACTS / "pinder.yaml",
        "--format",
        "html",
        "-o",
        target,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and f"wrote {target}" in proc.stderr
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_bad_facts_are_reported_as_eval_reports_them(tmp_path: Path) -> None:
    facts = tmp_path / "bad.yaml"
    facts.write_text("custdy: none\nculpability: reckless\n", encoding="utf-8")
    proc = run_cli("explain", doctrine_file("special_relationship"), "--facts", facts)
    assert proc.returncode == 2
    assert "did you mean 'custody'?" in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_python_api(modules: dict[str, Any]) -> None:
    result = result_of(modules, "special_relationship", "pinder")
    assert result.explain() == render_explanation(result, "markdown")
    assert result.explain(format="text").startswith("A special relationship")
    with pytest.raises(TemplateProblem, match="unknown format 'pdf'"):
        result.explain(format="pdf")
    assert module_info(result.evaluator).doctrines["special_relationship"].title


def test_runtime_imports_without_jinja() -> None:
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('jinja2', 'markupsafe', 'lark', 'attrs', 'yaml'):\n"
        "            raise ImportError('blocked: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import compiler.runtime as rt\n"
        "assert hasattr(rt.Result, 'explain')\n"
        "print('ok')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.stdout == "ok\n", proc.stderr


# ---------------------------------------------------------------- a user's own templates


def test_user_templates_override_and_fall_back(tmp_path: Path) -> None:
    (tmp_path / "explain.md.j2").write_text(
        "{{ doctrine.name }}: {{ outcome }}\n{% for e in elements %}- {{ e.label }}: "
        "{{ e.status }}\n{% endfor %}",
        encoding="utf-8",
    )
    out = cli_ok(
        "explain",
        doctrine_file("state_created_danger"),
        "--facts",
        FACTS / "grubbs-2.yaml",
        "--templates",
        tmp_path,
    )
    assert out == (
        "state_created_danger: not met\n- specific_plaintiff: met\n"
        "- affirmative_conduct: met\n- causation: met\n- culpability: not met\n"
    )
    # No html template of theirs: ours is used, sandboxed.
    html = cli_ok(
        "explain",
        doctrine_file("state_created_danger"),
        "--facts",
        FACTS / "grubbs-2.yaml",
        "--templates",
        tmp_path,
        "--format",
        "html",
    )
    ours = cli_ok(
        "explain",
        doctrine_file("state_created_danger"),
        "--facts",
        FACTS / "grubbs-2.yaml",
        "--format",
        "html",
    )
    assert html == ours


def test_user_templates_run_sandboxed(tmp_path: Path) -> None:
    (tmp_path / "explain.md.j2").write_text(
        "{{ ''.__class__.__mro__[1].__subclasses__() }}", encoding="utf-8"
    )
    proc = run_cli(
        "explain",
        doctrine_file("state_created_danger"),
        "--facts",
        FACTS / "grubbs-2.yaml",
        "--templates",
        tmp_path,
    )
    assert proc.returncode == 2
    assert "error: template explain.md.j2" in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_undefined_variables_are_errors(tmp_path: Path) -> None:
    (tmp_path / "explain.txt.j2").write_text("{{ no_such_thing }}\n", encoding="utf-8")
    proc = run_cli(
        "explain",
        doctrine_file("state_created_danger"),
        "--facts",
        FACTS / "grubbs-2.yaml",
        "--templates",
        tmp_path,
        "--format",
        "text",
    )
    assert proc.returncode == 2
    assert "'no_such_thing' is undefined" in proc.stderr


def test_template_syntax_errors_name_the_line(tmp_path: Path) -> None:
    (tmp_path / "doc.md.j2").write_text("line one\n{% if %}\n", encoding="utf-8")
    proc = run_cli("doc", doctrine_file("state_created_danger"), "--templates", tmp_path)
    assert proc.returncode == 2
    assert "doc.md.j2, line 2" in proc.stderr


# ---------------------------------------------------------------- in a real browser


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _png_ink(data: bytes) -> float:
    """The share of non-blank bytes in the image's pixel rows: near zero for an empty page."""
    pos, chunks = 8, []
    while pos < len(data):
        length = struct.unpack(">I", data[pos : pos + 4])[0]
        kind = data[pos + 4 : pos + 8]
        if kind == b"IDAT":
            chunks.append(data[pos + 8 : pos + 8 + length])
        pos += 12 + length
    raw = zlib.decompress(b"".join(chunks))
    return sum(1 for b in raw[::97] if b not in (0, 255)) / max(1, len(raw[::97]))


@pytest.mark.heavy
def test_html_renders_in_a_headless_browser(tmp_path: Path) -> None:
    browser = next(
        (
            shutil.which(b)
            for b in ("chromium", "chromium-browser", "google-chrome")
            if shutil.which(b)
        ),
        None,
    )
    # A heavy test: .ci/run installs Debian's chromium for it. Without one it fails, not skips.
    assert browser is not None, "no chromium on this machine: install Debian's `chromium`"
    page = tmp_path / "memo.html"
    shot = tmp_path / "memo.png"
    cli_ok(
        "explain",
        doctrine_file("state_created_danger"),
        "--facts",
        FACTS / "kennedy-dissent.yaml",
        "--format",
        "html",
        "-o",
        page,
    )
    proc = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--window-size=1000,1400",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert shot.is_file(), f"no screenshot (exit {proc.returncode}):\n{proc.stderr[-2000:]}"
    data = shot.read_bytes()
    assert _png_size(data) == (1000, 1400)
    assert _png_ink(data) > 0.01, "the page rendered blank"
