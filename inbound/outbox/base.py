"""The outbox Protocols, one per kind of caller: the durable half of "nothing accepted is lost".

STYLE.md asks for interfaces shaped by their callers, so the outbox is not one class
with forty methods but six small Protocols; each caller types against the ones it uses
and never against a backend (``SqliteOutbox``, ``PostgresOutbox``):

    Intake        accept: commit a message row and one job per route, in one transaction
    JobQueue      the worker's loop: claim due jobs with a lease, renew it, record attempts
    Deliveries    jobs as operators and privacy see them: list, inspect, requeue
    MessageStore  message rows: retention, raw-deleted marks, deletion with their jobs
    AddressIndex  keyed address hashes -> messages, for erase and export
    AuditLog      proof that an erase or export happened, holding no address

``Outbox`` is all of them plus the lifecycle (open, close, install check); only the
composition root (``inbound/app.py``) and the CLI's maintenance commands hold one.

Queries are named methods: no SQL text crosses this boundary. To add what a new caller
needs, add a named method to the Protocol it belongs to (and to both backends; the
contract suite in ``tests/inbound/outbox/`` runs every method over both).

Retries are rows with a ``next_attempt_at``: nothing waits in memory (DESIGN §6).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from inbound.outbox.model import (
    Attempt,
    AuditRecord,
    Claimant,
    Job,
    JobStatus,
    MessageRow,
    NewJob,
)
from inbound.outbox.schema import Report


class Intake(Protocol):
    """What accept() needs: make one message and its jobs durable."""

    async def enqueue(self, message: MessageRow, jobs: list[NewJob]) -> list[str]:
        """Commit the message and its jobs (durably: returned means committed); job ids."""
        ...


class JobQueue(Protocol):
    """What the delivery loop needs: claims with a lease, and the outcome of each attempt."""

    async def claim_due(
        self, now: datetime, limit: int, lease_seconds: float, claimant: Claimant
    ) -> list[Job]:
        """Mark up to ``limit`` due jobs as sending by ``claimant`` until ``now + lease``.

        Due: pending with ``next_attempt_at <= now``; sending whose lease ran out; and
        sending by the claimant's own node under an earlier boot (that process is dead,
        so its claims come back at once instead of after the lease).
        """
        ...

    async def renew(
        self, job_ids: list[str], now: datetime, lease_seconds: float, claimant: Claimant
    ) -> set[str]:
        """Extend the lease of the claimant's jobs to ``now + lease``; the ids still held."""
        ...

    async def record(
        self, job_id: str, attempt: Attempt, status: JobStatus, next_attempt_at: datetime | None
    ) -> bool:
        """Store one attempt and the job's new status; False if the job was erased meanwhile."""
        ...

    async def next_due(self) -> datetime | None:
        """When the earliest pending job (or running lease) falls due; None: nothing pending."""
        ...

    async def wait_for_work(self, max_seconds: float) -> bool:
        """True as soon as any process may have queued work; False after ``max_seconds``."""
        ...


class Deliveries(Protocol):
    """Delivery jobs as an operator (CLI, admin) or the privacy tools read them."""

    async def job(self, job_id: str) -> Job | None: ...

    async def jobs(self, status: JobStatus | None = None, limit: int = 100) -> list[Job]:
        """The newest ``limit`` jobs, optionally only those in ``status``."""
        ...

    async def jobs_of(self, message_id: str) -> list[Job]:
        """Every job of one message, oldest first."""
        ...

    async def attempts(self, job_id: str) -> list[Attempt]:
        """One job's attempts, in order."""
        ...

    async def unfinished_jobs(self, message_id: str) -> int:
        """How many jobs of the message are still pending or sending."""
        ...

    async def requeue(self, job_id: str, now: datetime) -> bool:
        """Make a failed/refused/cancelled/delivered job pending again (redelivery by hand)."""
        ...

    async def retry_now(self, job_id: str, now: datetime) -> bool:
        """Make a pending job due now; False when it is not pending."""
        ...

    async def requeue_matching(
        self, status: JobStatus, since: datetime, until: datetime | None, now: datetime
    ) -> list[str]:
        """Requeue every job in ``status`` that reached it in [since, until); their ids."""
        ...

    async def due_stats(self, now: datetime) -> tuple[int, datetime | None]:
        """Jobs due now (pending, or a lapsed lease), and when the oldest of them fell due."""
        ...


class MessageStore(Protocol):
    """Message rows: found by id or by expiry, marked, deleted with everything they own."""

    async def message(self, message_id: str) -> MessageRow | None: ...

    async def messages(self) -> list[MessageRow]:
        """Every message row, oldest first."""
        ...

    async def raw_expired(self, now: datetime) -> list[MessageRow]:
        """Messages whose raw mail is due for removal (and not yet removed)."""
        ...

    async def expired(self, now: datetime) -> list[MessageRow]:
        """Messages whose metadata (row, jobs, attempts) is past its retention."""
        ...

    async def existing(self, message_ids: list[str]) -> set[str]:
        """Which of ``message_ids`` have a row (the sweeper's test for orphaned objects)."""
        ...

    async def mark_raw_deleted(self, message_id: str, *, forget_key: bool = False) -> None:
        """Raw mail is gone; with ``forget_key`` the data key goes too (crypto-shredding)."""
        ...

    async def forget_personal_data(self, message_id: str) -> None:
        """Keep only what the audit needs of a delivered message (``delete_after_delivery``).

        The row keeps its id, times, raw key, size and sha256, and its jobs their route,
        status and attempts; the envelope's addresses, client IP and HELO, the jobs'
        recipients and mailbox hash, the index entries and the data key go, and the raw
        mail is marked deleted.
        """
        ...

    async def delete_messages(self, ids: list[str]) -> dict[str, int]:
        """Delete messages with their jobs, attempts and index rows, leaving no bytes behind.

        Returns counts of ``messages``, ``jobs`` and ``attempts`` removed. Jobs in flight
        on any node go too: their worker's ``record`` then answers False.
        """
        ...


class AddressIndex(Protocol):
    """Keyed hashes of addresses (never the addresses) -> the messages about them."""

    async def add_addresses(self, message_id: str, hashes: list[str]) -> None:
        """Add hashes to a message's index entry and mark it indexed (idempotent)."""
        ...

    async def messages_by_address(self, address_hash: str) -> list[MessageRow]: ...

    async def unindexed(self) -> list[MessageRow]:
        """Messages whose header addresses are not in the index yet (not delivered yet)."""
        ...


class AuditLog(Protocol):
    """Erase and export records: what happened, to which keyed address hash, never the address."""

    async def add_audit(self, record: AuditRecord) -> None: ...

    async def audits(self) -> list[AuditRecord]:
        """Every record, oldest first."""
        ...


class Outbox(Intake, JobQueue, Deliveries, MessageStore, AddressIndex, AuditLog, Protocol):
    """A whole backend, as the composition root opens and closes it."""

    async def open(self) -> None:
        """Connect, create or migrate the schema; a bad path or URL fails here, at start."""
        ...

    async def migrate(self) -> Report:
        """Apply pending schema migrations (``open`` does too); the version and what ran.

        Raises SchemaTooNew when the store was migrated by a newer release.
        """
        ...

    async def check_install(self, fingerprint: str) -> None:
        """Record the install secret's fingerprint, or raise ConfigError if another is there."""
        ...

    async def ping(self) -> None:
        """Raise OutboxError unless the outbox answers (readiness)."""
        ...

    async def close(self) -> None: ...
