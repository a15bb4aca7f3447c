"""The language server, over stdio with a real client: JSON-RPC frames to `doctrine lsp`."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support import clean_env

TIMEOUT = 30  # seconds for any one answer

BASE = """\
module base "Facts and authorities"

authority pinder {
  name "Pinder v. Johnson"
  reporter "54 F.3d 1169"
  court "4th"
  year 1995
}

fact custody: enum (none, jail, hospital)
  means "how the state held the plaintiff"

fact promised: bool
  means "an official promised protection"

element in_custody {
  title "The state held the plaintiff"
  holds when custody is not none
  cite pinder at "1175" for "custody, not a promise"
}
"""

MAIN = """\
module main "The doctrine"

import base

doctrine duty {
  title "A duty to protect"
  element custody = in_custody
}

case held under duty {
  given {
    custody: jail
  }
  expect {
    holds: true
  }
}
"""


class Client:
    """A language client: Content-Length framed JSON-RPC over the server's stdin and stdout."""

    def __init__(self, cwd: Path, log: Path) -> None:
        self.log = log.open("wb")  # the server's standard error, for a failing test to read
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "compiler", "lsp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            cwd=cwd,
            env=clean_env(),
        )
        self.inbox: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        self.ids = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        stream = self.proc.stdout
        assert stream is not None
        while True:
            length = None
            while True:
                line = stream.readline()
                if not line:
                    self.inbox.put(None)
                    return
                if not line.strip():
                    break
                name, _, value = line.decode("ascii").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            assert length is not None, "a frame without Content-Length"
            self.inbox.put(json.loads(stream.read(length)))

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8")
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        self.proc.stdin.flush()

    def notify(self, method: str, params: Any) -> None:
        self.send({"method": method, "params": params})

    def request(self, method: str, params: Any) -> Any:
        self.ids += 1
        mine = self.ids
        self.send({"id": mine, "method": method, "params": params})
        answer = self.wait(lambda m: m.get("id") == mine and "method" not in m)
        assert "error" not in answer, answer
        return answer["result"]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=TIMEOUT)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()
        self.log.close()

    def wait(self, wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        deadline = time.monotonic() + TIMEOUT
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"the server did not answer in time; see {self.log.name}")
            try:
                message = self.inbox.get(timeout=left)
            except queue.Empty:
                raise TimeoutError(f"no answer in time; see {self.log.name}") from None
            if message is None:
                raise EOFError(f"the server closed its output; see {self.log.name}")
            self.seen.append(message)
            if wanted(message):
                return message

    def diagnostics(self, uri: str) -> list[dict[str, Any]]:
        message = self.wait(
            lambda m: (
                m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri
            )
        )
        found: list[dict[str, Any]] = message["params"]["diagnostics"]
        return found


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("workspace")
    (root / "base.doctrine").write_text(BASE, encoding="utf-8")
    (root / "main.doctrine").write_text(MAIN, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def client(workspace: Path) -> Iterator[Client]:
    c = Client(workspace, workspace.parent / f"{workspace.name}-server.log")
    try:
        result = c.request(
            "initialize",
            {"processId": None, "rootUri": workspace.as_uri(), "capabilities": {}},
        )
        caps = result["capabilities"]
        assert caps["hoverProvider"] and caps["definitionProvider"]
        assert caps["documentFormattingProvider"] and "completionProvider" in caps
        assert result["serverInfo"]["name"] == "doctrine"
        c.notify("initialized", {})
        yield c
        assert c.request("shutdown", None) is None
        c.notify("exit", None)
        assert c.proc.wait(timeout=TIMEOUT) == 0
    finally:
        c.close()


def open_doc(client: Client, path: Path, text: str) -> list[dict[str, Any]]:
    client.notify(
        "textDocument/didOpen",
        {
            "textDocument": {
                "uri": path.as_uri(),
                "languageId": "doctrine",
                "version": 1,
                "text": text,
            }
        },
    )
    return client.diagnostics(path.as_uri())


versions = iter(range(2, 10_000))


def change(client: Client, path: Path, text: str) -> list[dict[str, Any]]:
    client.notify(
        "textDocument/didChange",
        {
            "textDocument": {"uri": path.as_uri(), "version": next(versions)},
            "contentChanges": [{"text": text}],
        },
    )
    return client.diagnostics(path.as_uri())


def at(text: str, needle: str, offset: int = 0, nth: int = 0) -> dict[str, int]:
    """The LSP position of the `nth` occurrence of needle (plus offset characters)."""
    index = -1
    for _ in range(nth + 1):
        index = text.index(needle, index + 1)
    index += offset
    line = text.count("\n", 0, index)
    character = index - (text.rfind("\n", 0, index) + 1)
    return {"line": line, "character": character}


def ask(client: Client, method: str, path: Path, position: dict[str, int]) -> Any:
    return client.request(method, {"textDocument": {"uri": path.as_uri()}, "position": position})


# ---------------------------------------------------------------- the tests, in session order


def test_diagnostics_as_you_type(client: Client, workspace: Path) -> None:
    main = workspace / "main.doctrine"
    typo = MAIN.replace("= in_custody", "= in_custdy")
    found = open_doc(client, main, typo)
    assert len(found) == 1, found
    d = found[0]
    assert d["code"] == "D0201" and d["severity"] == 1 and d["source"] == "doctrine"
    start = at(typo, "in_custdy")
    assert d["range"] == {
        "start": start,
        "end": {"line": start["line"], "character": start["character"] + len("in_custdy")},
    }
    assert "did you mean `in_custody`?" in d["message"]

    assert change(client, main, MAIN) == []


def test_a_syntax_error_while_typing(client: Client, workspace: Path) -> None:
    main = workspace / "main.doctrine"
    half = MAIN.replace("  element custody = in_custody\n", "  element custody =\n")
    found = change(client, main, half)
    assert [d["code"] for d in found] == ["D0101"]
    assert found[0]["range"]["start"] == at(half, "}", nth=0)
    # hover still answers from the last text that loaded
    hover = ask(client, "textDocument/hover", main, at(half, "custody: jail", 1))
    assert "how the state held the plaintiff" in hover["contents"]["value"]
    assert change(client, main, MAIN) == []


def test_hover_shows_meaning_and_authorities(client: Client, workspace: Path) -> None:
    main = workspace / "main.doctrine"
    hover = ask(client, "textDocument/hover", main, at(MAIN, "in_custody", 3))
    text = hover["contents"]["value"]
    assert hover["contents"]["kind"] == "markdown"
    assert "**element** `in_custody`: The state held the plaintiff" in text
    assert "holds when custody is not none" in text
    assert "Pinder v. Johnson, 54 F.3d 1169, 1175 (4th Cir. 1995): “custody, not a promise”" in text
    assert "base.doctrine:16" in text

    fact = ask(client, "textDocument/hover", main, at(MAIN, "custody: jail", 1))
    assert "**fact** `custody`: enum (none, jail, hospital)" in fact["contents"]["value"]
    assert "how the state held the plaintiff" in fact["contents"]["value"]

    value = ask(client, "textDocument/hover", main, at(MAIN, "jail"))
    assert "**value** `jail` of fact `custody`" in value["contents"]["value"]

    nothing = ask(client, "textDocument/hover", main, at(MAIN, "title"))
    assert nothing is None


def test_definition_across_an_import(client: Client, workspace: Path) -> None:
    main, base = workspace / "main.doctrine", workspace / "base.doctrine"
    found = ask(client, "textDocument/definition", main, at(MAIN, "in_custody"))
    assert found["uri"] == base.as_uri()
    assert found["range"]["start"] == at(BASE, "in_custody")

    value = ask(client, "textDocument/definition", main, at(MAIN, "jail", 2))
    assert value["uri"] == base.as_uri()
    assert value["range"]["start"] == at(BASE, "jail")

    module = ask(client, "textDocument/definition", main, at(MAIN, "import base", 8))
    assert module["uri"] == base.as_uri()

    slot = ask(client, "textDocument/definition", main, at(MAIN, "custody = ", 2))
    assert slot["uri"] == base.as_uri()
    assert slot["range"]["start"] == at(BASE, "in_custody")


def test_completion(client: Client, workspace: Path) -> None:
    main = workspace / "main.doctrine"
    values = ask(client, "textDocument/completion", main, at(MAIN, "jail"))
    labels = [i["label"] for i in values["items"]]
    assert labels == ["none", "jail", "hospital"]
    assert {i["kind"] for i in values["items"]} == {20}  # EnumMember

    anywhere = ask(client, "textDocument/completion", main, at(MAIN, "  element custody", 2))
    kinds = {(i["label"], i["kind"]) for i in anywhere["items"]}
    assert {("custody", 6), ("promised", 6)} <= kinds  # Variable: facts
    assert ("in_custody", 3) in kinds  # Function: elements
    assert ("duty", 7) in kinds  # Class: doctrines
    assert ("custody", 5) in kinds  # Field: the doctrine's slot
    assert ("hospital", 20) in kinds  # EnumMember: values

    base = workspace / "base.doctrine"
    assert open_doc(client, base, BASE) == []
    authorities = ask(client, "textDocument/completion", base, at(BASE, "pinder at"))
    assert [i["label"] for i in authorities["items"]] == ["pinder"]


def test_unicode_positions_are_counted_in_utf16(client: Client, workspace: Path) -> None:
    path = workspace / "wide.doctrine"
    text = 'fact a: bool means "a"\nelement e { title "\U0001f600\U0001f600" holds when b }\n'
    found = open_doc(client, path, text)
    unknown = next(d for d in found if "unknown name `b`" in d["message"])
    line = text.splitlines()[1]
    prefix = line[: line.index(" b }") + 1]
    utf16 = len(prefix.encode("utf-16-le")) // 2
    assert unknown["range"]["start"] == {"line": 1, "character": utf16}
    assert unknown["range"]["end"] == {"line": 1, "character": utf16 + 1}


def test_formatting(client: Client, workspace: Path) -> None:
    path = workspace / "messy.doctrine"
    text = "fact   a :bool\n"
    open_doc(client, path, text)
    edits = client.request(
        "textDocument/formatting",
        {"textDocument": {"uri": path.as_uri()}, "options": {"tabSize": 2, "insertSpaces": True}},
    )
    assert edits == [
        {
            "range": {"start": {"line": 0, "character": 0}, "end": {"line": 1, "character": 0}},
            "newText": "fact a: bool\n",
        }
    ]
