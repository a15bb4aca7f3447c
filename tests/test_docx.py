"""`doctrine explain --format docx`: the Word memo, read back with python-docx."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import docx
import pytest

from compiler.tools.cli import main
from tests.support import ROOT, doctrine_file

FACTS = ROOT / "tests" / "golden" / "facts"


def _write(tmp_path: Path, name: str, *extra: str) -> Path:
    out = tmp_path / f"{name}.docx"
    status = main(
        [
            "explain",
            str(doctrine_file("special_relationship")),
            "--facts",
            str(FACTS / "pinder.yaml"),
            "--format",
            "docx",
            "-o",
            str(out),
            *extra,
        ]
    )
    assert status == 0
    return out


def test_the_word_memo_reads_back(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "pinder",
        "--to",
        "Judge Alvarez",
        "--from",
        "Law clerk",
        "--date",
        "2026-12-04",
        "--re",
        "Pinder: special relationship",
    )
    document = docx.Document(str(path))
    texts = [p.text for p in document.paragraphs]
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert headings[:4] == [
        "A special relationship: the state owes a duty to protect those it holds in custody",
        "The law applied",
        "Conclusion",
        "Elements",
    ]
    assert "Theories that do not suffice" in headings
    assert "Not met. The test fails because custody is not met." in texts
    # The heading block, then the elements' table.
    heading, elements = document.tables[0], document.tables[1]
    assert [[c.text for c in row.cells] for row in heading.rows] == [
        ["To:", "Judge Alvarez"],
        ["From:", "Law clerk"],
        ["Date:", "December 4, 2026"],
        ["Re:", "Pinder: special relationship"],
    ]
    assert [[c.text for c in row.cells] for row in elements.rows] == [
        ["Element", "Result", "Turned on"],
        ["Custody", "not met", "custody"],
    ]
    # The facts line names the case, its name in italics.
    facts = next(p for p in document.paragraphs if p.text.startswith("Facts: "))
    assert facts.text == "Facts: Pinder v. Johnson, 54 F.3d 1169 (4th Cir. 1995) (en banc)"
    assert [r.text for r in facts.runs if r.italic] == ["Pinder v. Johnson"]
    # Citations: in full first, then short, then Id.; case names (and Id.) in italics.
    cites = [p for p in document.paragraphs if p.style.name == "List Bullet"]
    short = next(p for p in cites if p.text.startswith("DeShaney, 489 U.S. at 199-200"))
    assert [r.text for r in short.runs if r.italic] == ["DeShaney"]
    after = cites[cites.index(short) + 1]
    assert after.text.startswith("Id. at 200")
    assert [r.text for r in after.runs if r.italic] == ["Id."]
    # The element's note is there, and the footer numbers the pages with Word's fields.
    assert any(t.startswith("Note: The duty comes from the restraint") for t in texts)
    footer = document.sections[0].footer.paragraphs[0]._p.xml
    assert "PAGE" in footer and "NUMPAGES" in footer


def test_the_word_memo_is_the_same_bytes_each_time(tmp_path: Path) -> None:
    assert _write(tmp_path, "a").read_bytes() == _write(tmp_path, "b").read_bytes()


def test_docx_needs_a_file_or_a_pipe(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Under pytest standard output is no terminal, so the bytes go there; with --templates
    # (which Word output does not use) it is refused.
    status = main(
        [
            "explain",
            str(doctrine_file("special_relationship")),
            "--facts",
            str(FACTS / "pinder.yaml"),
            "--format",
            "docx",
            "--templates",
            str(tmp_path),
        ]
    )
    assert status == 2
    assert "--templates does not apply to --format docx" in capsys.readouterr().err


def test_without_python_docx_it_says_what_to_install(tmp_path: Path) -> None:
    # python-docx hidden from this one interpreter (a None entry in sys.modules makes the
    # import fail): the command must name the package, not fail with a traceback.
    code = (
        "import sys; sys.modules['docx'] = None\n"
        "from compiler.tools.cli import main\n"
        f"sys.exit(main(['explain', {str(doctrine_file('special_relationship'))!r},"
        f" '--facts', {str(FACTS / 'pinder.yaml')!r}, '--format', 'docx',"
        f" '-o', {str(tmp_path / 'x.docx')!r}]))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert proc.returncode == 2, proc.stderr
    assert "pip install 'doctrine[docx]'" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "x.docx").exists()


def test_control_characters_from_a_case_are_written_as_escapes(tmp_path: Path) -> None:
    # XML, and so Word, cannot hold most control characters: a case holding them must still
    # give a document, showing them rather than failing (or obeying them).
    doctrine = tmp_path / "d.doctrine"
    doctrine.write_text(
        'fact t: text means "the note"\n'
        'element e { title "E \\u001b]0;owned\\u0007" holds when t == "x" }\n'
        "doctrine d { element e }\n",
        encoding="utf-8",
    )
    facts = tmp_path / "case.yaml"
    facts.write_text('t: "\\e[31mred\\x00nul"\n', encoding="utf-8")
    out = tmp_path / "memo.docx"
    assert (
        main(["explain", str(doctrine), "--facts", str(facts), "--format", "docx", "-o", str(out)])
        == 0
    )
    texts = [p.text for p in docx.Document(str(out)).paragraphs]
    assert "E \\x1b]0;owned\\x07." in texts
    assert any(t.startswith("T: \\x1b[31mred\\x00nul — the note") for t in texts)


def test_burdens_and_thresholds_reach_the_word_memo(tmp_path: Path) -> None:
    from tests.test_constructs import BURDEN, THRESHOLD, write

    def texts(body: str, doctrine: str, facts: str) -> list[str]:
        path = write(tmp_path, body)
        case = tmp_path / "case.json"
        case.write_text(facts, encoding="utf-8")
        out = tmp_path / f"{doctrine}.docx"
        args = ["explain", str(path), "--doctrine", doctrine, "--facts", str(case)]
        assert main([*args, "--format", "docx", "-o", str(out)]) == 0
        return [p.text for p in docx.Document(str(out)).paragraphs]

    burden = texts(BURDEN, "burdened", '{"circuit": "9th"}')
    assert "Burdens of proof" in burden
    assert any(
        t.startswith('Consensus (consensus) counts as false (as circuit == "9th"): In the Ninth')
        and t.endswith("Henry v. Purnell, 501 F.3d 374, 377-78 (4th Cir. 2007)")
        for t in burden
    ), burden
    gated = texts(THRESHOLD, "gated", '{"gate": false, "a": true}')
    assert "Not reached" in gated
    assert any(t.endswith("not reached.") for t in gated), gated


def test_doc_writes_a_doctrine_as_a_word_document(tmp_path: Path) -> None:
    out = tmp_path / "jensen.docx"
    args = ["doc", str(doctrine_file("special_relationship_jensen")), "--format", "docx"]
    assert main([*args, "-o", str(out)]) == 0
    document = docx.Document(str(out))
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert headings[1:3] == ["The test", "Elements"]
    assert "How it differs from special_relationship" in headings
    assert headings[-1] == "Facts it weighs"
    texts = [p.text for p in document.paragraphs]
    assert any(t.startswith("Doctrine: special_relationship_jensen") for t in texts)
    cites = [p for p in document.paragraphs if p.style.name == "List Bullet"]
    assert any(r.italic and r.text == "Id." for p in cites for r in p.runs)
    # Doc files of facts alone come out too, and the same doctrine gives the same bytes.
    again = tmp_path / "again.docx"
    assert main([*args, "-o", str(again)]) == 0
    assert again.read_bytes() == out.read_bytes()
    vocabulary = tmp_path / "vocabulary.docx"
    assert (
        main(["doc", str(doctrine_file("vocabulary")), "--format", "docx", "-o", str(vocabulary)])
        == 0
    )
    assert docx.Document(str(vocabulary)).paragraphs[1].text == "Module: vocabulary"
