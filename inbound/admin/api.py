"""The admin API's answers as plain dicts, from the outbox (no HTTP here).

Lists show ids, times, sizes, routes, kinds and states: never a body, a subject or an
address. A single message shows its envelope addresses only when asked (``addresses``),
which is how an operator looks one message up on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from inbound.clock import Clock
from inbound.errors import InboundError
from inbound.outbox.base import Deliveries, MessageStore
from inbound.outbox.model import FINAL_STATUSES, STATUS_HELP, Job, JobStatus
from inbound.storage.base import ObjectNotFound, RawStore

__all__ = ["STATUS_HELP", "Api", "BadRequest", "parse_status", "parse_time"]


class BadRequest(Exception):
    """The request's parameters are wrong; the message says which."""


def parse_status(text: str | None) -> JobStatus | None:
    if not text:
        return None
    try:
        return JobStatus(text)
    except ValueError:
        raise BadRequest(f"status: one of {', '.join(s.value for s in JobStatus)}") from None


def parse_time(text: str | None, name: str) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"{name}: not an ISO 8601 time: {text!r}") from None
    if value.tzinfo is None:
        raise BadRequest(f"{name}: give a time zone (…Z or +00:00)")
    return value


def job_summary(job: Job, kind: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": job.id,
        "message_id": job.message.id,
        "route": job.route,
        "status": job.status.value,
        "kind": kind,
        "attempts": job.attempts,
        "created_at": job.created_at.isoformat(),
    }
    if job.status not in FINAL_STATUSES:
        out["next_attempt_at"] = job.next_attempt_at.isoformat()
    return out


class AdminOutbox(Deliveries, MessageStore, Protocol):
    """What the admin API reads and changes: jobs, message rows, and a readiness probe."""

    async def ping(self) -> None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Api:
    outbox: AdminOutbox
    store: RawStore
    clock: Clock
    probe_key: str = "readyz-probe"

    async def messages(self, status: JobStatus | None, limit: int) -> list[dict[str, Any]]:
        """Recent messages with their jobs (newest first); ``status`` filters the jobs."""
        jobs = await self.outbox.jobs(status, limit)
        by_message: dict[str, dict[str, Any]] = {}
        for job in jobs:
            attempts = await self.outbox.attempts(job.id)
            kind = next((a.kind for a in reversed(attempts) if a.kind), None)
            entry = by_message.setdefault(
                job.message.id,
                {
                    "id": job.message.id,
                    "received_at": job.message.received_at.isoformat(),
                    "size": job.message.raw_size,
                    "jobs": [],
                },
            )
            summary = job_summary(job, kind)
            summary["last_attempt"] = attempts[-1].to_dict() if attempts else None
            entry["jobs"].append(summary)
        return list(by_message.values())

    async def message(self, message_id: str, addresses: bool) -> dict[str, Any] | None:
        msg = await self.outbox.message(message_id)
        if msg is None:
            return None
        out: dict[str, Any] = {
            "id": msg.id,
            "received_at": msg.received_at.isoformat(),
            "size": msg.raw_size,
            "sha256": msg.raw_sha256,
            "raw_deleted": msg.raw_deleted,
            "jobs": [await self.job(j.id) for j in await self.outbox.jobs_of(msg.id)],
        }
        if addresses:
            out["envelope"] = msg.envelope.to_dict()
        return out

    async def job(self, job_id: str) -> dict[str, Any] | None:
        job = await self.outbox.job(job_id)
        if job is None:
            return None
        attempts = await self.outbox.attempts(job_id)
        kind = next((a.kind for a in reversed(attempts) if a.kind), None)
        out = job_summary(job, kind)
        out["attempts"] = [a.to_dict() for a in attempts]
        return out

    async def redeliver(self, job_id: str) -> bool:
        return await self.outbox.requeue(job_id, self.clock.now())

    async def retry(self, job_id: str) -> bool:
        return await self.outbox.retry_now(job_id, self.clock.now())

    async def redeliver_matching(
        self, status: JobStatus, since: datetime, until: datetime | None
    ) -> list[str]:
        return await self.outbox.requeue_matching(status, since, until, self.clock.now())

    async def ready(self) -> dict[str, str]:
        """``{"outbox": "ok"|cause, "storage": "ok"|cause}``."""
        out = {"outbox": "ok", "storage": "ok"}
        try:
            await self.outbox.ping()
        except InboundError as exc:
            out["outbox"] = str(exc)
        try:
            await self.store.get(self.probe_key)
        except ObjectNotFound:
            pass  # reachable: the probe key is never written
        except InboundError as exc:
            out["storage"] = str(exc)
        return out
