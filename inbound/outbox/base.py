"""The Outbox Protocol: the durable half of "nothing accepted is ever lost".

``enqueue`` commits a message row and one job per route in one transaction; a job is
then claimed by a worker (with a lease, so a crashed worker's jobs come back), and each
attempt's outcome is recorded in its own transaction. Retries are rows with a
``next_attempt_at``: nothing waits in memory (DESIGN §6).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from inbound.outbox.model import Attempt, Job, JobStatus, MessageRow, NewJob


class Outbox(Protocol):
    async def enqueue(self, message: MessageRow, jobs: list[NewJob]) -> list[str]:
        """Commit the message and its jobs (durably) and return the job ids."""
        ...

    async def claim_due(self, now: datetime, limit: int, lease_seconds: float) -> list[Job]:
        """Mark up to ``limit`` due jobs as sending until ``now + lease`` and return them."""
        ...

    async def record(
        self, job_id: str, attempt: Attempt, status: JobStatus, next_attempt_at: datetime | None
    ) -> bool:
        """Store one attempt and the job's new status; False if the job was erased meanwhile."""
        ...

    async def next_due(self) -> datetime | None:
        """When the earliest pending job falls due (None: nothing pending)."""
        ...

    async def job(self, job_id: str) -> Job | None: ...

    async def jobs(self, status: JobStatus | None = None, limit: int = 100) -> list[Job]: ...

    async def attempts(self, job_id: str) -> list[Attempt]: ...

    async def requeue(self, job_id: str, now: datetime) -> bool:
        """Make a failed/refused/cancelled job pending again (redelivery by hand)."""
        ...

    async def retry_now(self, job_id: str, now: datetime) -> bool:
        """Make a pending job due now; False when it is not pending."""
        ...

    async def requeue_matching(
        self, status: JobStatus, since: datetime, until: datetime | None, now: datetime
    ) -> list[str]:
        """Requeue every job in ``status`` that reached it in [since, until)."""
        ...

    async def due_stats(self, now: datetime) -> tuple[int, datetime | None]:
        """Jobs due now, and when the oldest of them fell due."""
        ...

    async def ping(self) -> None:
        """Raise OutboxError unless the outbox answers (readiness)."""
        ...

    async def close(self) -> None: ...
