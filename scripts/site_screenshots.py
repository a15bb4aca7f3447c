"""Screenshots of a doctrine page and an authority page of the library's site, for the docs.

    python scripts/site_screenshots.py [--out docs]

Builds the site of doctrine/ in a temporary folder and photographs two pages with headless
Chromium (`apt-get install chromium`): docs/site-doctrine.png and docs/site-authority.png.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = {
    "site-doctrine.png": ("doctrine-state_created_danger.html", 1600),
    "site-authority.png": ("authority-pinder_v_johnson.html", 1300),
}


def browser() -> str | None:
    """The headless browser to use, if one is installed."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def shoot(chromium: str, page: Path, png: Path, height: int, width: int = 1100) -> None:
    """Photograph one page of the site into `png`."""
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--window-size={width},{height}",
            f"--screenshot={png}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs"), help="where the PNGs go")
    args = parser.parse_args(argv)
    chromium = browser()
    if chromium is None:
        print("no Chromium found: apt-get install chromium", file=sys.stderr)
        return 2
    from compiler.tools.site import build_site

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        build_site(ROOT / "doctrine", Path(tmp))
        for png, (page, height) in PAGES.items():
            shoot(chromium, Path(tmp) / page, out / png, height)
            print(f"wrote {out / png}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
