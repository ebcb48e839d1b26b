"""Cross-process wake-ups: an acceptor tells the delivery workers that new jobs are due.

In one process the SMTP side calls ``Worker.notify()`` after an accept. Under the
supervisor the worker lives in another process, so each worker child binds a Unix
datagram socket in the abstract namespace (Linux: no file, nothing to clean up), named
after the outbox file and the worker's index, and acceptors send it one byte. A
nudge is only a hint: a lost one (no worker there yet, a full socket buffer) costs at
most one poll interval, since workers look at the outbox on their own as well. Nudges
sent in the same turn of the event loop are coalesced into one; each goes to the next
worker in turn (nudging all of them made every worker but one claim nothing).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import socket
from collections.abc import Callable
from pathlib import Path


def _address(outbox_file: Path, index: int) -> str:
    digest = hashlib.sha256(str(outbox_file.resolve()).encode()).hexdigest()[:16]
    return f"\0inbound-wake-{digest}-{index}"


class Wake:
    """The nudges of one process: ``notify()`` (acceptor) or ``listen()`` (worker)."""

    def __init__(self, outbox_file: Path, workers: int, *, index: int | None = None) -> None:
        self._addresses = [_address(outbox_file, i) for i in range(workers)]
        self.index = index
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.setblocking(False)
        self._pending = False
        self._next = 0
        self._loop: asyncio.AbstractEventLoop | None = None

    def notify(self) -> None:
        """New jobs are due: nudge the next worker (once per turn of the event loop)."""
        if self._pending:
            return
        self._pending = True
        asyncio.get_running_loop().call_soon(self._send)

    def _send(self) -> None:
        self._pending = False
        if not self._addresses:
            return
        address = self._addresses[self._next % len(self._addresses)]
        self._next += 1
        # No worker bound there (yet), or its buffer is full: it polls anyway.
        with contextlib.suppress(OSError):
            self._sock.sendto(b"!", address)

    def listen(self, callback: Callable[[], None]) -> None:
        """Bind this worker's address and call ``callback`` on every nudge (running loop)."""
        if self.index is None:
            raise ValueError("only a worker (with an index) listens")
        self._sock.bind(self._addresses[self.index])
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self._sock.fileno(), self._drain, callback)

    def _drain(self, callback: Callable[[], None]) -> None:
        with contextlib.suppress(BlockingIOError):
            while True:
                self._sock.recv(64)
        callback()

    def close(self) -> None:
        if self._loop is not None:
            self._loop.remove_reader(self._sock.fileno())
            self._loop = None
        self._sock.close()
