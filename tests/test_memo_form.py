"""The form of the memos: citation forms, italics, the heading, the case's name, widths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from compiler.explain.explanation import citation_forms, cite, heading
from compiler.explain.render import FILTERS
from compiler.runtime import program
from compiler.tools.cli import main
from tests.support import ROOT, doctrine_file

GOLDEN = ROOT / "tests" / "golden"


def _cite(citation: str, authority: str) -> dict[str, Any]:
    made = cite(program.Citation(authority, citation))
    assert made is not None
    return made


def test_full_then_short_then_id() -> None:
    cites = [
        _cite("Pinder v. Johnson, 54 F.3d 1169, 1174 (4th Cir. 1995) (en banc)", "pinder"),
        _cite("Pinder v. Johnson, 54 F.3d 1169, 1175 (4th Cir. 1995)", "pinder"),
        _cite("Pinder v. Johnson, 54 F.3d 1169, 1175 (4th Cir. 1995)", "pinder"),
        _cite(
            "DeShaney v. Winnebago County Dep't of Social Servs., 489 U.S. 189, 200 (1989)",
            "deshaney",
        ),
        _cite("Pinder v. Johnson, 54 F.3d 1169, 1177 (4th Cir. 1995)", "pinder"),
        _cite("City of Canton v. Harris, 489 U.S. 378, 388 (1989)", "canton"),
        _cite("Kennedy v. City of Ridgefield, 439 F.3d 1055 (9th Cir. 2006)", "kennedy"),
        _cite(
            "DeShaney v. Winnebago County Dep't of Social Servs., 489 U.S. 189 (1989)", "deshaney"
        ),
        _cite("City of Canton v. Harris, 489 U.S. 378, 390 (1989)", "canton"),
        _cite("Restatement (Second) of Torts § 314 (1965)", "restatement"),
    ]
    citation_forms(cites)
    shown = [
        (c["form"], c["name"], c["sep"] if c["name"] and c["rest"] else "", c["rest"])
        for c in cites
    ]
    assert shown == [
        ("full", "Pinder v. Johnson", ", ", "54 F.3d 1169, 1174 (4th Cir. 1995) (en banc)"),
        ("id", "Id.", " ", "at 1175"),
        ("id", "Id.", "", ""),
        (
            "full",
            "DeShaney v. Winnebago County Dep't of Social Servs.",
            ", ",
            "489 U.S. 189, 200 (1989)",
        ),
        ("short", "Pinder", ", ", "54 F.3d at 1177"),
        ("full", "City of Canton v. Harris", ", ", "489 U.S. 378, 388 (1989)"),
        ("full", "Kennedy v. City of Ridgefield", ", ", "439 F.3d 1055 (9th Cir. 2006)"),
        ("short", "DeShaney", ", ", "489 U.S. 189"),
        ("short", "Harris", ", ", "489 U.S. at 390"),  # a government's name gives way
        ("full", "", "", "Restatement (Second) of Torts § 314 (1965)"),
    ]
    assert all(c["citation"] for c in cites)  # the full text stays for those who want it


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("md", "In *Pinder v. Johnson*, *L.W. v. Grubbs*, not In re X; as *Pinder* *1175 held."),
        ("txt", "In _Pinder v. Johnson_, _L.W. v. Grubbs_, not In re X; as _Pinder_ *1175 held."),
        (
            "html",
            "In <i>Pinder v. Johnson</i>, <i>L.W. v. Grubbs</i>, not In re X; as <i>Pinder</i>"
            " *1175 held.",
        ),
    ],
)
def test_case_names_are_italic_in_running_text(fmt: str, expected: str) -> None:
    # The memo's data names the short names of the cases it cites (`case_short_names`).
    text = "In Pinder v. Johnson, L.W. v. Grubbs, not In re X; as Pinder *1175 held."
    context = {"case_short_names": ["Pinder", "Grubbs"]}
    assert str(FILTERS["case_names"](context, text, fmt)) == expected


def test_a_text_table_wraps_within_78_columns() -> None:
    rows = [["Culpability", "not met", "danger known or obvious, " * 6]]
    table = FILTERS["table"](rows, ["Element", "Result", "Turned on"])
    lines = table.splitlines()
    assert max(len(line) for line in lines) <= 78
    assert lines[0].split() == ["Element", "Result", "Turned", "on"]
    assert lines[2].startswith("  Culpability  not met  danger known or obvious,")
    assert len(lines) > 3  # the long cell went on to more lines, in its own column
    assert all(line.startswith(" " * 24) for line in lines[3:])


def test_every_text_memo_fits_78_columns() -> None:
    for path in GOLDEN.glob("*/*.txt"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            assert len(line) <= 78, f"{path.name}:{number} is {len(line)} columns"


def test_the_heading_writes_an_iso_date_out() -> None:
    assert heading(date="2026-12-04") == {
        "to": "",
        "from": "",
        "date": "December 4, 2026",
        "re": "",
    }
    assert heading(date="the fourth of December") is not None
    assert heading() is None


def test_the_facts_line_names_the_case(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    facts = tmp_path / "case-17.yaml"
    facts.write_text("custody: none\n", encoding="utf-8")
    args = ["explain", str(doctrine_file("special_relationship")), "--format", "text"]
    assert main([*args, "--facts", str(facts)]) == 0
    assert "\nFacts:      case-17.yaml\n" in capsys.readouterr().out
    facts.write_text('title: "Doe v. Roe, No. 24-1 (4th Cir.)"\ncustody: none\n', encoding="utf-8")
    assert main([*args, "--facts", str(facts)]) == 0
    assert "\nFacts:      _Doe v. Roe_, No. 24-1 (4th Cir.)\n" in capsys.readouterr().out
    # eval sets the title aside too: it is the case's name, not a fact.
    assert main(["eval", str(doctrine_file("special_relationship")), "--facts", str(facts)]) == 0


def test_no_id_refers_back_to_the_source_line() -> None:
    source = _cite("Pinder v. Johnson, 54 F.3d 1169, 1174 (4th Cir. 1995)", "pinder")
    text = [_cite("Pinder v. Johnson, 54 F.3d 1169, 1175 (4th Cir. 1995)", "pinder")]
    citation_forms(text, header=[source])
    assert source["form"] == "full" and source["name"] == "Pinder v. Johnson"
    assert (text[0]["form"], text[0]["name"], text[0]["rest"]) == (
        "short",
        "Pinder",
        "54 F.3d at 1175",
    )


def test_a_doctrine_with_a_fact_named_title_keeps_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doctrine = tmp_path / "d.doctrine"
    doctrine.write_text(
        'fact title: text means "the deed\'s title"\n'
        'element e { holds when title == "clear" }\ndoctrine d { element e }\n',
        encoding="utf-8",
    )
    facts = tmp_path / "deed.yaml"
    facts.write_text("title: clear\n", encoding="utf-8")
    assert main(["explain", str(doctrine), "--facts", str(facts), "--format", "text"]) == 0
    out = capsys.readouterr().out
    assert "\nFacts:      deed.yaml\n" in out  # the fact is a fact, not the case's name
    assert "\nNot met." not in out and "\nMet." in out
