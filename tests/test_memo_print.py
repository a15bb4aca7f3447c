"""The HTML memo in a real browser: it fits a 390 px phone, and printed, its pages are
numbered and no heading is left at the foot of a page. Heavy: needs Chromium and pdftotext
(`.ci/run` installs Debian's chromium and poppler-utils for this step)."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from compiler.tools.cli import main
from tests.support import ROOT, doctrine_file

pytestmark = pytest.mark.heavy

FACTS = ROOT / "tests" / "golden" / "facts"


def _browser() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("no chromium: install Debian's `chromium` (.ci/run does, for the heavy tests)")


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            _browser(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--allow-file-access-from-files",
            f"--user-data-dir={tmp_path / 'profile'}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.fixture(scope="module")
def memo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("memo") / "memo.html"
    status = main(
        [
            "explain",
            str(doctrine_file("state_created_danger")),
            "--facts",
            str(FACTS / "kennedy-dissent.yaml"),
            "--format",
            "html",
            "-o",
            str(out),
            "--to",
            "Judge Alvarez",
            "--date",
            "2026-12-04",
        ]
    )
    assert status == 0
    return out


def test_the_html_memo_fits_a_390_px_screen(memo: Path, tmp_path: Path) -> None:
    # Headless Chromium's window is at least 500 px wide: the memo is measured in a 390 px
    # frame instead, as a phone would show it.
    harness = memo.parent / "phone.html"
    harness.write_text(
        '<!DOCTYPE html><html><body style="margin:0">'
        f'<iframe id="f" src="{memo.name}" style="width:390px;height:4000px;border:0"></iframe>'
        '<script>document.getElementById("f").onload = function () {'
        " var d = this.contentDocument.documentElement;"
        ' document.body.setAttribute("data-width", d.scrollWidth + "/" + d.clientWidth); };'
        "</script></body></html>",
        encoding="utf-8",
    )
    proc = _chromium(tmp_path, "--virtual-time-budget=10000", "--dump-dom", harness.as_uri())
    found = re.search(r'data-width="(\d+)/(\d+)"', proc.stdout)
    assert found, proc.stderr[-2000:]
    scroll, client = int(found.group(1)), int(found.group(2))
    assert 370 <= client <= 390  # 390 less the frame's scroll bar
    assert scroll <= client, f"the memo is {scroll} px wide in a 390 px screen"


def test_the_printed_memo_numbers_its_pages_and_keeps_headings_with_text(
    memo: Path, tmp_path: Path
) -> None:
    if shutil.which("pdftotext") is None:
        pytest.fail("no pdftotext: install Debian's `poppler-utils`")
    pdf = tmp_path / "memo.pdf"
    proc = _chromium(tmp_path, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", memo.as_uri())
    assert pdf.is_file(), proc.stderr[-2000:]
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    pages = [p for p in text.split("\f") if p.strip()]
    assert len(pages) > 1
    headings = {
        " ".join(html.unescape(re.sub(r"<[^>]+>", "", h)).split()).lower()
        for h in re.findall(r"<h[23][^>]*>(.*?)</h[23]>", memo.read_text(encoding="utf-8"))
    }
    for number, page in enumerate(pages, 1):
        lines = [" ".join(line.split()) for line in page.splitlines() if line.strip()]
        assert lines[-1] == f"Page {number} of {len(pages)}", lines[-3:]
        last = lines[-2].lower()
        assert last not in headings, f"page {number} ends with the heading {last!r}"
