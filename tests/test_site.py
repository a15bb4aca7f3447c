"""`doctrine site`: the library as a static website, built through the real command line.

The site is built once (in-process, through `compiler.tools.cli.main`) and its pages read back:
every internal link resolves, the output is the same byte for byte when built again, and each
kind of page shows what the issue asks of it.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from support import LIBRARY, ROOT

from compiler.tools.cli import main
from compiler.tools.site import broken_links


def build(out: Path, *args: str) -> int:
    return main(["site", str(LIBRARY), "-o", str(out), *args])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    assert build(out, "--check-links", "--no-graphviz") == 0
    return out


def page(site: Path, name: str) -> str:
    return (site / name).read_text(encoding="utf-8")


def text(html: str) -> str:
    """The words of a page, tags dropped and spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_every_internal_link_resolves(site: Path) -> None:
    pages = sorted(p.name for p in site.glob("*.html"))
    assert len(pages) > 150
    assert broken_links(site) == []


def test_the_link_checker_finds_a_broken_link(site: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(site, copy)
    (copy / "fact-custody.html").unlink()
    index = copy / "index.html"
    index.write_text(
        index.read_text(encoding="utf-8").replace(
            'href="index.html#facts"', 'href="index.html#no-such-section"', 1
        ),
        encoding="utf-8",
    )
    problems = broken_links(copy)
    assert any("fact-custody.html (no such file)" in p for p in problems)
    assert any("#no-such-section (no #no-such-section on that page)" in p for p in problems)


def test_check_links_fails_the_command(
    site: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A page left over from an earlier build that links nowhere makes --check-links fail (the
    # tutorial's one file is site enough for that; the library's is built by the fixture).
    out = tmp_path / "out"
    out.mkdir()
    (out / "stale.html").write_text('<a href="gone.html">gone</a>', encoding="utf-8")
    tutorial = ROOT / "docs" / "tutorial" / "uhlrig.doctrine"
    assert main(["site", str(tutorial), "-o", str(out), "--check-links", "--no-graphviz"]) == 2
    assert "error: broken link: stale.html: gone.html (no such file)" in capsys.readouterr().err


def test_the_same_bytes_every_time(site: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    assert build(again, "--no-graphviz") == 0
    first = {p.name: p.read_bytes() for p in site.iterdir()}
    second = {p.name: p.read_bytes() for p in again.iterdir()}
    assert first.keys() == second.keys()
    assert [name for name in first if first[name] != second[name]] == []


def test_index_by_court_and_period(site: Path) -> None:
    index = text(page(site, "index.html"))
    # Courts in order: the Fourth Circuit's rules before the Ninth's, each with its period.
    assert index.index("Fourth Circuit") < index.index("Ninth Circuit")
    assert "Doctrines, by period" in index
    assert "until 1989-02-22" in index
    html = page(site, "index.html")
    assert 'href="doctrine-special_relationship_jensen.html"' in html
    assert 'href="authority-pinder_v_johnson.html"' in html


def test_doctrine_page(site: Path) -> None:
    html = page(site, "doctrine-special_relationship_jensen.html")
    words = text(html)
    # The document, the elements with their requirements, the variant and what differs.
    assert "Variant of" in words and 'href="doctrine-special_relationship.html"' in html
    for label in ("custody", "promise", "knowledge"):
        assert f'id="slot-{label}"' in html
    assert "How it differs from" in words
    assert "Accepts a theory" in words
    # Every name of the requirement as written links to its definition.
    assert '<code class="requirement"><a href="element-custody.custodial_relationship.html"' in html
    # Worked cases with their results, each linked to its page and its memo.
    assert 'href="case-special_relationship_jensen.pinder_under_jensen.html"' in html
    assert 'href="memo-special_relationship_jensen.pinder_under_jensen.html"' in html
    rejected = page(site, "doctrine-special_relationship.html")
    assert "Theories it rejects" in text(rejected)
    assert 'id="reject-promise"' in rejected


def test_doctrine_drawing_falls_back_to_a_list(site: Path) -> None:
    html = page(site, "doctrine-state_created_danger.html")
    assert '<ul class="tree">' in html and "<svg" not in html
    assert 'href="element-culpability.deliberate_indifference_to_known_danger.html"' in html


# Heavy: it needs Graphviz (.ci/run installs it); where dot is missing it fails, never skips.
@pytest.mark.heavy
def test_doctrine_drawing_with_graphviz(tmp_path: Path) -> None:
    one = LIBRARY / "state_created_danger.doctrine"
    assert main(["site", str(one), "-o", str(tmp_path), "--graphviz"]) == 0
    html = page(tmp_path, "doctrine-state_created_danger.html")
    assert "<svg" in html and "<!--" not in html
    assert 'xlink:href="element-conduct.specific_plaintiff.html"' in html
    assert broken_links(tmp_path) == []


def test_authority_page_lists_every_citation_with_pinpoints(site: Path) -> None:
    html = page(site, "authority-jensen_v_conrad.html")
    words = text(html)
    assert "Jensen v. Conrad, 747 F.2d 185 (4th Cir. 1984)" in words
    assert "Abrogated 1989-02-22 by deshaney_v_winnebago" in words
    assert 'href="doctrine-special_relationship_jensen.html"' in html
    assert "*194-95 n.11" in words  # the doctrine's source, with its pinpoint
    deshaney = page(site, "authority-deshaney_v_winnebago.html")
    assert "Abrogates" in text(deshaney)
    assert 'href="authority-jensen_v_conrad.html"' in deshaney


def test_fact_page(site: Path) -> None:
    html = page(site, "fact-custody.html")
    words = text(html)
    assert "how the state, by its own power, restrained the plaintiff" in words.lower()
    assert 'href="element-custody.custodial_relationship.html"' in html
    assert 'href="doctrine-special_relationship.html"' in html
    assert "Worked cases that give it" in words


def test_case_page_and_its_memo(site: Path) -> None:
    html = page(site, "case-state_created_danger.grubbs_2.html")
    words = text(html)
    assert "comes out as expected" in words.lower()
    assert 'href="memo-state_created_danger.grubbs_2.html"' in html
    memo = page(site, "memo-state_created_danger.grubbs_2.html")
    assert 'href="case-state_created_danger.grubbs_2.html"' in memo
    assert "<html" in memo and "Culpability" in memo


def test_module_page_has_the_source_with_line_anchors(site: Path) -> None:
    html = page(site, "module-vocabulary.html")
    assert 'id="L-1"' in html
    fact = page(site, "fact-culpability.html")
    line = re.search(r'href="module-vocabulary.html#L-(\d+)"', fact)
    assert line is not None
    source = (LIBRARY / "vocabulary.doctrine").read_text(encoding="utf-8").splitlines()
    assert "fact culpability" in source[int(line.group(1)) - 1]


def test_search_page_holds_its_index(site: Path) -> None:
    html = page(site, "search.html")
    assert '<script src="search.js"></script>' in html
    assert 'data-text="doctrine special_relationship special relationship' in html
    assert "URLSearchParams" in page(site, "search.js")


def test_a_library_that_does_not_check_gives_diagnostics(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bad.doctrine").write_text("fact x: bool\nelement e { holds when y }\n")
    status = main(["site", str(tmp_path), "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 2
    assert "error[D0201]" in err and "bad.doctrine:2:" in err
    assert "Traceback" not in err


def test_no_library_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["site", str(tmp_path / "nothing"), "-o", str(tmp_path / "out")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["site", str(tmp_path / "empty"), "-o", str(tmp_path / "out")]) == 2
    assert "no .doctrine files" in capsys.readouterr().err


def test_element_page(site: Path) -> None:
    html = page(site, "element-culpability.deliberate_indifference_to_known_danger.html")
    words = text(html)
    # The requirement in words and as written, the doctrines that use it, and its source line.
    assert "The danger was known to the official or obvious and culpability is at least" in words
    assert 'href="fact-danger_known_or_obvious.html"' in html
    assert 'href="doctrine-state_created_danger.html#slot-culpability"' in html
    assert re.search(r'href="module-culpability.html#L-\d+"', html)


def test_authored_text_is_escaped(tmp_path: Path) -> None:
    hostile = '<script>alert(1)</script> & \\"quotes\\"'
    (tmp_path / "evil.doctrine").write_text(
        f"""module evil "{hostile}"

fact flag: bool
  means "{hostile}"

authority a_case {{
  name "{hostile}"
  reporter "1 F.3d 1"
  court "9th"
  year 2000
}}

doctrine evil {{
  title "{hostile}"
  source a_case at "2"
  element e {{
    title "{hostile}"
    holds when flag
    cite a_case at "3" for "{hostile}"
  }}
}}

case c under evil {{
  title "{hostile}"
  given {{
    flag: true
  }}
  expect {{
    holds: true
  }}
}}
""",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    assert main(["site", str(tmp_path), "-o", str(out), "--check-links"]) == 0
    pages = {p.name: p.read_text(encoding="utf-8") for p in out.glob("*.html")}
    assert len(pages) >= 7
    for name, html in pages.items():
        assert "<script>alert" not in html, name
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages["doctrine-evil.html"]
