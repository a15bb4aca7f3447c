"""Benchmark: the language server as an editor drives it, over stdio, with the library open.

    python -m bench.bench_lsp            # the figures docs/editors.md reports (~1 minute)
    python -m bench.bench_lsp --json lsp.json

It starts `doctrine lsp`, opens the library's 16 files (`doctrine/*.doctrine`), then:

- keystrokes: one edit at a time to `vocabulary.doctrine` (which every other file imports)
  and to `state_created_danger.doctrine`; the time from the edit to the edited file's
  diagnostics, less the debounce, and to the last diagnostics of the files that import it;
- a burst: edits to `vocabulary.doctrine` every 40 ms (fast typing), each followed by a hover
  in `state_created_danger.doctrine`, and hovers every 40 ms while the importing files are
  checked after the burst; each hover's round trip.

Targets (issue 16): a keystroke's diagnostics under 150 ms after the debounce, a hover during
a burst under 100 ms. Wall times on a shared machine; the median and the worst are reported.
"""

from __future__ import annotations

import argparse
import json
import queue
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "doctrine"
DEBOUNCE_MS = 150
TIMEOUT = 120.0


class Client:
    """A JSON-RPC client over the server's stdio; each message read is stamped on arrival."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "compiler", "lsp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=ROOT,
        )
        self.inbox: queue.Queue[tuple[float, dict[str, Any]] | None] = queue.Queue()
        self.ids = 0
        self.backlog: list[tuple[float, dict[str, Any]]] = []  # read, not yet waited for
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        stream = self.proc.stdout
        assert stream is not None
        while True:
            length = 0
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
            body = stream.read(length)
            self.inbox.put((time.perf_counter(), json.loads(body)))

    def send(self, message: dict[str, Any]) -> float:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8")
        assert self.proc.stdin is not None
        with self.lock:
            self.proc.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            self.proc.stdin.flush()
        return time.perf_counter()

    def request(self, method: str, params: Any) -> int:
        self.ids += 1
        self.send({"id": self.ids, "method": method, "params": params})
        return self.ids

    def wait(self, wanted: Callable[[dict[str, Any]], bool]) -> tuple[float, dict[str, Any]]:
        for i, item in enumerate(self.backlog):
            if wanted(item[1]):
                return self.backlog.pop(i)
        deadline = time.monotonic() + TIMEOUT
        while True:
            got = self.inbox.get(timeout=max(deadline - time.monotonic(), 0.01))
            if got is None:
                raise EOFError("the server closed its output")
            if wanted(got[1]):
                return got
            self.backlog.append(got)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def _published(uri: str, version: int | None = None) -> Callable[[dict[str, Any]], bool]:
    def wanted(m: dict[str, Any]) -> bool:
        if m.get("method") != "textDocument/publishDiagnostics" or m["params"]["uri"] != uri:
            return False
        return version is None or m["params"].get("version") == version

    return wanted


def run(keystrokes: int = 10, burst: int = 20) -> dict[str, Any]:
    files = sorted(LIBRARY.glob("*.doctrine"))
    texts = {f.as_uri(): f.read_text(encoding="utf-8") for f in files}
    client = Client()
    try:
        client.request(
            "initialize",
            {
                "processId": None,
                "rootUri": LIBRARY.as_uri(),
                "capabilities": {},
                "initializationOptions": {"debounce": DEBOUNCE_MS},
            },
        )
        client.wait(lambda m: m.get("id") == 1)
        client.send({"method": "initialized", "params": {}})
        began = time.perf_counter()
        for uri, text in texts.items():
            client.send(
                {
                    "method": "textDocument/didOpen",
                    "params": {
                        "textDocument": {
                            "uri": uri,
                            "languageId": "doctrine",
                            "version": 1,
                            "text": text,
                        }
                    },
                }
            )
        for uri in texts:
            client.wait(_published(uri))
        opened = time.perf_counter() - began
        client.backlog.clear()

        version = iter(range(2, 1_000_000))
        vocabulary = (LIBRARY / "vocabulary.doctrine").as_uri()
        danger = (LIBRARY / "state_created_danger.doctrine").as_uri()
        importers = [u for u in texts if u != vocabulary]

        def edit(uri: str, k: int) -> tuple[int, float]:
            v = next(version)
            text = texts[uri] + ("\n# an edit\n" if k % 2 else "")
            sent = client.send(
                {
                    "method": "textDocument/didChange",
                    "params": {
                        "textDocument": {"uri": uri, "version": v},
                        "contentChanges": [{"text": text}],
                    },
                }
            )
            return v, sent

        def settle(uri: str, v: int, sent: float, others: list[str]) -> tuple[float, float]:
            got, _ = client.wait(_published(uri, v))
            own = (got - sent) * 1000 - DEBOUNCE_MS
            last = got
            for other in others:
                at, _ = client.wait(_published(other))
                last = max(last, at)
            return own, (last - sent) * 1000 - DEBOUNCE_MS

        own_vocab, all_vocab, own_danger = [], [], []
        for k in range(keystrokes):
            client.backlog.clear()
            v, sent = edit(vocabulary, k)
            own, every = settle(vocabulary, v, sent, importers)
            own_vocab.append(own)
            all_vocab.append(every)
            v, sent = edit(danger, k)
            own_danger.append(settle(danger, v, sent, [])[0])

        hovers: list[float] = []
        line = texts[danger].splitlines()
        # The doctrine's declaration (a comment above it names it too, and hovers to nothing).
        where = next(i for i, text in enumerate(line) if text.startswith("doctrine state_created"))
        character = line[where].index("state_created") + 2
        hover = {
            "textDocument": {"uri": danger},
            "position": {"line": where, "character": character},
        }

        def ask() -> None:
            i = client.request("textDocument/hover", hover)
            sent = time.perf_counter()
            got, answer = client.wait(lambda m: m.get("id") == i)
            assert answer.get("result"), answer
            hovers.append((got - sent) * 1000)

        last = 0
        for k in range(burst):
            last, _ = edit(vocabulary, k)
            ask()
            time.sleep(0.04)
        # while the 15 importing files are checked again after the burst
        checking_until = time.perf_counter() + 1.5
        while time.perf_counter() < checking_until:
            ask()
            time.sleep(0.04)
        client.wait(_published(vocabulary, last))
    finally:
        client.close()

    def summary(values: list[float]) -> dict[str, float]:
        return {
            "median_ms": round(statistics.median(values), 1),
            "worst_ms": round(max(values), 1),
            "count": len(values),
        }

    return {
        "debounce_ms": DEBOUNCE_MS,
        "open_16_files_s": round(opened, 2),
        "keystroke_vocabulary_own": summary(own_vocab),
        "keystroke_vocabulary_all_15_importers": summary(all_vocab),
        "keystroke_state_created_danger_own": summary(own_danger),
        "hover_during_burst": summary(hovers),
    }


def markdown(report: dict[str, Any]) -> str:
    rows = [
        ("Keystroke in `vocabulary.doctrine`: its diagnostics", "keystroke_vocabulary_own"),
        (
            "Keystroke in `vocabulary.doctrine`: the 15 files importing it re-checked",
            "keystroke_vocabulary_all_15_importers",
        ),
        (
            "Keystroke in `state_created_danger.doctrine`: its diagnostics",
            "keystroke_state_created_danger_own",
        ),
        ("Hover during a burst of edits", "hover_during_burst"),
    ]
    out = [
        f"Debounce {report['debounce_ms']} ms (times after it); opening the 16 files: "
        f"{report['open_16_files_s']} s.",
        "",
        "| | median | worst | samples |",
        "|---|---:|---:|---:|",
    ]
    for label, key in rows:
        s = report[key]
        out.append(f"| {label} | {s['median_ms']} ms | {s['worst_ms']} ms | {s['count']} |")
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keystrokes", type=int, default=10)
    parser.add_argument("--burst", type=int, default=20)
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args()
    report = run(args.keystrokes, args.burst)
    print(markdown(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
