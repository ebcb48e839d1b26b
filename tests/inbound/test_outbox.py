"""The SQLite outbox: group commit, isolation of a failing write, durability on return."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from inbound.errors import OutboxError
from inbound.outbox.model import Envelope, MessageRow, NewJob
from inbound.outbox.sqlite import SqliteOutbox

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


async def test_concurrent_writes_share_commits_and_are_durable_on_return(tmp_path: Path) -> None:
    outbox = SqliteOutbox(tmp_path / "o.sqlite3")
    await outbox.open()
    flushes = 0
    flush = outbox._commits._flush

    def counting_flush() -> None:
        nonlocal flushes
        flushes += 1
        flush()

    outbox._commits._flush = counting_flush  # type: ignore[method-assign]  # count the transactions

    async def one(i: int) -> None:
        await outbox.enqueue(_row(f"msg_{i}"), JOBS)
        # Returned means committed: a separate connection already sees it.
        assert _count(tmp_path / "o.sqlite3", "messages") >= 1

    await asyncio.gather(*(one(i) for i in range(60)))
    assert _count(tmp_path / "o.sqlite3", "messages") == 60
    assert _count(tmp_path / "o.sqlite3", "jobs") == 60
    assert 1 <= flushes < 60  # group commit: fewer transactions than writes
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
