"""Rows of the outbox as frozen values: a message, its delivery jobs, their attempts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class JobStatus(StrEnum):
    """Where a delivery job stands."""

    PENDING = "pending"  # due at next_attempt_at
    SENDING = "sending"  # claimed by a worker until lease_until (then due again)
    DELIVERED = "delivered"  # the webhook answered 2xx (or the event was stored, no webhook)
    REFUSED = "refused"  # the webhook answered 403/406/410: the customer said no
    FAILED = "failed"  # retries exhausted, or nothing left to deliver (raw expired)
    SKIPPED = "skipped"  # the route does not take this kind of message
    CANCELLED = "cancelled"  # stopped by an operator or by erasure


# One line per state, for help texts (CLI, admin page).
STATUS_HELP = {
    JobStatus.PENDING: "waiting for its next attempt (next_attempt_at)",
    JobStatus.SENDING: "claimed by a worker now (due again if the worker dies)",
    JobStatus.DELIVERED: "the webhook answered 2xx, or the event was stored (no webhook)",
    JobStatus.REFUSED: "the webhook answered 403, 406 or 410: not tried again",
    JobStatus.FAILED: "retries ran out, or nothing is left to send (raw mail expired)",
    JobStatus.SKIPPED: "the route does not take this kind of message",
    JobStatus.CANCELLED: "stopped by an operator or by erasure",
}

FINAL_STATUSES = frozenset(
    {
        JobStatus.DELIVERED,
        JobStatus.REFUSED,
        JobStatus.FAILED,
        JobStatus.SKIPPED,
        JobStatus.CANCELLED,
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Envelope:
    """The SMTP envelope of one accepted message (personal data: held only for delivery)."""

    mail_from: str
    rcpt_to: tuple[str, ...]
    remote_ip: str | None
    helo: str | None
    tls: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "mail_from": self.mail_from,
            "rcpt_to": list(self.rcpt_to),
            "remote_ip": self.remote_ip,
            "helo": self.helo,
            "tls": self.tls,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageRow:
    id: str
    received_at: datetime
    raw_key: str
    raw_size: int
    raw_sha256: str
    raw_expires_at: datetime
    expires_at: datetime  # metadata (this row, its jobs) expire then
    envelope: Envelope
    address_hashes: tuple[str, ...] = ()  # keyed hashes of every address, for erase/export
    wrapped_key: bytes | None = field(default=None, repr=False)  # per-message data key
    raw_deleted: bool = False  # raw mail (and attachments) already removed


@dataclass(frozen=True, slots=True, kw_only=True)
class NewJob:
    route: str
    rcpt_to: tuple[str, ...]  # the recipients this route serves
    mailbox_hash: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Claimant:
    """Who holds a claim: a node (stable across restarts) and this boot of it.

    A node that starts again under a new ``boot`` takes back the claims of its earlier
    boot at once (that process is dead), instead of waiting for their lease to run out.
    Two live processes never share a ``node``: inbound/claimant.py gives each one a slot.
    """

    node: str
    boot: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    id: str  # also the webhook-id: stable across retries (DESIGN §6)
    message: MessageRow
    route: str
    rcpt_to: tuple[str, ...]
    mailbox_hash: str | None
    status: JobStatus
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    lease_until: datetime | None = None  # while sending: the claim holds until then
    claimed_by: str | None = None  # the node of the last claim (Claimant.node)


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditRecord:
    """Proof that an erase or export happened, holding no address (DESIGN §8)."""

    id: str
    at: datetime
    action: str  # "erase", "erase-dry-run", "export"
    operator: str
    address_hash: str  # keyed hash: proves which address without keeping it
    message_ids: tuple[str, ...]
    counts: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "action": self.action,
            "operator": self.operator,
            "address_hash": self.address_hash,
            "message_ids": list(self.message_ids),
            "counts": self.counts,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Attempt:
    job_id: str
    n: int
    at: datetime
    outcome: str  # delivered, refused, retry, failed, stored, skipped
    status_code: int | None = None
    detail: str | None = None
    duration_ms: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # The first 1 KB of the webhook's answer (what an operator reads first when it fails).
    response: str | None = None
    kind: str | None = None  # the classification kind the attempt delivered

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "at": self.at.isoformat(),
            "outcome": self.outcome,
            "status_code": self.status_code,
            "detail": self.detail,
            "duration_ms": self.duration_ms,
            "response": self.response,
            "kind": self.kind,
        }
