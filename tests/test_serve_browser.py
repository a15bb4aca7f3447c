"""`doctrine serve` in a real browser (Debian's chromium driven by Playwright): a whole
interview by keyboard alone, "don't know", going back, the memo, and the 390 px width.

Heavy: `.ci/run` installs chromium and playwright for it. Screenshots go to a temporary
folder, or to $DOCTRINE_SCREENSHOTS (docs/img when the docs are refreshed).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import LIBRARY

pytestmark = pytest.mark.heavy

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    import uvicorn  # the `serve` extra, in `dev`: missing, it is a failure, not a skip

    from compiler.tools.library import Library
    from compiler.tools.serve import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(
        create_app(Library.load(LIBRARY)), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(600):  # until it listens: started is set once the socket is bound
        if server.started:
            break
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    # .ci/run installs Playwright for the heavy step; missing there, it is a failure.
    from playwright import sync_api

    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed (apt-get install -y chromium)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--headless", "--disable-gpu",
                  "--disable-background-networking", "--disable-dev-shm-usage"],
        )  # fmt: skip
        yield b
        b.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("DOCTRINE_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _fits(page: Any) -> None:
    """Nothing wider than the window: no sideways scrolling."""
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= page.evaluate("window.innerWidth"), f"{page.url} is {wide}px wide"


def _labelled(page: Any) -> None:
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input:not([type=hidden]), select, button')]
             .filter(el => !(el.labels && el.labels.length) && !el.textContent.trim()
                           && !el.getAttribute('aria-label'))
             .map(el => el.outerHTML)"""
    )
    assert unlabelled == []


def press(page: Any, key: str) -> None:
    """Press a key that submits a form or follows a link, and wait for the next page."""
    with page.expect_navigation():
        page.keyboard.press(key)


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_a_whole_interview_by_keyboard(
    base_url: str, browser: Any, shots: Path, javascript: bool
) -> None:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, java_script_enabled=javascript
    )
    page = context.new_page()
    page.goto(base_url + "/")
    _fits(page)
    if javascript:
        page.screenshot(path=str(shots / "serve-index.png"), full_page=True)
    # Keyboard only: the doctrine's link, Enter to open it.
    page.locator('a[href="/doctrines/state_created_danger"]').focus()
    press(page, "Enter")
    assert page.get_by_role("heading", name="Question 1: culpability").is_visible()
    _labelled(page)
    _fits(page)
    if javascript:
        page.screenshot(path=str(shots / "serve-question.png"), full_page=True)
    # The first choice has the focus; arrows move through the choices, Enter answers.
    assert page.evaluate("document.activeElement.id") == "v1"
    page.keyboard.press("ArrowDown")  # negligence
    press(page, "Enter")
    # Negligence settles the test: the memo, by the templates of `doctrine explain`.
    assert page.get_by_role("heading", name="The test is not met").is_visible()
    assert page.locator("article.memo").is_visible()
    _fits(page)
    # Going back: change the answer, by keyboard.
    page.get_by_role("link", name="Change the answer about culpability").focus()
    press(page, "Enter")
    assert page.get_by_role("heading", name="Question 1: culpability").is_visible()
    assert page.get_by_label("negligence", exact=True).is_checked()
    page.get_by_label("deliberate indifference").focus()
    page.keyboard.press("Space")
    press(page, "Enter")
    # "Don't know" for every question left: the last choice of each.
    for _ in range(8):
        heading = page.get_by_role("heading", level=1).first.inner_text()
        if not heading.startswith("Question"):
            break
        _labelled(page)
        _fits(page)
        page.get_by_label("Don't know").focus()
        page.keyboard.press("Space")
        press(page, "Enter")
    assert page.get_by_role("heading", name="Undetermined on these answers").is_visible()
    assert "don't know" in page.locator(".answered").inner_text()
    _fits(page)
    if javascript:
        page.screenshot(path=str(shots / "serve-result.png"), full_page=False)
    # Back: undo the last answer.
    page.get_by_role("link", name="Back: undo the last answer").focus()
    press(page, "Enter")
    assert page.get_by_role("heading", level=1).first.inner_text().startswith("Question")
    context.close()


def test_the_memo_prints_without_the_forms(base_url: str, browser: Any, shots: Path) -> None:
    page = browser.new_page(viewport={"width": 1000, "height": 900})
    page.goto(base_url + '/doctrines/special_relationship?answers={"custody":"incarceration"}')
    page.emulate_media(media="print")
    assert not page.locator(".answered").is_visible()
    assert not page.locator("header.site").is_visible()
    assert page.locator("article.memo").is_visible()
    page.emulate_media(media="screen")
    page.screenshot(path=str(shots / "serve-memo-desktop.png"))
    page.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_a_list_of_authorities_by_keyboard(base_url: str, browser: Any, javascript: bool) -> None:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, java_script_enabled=javascript
    )
    page = context.new_page()
    page.goto(base_url + "/doctrines/qualified_immunity_state_created_danger?ask=authorities")
    _labelled(page)
    _fits(page)
    page.get_by_label("name").first.fill("L.W. v. Grubbs")
    page.get_by_role("button", name="Add another item").focus()
    if javascript:  # the row is added in the page, and has the focus
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.name") == "r1.name"
    else:  # the server sends the form again, one row longer
        press(page, "Enter")
    assert page.locator("input[name='r1.name']").is_visible()
    assert page.locator("input[name='r0.name']").input_value() == "L.W. v. Grubbs"
    _labelled(page)
    row = {"r1.name": "Wood v. Ostrander", "r1.court": "9th", "r1.decided": "1989-07-01"}
    for name, value in row.items():
        page.locator(f"[name='{name}']").fill(value)
    page.locator("[name='r1.recognizes_right']").select_option("yes")
    page.locator("[name='r1.materially_similar']").select_option("no")
    for name, value in {"r0.court": "9th", "r0.decided": "1992-08-01"}.items():
        page.locator(f"[name='{name}']").fill(value)
    page.locator("[name='r0.recognizes_right']").select_option("yes")
    page.locator("[name='r0.materially_similar']").select_option("no")
    page.get_by_role("button", name="Next").focus()
    press(page, "Enter")
    answered = page.locator(".answered").inner_text()
    assert "authorities" in answered and "2 record(s)" in answered
    context.close()
