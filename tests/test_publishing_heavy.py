"""Heavy end-to-end checks of publishing: the Sphinx extension in a real Sphinx build, and the
screenshots of the library's site taken with headless Chromium.

`.ci/run` runs them in its heavy step (`pytest -m heavy`), after installing the `docs` extra
and Chromium; there a missing tool is a failure, not a skip.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support import LIBRARY, ROOT, clean_env, run_process

pytestmark = pytest.mark.heavy


def sphinx_build(src: Path, out: Path, builder: str = "html") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "-q", "-E", "-b", builder, str(src), str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def project(tmp_path: Path, page: str) -> Path:
    src = tmp_path / "src"
    src.mkdir(parents=True)
    shutil.copytree(LIBRARY, src / "lib", ignore=shutil.ignore_patterns("trade_secrets"))
    (src / "conf.py").write_text(
        'project = "a firm\'s library"\nextensions = ["compiler.tools.sphinxext"]\n',
        encoding="utf-8",
    )
    (src / "index.rst").write_text(page, encoding="utf-8")
    return src


def test_the_directive_embeds_a_doctrine_in_a_sphinx_page(tmp_path: Path) -> None:
    src = project(
        tmp_path,
        "Our rules\n=========\n\n"
        ".. doctrine:: lib/special_relationship_jensen.doctrine\n\n"
        ".. doctrine:: lib/duty_to_protect.doctrine\n"
        "   :site: https://example.org/library/\n",
    )
    proc = sphinx_build(src, tmp_path / "html")
    assert proc.returncode == 0, proc.stderr
    html = (tmp_path / "html" / "index.html").read_text(encoding="utf-8")
    assert html.count('<div class="doctrine-site">') == 2
    assert "A special relationship under Jensen v. Conrad" in html
    # Without :site: names are plain code; with it, they link into the published site.
    first, second = html.split('<div class="doctrine-site">')[1:]
    assert "href=" not in first.split("</div>")[0]
    assert 'href="https://example.org/library/element-duty_to_protect.' in second
    assert (tmp_path / "html" / "_static" / "doctrine-site.css").is_file()
    assert "doctrine-site.css" in html
    text = sphinx_build(src, tmp_path / "text", "text")
    assert text.returncode == 0, text.stderr
    plain = (tmp_path / "text" / "index.txt").read_text(encoding="utf-8")
    assert "A special relationship under Jensen v. Conrad" in plain


def test_a_broken_doctrine_fails_the_build_with_its_diagnostic(tmp_path: Path) -> None:
    src = project(tmp_path, "Rules\n=====\n\n.. doctrine:: lib/bad.doctrine\n")
    (src / "lib" / "bad.doctrine").write_text(
        "fact x: bool\ndoctrine bad {\n  element e {\n    holds when y\n  }\n}\n",
        encoding="utf-8",
    )
    proc = sphinx_build(src, tmp_path / "html")
    assert proc.returncode != 0
    assert "does not compile" in proc.stderr and "D0201" in proc.stderr
    assert "Traceback" not in proc.stderr
    missing = project(tmp_path / "again", "Rules\n=====\n\n.. doctrine:: lib/nothing.doctrine\n")
    proc = sphinx_build(missing, tmp_path / "again" / "html")
    assert proc.returncode != 0 and "nothing.doctrine" in proc.stderr


def test_screenshots_of_the_site(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "site_screenshots.py"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    for name in ("site-doctrine.png", "site-authority.png"):
        png = (tmp_path / name).read_bytes()
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 20_000
        assert (ROOT / "docs" / name).is_file(), f"docs/{name} is missing"


def test_the_site_is_the_same_under_other_hash_seeds_and_folders(tmp_path: Path) -> None:
    """Two copies of the library in different folders, built by two processes with different
    hash seeds, give the same bytes."""
    sites = []
    for seed in ("1", "2"):
        library = tmp_path / f"checkout-{seed}" / "doctrine"
        shutil.copytree(LIBRARY, library)
        out = tmp_path / f"site-{seed}"
        proc = run_process(
            "site",
            str(library),
            "-o",
            str(out),
            "--no-graphviz",
            env=clean_env(PYTHONHASHSEED=seed),
        )
        assert proc.returncode == 0, proc.stderr
        sites.append({p.name: p.read_bytes() for p in out.iterdir()})
    assert sites[0].keys() == sites[1].keys()
    assert [name for name in sites[0] if sites[0][name] != sites[1][name]] == []
