"""The embedded outbox: SQLite in WAL mode with synchronous=FULL, one writer thread.

Durability (DESIGN §3): a commit returns only after the WAL is fsynced
(``synchronous=FULL``; NORMAL can lose the last transaction on power loss). Each state
change is its own short transaction. All SQLite calls run on one dedicated thread, so the
event loop never blocks on the disk and the connection is never shared between threads.
Several processes (``inbound serve`` and ``inbound worker``) may share the file: claims
take ``BEGIN IMMEDIATE`` and a lease, so two workers never send the same job at once.
A process that starts again takes back its earlier boot's claims at once (the claim
names the node and the boot: ``Claimant``). ``secure_delete`` is on, so erased rows do
not linger in free pages (DESIGN §8). The schema is versioned (``schema.py``, the files
in ``sql/sqlite/``) and migrated when the file is first opened; a store made by the
first release, which has no version table, is version 0 and migrates in place.

Writers of several processes (acceptors and workers of one ``inbound serve``) take turns
through an ``flock`` on ``<outbox>.lock`` around each write transaction: the kernel
hands the lock to a waiter the moment it is released. SQLite's own busy handler, still
there for any process that does not take the lock, sleeps 1, 2, 5 ... 100 ms between
tries, so under contention the write lock sat idle while every writer slept (issue 12:
half of an acceptor's outbox time was spent in ``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import re
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from inbound.errors import ConfigError, OutboxError
from inbound.outbox import schema
from inbound.outbox.group_commit import GroupCommit
from inbound.outbox.model import (
    Attempt,
    AuditRecord,
    Claimant,
    Envelope,
    Job,
    JobStatus,
    MessageRow,
    NewJob,
)

_T = TypeVar("_T")


def _ts(value: datetime) -> float:
    return value.timestamp()


def _dt(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


class SqliteOutbox:
    """The Outbox Protocol over one SQLite file."""

    def __init__(self, path: Path, *, commit_delay: float = 0.0) -> None:
        self.path = path
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inbound-outbox")
        self._conn: sqlite3.Connection | None = None
        self._report = schema.Report(version=0, applied=())
        # Set when this process queues work; other processes are seen by polling.
        self._work = asyncio.Event()
        # One writer at a time across processes, handed over by the kernel (see above).
        self._writer = WriterLock(path.with_name(path.name + ".lock"))
        # Writes go through a group commit on the same single outbox thread.
        # commit_delay > 0 (a delivery-only process): a write waits that long so that
        # more writes share its commit; the acceptors' writes never wait.
        self._commits = GroupCommit(self._pool, self._connection, self._writer, delay=commit_delay)

    async def _write(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        return await self._commits.write(fn)

    async def _run(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        def call() -> _T:
            try:
                return fn(self._connection())
            except sqlite3.Error as exc:
                raise OutboxError(f"outbox: {type(exc).__name__}: {exc}") from exc

        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=10.0)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA secure_delete=ON")
            try:
                self._report = _migrate(conn)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    @contextmanager
    def _tx(self, conn: sqlite3.Connection, mode: str = "IMMEDIATE") -> Iterator[None]:
        with self._writer:
            conn.execute(f"BEGIN {mode}")
            try:
                yield
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    async def open(self) -> None:
        """Create the file and schema now, so a bad path fails at start, not on first mail."""
        await self._run(lambda conn: None)

    async def migrate(self) -> schema.Report:
        """Bring the schema up to date (opening does it); what was applied, and the version."""
        await self._run(lambda conn: None)
        return self._report

    async def check_install(self, fingerprint: str) -> None:
        def work(conn: sqlite3.Connection) -> str:
            conn.execute(
                "INSERT OR IGNORE INTO install VALUES ('install_fingerprint', ?)", (fingerprint,)
            )
            row = conn.execute(
                "SELECT value FROM install WHERE key = 'install_fingerprint'"
            ).fetchone()
            return str(row[0])

        if await self._write(work) != fingerprint:
            raise install_mismatch()

    # ------------------------------------------------------------ writes

    async def enqueue(self, message: MessageRow, jobs: list[NewJob]) -> list[str]:
        ids = [f"evt_{uuid.uuid4().hex}" for _ in jobs]

        def work(conn: sqlite3.Connection) -> list[str]:
            # One write of a group commit: _write() wraps it in the transaction.
            conn.execute(
                "INSERT INTO messages (id, received_at, raw_key, raw_size, raw_sha256,"
                " raw_expires_at, expires_at, envelope, wrapped_key)"
                " VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    message.id,
                    _ts(message.received_at),
                    message.raw_key,
                    message.raw_size,
                    message.raw_sha256,
                    _ts(message.raw_expires_at),
                    _ts(message.expires_at),
                    json.dumps(message.envelope.to_dict()),
                    message.wrapped_key,
                ),
            )
            conn.executemany(
                "INSERT OR IGNORE INTO message_addresses VALUES (?,?)",
                [(message.id, h) for h in message.address_hashes],
            )
            now = _ts(message.received_at)
            conn.executemany(
                "INSERT INTO jobs (id, message_id, route, rcpt_to, mailbox_hash, status,"
                " attempts, created_at, next_attempt_at, updated_at)"
                " VALUES (?,?,?,?,?,?,0,?,?,?)",
                [
                    (
                        jid,
                        message.id,
                        j.route,
                        json.dumps(list(j.rcpt_to)),
                        j.mailbox_hash,
                        JobStatus.PENDING.value,
                        now,
                        now,
                        now,
                    )
                    for jid, j in zip(ids, jobs, strict=True)
                ],
            )
            return ids

        done = await self._write(work)
        self._work.set()
        return done

    async def claim_due(
        self, now: datetime, limit: int, lease_seconds: float, claimant: Claimant
    ) -> list[Job]:
        t = _ts(now)

        def work(conn: sqlite3.Connection) -> list[Job]:
            # One write of a group commit (it shares a transaction, and so a WAL fsync,
            # with the records and index writes of this process's jobs in flight).
            rows = conn.execute(
                "SELECT id FROM jobs WHERE (status = 'pending' AND next_attempt_at <= ?)"
                " OR (status = 'sending' AND (lease_until <= ?"
                "     OR (claimed_by = ? AND boot_id IS NOT ?)))"
                " ORDER BY next_attempt_at LIMIT ?",
                (t, t, claimant.node, claimant.boot, limit),
            ).fetchall()
            ids = [r[0] for r in rows]
            if not ids:
                return []
            conn.executemany(
                "UPDATE jobs SET status = 'sending', lease_until = ?, claimed_by = ?,"
                " boot_id = ?, updated_at = ? WHERE id = ?",
                [(t + lease_seconds, claimant.node, claimant.boot, t, i) for i in ids],
            )
            return self._load_jobs(conn, ids)

        # Nothing due (the common answer to a nudge that another worker took): a read,
        # without the write lock.
        if not await self._run(lambda conn: _any_due(conn, t, claimant)):
            return []
        return await self._write(work)

    async def renew(
        self, job_ids: list[str], now: datetime, lease_seconds: float, claimant: Claimant
    ) -> set[str]:
        until = _ts(now) + lease_seconds

        def work(conn: sqlite3.Connection) -> set[str]:
            held = set()
            for job_id in job_ids:
                cur = conn.execute(
                    "UPDATE jobs SET lease_until = ? WHERE id = ? AND status = 'sending'"
                    " AND claimed_by = ? AND boot_id = ?",
                    (until, job_id, claimant.node, claimant.boot),
                )
                if cur.rowcount == 1:
                    held.add(job_id)
            return held

        if not job_ids:
            return set()
        return await self._write(work)

    async def wait_for_work(self, max_seconds: float) -> bool:
        try:
            async with asyncio.timeout(max_seconds):
                await self._work.wait()
        except TimeoutError:
            return False
        self._work.clear()
        return True

    async def record(
        self, job_id: str, attempt: Attempt, status: JobStatus, next_attempt_at: datetime | None
    ) -> bool:
        """Record the attempt; False when the job no longer exists (erased meanwhile)."""

        def work(conn: sqlite3.Connection) -> bool:
            # One write of a group commit: _write() wraps it in the transaction.
            if conn.execute("SELECT 1 FROM jobs WHERE id = ?", (job_id,)).fetchone() is None:
                return False
            conn.execute(
                "INSERT OR REPLACE INTO attempts"
                " (job_id, n, at, outcome, status_code, detail, duration_ms, response, kind)"
                " VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    job_id,
                    attempt.n,
                    _ts(attempt.at),
                    attempt.outcome,
                    attempt.status_code,
                    attempt.detail,
                    attempt.duration_ms,
                    attempt.response,
                    attempt.kind,
                ),
            )
            conn.execute(
                "UPDATE jobs SET status = ?, attempts = ?,"
                " next_attempt_at = COALESCE(?, next_attempt_at),"
                " lease_until = NULL, updated_at = ? WHERE id = ?",
                (
                    status.value,
                    attempt.n,
                    None if next_attempt_at is None else _ts(next_attempt_at),
                    _ts(attempt.at),
                    job_id,
                ),
            )

            return True

        done = await self._write(work)
        if status is JobStatus.PENDING:
            self._work.set()
        return done

    async def add_addresses(self, message_id: str, hashes: list[str]) -> None:
        """Add keyed address hashes to a message's erase/export index."""

        def work(conn: sqlite3.Connection) -> None:
            # One write of a group commit: _write() wraps it in the transaction.
            conn.executemany(
                "INSERT OR IGNORE INTO message_addresses SELECT ?, ? WHERE EXISTS"
                " (SELECT 1 FROM messages WHERE id = ?)",
                [(message_id, h, message_id) for h in hashes],
            )
            conn.execute("UPDATE messages SET indexed = 1 WHERE id = ?", (message_id,))

        await self._write(work)

    async def requeue(self, job_id: str, now: datetime) -> bool:
        def work(conn: sqlite3.Connection) -> bool:
            with self._tx(conn):
                cur = conn.execute(
                    "UPDATE jobs SET status = 'pending', next_attempt_at = ?, created_at = ?,"
                    " updated_at = ? WHERE id = ?"
                    " AND status IN ('failed', 'refused', 'cancelled', 'delivered')",
                    (_ts(now), _ts(now), _ts(now), job_id),
                )
                return cur.rowcount == 1

        done = await self._run(work)
        if done:
            self._work.set()
        return done

    async def retry_now(self, job_id: str, now: datetime) -> bool:
        """Make a pending job due now (an operator's "retry now"); False if not pending."""

        def work(conn: sqlite3.Connection) -> bool:
            with self._tx(conn):
                cur = conn.execute(
                    "UPDATE jobs SET next_attempt_at = ?, updated_at = ?"
                    " WHERE id = ? AND status = 'pending'",
                    (_ts(now), _ts(now), job_id),
                )
                return cur.rowcount == 1

        return await self._run(work)

    async def requeue_matching(
        self, status: JobStatus, since: datetime, until: datetime | None, now: datetime
    ) -> list[str]:
        """Requeue every job in ``status`` that reached it in [since, until); their ids."""
        if status not in (
            JobStatus.FAILED,
            JobStatus.REFUSED,
            JobStatus.CANCELLED,
            JobStatus.DELIVERED,
        ):
            return []

        def work(conn: sqlite3.Connection) -> list[str]:
            with self._tx(conn):
                ids = [
                    r[0]
                    for r in conn.execute(
                        "SELECT id FROM jobs WHERE status = ? AND updated_at >= ?"
                        " AND updated_at < ? ORDER BY updated_at",
                        (
                            status.value,
                            _ts(since),
                            float("inf") if until is None else _ts(until),
                        ),
                    )
                ]
                conn.executemany(
                    "UPDATE jobs SET status = 'pending', next_attempt_at = ?, created_at = ?,"
                    " updated_at = ? WHERE id = ?",
                    [(_ts(now), _ts(now), _ts(now), i) for i in ids],
                )
            return ids

        return await self._run(work)

    # ------------------------------------------------------------ reads

    async def due_stats(self, now: datetime) -> tuple[int, datetime | None]:
        """How many jobs are due now (pending, or a lapsed lease), and the oldest due time."""
        t = _ts(now)

        def work(conn: sqlite3.Connection) -> tuple[int, datetime | None]:
            row = conn.execute(
                "SELECT COUNT(*), MIN(due) FROM (SELECT CASE status WHEN 'pending'"
                " THEN next_attempt_at ELSE lease_until END AS due FROM jobs"
                " WHERE status IN ('pending', 'sending')) WHERE due <= ?",
                (t,),
            ).fetchone()
            return int(row[0]), None if row[1] is None else _dt(row[1])

        return await self._run(work)

    async def ping(self) -> None:
        """Raise OutboxError unless the outbox answers a query (readiness)."""
        await self._run(lambda conn: conn.execute("SELECT 1 FROM jobs LIMIT 1").fetchall())

    async def next_due(self) -> datetime | None:
        def work(conn: sqlite3.Connection) -> datetime | None:
            row = conn.execute(
                "SELECT MIN(CASE status WHEN 'pending' THEN next_attempt_at ELSE lease_until END)"
                " FROM jobs WHERE status IN ('pending', 'sending')"
            ).fetchone()
            return None if row is None or row[0] is None else _dt(row[0])

        return await self._run(work)

    async def job(self, job_id: str) -> Job | None:
        found = await self._run(lambda conn: self._load_jobs(conn, [job_id]))
        return found[0] if found else None

    async def jobs(self, status: JobStatus | None = None, limit: int = 100) -> list[Job]:
        def work(conn: sqlite3.Connection) -> list[Job]:
            if status is None:
                rows = conn.execute(
                    "SELECT id FROM jobs ORDER BY created_at DESC LIMIT ?", (limit,)
                )
            else:
                rows = conn.execute(
                    "SELECT id FROM jobs WHERE status = ? ORDER BY created_at DESC LIMIT ?",
                    (status.value, limit),
                )
            return self._load_jobs(conn, [r[0] for r in rows.fetchall()])

        return await self._run(work)

    async def attempts(self, job_id: str) -> list[Attempt]:
        def work(conn: sqlite3.Connection) -> list[Attempt]:
            rows = conn.execute(
                "SELECT job_id, n, at, outcome, status_code, detail, duration_ms, response, kind"
                " FROM attempts WHERE job_id = ? ORDER BY n",
                (job_id,),
            ).fetchall()
            return [
                Attempt(
                    job_id=r[0],
                    n=r[1],
                    at=_dt(r[2]),
                    outcome=r[3],
                    status_code=r[4],
                    detail=r[5],
                    duration_ms=r[6],
                    response=r[7],
                    kind=r[8],
                )
                for r in rows
            ]

        return await self._run(work)

    async def messages(self) -> list[MessageRow]:
        def work(conn: sqlite3.Connection) -> list[MessageRow]:
            rows = conn.execute(
                # S608: the column list is a module constant, not input.
                f"SELECT {_MESSAGE_COLUMNS} FROM messages ORDER BY received_at"  # noqa: S608
            ).fetchall()
            return [_message(r) for r in rows]

        return await self._run(work)

    # ------------------------------------------------------------ privacy and retention

    async def message(self, message_id: str) -> MessageRow | None:
        found = await self._messages("id = ?", (message_id,))
        return found[0] if found else None

    async def raw_expired(self, now: datetime) -> list[MessageRow]:
        return await self._messages("raw_deleted = 0 AND raw_expires_at <= ?", (_ts(now),))

    async def expired(self, now: datetime) -> list[MessageRow]:
        return await self._messages("expires_at <= ?", (_ts(now),))

    async def existing(self, message_ids: list[str]) -> set[str]:
        """Which of ``message_ids`` have a row (the sweeper's test for orphaned objects)."""

        def work(conn: sqlite3.Connection) -> set[str]:
            found: set[str] = set()
            for start in range(0, len(message_ids), 500):  # SQLite's variable limit: 999+
                chunk = message_ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                # S608: only placeholders are formatted in; the ids go in as parameters.
                sql = f"SELECT id FROM messages WHERE id IN ({marks})"  # noqa: S608
                found.update(r[0] for r in conn.execute(sql, chunk))
            return found

        return await self._run(work)

    async def messages_by_address(self, address_hash: str) -> list[MessageRow]:
        return await self._messages(
            "id IN (SELECT message_id FROM message_addresses WHERE hash = ?)", (address_hash,)
        )

    async def unindexed(self) -> list[MessageRow]:
        return await self._messages("indexed = 0")

    async def _messages(self, where: str, params: tuple[Any, ...] = ()) -> list[MessageRow]:
        """Messages matching one of this module's fixed ``where`` clauses (never input)."""

        def work(conn: sqlite3.Connection) -> list[MessageRow]:
            # S608: ``where`` is one of the fixed clauses above; values go in ``params``.
            sql = f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE {where} ORDER BY received_at"  # noqa: S608
            return [_message(r) for r in conn.execute(sql, params).fetchall()]

        return await self._run(work)

    async def jobs_of(self, message_id: str) -> list[Job]:
        def work(conn: sqlite3.Connection) -> list[Job]:
            ids = [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM jobs WHERE message_id = ? ORDER BY created_at", (message_id,)
                )
            ]
            return self._load_jobs(conn, ids)

        return await self._run(work)

    async def mark_raw_deleted(self, message_id: str, *, forget_key: bool = False) -> None:
        """Raw mail is gone; with ``forget_key`` the data key goes too (crypto-shredding)."""

        def work(conn: sqlite3.Connection) -> None:
            with self._tx(conn):
                conn.execute(
                    "UPDATE messages SET raw_deleted = 1,"
                    " wrapped_key = CASE WHEN ? THEN NULL ELSE wrapped_key END WHERE id = ?",
                    (forget_key, message_id),
                )

        await self._run(work)

    async def forget_personal_data(self, message_id: str) -> None:
        """Keep only what the audit needs of a delivered message (``delete_after_delivery``).

        The row keeps its id, times, raw key, size and sha256, and its jobs their route,
        status and attempts; the envelope (addresses, client IP, HELO), the jobs'
        recipients and mailbox hash, the keyed address hashes and the data key go, and
        the raw mail is marked deleted. ``secure_delete`` zeroes the freed bytes in the
        file; their old page images leave the WAL at its next checkpoint (an erase
        truncates it at once).
        """

        def work(conn: sqlite3.Connection) -> None:
            with self._tx(conn):
                conn.execute(
                    "UPDATE messages SET envelope = json_object('mail_from', '',"
                    " 'rcpt_to', json('[]'), 'remote_ip', NULL, 'helo', NULL,"
                    " 'tls', json_extract(envelope, '$.tls')),"
                    " wrapped_key = NULL, raw_deleted = 1, indexed = 1 WHERE id = ?",
                    (message_id,),
                )
                conn.execute(
                    "UPDATE jobs SET rcpt_to = '[]', mailbox_hash = NULL WHERE message_id = ?",
                    (message_id,),
                )
                conn.execute("DELETE FROM message_addresses WHERE message_id = ?", (message_id,))

        await self._run(work)

    async def unfinished_jobs(self, message_id: str) -> int:
        def work(conn: sqlite3.Connection) -> int:
            row = conn.execute(
                "SELECT COUNT(*) FROM jobs"
                " WHERE message_id = ? AND status IN ('pending', 'sending')",
                (message_id,),
            ).fetchone()
            return int(row[0])

        return await self._run(work)

    async def delete_messages(self, ids: list[str]) -> dict[str, int]:
        """Delete messages with their jobs, attempts and index rows; leave no bytes behind.

        ``secure_delete`` zeroes the freed pages; the WAL still holds the old page images
        until a checkpoint truncates it, so this checkpoints (TRUNCATE) before returning.
        """

        def work(conn: sqlite3.Connection) -> dict[str, int]:
            counts = {"messages": 0, "jobs": 0, "attempts": 0}
            with self._tx(conn):
                for mid in ids:
                    counts["attempts"] += conn.execute(
                        "DELETE FROM attempts"
                        " WHERE job_id IN (SELECT id FROM jobs WHERE message_id = ?)",
                        (mid,),
                    ).rowcount
                    counts["jobs"] += conn.execute(
                        "DELETE FROM jobs WHERE message_id = ?", (mid,)
                    ).rowcount
                    conn.execute("DELETE FROM message_addresses WHERE message_id = ?", (mid,))
                    counts["messages"] += conn.execute(
                        "DELETE FROM messages WHERE id = ?", (mid,)
                    ).rowcount
            self._truncate_wal(conn)
            return counts

        return await self._run(work)

    @staticmethod
    def _truncate_wal(conn: sqlite3.Connection) -> None:
        # Another process (serve, worker) may be reading; TRUNCATE then waits on it
        # (busy_timeout) and reports busy if it could not finish: retry a few times.
        for _ in range(20):
            busy, _log, _done = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if not busy:
                return
            time.sleep(0.25)
        raise OutboxError("outbox: could not truncate the WAL (another process keeps reading)")

    async def add_audit(self, record: AuditRecord) -> None:
        def work(conn: sqlite3.Connection) -> None:
            with self._tx(conn):
                conn.execute(
                    "INSERT INTO audit VALUES (?,?,?,?,?,?,?)",
                    (
                        record.id,
                        _ts(record.at),
                        record.action,
                        record.operator,
                        record.address_hash,
                        json.dumps(list(record.message_ids)),
                        json.dumps(record.counts),
                    ),
                )

        await self._run(work)

    async def audits(self) -> list[AuditRecord]:
        def work(conn: sqlite3.Connection) -> list[AuditRecord]:
            rows = conn.execute(
                "SELECT id, at, action, operator, address_hash, message_ids, counts"
                " FROM audit ORDER BY at"
            ).fetchall()
            return [
                AuditRecord(
                    id=r[0],
                    at=_dt(r[1]),
                    action=r[2],
                    operator=r[3],
                    address_hash=r[4],
                    message_ids=tuple(json.loads(r[5])),
                    counts=json.loads(r[6]),
                )
                for r in rows
            ]

        return await self._run(work)

    def _load_jobs(self, conn: sqlite3.Connection, ids: list[str]) -> list[Job]:
        out = []
        for job_id in ids:
            row = conn.execute(
                # S608: the column list is a module constant, not input.
                "SELECT j.id, j.route, j.rcpt_to, j.mailbox_hash, j.status, j.attempts,"  # noqa: S608
                " j.created_at, j.next_attempt_at, j.lease_until, j.claimed_by,"
                f" {_MESSAGE_COLUMNS_M}"
                " FROM jobs j JOIN messages m ON m.id = j.message_id WHERE j.id = ?",
                (job_id,),
            ).fetchone()
            if row is None:
                continue
            out.append(
                Job(
                    id=row[0],
                    route=row[1],
                    rcpt_to=tuple(json.loads(row[2])),
                    mailbox_hash=row[3],
                    status=JobStatus(row[4]),
                    attempts=row[5],
                    created_at=_dt(row[6]),
                    next_attempt_at=_dt(row[7]),
                    lease_until=None if row[8] is None else _dt(row[8]),
                    claimed_by=row[9],
                    message=_message(row[10:]),
                )
            )
        return out

    async def close(self) -> None:
        def work() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        await asyncio.get_running_loop().run_in_executor(self._pool, work)
        self._pool.shutdown(wait=True)
        self._writer.close()


def _any_due(conn: sqlite3.Connection, t: float, claimant: Claimant) -> bool:
    row = conn.execute(
        "SELECT 1 FROM jobs WHERE (status = 'pending' AND next_attempt_at <= ?)"
        " OR (status = 'sending' AND (lease_until <= ?"
        "     OR (claimed_by = ? AND boot_id IS NOT ?))) LIMIT 1",
        (t, t, claimant.node, claimant.boot),
    ).fetchone()
    return row is not None


class WriterLock(AbstractContextManager[None]):
    """An exclusive ``flock`` on one file, held around a write transaction.

    Used only from the outbox's single thread. The file is opened on first use (after
    any fork, so a child never shares its parent's open file and lock); the kernel
    drops the lock of a process that dies.
    """

    def __init__(self, path: Path, *, commit_delay: float = 0.0) -> None:
        self.path = path
        self._fd: int | None = None

    def __enter__(self) -> None:
        if self._fd is None:
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError as exc:
                raise OutboxError(f"outbox: cannot open {self.path.name}: {exc.strerror}") from exc
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(self, *exc_info: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


_MESSAGE_COLUMNS = (
    "id, received_at, raw_key, raw_size, raw_sha256, raw_expires_at, expires_at, envelope,"
    " wrapped_key, raw_deleted"
)
_MESSAGE_COLUMNS_M = ", ".join(f"m.{c.strip()}" for c in _MESSAGE_COLUMNS.split(","))


def _message(row: tuple[Any, ...] | sqlite3.Row) -> MessageRow:
    env = json.loads(row[7])
    return MessageRow(
        id=row[0],
        received_at=_dt(row[1]),
        raw_key=row[2],
        raw_size=row[3],
        raw_sha256=row[4],
        raw_expires_at=_dt(row[5]),
        expires_at=_dt(row[6]),
        envelope=Envelope(
            mail_from=env["mail_from"],
            rcpt_to=tuple(env["rcpt_to"]),
            remote_ip=env.get("remote_ip"),
            helo=env.get("helo"),
            tls=bool(env.get("tls")),
        ),
        wrapped_key=row[8],
        raw_deleted=bool(row[9]),
    )


def install_mismatch() -> ConfigError:
    return ConfigError(
        "privacy.install_secret",
        "differs from the install secret this outbox was created with; every node and"
        " every restart needs the same one (INBOUND_INSTALL_SECRET, or the data dir's"
        " install.key)",
    )


_ADD_COLUMN = re.compile(r"^ALTER TABLE (\w+) ADD COLUMN (\w+)\b", re.IGNORECASE)


def _column_exists(conn: sqlite3.Connection, statement: str) -> bool:
    match = _ADD_COLUMN.match(statement)
    if match is None:
        return False
    table, column = match.groups()
    return column in {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}


def _migrate(conn: sqlite3.Connection) -> schema.Report:
    """Apply pending migrations, each in one IMMEDIATE transaction with its version row."""
    applied: list[str] = []
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {schema.VERSION_TABLE} ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
    )
    while True:
        conn.execute("BEGIN IMMEDIATE")  # one migrating process at a time
        try:
            row = conn.execute(
                f"SELECT COALESCE(MAX(version), 0) FROM {schema.VERSION_TABLE}"  # noqa: S608  (a constant)
            ).fetchone()
            pending = schema.plan("sqlite", int(row[0]))
            if not pending:
                conn.execute("COMMIT")
                return schema.Report(version=int(row[0]), applied=tuple(applied))
            step = pending[0]
            for statement in schema.statements(step.sql):
                if _column_exists(conn, statement):
                    continue  # added by a build between two releases: nothing to do
                conn.execute(statement)
            conn.execute(
                f"INSERT INTO {schema.VERSION_TABLE} VALUES (?, ?, ?)",  # noqa: S608  (a constant)
                (step.version, step.name, time.time()),
            )
            conn.execute("COMMIT")
            applied.append(step.name)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
