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
from hypothesis import given, settings
from hypothesis import strategies as st
from support import clean_env, examples

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
    # The server runs outside the workspace, as editors start it: paths shown are still the
    # workspace's.
    c = Client(workspace.parent, workspace.parent / f"{workspace.name}-server.log")
    try:
        result = c.request(
            "initialize",
            {
                "processId": None,
                "rootUri": workspace.as_uri(),
                "capabilities": {"textDocument": {"rename": {"prepareSupport": True}}},
            },
        )
        caps = result["capabilities"]
        assert caps["hoverProvider"] and caps["definitionProvider"]
        for feature in (
            "referencesProvider",
            "documentSymbolProvider",
            "workspaceSymbolProvider",
            "documentHighlightProvider",
            "foldingRangeProvider",
            "codeActionProvider",
            "semanticTokensProvider",
        ):
            assert caps[feature], feature
        assert caps["renameProvider"] == {"prepareProvider": True}
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
    assert "declared at *base.doctrine:16*" in text  # relative to the workspace

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


def symbols(found: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [(s["name"], s["kind"]) for s in found]


def test_document_symbols(client: Client, workspace: Path) -> None:
    main = workspace / "main.doctrine"
    found = client.request("textDocument/documentSymbol", {"textDocument": {"uri": main.as_uri()}})
    assert symbols(found) == [("duty", 5), ("held", 24)]  # Class, Event
    duty = found[0]
    assert duty["detail"] == "A duty to protect"
    assert symbols(duty["children"]) == [("custody", 8)]  # Field
    assert duty["selectionRange"]["start"] == at(MAIN, "duty {")
    assert duty["range"]["start"] == {"line": at(MAIN, "doctrine duty")["line"], "character": 0}
    assert duty["range"]["end"]["line"] == at(MAIN, "}\n\ncase")["line"]

    base = workspace / "base.doctrine"
    found = client.request("textDocument/documentSymbol", {"textDocument": {"uri": base.as_uri()}})
    assert symbols(found) == [
        ("pinder", 14),  # Constant
        ("custody", 13),  # Variable
        ("promised", 13),
        ("in_custody", 12),  # Function
    ]
    assert symbols(found[1]["children"]) == [("none", 22), ("jail", 22), ("hospital", 22)]


def test_workspace_symbols(client: Client, workspace: Path) -> None:
    found = client.request("workspace/symbol", {"query": "incus"})
    assert [(s["name"], s["containerName"]) for s in found] == [("in_custody", "base")]
    assert found[0]["location"]["uri"] == (workspace / "base.doctrine").as_uri()
    assert found[0]["location"]["range"]["start"] == at(BASE, "in_custody")
    everything = {s["name"] for s in client.request("workspace/symbol", {"query": ""})}
    assert {"duty", "held", "pinder", "custody", "promised", "in_custody"} <= everything


def locations(found: list[dict[str, Any]]) -> set[tuple[str, int, int]]:
    return {
        (
            Path(f["uri"].removeprefix("file://")).name,
            f["range"]["start"]["line"],
            f["range"]["start"]["character"],
        )
        for f in found
    }


def position_of(text: str, needle: str, offset: int = 0, nth: int = 0) -> tuple[int, int]:
    p = at(text, needle, offset, nth)
    return p["line"], p["character"]


def test_references_across_files(client: Client, workspace: Path) -> None:
    main = workspace / "main.doctrine"
    found = client.request(
        "textDocument/references",
        {
            "textDocument": {"uri": main.as_uri()},
            "position": at(MAIN, "in_custody"),
            "context": {"includeDeclaration": True},
        },
    )
    assert locations(found) == {
        ("main.doctrine", *position_of(MAIN, "in_custody")),
        ("base.doctrine", *position_of(BASE, "in_custody")),
    }
    fact = client.request(
        "textDocument/references",
        {
            "textDocument": {"uri": main.as_uri()},
            "position": at(MAIN, "custody: jail"),
            "context": {"includeDeclaration": False},
        },
    )
    # the fact, not the doctrine's element labelled `custody`
    assert locations(fact) == {
        ("main.doctrine", *position_of(MAIN, "custody: jail")),
        ("base.doctrine", *position_of(BASE, "custody is not none")),
    }


def test_document_highlight(client: Client, workspace: Path) -> None:
    base = workspace / "base.doctrine"
    found = ask(client, "textDocument/documentHighlight", base, at(BASE, "custody is"))
    assert sorted((h["range"]["start"]["line"], h["kind"]) for h in found) == [
        (at(BASE, "custody:")["line"], 3),  # Write: the declaration
        (at(BASE, "custody is")["line"], 2),  # Read
    ]


def test_rename_a_fact_everywhere(client: Client, workspace: Path) -> None:
    main = workspace / "main.doctrine"
    prepared = ask(client, "textDocument/prepareRename", main, at(MAIN, "custody: jail", 2))
    assert prepared == {
        "range": {"start": at(MAIN, "custody: jail"), "end": at(MAIN, ": jail")},
        "placeholder": "custody",
    }
    assert ask(client, "textDocument/prepareRename", main, at(MAIN, "title")) is None

    edit = client.request(
        "textDocument/rename",
        {
            "textDocument": {"uri": main.as_uri()},
            "position": at(MAIN, "custody: jail"),
            "newName": "held_by",
        },
    )
    changes = {
        Path(uri.removeprefix("file://")).name: edits for uri, edits in edit["changes"].items()
    }
    assert {e["newText"] for edits in changes.values() for e in edits} == {"held_by"}
    assert sorted(
        (e["range"]["start"]["line"], e["range"]["start"]["character"])
        for e in changes["base.doctrine"]
    ) == sorted([position_of(BASE, "custody: enum"), position_of(BASE, "custody is")])
    assert [
        (e["range"]["start"]["line"], e["range"]["start"]["character"])
        for e in changes["main.doctrine"]
    ] == [
        position_of(MAIN, "custody: jail")
    ]  # the element's label `custody` is a different name, and keeps its name

    bad = client.send(
        {
            "id": 9_999,
            "method": "textDocument/rename",
            "params": {
                "textDocument": {"uri": main.as_uri()},
                "position": at(MAIN, "custody: jail"),
                "newName": "not",
            },
        }
    )
    del bad
    answer = client.wait(lambda m: m.get("id") == 9_999)
    assert "not a name" in answer["error"]["message"]
    client.send(
        {
            "id": 9_998,
            "method": "textDocument/rename",
            "params": {
                "textDocument": {"uri": main.as_uri()},
                "position": at(MAIN, "custody: jail"),
                "newName": "promised",
            },
        }
    )
    taken = client.wait(lambda m: m.get("id") == 9_998)
    assert "already declared" in taken["error"]["message"]


def test_rename_an_element_named_by_a_label_keeps_the_label(
    client: Client, workspace: Path
) -> None:
    path = workspace / "short.doctrine"
    text = (
        'fact a: bool means "a"\n'
        "element plain { holds when a }\n"
        "doctrine d {\n  element plain\n  holds when plain\n}\n"
    )
    assert open_doc(client, path, text) == []
    edit = client.request(
        "textDocument/rename",
        {
            "textDocument": {"uri": path.as_uri()},
            "position": at(text, "plain {"),
            "newName": "simple",
        },
    )
    edits = sorted(
        (e["range"]["start"]["line"], e["newText"]) for e in edit["changes"][path.as_uri()]
    )
    assert edits == [(1, "simple"), (3, "plain = simple")]


def code_actions(client: Client, path: Path, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = client.request(
        "textDocument/codeAction",
        {
            "textDocument": {"uri": path.as_uri()},
            "range": found[0]["range"],
            "context": {"diagnostics": found},
        },
    )
    return result


def test_quick_fix_did_you_mean(client: Client, workspace: Path) -> None:
    path = workspace / "third.doctrine"
    text = "module third\n\nimport base\n\nelement e {\n  holds when promisd\n}\n"
    found = open_doc(client, path, text)
    assert [d["code"] for d in found] == ["D0201"]
    [fix] = code_actions(client, path, found)
    assert fix["title"] == "Change `promisd` to `promised`"
    assert fix["kind"] == "quickfix" and fix["isPreferred"]
    assert fix["edit"]["changes"][path.as_uri()] == [
        {"range": found[0]["range"], "newText": "promised"}
    ]


def test_quick_fix_adds_an_import(client: Client, workspace: Path) -> None:
    path = workspace / "third.doctrine"
    text = "module third\n\nelement e {\n  holds when in_custody\n}\n"
    found = change(client, path, text)
    assert [d["code"] for d in found] == ["D0201"]
    [fix] = code_actions(client, path, found)
    assert fix["title"] == "Import `base` (it declares `in_custody`)"
    [insert] = fix["edit"]["changes"][path.as_uri()]
    assert insert == {
        "range": {"start": {"line": 1, "character": 0}, "end": {"line": 1, "character": 0}},
        "newText": "\nimport base\n",
    }
    fixed = text.replace("module third\n", "module third\n\nimport base\n")
    assert change(client, path, fixed) == []


def test_quick_fix_imports_from_the_library(client: Client, workspace: Path) -> None:
    path = workspace / "third.doctrine"
    text = "module third\n\nelement e {\n  holds when relied_on_promise\n}\n"
    found = change(client, path, text)
    assert [d["code"] for d in found] == ["D0201"]
    [fix] = code_actions(client, path, found)
    assert fix["title"] == "Import `doctrine.vocabulary` (it declares `relied_on_promise`)"
    fixed = text.replace("module third\n", "module third\n\nimport doctrine.vocabulary\n")
    assert change(client, path, fixed) == []
    hover = ask(client, "textDocument/hover", path, at(fixed, "vocabulary"))
    assert hover["contents"]["value"].endswith("*the installed library: vocabulary.doctrine*")


def test_completion_after_import(client: Client, workspace: Path) -> None:
    path = workspace / "third.doctrine"
    text = "module third\n\nimport \n"
    change(client, path, text)
    found = ask(client, "textDocument/completion", path, {"line": 2, "character": 7})
    labels = [i["label"] for i in found["items"]]
    assert "base" in labels and "main" in labels and "third" not in labels
    assert labels.index("base") < labels.index("doctrine.vocabulary")  # the library's last
    assert {i["kind"] for i in found["items"]} == {9}  # Module


def test_definition_of_an_expect_key_is_the_element(client: Client, workspace: Path) -> None:
    main = workspace / "main.doctrine"
    text = MAIN.replace("holds: true\n", "holds: true\n    custody: true\n")
    assert change(client, main, text) == []
    found = ask(client, "textDocument/definition", main, at(text, "custody: true", 1))
    assert found["uri"] == (workspace / "base.doctrine").as_uri()
    assert found["range"]["start"] == at(BASE, "in_custody")
    hover = ask(client, "textDocument/hover", main, at(text, "custody: true", 1))
    assert "**element** `custody` of doctrine `duty`" in hover["contents"]["value"]
    doctrine = ask(client, "textDocument/definition", main, at(text, "holds: true"))
    assert doctrine["range"]["start"] == at(text, "duty {")
    assert change(client, main, MAIN) == []


def decode(data: list[int], text: str) -> list[tuple[str, str, int]]:
    """Semantic tokens as (word, type, modifiers)."""
    lines = text.splitlines()
    out, line, start = [], 0, 0
    for i in range(0, len(data), 5):
        dl, ds, length, kind, mods = data[i : i + 5]
        line += dl
        start = start + ds if dl == 0 else ds
        out.append((lines[line][start : start + length], kind, mods))
    legend = [
        "namespace",
        "type",
        "class",
        "enumMember",
        "function",
        "variable",
        "property",
        "event",
        "macro",
    ]
    return [(w, legend[k], m) for w, k, m in out]


def test_semantic_tokens(client: Client, workspace: Path) -> None:
    main = workspace / "main.doctrine"
    found = client.request(
        "textDocument/semanticTokens/full", {"textDocument": {"uri": main.as_uri()}}
    )
    tokens = decode(found["data"], MAIN)
    assert ("base", "namespace", 0) in tokens
    assert ("duty", "class", 1) in tokens  # declared here
    assert ("custody", "property", 1) in tokens  # the doctrine's element label
    assert ("in_custody", "function", 0) in tokens
    assert ("custody", "variable", 0) in tokens  # the fact, in `given`
    assert ("jail", "enumMember", 0) in tokens
    assert not any(word in ("doctrine", "title", "element") for word, _, _ in tokens)


def test_folding_ranges(client: Client, workspace: Path) -> None:
    main = workspace / "main.doctrine"
    found = client.request("textDocument/foldingRange", {"textDocument": {"uri": main.as_uri()}})
    spans = {(f["startLine"], f["endLine"]) for f in found}
    duty = at(MAIN, "doctrine duty")["line"]
    assert (duty, duty + 2) in spans  # the doctrine's block, up to the line before its `}`
    case = at(MAIN, "case held")["line"]
    assert (case, case + 6) in spans


def test_untitled_documents_get_diagnostics(client: Client, workspace: Path) -> None:
    uri = "untitled:Untitled-1"
    client.notify(
        "textDocument/didOpen",
        {
            "textDocument": {
                "uri": uri,
                "languageId": "doctrine",
                "version": 1,
                "text": "import base\nelement e { holds when promisd }\n",
            }
        },
    )
    found = client.diagnostics(uri)
    assert [d["code"] for d in found] == ["D0201"]  # it imported `base` from the workspace
    assert "did you mean `promised`?" in found[0]["message"]


def test_a_change_rechecks_the_documents_that_import_it(client: Client, workspace: Path) -> None:
    base, main = workspace / "base.doctrine", workspace / "main.doctrine"
    start = len(client.seen)
    broken = BASE.replace("element in_custody", "element in_care")
    for i in range(5):  # a burst of typing: one check, of the last text
        client.notify(
            "textDocument/didChange",
            {
                "textDocument": {"uri": base.as_uri(), "version": 100 + i},
                "contentChanges": [{"text": broken if i == 4 else BASE + "#" * i}],
            },
        )
    for_base = client.wait(
        lambda m: (
            m.get("method") == "textDocument/publishDiagnostics"
            and m["params"]["uri"] == base.as_uri()
        )
    )
    assert for_base["params"]["version"] == 104
    found = client.diagnostics(main.as_uri())
    assert [d["code"] for d in found] == ["D0201"] and "in_custody" in found[0]["message"]
    published = [
        m["params"]["uri"]
        for m in client.seen[start:]
        if m.get("method") == "textDocument/publishDiagnostics"
    ]
    # wide.doctrine and short.doctrine import nothing: they were not checked again
    assert (workspace / "wide.doctrine").as_uri() not in published
    assert (workspace / "short.doctrine").as_uri() not in published
    assert change(client, base, BASE) == []
    assert client.diagnostics(main.as_uri()) == []


def test_requests_are_answered_while_a_document_is_checked(client: Client, workspace: Path) -> None:
    big = workspace / "big.doctrine"
    text = (
        "".join(
            f'fact f{i}: bool means "f{i}"\nelement e{i} {{ holds when f{i} }}\n'
            for i in range(300)
        )
        + "doctrine d {\n"
        + "".join(f"  element l{i} = e{i}\n" for i in range(300))
        + "}\n"
    )
    start = len(client.seen)
    client.notify(
        "textDocument/didOpen",
        {
            "textDocument": {
                "uri": big.as_uri(),
                "languageId": "doctrine",
                "version": 1,
                "text": text,
            }
        },
    )
    main = workspace / "main.doctrine"
    hover = ask(client, "textDocument/hover", main, at(MAIN, "in_custody", 3))
    assert "in_custody" in hover["contents"]["value"]
    # the hover was answered before the big document's check ended
    assert not any(
        m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == big.as_uri()
        for m in client.seen[start:]
    )
    assert client.diagnostics(big.as_uri()) == []


def test_a_threshold(client: Client, workspace: Path) -> None:
    path = workspace / "uhlrig.doctrine"
    text = (
        "import base\n\n"
        "doctrine uhlrig {\n"
        "  threshold held = in_custody\n"
        "  element promise {\n    holds when promised\n  }\n"
        "}\n"
    )
    assert open_doc(client, path, text) == []
    hover = ask(client, "textDocument/hover", path, at(text, "held"))
    assert "**threshold** `held` of doctrine `uhlrig`" in hover["contents"]["value"]
    found = ask(client, "textDocument/definition", path, at(text, "held"))
    assert found["uri"] == (workspace / "base.doctrine").as_uri()
    assert found["range"]["start"] == at(BASE, "in_custody")
    symbols = client.request(
        "textDocument/documentSymbol", {"textDocument": {"uri": path.as_uri()}}
    )
    assert [(c["name"], c["detail"]) for c in symbols[0]["children"]] == [
        ("held", "= in_custody (threshold)"),
        ("promise", "element"),
    ]


def test_a_file_changed_on_the_disk_rechecks_the_documents_that_read_it(
    client: Client, workspace: Path
) -> None:
    base, main = workspace / "base.doctrine", workspace / "main.doctrine"
    client.notify("textDocument/didClose", {"textDocument": {"uri": base.as_uri()}})
    client.diagnostics(main.as_uri())  # main now reads base from the disk
    base.write_text(BASE.replace("element in_custody", "element in_care"), encoding="utf-8")
    try:
        client.notify(
            "workspace/didChangeWatchedFiles",
            {"changes": [{"uri": base.as_uri(), "type": 2}]},
        )
        found = client.diagnostics(main.as_uri())
        assert [d["code"] for d in found] == ["D0201"]
    finally:
        base.write_text(BASE, encoding="utf-8")
    client.notify(
        "workspace/didChangeWatchedFiles", {"changes": [{"uri": base.as_uri(), "type": 2}]}
    )
    assert client.diagnostics(main.as_uri()) == []


# ---------------------------------------------------------------- the wire


def test_bad_frames_do_not_stop_the_server(tmp_path: Path) -> None:
    c = Client(tmp_path, tmp_path / "server.log")
    try:
        assert c.proc.stdin is not None
        init = {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}}
        c.request("initialize", init)
        c.notify("initialized", {})
        hostile = [
            b"Content-Length: abc\r\n\r\n{}",
            b"stray bytes with no newline",
            b'Content-Length: 5\r\n\r\n{"jsonrpc": "2.0"}',  # the length is too short
            b"Content-Length: 99999\r\n\r\n{}",  # too long: the next header ends it
            b"Content-Length: 99999999999999\r\n\r\n",
            b"Content-Length: 2\r\n\r\n[]",
            b"\xff\xfe\x00garbage\r\n\r\n",
        ]
        for junk in hostile:
            c.proc.stdin.write(junk)
            c.proc.stdin.flush()
            answer = c.request("workspace/symbol", {"query": "x"})
            assert answer == [], junk
    finally:
        c.close()


@settings(deadline=None, max_examples=examples(60))
@given(
    bodies=st.lists(st.dictionaries(st.text(max_size=5), st.integers()), min_size=1, max_size=5),
    cuts=st.lists(st.integers(min_value=1, max_value=40), max_size=30),
    junk=st.sampled_from([b"", b"garbage", b"Content-Length: 7\r\n\r\n{}", b"\r\n\r\n"]),
)
def test_frames_survive_any_split_of_the_stream(
    bodies: list[dict[str, int]], cuts: list[int], junk: bytes
) -> None:
    """The reader finds every whole message however the pipe cuts the bytes, after junk too."""
    from compiler.tools.lsp import FrameReader

    encoded = [
        json.dumps({"jsonrpc": "2.0", "n": i, "body": b}).encode() for i, b in enumerate(bodies)
    ]
    stream = junk + b"".join(b"Content-Length: %d\r\n\r\n%s" % (len(e), e) for e in encoded)
    reader, found, at = FrameReader(), [], 0
    for cut in [*cuts, len(stream)]:
        found += [f for f in reader.feed(stream[at : at + cut]) if f is not None]
        at += cut
    found += [f for f in reader.feed(stream[at:]) if f is not None]
    whole = [f for f in found if f.startswith(b'{"jsonrpc"')]
    if junk.startswith(b"Content-Length"):
        # a wrong length may swallow the header of the message after it, when the pipe cuts
        # that header in two; never more than that one
        assert whole in (encoded, encoded[1:])
    else:
        assert whole == encoded
