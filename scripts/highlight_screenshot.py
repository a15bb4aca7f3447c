"""Make docs/images/highlighting.png: doctrine source highlighted by the Pygments lexer (the
same word lists as the VS Code grammar), as HTML, photographed by headless Chromium.

    python scripts/highlight_screenshot.py [FILE] [--lines 1-40]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

from compiler.tools.highlight import highlight_html, stylesheet

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "file", nargs="?", default=str(ROOT / "doctrine" / "state_created_danger.doctrine")
    )
    parser.add_argument("--lines", default="1-42", help="the lines to show, FIRST-LAST")
    parser.add_argument(
        "-o", "--output", default=str(ROOT / "docs" / "images" / "highlighting.png")
    )
    args = parser.parse_args()
    first, last = (int(x) for x in args.lines.split("-"))
    lines = Path(args.file).read_text(encoding="utf-8").splitlines()[first - 1 : last]
    page = (
        "<!doctype html><meta charset='utf-8'><style>"
        "body{margin:0;padding:16px;background:#fff}"
        ".doctrine-source pre{font:14px/1.45 'DejaVu Sans Mono',monospace;margin:0}"
        + stylesheet("friendly")
        + "</style>"
        + highlight_html("\n".join(lines) + "\n")
    )
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or "chromium"
    with tempfile.TemporaryDirectory() as folder:
        html = Path(folder) / "page.html"
        html.write_text(page, encoding="utf-8")
        height = 32 + int(len(lines) * 14 * 1.45) + 8
        subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                f"--screenshot={Path(args.output).resolve()}",
                f"--window-size=1240,{height}",
                html.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
