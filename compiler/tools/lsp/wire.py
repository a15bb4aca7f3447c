"""The wire: reading the client's messages from stdin, resyncing after damaged ones, and
running the server until the client exits."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import sys
import threading
from collections.abc import Iterator
from typing import BinaryIO

from pygls.io_ import StdoutWriter

from .server import (
    DoctrineServer,
    build_server,
)

# ---------------------------------------------------------------- reading the client's messages

_HEADER = re.compile(rb"Content-Length:[ \t]*([0-9]{1,9})[ \t]*\r?\n", re.IGNORECASE)
_HEADER_END = re.compile(rb"\r?\n\r?\n")
MAX_MESSAGE = 256 * 1024 * 1024

log = logging.getLogger(__name__)


class FrameReader:
    """Splits the client's byte stream into messages.

    Stray bytes and a header with a wrong length lose at most the message they damage (and,
    when the pipe cuts the next header in two, that one): the reader finds the next header
    and goes on. Each byte is scanned a bounded number of times, however the stream is cut.
    """

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.scanned = 0  # how far the body being received was searched for a header

    def feed(self, data: bytes) -> list[bytes | None]:
        """The whole messages the data completes (None for bytes that were no message)."""
        self.buffer += data
        return list(self._take())

    def _drop(self, upto: int) -> None:
        del self.buffer[:upto]
        self.scanned = 0

    def _take(self) -> Iterator[bytes | None]:
        buffer = self.buffer
        while True:
            header = _HEADER.search(buffer)
            if header is None:
                # keep only what could still begin a header
                cut = buffer.rfind(b"\n")
                if cut >= 0:
                    self._drop(cut + 1)
                if len(buffer) > 4096:
                    self._drop(len(buffer) - 4096)
                return
            end = _HEADER_END.search(buffer, header.start())
            if end is None:
                if header.start():
                    self._drop(header.start())
                return
            later = _HEADER.search(buffer, header.end(), end.start())
            if later is not None:  # two headers in one block: the last one counts
                self._drop(later.start())
                continue
            length = int(header.group(1))
            body_start = end.end()
            if length > MAX_MESSAGE:
                self._drop(body_start)
                yield None
                continue
            complete = len(buffer) - body_start >= length
            # A header inside the body (a raw line break cannot be in JSON): the length was
            # wrong, and the message ends where the next begins.
            since = max(body_start, self.scanned - 64)
            inside = _HEADER.search(buffer, since, body_start + length + 64)
            if (
                inside is not None
                and inside.start() < body_start + length
                and (complete or _HEADER_END.search(buffer, inside.start()) is not None)
            ):
                self._drop(inside.start())
                yield None
                continue
            if not complete:
                self.scanned = len(buffer)
                return
            body = bytes(buffer[body_start : body_start + length])
            self._drop(body_start + length)
            yield body


async def _serve(server: DoctrineServer, stdin: BinaryIO) -> None:
    loop = asyncio.get_running_loop()
    chunks: asyncio.Queue[bytes] = asyncio.Queue()
    fd = stdin.fileno()

    def pump() -> None:  # a daemon thread, so a client that keeps stdin open cannot hold exit
        while True:
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            loop.call_soon_threadsafe(chunks.put_nowait, data)
            if not data:
                return

    threading.Thread(target=pump, name="doctrine-lsp-reader", daemon=True).start()
    reader = FrameReader()
    protocol = server.protocol
    stop = server._stop_event
    while stop is None or not stop.is_set():
        data = await chunks.get()
        if not data:
            return
        for body in reader.feed(data):
            if body is None:
                log.warning("skipped bytes that were not a message")
                continue
            try:
                message = json.loads(body, object_hook=protocol.structure_message)
            except Exception:
                log.warning("skipped a message that is not JSON-RPC")
                continue
            if not hasattr(message, "jsonrpc"):
                log.warning("skipped a message that is not JSON-RPC")
                continue
            try:
                protocol.handle_message(message)
            except (SystemExit, KeyboardInterrupt):
                raise
            except Exception:
                log.exception("internal error while handling a message")


def serve(stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
    """Run the server over stdin and stdout until the client exits."""
    logging.basicConfig(level=logging.WARNING, format="doctrine lsp: %(message)s")
    sys.setswitchinterval(0.001)  # let requests through promptly while a check runs
    server = build_server()
    server._stop_event = threading.Event()
    server.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))
    try:
        asyncio.run(_serve(server, stdin or sys.stdin.buffer))
    except BrokenPipeError:
        log.error("the client closed the connection")
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.shutdown()  # type: ignore[no-untyped-call]
        server.executor.shutdown(wait=False, cancel_futures=True)
