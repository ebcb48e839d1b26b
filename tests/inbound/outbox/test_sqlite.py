"""The SQLite outbox: group commit, durability on return, and migrating older stores.

``data/release1.sqlite3`` was written by the first release's SqliteOutbox (12 messages,
16 jobs in every state, attempts, index rows, an audit record; two jobs left 'sending'
by a worker that never came back). Tests copy it before opening it.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from inbound.errors import OutboxError, SchemaTooNew
from inbound.outbox import schema
from inbound.outbox.model import Claimant, Envelope, JobStatus, MessageRow, NewJob
from inbound.outbox.sqlite import SqliteOutbox

RELEASE1 = Path(__file__).parent / "data" / "release1.sqlite3"

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def _row(message_id: str) -> MessageRow:
    return MessageRow(
        id=message_id,
        received_at=NOW,
        raw_key=f"raw/{message_id}.eml",
        raw_size=1,
        raw_sha256="0" * 64,
        raw_expires_at=NOW + timedelta(days=7),
        expires_at=NOW + timedelta(days=30),
        envelope=Envelope(
            mail_from="a@x.test", rcpt_to=("b@y.test",), remote_ip=None, helo=None, tls=False
        ),
    )


JOBS = [NewJob(route="r", rcpt_to=("b@y.test",), mailbox_hash=None)]


def _count(path: Path, table: str) -> int:
    with sqlite3.connect(path) as conn:  # another connection: sees committed data only
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])  # noqa: S608  (fixed names)


def _count_flushes(outbox: SqliteOutbox) -> list[int]:
    """Count the outbox's transactions from now on: the one-item list it returns."""
    flushes = [0]
    flush = outbox._commits._flush

    def counting_flush() -> None:
        flushes[0] += 1
        flush()

    outbox._commits._flush = counting_flush  # type: ignore[method-assign]  # count the transactions
    return flushes


async def test_concurrent_writes_share_commits_and_are_durable_on_return(tmp_path: Path) -> None:
    outbox = SqliteOutbox(tmp_path / "o.sqlite3")
    await outbox.open()
    flushes = _count_flushes(outbox)

    async def one(i: int) -> None:
        await outbox.enqueue(_row(f"msg_{i}"), JOBS)
        # Returned means committed: a separate connection already sees it.
        assert _count(tmp_path / "o.sqlite3", "messages") >= 1

    await asyncio.gather(*(one(i) for i in range(60)))
    assert _count(tmp_path / "o.sqlite3", "messages") == 60
    assert _count(tmp_path / "o.sqlite3", "jobs") == 60
    assert 1 <= flushes[0] < 60  # group commit: fewer transactions than writes
    await outbox.close()


@contextlib.contextmanager
def _writer_lock(path: Path) -> Iterator[int]:
    """Hold the outbox's writer lock through another open file description of the lock
    file, as another process would; yields its fd (to release and take it again)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        os.close(fd)


async def test_a_write_waits_for_another_process_holding_the_writer_lock(tmp_path: Path) -> None:
    """Writers of several processes take turns through an flock on <outbox>.lock."""
    outbox = SqliteOutbox(tmp_path / "o.sqlite3")
    await outbox.open()
    with _writer_lock(tmp_path / "o.sqlite3.lock") as fd:
        write = asyncio.ensure_future(outbox.enqueue(_row("msg_waits"), JOBS))
        await asyncio.sleep(0.3)
        assert not write.done()
        assert _count(tmp_path / "o.sqlite3", "messages") == 0
        fcntl.flock(fd, fcntl.LOCK_UN)  # handed over at once, no busy-wait sleeping
        await asyncio.wait_for(write, timeout=5)
        assert _count(tmp_path / "o.sqlite3", "messages") == 1
        # A claim (its own transaction path) waits for the lock the same way.
        fcntl.flock(fd, fcntl.LOCK_EX)
        claim = asyncio.ensure_future(
            outbox.claim_due(NOW + timedelta(days=1), 10, 30.0, Claimant(node="n", boot="b"))
        )
        await asyncio.sleep(0.3)
        assert not claim.done()
        fcntl.flock(fd, fcntl.LOCK_UN)
        assert len(await asyncio.wait_for(claim, timeout=5)) == 1
    await outbox.close()


async def test_nothing_due_is_answered_without_the_writer_lock(tmp_path: Path) -> None:
    outbox = SqliteOutbox(tmp_path / "o.sqlite3")
    await outbox.open()
    with _writer_lock(tmp_path / "o.sqlite3.lock"):
        claimed = await asyncio.wait_for(
            outbox.claim_due(NOW, 10, 30.0, Claimant(node="n", boot="b")), timeout=5
        )
        assert claimed == []
    await outbox.close()


async def test_a_commit_delay_gathers_writes_made_one_after_another(tmp_path: Path) -> None:
    """A worker-only process's writes (commit_delay) share a commit even when sequential
    writes of different tasks arrive a few milliseconds apart."""
    outbox = SqliteOutbox(tmp_path / "o.sqlite3", commit_delay=0.2)
    await outbox.open()
    flushes = _count_flushes(outbox)

    async def one(i: int) -> None:
        await asyncio.sleep(0.01 * i)  # staggered: without a delay, several commits
        await outbox.enqueue(_row(f"msg_{i}"), JOBS)
        assert _count(tmp_path / "o.sqlite3", "messages") >= 1  # committed on return

    await asyncio.gather(*(one(i) for i in range(8)))
    assert flushes == [1]
    assert _count(tmp_path / "o.sqlite3", "messages") == 8
    await outbox.close()


async def test_a_failing_write_does_not_take_its_batch_with_it(tmp_path: Path) -> None:
    outbox = SqliteOutbox(tmp_path / "o.sqlite3")
    await outbox.open()
    await outbox.enqueue(_row("msg_dup"), JOBS)
    results = await asyncio.gather(
        *(outbox.enqueue(_row(f"msg_{i}"), JOBS) for i in range(5)),
        outbox.enqueue(_row("msg_dup"), JOBS),  # primary key taken: this one fails
        *(outbox.enqueue(_row(f"msg_{i}"), JOBS) for i in range(5, 10)),
        return_exceptions=True,
    )
    failed = [r for r in results if isinstance(r, BaseException)]
    assert len(failed) == 1 and isinstance(failed[0], OutboxError)
    assert _count(tmp_path / "o.sqlite3", "messages") == 11
    # The failed write left nothing half-done: exactly one job per stored message.
    assert _count(tmp_path / "o.sqlite3", "jobs") == 11
    await outbox.close()


async def test_a_refused_write_raises_and_leaves_nothing(tmp_path: Path) -> None:
    outbox = SqliteOutbox(tmp_path / "o.sqlite3")
    await outbox.open()
    with sqlite3.connect(tmp_path / "o.sqlite3") as conn:
        conn.execute(
            "CREATE TRIGGER full BEFORE INSERT ON jobs BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        )
    with pytest.raises(OutboxError):
        await outbox.enqueue(_row("msg_1"), JOBS)
    assert _count(tmp_path / "o.sqlite3", "messages") == 0  # its first insert was undone
    await outbox.close()


def _release1_copy(tmp_path: Path) -> Path:
    path = tmp_path / "outbox.sqlite3"
    shutil.copyfile(RELEASE1, path)
    return path


def _dump(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of the first release's tables, in their first-release columns."""
    tables = {
        "messages": "id, received_at, raw_key, raw_size, raw_sha256, raw_expires_at,"
        " expires_at, envelope, wrapped_key, raw_deleted, indexed",
        "jobs": "id, message_id, route, rcpt_to, mailbox_hash, status, attempts, created_at,"
        " next_attempt_at, lease_until, updated_at",
        "attempts": "job_id, n, at, outcome, status_code, detail, duration_ms",
        "message_addresses": "message_id, hash",
        "audit": "id, at, action, operator, address_hash, message_ids, counts",
    }
    with sqlite3.connect(path) as conn:
        return {
            t: conn.execute(f"SELECT {cols} FROM {t} ORDER BY 1, 2").fetchall()  # noqa: S608  (fixed names)
            for t, cols in tables.items()
        }


async def test_a_release1_store_migrates_in_place_without_losing_a_row(tmp_path: Path) -> None:
    path = _release1_copy(tmp_path)
    before = _dump(path)
    assert len(before["messages"]) == 12 and len(before["jobs"]) == 16
    with sqlite3.connect(path) as conn:  # the first release kept no version table
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        assert "schema_migrations" not in names
    outbox = SqliteOutbox(path)
    report = await outbox.migrate()
    assert report == schema.Report(
        version=schema.latest("sqlite"),
        applied=("0001_release1", "0002_claims", "0003_attempt_answers"),
    )
    assert _dump(path) == before
    # And it works as a current store: the crashed worker's two claims come back once
    # their old 120 s lease is over; the retry falls due at its time.
    msg = await outbox.message("msg_release1_03")
    assert msg is not None and msg.envelope.mail_from == "sender3@a.test"
    assert (await outbox.message("msg_release1_11")).raw_deleted  # type: ignore[union-attr]  # present, checked above
    assert [m.id for m in await outbox.messages_by_address("c" * 64)] == ["msg_release1_00"]
    [audit] = await outbox.audits()
    assert audit.id == "aud_release1" and audit.counts == {"messages": 1}
    who = Claimant(node="new/0", boot="b")
    lease_over = NOW + timedelta(hours=1, seconds=120)
    claimed = await outbox.claim_due(lease_over, 100, 30.0, who)
    statuses = [j.status for j in await outbox.jobs(limit=100)]
    assert statuses.count(JobStatus.SENDING) == len(claimed) == 12  # 10 never tried + 2 back
    assert statuses.count(JobStatus.PENDING) == 1  # the retry, due at 12:00
    assert {statuses.count(JobStatus(s)) for s in ("delivered", "failed", "refused")} == {1}
    await outbox.close()
    again = SqliteOutbox(path)
    assert await again.migrate() == schema.Report(version=schema.latest("sqlite"), applied=())
    await again.close()


async def test_a_store_from_a_newer_release_stops_start_up_untouched(tmp_path: Path) -> None:
    path = _release1_copy(tmp_path)
    outbox = SqliteOutbox(path)
    await outbox.migrate()
    await outbox.close()
    future = schema.latest("sqlite") + 1
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO schema_migrations VALUES (?, '9999_future', 0)", (future,))
    before = _dump(path)
    newer = SqliteOutbox(path)
    with pytest.raises(SchemaTooNew) as err:
        await newer.open()
    message = str(err.value)
    assert "\n" not in message and f"version {future}" in message and "newer" in message
    await newer.close()
    assert _dump(path) == before


def test_serve_and_migrate_refuse_a_newer_store_in_one_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)  # serve refuses a data dir other users can open
    path = data / "outbox.sqlite3"
    shutil.copyfile(RELEASE1, path)
    migrated = subprocess.run(
        [sys.executable, "-m", "inbound", "migrate", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert migrated.returncode == 0, migrated.stderr
    assert migrated.stdout.strip() == (
        f"outbox schema at version {schema.latest('sqlite')};"
        " applied 0001_release1, 0002_claims, 0003_attempt_answers"
    )
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO schema_migrations VALUES (99, '0099_future', 0)")
    for command in (["serve", "--listen", "127.0.0.1:0"], ["migrate"], ["worker"]):
        done = subprocess.run(
            [sys.executable, "-m", "inbound", *command, "--data-dir", str(data)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 1, (command, done.stderr)
        lines = [line for line in done.stderr.splitlines() if "version 99" in line]
        assert len(lines) == 1, done.stderr
        assert "Traceback" not in done.stderr and "newer" in lines[0]
