"""Group commit for the SQLite outbox: many writes, one transaction, one fsync.

Every write still returns only after its COMMIT (``synchronous=FULL``), so "durably
committed" keeps its meaning; what changes is that writes arriving while a commit is
under way share the next transaction instead of queueing for one fsync each. Each write
runs in its own savepoint, so one that fails is rolled back alone and raises
OutboxError to its caller while the others commit.

With ``delay`` (a process whose writes are not waited on by an SMTP client), a batch
is flushed that long after its first write, so more writes share one commit.

Runs on the outbox's single thread (the executor it is given), like every other
statement, so the connection is never used from two threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from inbound.errors import OutboxError

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class _Write:
    fn: Callable[[sqlite3.Connection], Any]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop


class GroupCommit:
    def __init__(
        self,
        executor: Executor,
        connection: Callable[[], sqlite3.Connection],
        writer: AbstractContextManager[None] | None = None,
        *,
        delay: float = 0.0,
    ) -> None:
        self._executor = executor
        self._connection = connection
        # Held around each transaction: the outbox's cross-process writer lock.
        self._writer: AbstractContextManager[None] = writer or nullcontext()
        # > 0: a batch is flushed this long after its first write (more writes join it).
        self._delay = delay
        self._batch: list[_Write] = []
        self._lock = threading.Lock()
        self._flush_pending = False

    async def write(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run ``fn`` (statements, no transaction of its own); return once committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        with self._lock:
            self._batch.append(_Write(fn=fn, future=future, loop=loop))
            start = not self._flush_pending
            self._flush_pending = True
        if start:
            if self._delay > 0:
                loop.call_later(self._delay, self._executor.submit, self._flush)
            else:
                self._executor.submit(self._flush)
        return cast(_T, await future)

    def _flush(self) -> None:
        """On the outbox thread: commit every write queued so far in one transaction."""
        with self._lock:
            batch, self._batch = self._batch, []
            self._flush_pending = False
        results: list[tuple[bool, Any]] = []
        try:
            conn = self._connection()
            with self._writer:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    for write in batch:
                        conn.execute("SAVEPOINT one_write")
                        try:
                            results.append((True, write.fn(conn)))
                            conn.execute("RELEASE one_write")
                        except Exception as exc:
                            conn.execute("ROLLBACK TO one_write")
                            conn.execute("RELEASE one_write")
                            results.append((False, _outbox_error(exc)))
                    conn.execute("COMMIT")
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                    raise
        except Exception as exc:  # BEGIN or COMMIT failed: nothing of the batch is kept
            results = [(False, _outbox_error(exc))] * len(batch)
        for write, (ok, value) in zip(batch, results, strict=True):
            with contextlib.suppress(RuntimeError):  # the caller's loop is gone
                write.loop.call_soon_threadsafe(_settle, write.future, ok, value)


def _outbox_error(exc: BaseException) -> OutboxError:
    if isinstance(exc, OutboxError):
        return exc
    return OutboxError(f"outbox: {type(exc).__name__}: {exc}")


def _settle(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.done():  # the caller was cancelled (e.g. the SMTP client went away)
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)
