"""The ``outbox`` fixture: each contract test runs once per backend, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from inbound.outbox.base import Outbox
from inbound.outbox.model import Envelope, MessageRow
from inbound.outbox.postgres import PostgresOutbox
from inbound.outbox.sqlite import SqliteOutbox

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)

OutboxFactory = Callable[[], Outbox]


@pytest.fixture(params=["sqlite", "postgres"])
def outbox_factory(request: pytest.FixtureRequest, tmp_path: Path) -> OutboxFactory:
    """Makes outboxes on one store: several are several processes sharing it."""
    if request.param == "sqlite":
        return lambda: SqliteOutbox(tmp_path / "outbox.sqlite3")
    url = request.getfixturevalue("postgres_url")
    return lambda: PostgresOutbox(url, timeout_seconds=5.0, pool_size=4)


@pytest.fixture
async def outbox(outbox_factory: OutboxFactory) -> AsyncIterator[Outbox]:
    box = outbox_factory()
    await box.open()
    try:
        yield box
    finally:
        await box.close()


def row(
    message_id: str,
    *,
    at: datetime = NOW,
    hashes: tuple[str, ...] = (),
    mail_from: str = "a@x.test",
    raw_days: int = 7,
    metadata_days: int = 30,
) -> MessageRow:
    return MessageRow(
        id=message_id,
        received_at=at,
        raw_key=f"raw/{message_id}.eml",
        raw_size=10,
        raw_sha256="0" * 64,
        raw_expires_at=at + timedelta(days=raw_days),
        expires_at=at + timedelta(days=metadata_days),
        envelope=Envelope(
            mail_from=mail_from, rcpt_to=("b@y.test",), remote_ip="192.0.2.7", helo="h", tls=True
        ),
        address_hashes=hashes,
        wrapped_key=b"\x00wrapped\xff" * 6,
    )
