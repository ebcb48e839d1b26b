"""The shared outbox: PostgreSQL through psycopg 3 (async) and psycopg_pool.

The one module that imports psycopg. Chosen over asyncpg because it is fully typed
(mypy --strict sees real types, asyncpg ships none), its pool is maintained with it and
reconnects by itself, LISTEN/NOTIFY is a plain async iterator, and it speaks libpq's
connection strings and environment (PGPASSFILE, sslmode, service files) as every
PostgreSQL tool does; asyncpg's faster binary protocol is not what limits an outbox
whose every write waits for a WAL flush.

What holds (DESIGN §10):

* Every write is one transaction, committed with ``synchronous_commit = on`` (set on each
  connection, whatever the server's default) before the call returns: a ``250`` means the
  message row and its jobs are durable. A failure or a call slower than
  ``timeout_seconds`` (also the server-side ``statement_timeout``) raises OutboxError,
  the transaction is rolled back whole, and the client gets ``451 4.3.0``.
* Claims take ``SELECT … FOR UPDATE SKIP LOCKED`` in one statement with the update, so
  workers on any number of nodes never claim one job twice while its lease holds; the
  lease is renewed by its worker, and a restarted node takes back its own earlier boot's
  claims at once.
* ``enqueue`` and ``requeue`` ``NOTIFY inbound_jobs`` in their transaction; each process
  keeps one listening connection (reconnected when lost) that wakes its idle worker.
* The process starts while PostgreSQL is down: the pool connects in the background, the
  schema is migrated and the install checked on the first connection that works, and
  until then every call fails fast with OutboxError (451 at DATA). Nothing is restarted.
* Schema: the files of ``sql/postgres/`` (``schema.py``), applied under an advisory lock
  so two nodes starting together do not both migrate.

Times are the caller's (``now`` is a parameter), not the database's clock, as in the
SQLite backend, so an injected clock drives both the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg import conninfo as pg_conninfo
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool

from inbound.errors import ConfigError, InboundError, OutboxError, SchemaTooNew
from inbound.outbox import schema
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

log = logging.getLogger("inbound.outbox")

CHANNEL = "inbound_jobs"
# The advisory lock key migrations hold (a fixed 64-bit number of our own; applications
# sharing the database would have to pick the same one by chance).
_MIGRATION_LOCK = 0x1B7C_94D2_3A55_E0F1 - (1 << 63)
_MESSAGE_COLUMNS = (
    "m.id, m.received_at, m.raw_key, m.raw_size, m.raw_sha256, m.raw_expires_at,"
    " m.expires_at, m.envelope, m.wrapped_key, m.raw_deleted"
)
_JOB_COLUMNS = (
    "j.id, j.route, j.rcpt_to, j.mailbox_hash, j.status, j.attempts, j.created_at,"
    " j.next_attempt_at, j.lease_until, j.claimed_by"
)
_Conn = psycopg.AsyncConnection[TupleRow]
_REQUEUEABLE = frozenset(
    {JobStatus.FAILED, JobStatus.REFUSED, JobStatus.CANCELLED, JobStatus.DELIVERED}
)
# What forget_personal_data leaves of an envelope: the shape, no address, IP or name.
_FORGOTTEN_ENVELOPE: dict[str, Any] = {
    "mail_from": "",
    "rcpt_to": [],
    "remote_ip": None,
    "helo": None,
}


class PostgresOutbox:
    """Every outbox Protocol over one PostgreSQL database, shared by every node."""

    def __init__(self, url: str, *, timeout_seconds: float = 5.0, pool_size: int = 10) -> None:
        self._timeout = timeout_seconds
        self._conninfo = _conninfo(url, timeout_seconds)
        self._pool: AsyncConnectionPool[_Conn] = AsyncConnectionPool(
            self._conninfo,
            min_size=1,
            max_size=pool_size,
            open=False,
            timeout=timeout_seconds,
            # Give up a reconnection round quickly: the next request starts a new one,
            # so a database that comes back is used again within about a second.
            reconnect_timeout=timeout_seconds,
            kwargs={"autocommit": True},
            check=AsyncConnectionPool.check_connection,
            name="inbound-outbox",
        )
        self._ready = False
        self._ready_lock = asyncio.Lock()
        self._fingerprint: str | None = None
        self._report = schema.Report(version=0, applied=())
        self._work = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None
        self._opened = False

    # ------------------------------------------------------------ lifecycle

    async def open(self) -> None:
        """Start the pool and the listener; migrate now if the database answers.

        A database that does not answer is not fatal here (receivers start anyway and
        answer 451); a schema that is too new, or a database that refuses our login or
        our statements, is.
        """
        if not self._opened:
            self._opened = True
            await self._pool.open(wait=False)
            self._listener = asyncio.create_task(self._listen())
        try:
            await self._ensure_ready()
        except OutboxError as exc:
            log.warning("outbox: PostgreSQL not reachable at start (%s); answering 451", exc)

    async def migrate(self) -> schema.Report:
        if not self._opened:
            self._opened = True
            await self._pool.open(wait=False)
        await self._ensure_ready()
        return self._report

    async def check_install(self, fingerprint: str) -> None:
        self._fingerprint = fingerprint
        if self._ready:
            await self._check_fingerprint()
        # Else it is checked with the migrations, on the first connection that works.

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        if self._opened:
            await self._pool.close(timeout=self._timeout)

    async def _ensure_ready(self) -> None:
        if not self._ready:
            async with self._ready_lock:
                await self._prepare()

    async def _prepare(self) -> None:
        """Migrate and check the install, once per process (under the ready lock)."""
        if self._ready:
            return  # another caller did it while this one waited for the lock
        async with self._connection() as conn:
            self._report = await _migrate(conn)
        if self._fingerprint is not None:
            await self._check_fingerprint()
        self._ready = True
        log.info("outbox: PostgreSQL schema at version %d", self._report.version)

    async def _check_fingerprint(self) -> None:
        async with self._connection() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO install VALUES ('install_fingerprint', %s) ON CONFLICT DO NOTHING",
                (self._fingerprint,),
            )
            cur = await conn.execute("SELECT value FROM install WHERE key = 'install_fingerprint'")
            row = await cur.fetchone()
        if row is None or row[0] != self._fingerprint:
            raise ConfigError(
                "privacy.install_secret",
                "differs from the install secret this outbox was created with; every node"
                " needs the same one (INBOUND_INSTALL_SECRET)",
            )

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[_Conn]:
        """A pooled connection, the whole use bounded by the timeout; errors -> OutboxError."""
        try:
            async with asyncio.timeout(self._timeout):
                async with self._pool.connection(timeout=self._timeout) as conn:
                    yield conn
        except InboundError:
            raise
        except TimeoutError:
            raise OutboxError(f"outbox: no answer within {self._timeout:g} s") from None
        except psycopg.Error as exc:
            raise OutboxError(f"outbox: {_describe(exc)}") from exc
        except OSError as exc:
            raise OutboxError(f"outbox: {type(exc).__name__}") from exc

    @contextlib.asynccontextmanager
    async def _ready_connection(self) -> AsyncIterator[_Conn]:
        await self._ensure_ready()
        async with self._connection() as conn:
            yield conn

    async def _listen(self) -> None:
        """Keep one LISTEN connection; every notification (and every reconnect) wakes."""
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
                async with conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self._work.set()  # something may have been queued while we were away
                    async for _ in conn.notifies():
                        self._work.set()
            except (psycopg.Error, OSError) as exc:
                log.debug("outbox: listener lost (%s); reconnecting", _describe(exc))
            await asyncio.sleep(1.0)

    # ------------------------------------------------------------ Intake

    async def enqueue(self, message: MessageRow, jobs: list[NewJob]) -> list[str]:
        ids = [f"evt_{uuid.uuid4().hex}" for _ in jobs]
        async with self._ready_connection() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO messages (id, received_at, raw_key, raw_size, raw_sha256,"
                " raw_expires_at, expires_at, envelope, wrapped_key)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    message.id,
                    message.received_at,
                    message.raw_key,
                    message.raw_size,
                    message.raw_sha256,
                    message.raw_expires_at,
                    message.expires_at,
                    json.dumps(message.envelope.to_dict()),
                    message.wrapped_key,
                ),
            )
            if message.address_hashes:
                await conn.execute(
                    "INSERT INTO message_addresses (message_id, hash)"
                    " SELECT %s, unnest(%s::text[]) ON CONFLICT DO NOTHING",
                    (message.id, list(message.address_hashes)),
                )
            await conn.execute(
                "INSERT INTO jobs (id, message_id, route, rcpt_to, mailbox_hash, status,"
                " attempts, created_at, next_attempt_at, updated_at)"
                " SELECT unnest(%s::text[]), %s, unnest(%s::text[]), unnest(%s::text[]),"
                " unnest(%s::text[]), 'pending', 0, %s, %s, %s",
                (
                    ids,
                    message.id,
                    [j.route for j in jobs],
                    [json.dumps(list(j.rcpt_to)) for j in jobs],
                    [j.mailbox_hash for j in jobs],
                    message.received_at,
                    message.received_at,
                    message.received_at,
                ),
            )
            await conn.execute(f"NOTIFY {CHANNEL}")
        self._work.set()
        return ids

    # ------------------------------------------------------------ JobQueue

    async def claim_due(
        self, now: datetime, limit: int, lease_seconds: float, claimant: Claimant
    ) -> list[Job]:
        until = now + timedelta(seconds=lease_seconds)
        async with self._ready_connection() as conn:
            cur = await conn.execute(
                "WITH due AS ("
                "  SELECT id FROM jobs"
                "  WHERE (status = 'pending' AND next_attempt_at <= %(now)s)"
                "     OR (status = 'sending' AND (lease_until <= %(now)s"
                "         OR (claimed_by = %(node)s AND boot_id IS DISTINCT FROM %(boot)s)))"
                "  ORDER BY next_attempt_at LIMIT %(limit)s"
                "  FOR UPDATE SKIP LOCKED)"
                " UPDATE jobs j SET status = 'sending', lease_until = %(until)s,"
                "   claimed_by = %(node)s, boot_id = %(boot)s, updated_at = %(now)s"
                " FROM due WHERE j.id = due.id RETURNING j.id",
                {
                    "now": now,
                    "until": until,
                    "node": claimant.node,
                    "boot": claimant.boot,
                    "limit": limit,
                },
            )
            ids = [r[0] for r in await cur.fetchall()]
            return await _load_jobs(conn, ids)

    async def renew(
        self, job_ids: list[str], now: datetime, lease_seconds: float, claimant: Claimant
    ) -> set[str]:
        if not job_ids:
            return set()
        async with self._ready_connection() as conn:
            cur = await conn.execute(
                "UPDATE jobs SET lease_until = %s WHERE id = ANY(%s) AND status = 'sending'"
                " AND claimed_by = %s AND boot_id = %s RETURNING id",
                (now + timedelta(seconds=lease_seconds), job_ids, claimant.node, claimant.boot),
            )
            return {r[0] for r in await cur.fetchall()}

    async def record(
        self, job_id: str, attempt: Attempt, status: JobStatus, next_attempt_at: datetime | None
    ) -> bool:
        async with self._ready_connection() as conn, conn.transaction():
            cur = await conn.execute("SELECT 1 FROM jobs WHERE id = %s FOR UPDATE", (job_id,))
            if await cur.fetchone() is None:
                return False
            await conn.execute(
                "INSERT INTO attempts (job_id, n, at, outcome, status_code, detail,"
                " duration_ms, response, kind) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (job_id, n) DO UPDATE SET at = EXCLUDED.at,"
                " outcome = EXCLUDED.outcome, status_code = EXCLUDED.status_code,"
                " detail = EXCLUDED.detail, duration_ms = EXCLUDED.duration_ms,"
                " response = EXCLUDED.response, kind = EXCLUDED.kind",
                (
                    job_id,
                    attempt.n,
                    attempt.at,
                    attempt.outcome,
                    attempt.status_code,
                    attempt.detail,
                    attempt.duration_ms,
                    attempt.response,
                    attempt.kind,
                ),
            )
            await conn.execute(
                "UPDATE jobs SET status = %s, attempts = %s,"
                " next_attempt_at = COALESCE(%s, next_attempt_at),"
                " lease_until = NULL, updated_at = %s WHERE id = %s",
                (status.value, attempt.n, next_attempt_at, attempt.at, job_id),
            )
        return True

    async def next_due(self) -> datetime | None:
        async with self._ready_connection() as conn:
            cur = await conn.execute(
                "SELECT LEAST("
                " (SELECT MIN(next_attempt_at) FROM jobs WHERE status = 'pending'),"
                " (SELECT MIN(lease_until) FROM jobs WHERE status = 'sending'))"
            )
            row = await cur.fetchone()
        return None if row is None else row[0]

    async def wait_for_work(self, max_seconds: float) -> bool:
        try:
            async with asyncio.timeout(max_seconds):
                await self._work.wait()
        except TimeoutError:
            return False
        self._work.clear()
        return True

    # ------------------------------------------------------------ Deliveries

    async def job(self, job_id: str) -> Job | None:
        async with self._ready_connection() as conn:
            found = await _load_jobs(conn, [job_id])
        return found[0] if found else None

    async def jobs(self, status: JobStatus | None = None, limit: int = 100) -> list[Job]:
        async with self._ready_connection() as conn:
            if status is None:
                cur = await conn.execute(
                    "SELECT id FROM jobs ORDER BY created_at DESC, id LIMIT %s", (limit,)
                )
            else:
                cur = await conn.execute(
                    "SELECT id FROM jobs WHERE status = %s ORDER BY created_at DESC, id LIMIT %s",
                    (status.value, limit),
                )
            return await _load_jobs(conn, [r[0] for r in await cur.fetchall()])

    async def jobs_of(self, message_id: str) -> list[Job]:
        async with self._ready_connection() as conn:
            cur = await conn.execute(
                "SELECT id FROM jobs WHERE message_id = %s ORDER BY created_at, id",
                (message_id,),
            )
            return await _load_jobs(conn, [r[0] for r in await cur.fetchall()])

    async def attempts(self, job_id: str) -> list[Attempt]:
        async with self._ready_connection() as conn:
            cur = await conn.execute(
                "SELECT job_id, n, at, outcome, status_code, detail, duration_ms, response,"
                " kind FROM attempts WHERE job_id = %s ORDER BY n",
                (job_id,),
            )
            rows = await cur.fetchall()
        return [
            Attempt(
                job_id=r[0],
                n=r[1],
                at=r[2],
                outcome=r[3],
                status_code=r[4],
                detail=r[5],
                duration_ms=r[6],
                response=r[7],
                kind=r[8],
            )
            for r in rows
        ]

    async def unfinished_jobs(self, message_id: str) -> int:
        async with self._ready_connection() as conn:
            cur = await conn.execute(
                "SELECT COUNT(*) FROM jobs WHERE message_id = %s"
                " AND status IN ('pending', 'sending')",
                (message_id,),
            )
            row = await cur.fetchone()
        return 0 if row is None else int(row[0])

    async def requeue(self, job_id: str, now: datetime) -> bool:
        async with self._ready_connection() as conn, conn.transaction():
            cur = await conn.execute(
                "UPDATE jobs SET status = 'pending', next_attempt_at = %s, created_at = %s,"
                " updated_at = %s WHERE id = %s"
                " AND status IN ('failed', 'refused', 'cancelled', 'delivered')",
                (now, now, now, job_id),
            )
            done = cur.rowcount == 1
            if done:
                await conn.execute(f"NOTIFY {CHANNEL}")
        if done:
            self._work.set()
        return done

    async def retry_now(self, job_id: str, now: datetime) -> bool:
        async with self._ready_connection() as conn, conn.transaction():
            cur = await conn.execute(
                "UPDATE jobs SET next_attempt_at = %s, updated_at = %s"
                " WHERE id = %s AND status = 'pending'",
                (now, now, job_id),
            )
            done = cur.rowcount == 1
            if done:
                await conn.execute(f"NOTIFY {CHANNEL}")
        return done

    async def requeue_matching(
        self, status: JobStatus, since: datetime, until: datetime | None, now: datetime
    ) -> list[str]:
        if status not in _REQUEUEABLE:
            return []
        async with self._ready_connection() as conn, conn.transaction():
            cur = await conn.execute(
                "WITH hit AS (SELECT id FROM jobs WHERE status = %s AND updated_at >= %s"
                " AND (%s::timestamptz IS NULL OR updated_at < %s) FOR UPDATE)"
                " UPDATE jobs j SET status = 'pending', next_attempt_at = %s, created_at = %s,"
                " updated_at = %s FROM hit WHERE j.id = hit.id RETURNING j.id",
                (status.value, since, until, until, now, now, now),
            )
            ids = [r[0] for r in await cur.fetchall()]
            if ids:
                await conn.execute(f"NOTIFY {CHANNEL}")
        return sorted(ids)

    async def due_stats(self, now: datetime) -> tuple[int, datetime | None]:
        async with self._ready_connection() as conn:
            cur = await conn.execute(
                "SELECT COUNT(*), MIN(due) FROM (SELECT CASE status WHEN 'pending'"
                " THEN next_attempt_at ELSE lease_until END AS due FROM jobs"
                " WHERE status IN ('pending', 'sending')) d WHERE due <= %s",
                (now,),
            )
            row = await cur.fetchone()
        return (0, None) if row is None else (int(row[0]), row[1])

    async def ping(self) -> None:
        async with self._ready_connection() as conn:
            await conn.execute("SELECT 1")

    # ------------------------------------------------------------ MessageStore

    async def message(self, message_id: str) -> MessageRow | None:
        found = await self._messages("m.id = %s", (message_id,))
        return found[0] if found else None

    async def messages(self) -> list[MessageRow]:
        return await self._messages("true", ())

    async def raw_expired(self, now: datetime) -> list[MessageRow]:
        return await self._messages("NOT m.raw_deleted AND m.raw_expires_at <= %s", (now,))

    async def expired(self, now: datetime) -> list[MessageRow]:
        return await self._messages("m.expires_at <= %s", (now,))

    async def mark_raw_deleted(self, message_id: str, *, forget_key: bool = False) -> None:
        async with self._ready_connection() as conn, conn.transaction():
            await conn.execute(
                "UPDATE messages SET raw_deleted = true,"
                " wrapped_key = CASE WHEN %s THEN NULL ELSE wrapped_key END WHERE id = %s",
                (forget_key, message_id),
            )

    async def existing(self, message_ids: list[str]) -> set[str]:
        if not message_ids:
            return set()
        async with self._ready_connection() as conn:
            cur = await conn.execute(
                "SELECT id FROM messages WHERE id = ANY(%s)", (list(message_ids),)
            )
            return {r[0] for r in await cur.fetchall()}

    async def forget_personal_data(self, message_id: str) -> None:
        async with self._ready_connection() as conn, conn.transaction():
            cur = await conn.execute(
                "SELECT envelope FROM messages WHERE id = %s FOR UPDATE", (message_id,)
            )
            row = await cur.fetchone()
            if row is None:
                return
            tls = bool(json.loads(row[0]).get("tls"))
            await conn.execute(
                "UPDATE messages SET envelope = %s, wrapped_key = NULL, raw_deleted = true,"
                " indexed = true WHERE id = %s",
                (json.dumps(_FORGOTTEN_ENVELOPE | {"tls": tls}), message_id),
            )
            await conn.execute(
                "UPDATE jobs SET rcpt_to = '[]', mailbox_hash = NULL WHERE message_id = %s",
                (message_id,),
            )
            await conn.execute("DELETE FROM message_addresses WHERE message_id = %s", (message_id,))

    async def delete_messages(self, ids: list[str]) -> dict[str, int]:
        """Delete the rows in one transaction, then VACUUM the tables.

        VACUUM removes the dead row versions from the tables' pages (no byte of them is
        left in the heap); the WAL and any base backup keep them until they are recycled,
        which is why the data key goes with the row (crypto-shredding, DESIGN §8).
        """
        counts = {"messages": 0, "jobs": 0, "attempts": 0}
        if not ids:
            return counts
        async with self._ready_connection() as conn, conn.transaction():
            cur = await conn.execute(
                "DELETE FROM attempts WHERE job_id IN"
                " (SELECT id FROM jobs WHERE message_id = ANY(%s))",
                (ids,),
            )
            counts["attempts"] = cur.rowcount
            cur = await conn.execute("DELETE FROM jobs WHERE message_id = ANY(%s)", (ids,))
            counts["jobs"] = cur.rowcount
            await conn.execute("DELETE FROM message_addresses WHERE message_id = ANY(%s)", (ids,))
            cur = await conn.execute("DELETE FROM messages WHERE id = ANY(%s)", (ids,))
            counts["messages"] = cur.rowcount
        await self._vacuum()
        return counts

    async def _vacuum(self) -> None:
        try:
            async with asyncio.timeout(max(self._timeout, 30.0)):
                conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
                async with conn:
                    await conn.execute("SET statement_timeout = 0")
                    await conn.execute("VACUUM attempts, jobs, message_addresses, messages")
        except (psycopg.Error, OSError, TimeoutError) as exc:
            # The rows are gone either way; their dead versions go at the next autovacuum.
            log.warning("outbox: VACUUM after erase failed (%s)", _describe(exc))

    async def _messages(self, where: str, params: Sequence[Any]) -> list[MessageRow]:
        """Messages matching one of this module's fixed ``where`` clauses (never input)."""
        async with self._ready_connection() as conn:
            cur = await conn.execute(
                # S608: ``where`` is one of this module's fixed clauses; values are params.
                f"SELECT {_MESSAGE_COLUMNS} FROM messages m WHERE {where}"  # noqa: S608
                " ORDER BY m.received_at, m.id",
                params,
            )
            return [_message(r) for r in await cur.fetchall()]

    # ------------------------------------------------------------ AddressIndex

    async def add_addresses(self, message_id: str, hashes: list[str]) -> None:
        async with self._ready_connection() as conn, conn.transaction():
            if hashes:
                await conn.execute(
                    "INSERT INTO message_addresses (message_id, hash)"
                    " SELECT %s, h FROM unnest(%s::text[]) AS h"
                    " WHERE EXISTS (SELECT 1 FROM messages WHERE id = %s)"
                    " ON CONFLICT DO NOTHING",
                    (message_id, hashes, message_id),
                )
            await conn.execute("UPDATE messages SET indexed = true WHERE id = %s", (message_id,))

    async def messages_by_address(self, address_hash: str) -> list[MessageRow]:
        return await self._messages(
            "m.id IN (SELECT message_id FROM message_addresses WHERE hash = %s)",
            (address_hash,),
        )

    async def unindexed(self) -> list[MessageRow]:
        return await self._messages("NOT m.indexed", ())

    # ------------------------------------------------------------ AuditLog

    async def add_audit(self, record: AuditRecord) -> None:
        async with self._ready_connection() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO audit VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (
                    record.id,
                    record.at,
                    record.action,
                    record.operator,
                    record.address_hash,
                    json.dumps(list(record.message_ids)),
                    json.dumps(record.counts),
                ),
            )

    async def audits(self) -> list[AuditRecord]:
        async with self._ready_connection() as conn:
            cur = await conn.execute(
                "SELECT id, at, action, operator, address_hash, message_ids, counts"
                " FROM audit ORDER BY at, id"
            )
            rows = await cur.fetchall()
        return [
            AuditRecord(
                id=r[0],
                at=r[1],
                action=r[2],
                operator=r[3],
                address_hash=r[4],
                message_ids=tuple(json.loads(r[5])),
                counts=json.loads(r[6]),
            )
            for r in rows
        ]


# ---------------------------------------------------------------- helpers


def _conninfo(url: str, timeout_seconds: float) -> str:
    """The URL plus what every connection needs: durable commits, UTC, bounded waits."""
    params = pg_conninfo.conninfo_to_dict(url)
    ours = (
        "-c synchronous_commit=on -c TimeZone=UTC"
        f" -c statement_timeout={int(timeout_seconds * 1000)}"
        f" -c lock_timeout={int(timeout_seconds * 1000)}"
        f" -c idle_in_transaction_session_timeout={int(max(timeout_seconds, 1.0) * 4000)}"
    )
    existing = params.get("options")
    params["options"] = f"{existing} {ours}" if existing else ours
    params.setdefault("connect_timeout", max(1, int(timeout_seconds + 0.999)))
    params.setdefault("application_name", "inbound")
    return pg_conninfo.make_conninfo("", **params)


def _describe(exc: BaseException) -> str:
    """The error class and SQLSTATE: never its text, which may quote row values."""
    state = getattr(exc, "sqlstate", None)
    return f"{type(exc).__name__}{f' ({state})' if state else ''}"


async def _migrate(conn: _Conn) -> schema.Report:
    applied: list[str] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {schema.VERSION_TABLE} ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        cur = await conn.execute(
            f"SELECT COALESCE(MAX(version), 0) FROM {schema.VERSION_TABLE}"  # noqa: S608  (a constant)
        )
        row = await cur.fetchone()
        current = 0 if row is None else int(row[0])
        pending = schema.plan("postgres", current)  # SchemaTooNew when ahead
        for step in pending:
            for statement in schema.statements(step.sql):
                await conn.execute(statement.encode("utf-8"))
            await conn.execute(
                f"INSERT INTO {schema.VERSION_TABLE} (version, name) VALUES (%s, %s)",  # noqa: S608  (a constant)
                (step.version, step.name),
            )
            applied.append(step.name)
            current = step.version
    if applied:
        log.info("outbox: applied %s", ", ".join(applied))
    return schema.Report(version=current, applied=tuple(applied))


async def _load_jobs(conn: _Conn, ids: list[str]) -> list[Job]:
    if not ids:
        return []
    cur = await conn.execute(
        # S608: the column lists are module constants, not input.
        f"SELECT {_JOB_COLUMNS}, {_MESSAGE_COLUMNS} FROM jobs j"  # noqa: S608
        " JOIN messages m ON m.id = j.message_id WHERE j.id = ANY(%s)",
        (ids,),
    )
    by_id = {}
    for row in await cur.fetchall():
        by_id[row[0]] = Job(
            id=row[0],
            route=row[1],
            rcpt_to=tuple(json.loads(row[2])),
            mailbox_hash=row[3],
            status=JobStatus(row[4]),
            attempts=row[5],
            created_at=row[6],
            next_attempt_at=row[7],
            lease_until=row[8],
            claimed_by=row[9],
            message=_message(row[10:]),
        )
    return [by_id[i] for i in ids if i in by_id]


def _message(row: Sequence[Any]) -> MessageRow:
    env = json.loads(row[7])
    return MessageRow(
        id=row[0],
        received_at=row[1],
        raw_key=row[2],
        raw_size=row[3],
        raw_sha256=row[4],
        raw_expires_at=row[5],
        expires_at=row[6],
        envelope=Envelope(
            mail_from=env["mail_from"],
            rcpt_to=tuple(env["rcpt_to"]),
            remote_ip=env.get("remote_ip"),
            helo=env.get("helo"),
            tls=bool(env.get("tls")),
        ),
        wrapped_key=None if row[8] is None else bytes(row[8]),
        raw_deleted=bool(row[9]),
    )


__all__ = ["CHANNEL", "PostgresOutbox", "SchemaTooNew"]
