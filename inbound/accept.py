"""accept(): make one message durable, then, and only then, hand out its id.

The rule the whole service rests on (DESIGN §2): the SMTP edge says ``250`` only after
  1. the raw bytes are durably in storage (sealed under a new per-message key when
     encryption at rest is on), and
  2. the message row and one delivery job per route are committed in the outbox.
Any failure in 1-2 raises ``AcceptFailed`` (the client gets ``451`` and retries) and
removes what step 1 wrote, so nothing half-written is kept. This module knows the
storage and outbox Protocols, never which backend it was given.

The message arrives as an ``Arrival``: its id and time were chosen when DATA began (the
trace headers name the id), and its bytes are in a ``Spool`` (inbound/spool.py) whose
size and SHA-256 were computed while it was written. A small one is one ``put``; a big
one goes from its file (``put_file``), never copied whole into memory here.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from inbound.clock import Clock
from inbound.errors import AcceptFailed, InboundError
from inbound.outbox.base import Intake
from inbound.outbox.model import Envelope, MessageRow, NewJob
from inbound.sealed import SealedObjects
from inbound.spool import Spool
from inbound.storage import causes, keys

log = logging.getLogger("inbound.accept")

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


def new_message_id(now_ms: int | None = None) -> str:
    """``msg_`` + 26 base-32 characters: 48 bits of milliseconds, then 80 random bits.

    Sortable by arrival (like a ULID), unguessable, and free of personal data, so it can
    sit in object keys, logs and SMTP replies.
    """
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    value = (ms << 80) | secrets.randbits(80)
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "msg_" + "".join(reversed(chars))


def address_hash(key: bytes, address: str) -> str:
    """Keyed hash of an address (HMAC-SHA256), the only form the index and logs keep."""
    normalized = address.strip().lower()
    return hmac.new(key, normalized.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True, kw_only=True)
class Accepted:
    id: str
    raw_key: str
    job_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Retention:
    raw_days: int
    metadata_days: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Arrival:
    """A message the SMTP edge has read, not yet durable: its id is chosen at DATA."""

    id: str
    received_at: datetime
    body: Spool

    @classmethod
    def start(cls, clock: Clock, spool: Spool) -> Arrival:
        received_at = clock.now()
        return cls(
            id=new_message_id(int(received_at.timestamp() * 1000)),
            received_at=received_at,
            body=spool,
        )


async def accept(
    arrival: Arrival,
    envelope: Envelope,
    jobs: list[NewJob],
    *,
    objects: SealedObjects,
    outbox: Intake,
    retention: Retention,
    index_key: bytes,
    extra_addresses: tuple[str, ...] = (),
    prefix: str = "",
) -> Accepted:
    """Store the arrival's bytes and enqueue ``jobs``; raise AcceptFailed if either fails.

    A body that stayed in memory is one ``put``; a spooled one goes from its file
    (``put_file``), so the message is never copied whole into memory here.
    """
    message_id, received_at, body = arrival.id, arrival.received_at, arrival.body
    key = keys.raw_key(message_id, received_at, prefix)
    dek, wrapped = objects.new_key(message_id)
    try:
        if body.path is None:
            await objects.put(dek, key, body.getvalue(), "message/rfc822")
        else:
            await objects.put_file(dek, key, body.path, "message/rfc822")
    except InboundError as exc:
        log.warning("accept: storage failed: %s; answering 451", causes.describe(exc))
        raise AcceptFailed("storage") from exc
    addresses = {envelope.mail_from, *envelope.rcpt_to, *extra_addresses} - {""}
    row = MessageRow(
        id=message_id,
        received_at=received_at,
        raw_key=key,
        raw_size=body.size,
        raw_sha256=body.hexdigest(),
        raw_expires_at=received_at + timedelta(days=retention.raw_days),
        expires_at=received_at + timedelta(days=retention.metadata_days),
        envelope=envelope,
        address_hashes=tuple(sorted(address_hash(index_key, a) for a in addresses)),
        wrapped_key=wrapped,
    )
    try:
        job_ids = await outbox.enqueue(row, jobs)
    except InboundError as exc:
        log.warning("accept: outbox failed (%s); answering 451", type(exc).__name__)
        with contextlib.suppress(InboundError):
            await objects.store.delete(key)
        raise AcceptFailed("outbox") from exc
    return Accepted(id=message_id, raw_key=key, job_ids=tuple(job_ids))
