"""The delivery worker: claim due jobs -> read raw -> parse -> classify -> event -> POST.

Runs as an asyncio task beside the SMTP server, or alone (``inbound worker``). Every
outcome is written to the outbox before the next step; a retry is a row with a
``next_attempt_at``, never a sleep, so a restart resumes where the last process stopped.
``run_until_empty()`` drains what is due now and returns (burst mode, after arq), which
is how tests drive it with an injected clock.

Claims hold a short lease that the worker renews while a job runs (every third of it),
so a job is never claimed again while its worker lives, however long it parses, and a
dead worker's jobs come back within the lease; a restarted node takes back its earlier
boot's claims at once (``Claimant``). Idle, it waits for the outbox to report new work
(PostgreSQL LISTEN/NOTIFY) or for the next due time, polling at least every second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from inbound import events
from inbound.accept import address_hash
from inbound.auth.check import Authenticator, Checked
from inbound.clock import Clock, SystemClock
from inbound.config import Route, Target
from inbound.delivery import formats, outcome, schedule, urlguard
from inbound.delivery.budget import ByteBudget
from inbound.delivery.sender import Sender
from inbound.errors import InboundError
from inbound.outbox.base import AddressIndex, Deliveries, JobQueue, MessageStore
from inbound.outbox.model import Attempt, Claimant, Envelope, Job, JobStatus
from inbound.privacy import addresses_of
from inbound.sealed import SealedObjects
from inbound.storage import causes, keys
from inbound.storage.base import ObjectNotFound
from parsers import Hints, classify, parse
from parsers.model import Classification, ParsedMessage

if TYPE_CHECKING:
    from inbound.metrics import Metrics

log = logging.getLogger("inbound.delivery")

# A claimed job comes back to the queue if its worker has not renewed the claim by
# then; a live worker renews it every third of the lease, so only a dead one loses its
# jobs (and a restarted node takes its own back at once: inbound/claimant.py).
LEASE_SECONDS = 30.0
# Look at the outbox at least this often (other processes may enqueue).
POLL_SECONDS = 1.0


class FileUrls(Protocol):
    """Signed, expiring URLs for objects of a store that has none of its own (local)."""

    def url(self, key: str) -> str: ...


class WorkerOutbox(JobQueue, Deliveries, MessageStore, AddressIndex, Protocol):
    """What the worker uses of the outbox: the queue, its jobs, message rows, the index."""


def process_claimant() -> Claimant:
    """A claimant no other process shares (the service gives a stable node: claimant.py)."""
    return Claimant(node=f"process-{uuid.uuid4().hex}", boot=uuid.uuid4().hex)


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerOptions:
    concurrency: int = 16
    lease_seconds: float = LEASE_SECONDS
    policy: schedule.Policy = field(default_factory=schedule.Policy)
    allow_private: bool = False
    prefix: str = ""
    presign_seconds: int = 7 * 24 * 3600
    index_key: bytes = b""
    deadlines_days: tuple[tuple[str, int], ...] | None = None
    # Raw bytes of the jobs in progress at once (delivery/budget.py); the rest wait.
    max_raw_bytes_in_flight: int = 128 * 1024 * 1024


class Worker:
    def __init__(
        self,
        *,
        routes: tuple[Route, ...],
        objects: SealedObjects,
        outbox: WorkerOutbox,
        sender: Sender,
        clock: Clock,
        options: WorkerOptions,
        wall_clock: Clock | None = None,
        metrics: Metrics | None = None,
        file_urls: FileUrls | None = None,
        authenticator: Authenticator | None = None,
    ) -> None:
        self.metrics = metrics
        # Attachment URLs when the store cannot presign; None: such attachments go inline.
        self.file_urls = file_urls
        self.routes = {r.name: r for r in routes}
        self.objects = objects
        self.outbox = outbox
        self.sender = sender
        self.clock = clock
        # webhook-timestamp is checked by receivers against their own clock (replay
        # protection), so it always comes from the real one, even when the schedule's
        # clock is injected.
        self.wall_clock: Clock = wall_clock or SystemClock()
        self.options = options
        self.authenticator = authenticator  # None: events carry authentication: null
        self._wake = asyncio.Event()
        self._inflight: set[asyncio.Task[JobStatus]] = set()
        self._slots = asyncio.Semaphore(options.concurrency)
        self._budget = ByteBudget(options.max_raw_bytes_in_flight)
        self._parse_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="inbound-parse")
        # Who this worker claims as; the service sets a stable node (inbound/claimant.py).
        self.claimant = process_claimant()
        self._held: set[str] = set()  # ids of jobs this worker runs now: their leases renew

    def notify(self) -> None:
        """New work may be due (called by the SMTP side after an accept)."""
        self._wake.set()

    # ------------------------------------------------------------ loops

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set; then stop claiming and return."""
        renewing = asyncio.create_task(self._renew_leases(stop))
        try:
            while not stop.is_set():
                # Cleared before looking, so a notify() during the claim is not lost.
                self._wake.clear()
                try:
                    claimed = await self._claim_and_start()
                except InboundError as exc:
                    log.error("worker: cannot claim jobs (%s); retrying", type(exc).__name__)
                    claimed = 0
                if claimed:
                    continue
                await self._sleep_until_due(stop)
        finally:
            # Leases of jobs still draining keep being renewed by drain().
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing

    async def _renew_leases(self, stop: asyncio.Event | None = None) -> None:
        """Every third of the lease, extend the lease of every job this worker is running."""
        while stop is None or not stop.is_set():
            await asyncio.sleep(self.options.lease_seconds / 3)
            held = sorted(self._held)
            if not held:
                continue
            try:
                kept = await self.outbox.renew(
                    held, self.clock.now(), self.options.lease_seconds, self.claimant
                )
            except InboundError as exc:
                log.warning("worker: cannot renew leases (%s); retrying", type(exc).__name__)
                continue
            for job_id in sorted(set(held) - kept):
                if job_id in self._held:  # not finished meanwhile: erased or taken over
                    log.warning("worker: job %s is no longer claimed by this worker", job_id)

    async def _claim_and_start(self) -> int:
        free = self.options.concurrency - len(self._inflight)
        if free <= 0:
            await asyncio.wait(self._inflight, return_when=asyncio.FIRST_COMPLETED)
            return 1
        jobs = await self.outbox.claim_due(
            self.clock.now(), free, self.options.lease_seconds, self.claimant
        )
        for job in jobs:
            task = asyncio.create_task(self._guarded(job))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)
        return len(jobs)

    async def _sleep_until_due(self, stop: asyncio.Event) -> None:
        timeout = POLL_SECONDS
        with contextlib.suppress(InboundError):
            due = await self.outbox.next_due()
            if due is not None:
                timeout = min(POLL_SECONDS, max((due - self.clock.now()).total_seconds(), 0.01))
        waiters = [
            asyncio.create_task(self._wake.wait()),
            asyncio.create_task(stop.wait()),
            asyncio.create_task(self._outbox_work(timeout)),
        ]
        try:
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()

    async def _outbox_work(self, max_seconds: float) -> None:
        """Return when the outbox reports work queued by any process (or on its error)."""
        with contextlib.suppress(InboundError):
            await self.outbox.wait_for_work(max_seconds)

    async def run_until_empty(self) -> int:
        """Process every job due now (and any retry that falls due meanwhile); return the count."""
        done = 0
        renewing = asyncio.create_task(self._renew_leases())
        try:
            while True:
                jobs = await self.outbox.claim_due(
                    self.clock.now(),
                    self.options.concurrency,
                    self.options.lease_seconds,
                    self.claimant,
                )
                if not jobs:
                    return done
                await asyncio.gather(*(self._guarded(job) for job in jobs))
                done += len(jobs)
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing

    async def drain(self, grace_seconds: float) -> None:
        """Let in-flight deliveries finish, up to ``grace_seconds``, their leases renewed."""
        if self._inflight:
            renewing = asyncio.create_task(self._renew_leases())
            try:
                await asyncio.wait(set(self._inflight), timeout=grace_seconds)
            finally:
                renewing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await renewing

    async def close(self) -> None:
        self._parse_pool.shutdown(wait=True)
        if self.authenticator is not None:
            await self.authenticator.close()

    # ------------------------------------------------------------ one job

    async def _guarded(self, job: Job) -> JobStatus:
        self._held.add(job.id)  # from the claim on, even while waiting for a slot
        try:
            async with self._slots, self._budget.hold(job.message.raw_size):
                try:
                    return await self.process(job)
                except Exception as exc:
                    # Never drop a job on a bug: record it and let the schedule retry.
                    log.exception("worker: %s failed unexpectedly", job.id)
                    return await self._record(
                        job, outcome.from_error(type(exc).__name__), started=time.monotonic()
                    )
        finally:
            self._held.discard(job.id)

    async def process(self, job: Job) -> JobStatus:
        started = time.monotonic()
        route = self.routes.get(job.route)
        if route is None:
            return await self._final(job, JobStatus.FAILED, "route no longer configured", started)
        msg = job.message
        gone = "raw message expired or erased"
        if msg.raw_deleted:
            return await self._final(job, JobStatus.FAILED, gone, started)
        try:
            dek = self.objects.data_key(msg.id, msg.wrapped_key)
            raw = await self.objects.get(dek, msg.raw_key)
        except ObjectNotFound:
            return await self._final(job, JobStatus.FAILED, gone, started)
        except InboundError as exc:
            return await self._storage_failed(job, exc, started)
        hints = Hints(
            rcpt_to=job.rcpt_to,
            mailbox_hash=job.mailbox_hash,
            unsubscribe_addresses=route.unsubscribe_addresses,
            deadlines_days=self.options.deadlines_days,
        )
        # CPU work off the event loop, so SMTP sessions are not held up by it.
        loop = asyncio.get_running_loop()
        # Sender authentication (DNS-bound, its own threads) while the message is parsed.
        (parsed, verdict), checked = await asyncio.gather(
            loop.run_in_executor(
                self._parse_pool, _parse_and_classify, raw, msg.received_at, hints
            ),
            self._authenticate(raw, msg.envelope),
        )
        parsed, verdict = checked.apply(parsed, verdict)
        if not _raw_needed(route):
            raw = b""  # let the raw bytes go before the event is built (issue 12: memory)
        await self._index_addresses(msg.id, parsed, verdict)
        kind = str(verdict.kind)
        if self.metrics is not None and job.attempts == 0:
            self.metrics.message_classified(kind)
        if route.kinds is not None and kind not in route.kinds:
            return await self._final(
                job, JobStatus.SKIPPED, f"route takes no {kind}", started, kind=kind
            )
        target = dict(route.kind_targets).get(kind, route.target)
        held = route.require_verified_sender and checked.holds(verdict)
        if held:
            target = route.quarantine  # None: the event is kept in storage only
        try:
            event = await self._event(job, route, parsed, verdict, dek, checked)
            body = events.encode(event)
            await self.objects.put(dek, self._event_key(job), body, "application/json")
        except InboundError as exc:
            return await self._storage_failed(job, exc, started)
        if target is None:
            log.info("stored event %s for %s (route %s, no webhook)", job.id, msg.id, route.name)
            detail = "stored: unverified sender (require_verified_sender)" if held else "stored"
            status = await self._final(job, JobStatus.DELIVERED, detail, started, kind=kind)
        else:
            status = await self._send(job, target, route, event, body, raw, parsed, started)
        if status is JobStatus.DELIVERED and route.delete_after_delivery:
            await self._delete_after_delivery(job, parsed)
        return status

    async def _storage_failed(self, job: Job, exc: Exception, started: float) -> JobStatus:
        return await self._record(
            job, outcome.from_error(f"storage: {causes.describe(exc)}"), started
        )

    def _event_key(self, job: Job) -> str:
        return keys.event_key(job.message.id, job.message.received_at, self.options.prefix)

    async def _delete_after_delivery(self, job: Job, parsed: ParsedMessage) -> None:
        """The route keeps nothing once delivered: raw, event, attachments, and the key."""
        if await self.outbox.unfinished_jobs(job.message.id):
            return  # another route still needs the raw message; its delivery cleans up
        msg = job.message
        store = self.objects.store
        await store.delete(msg.raw_key)
        await store.delete(self._event_key(job))
        for index, att in enumerate(parsed.attachments):
            await store.delete(
                keys.attachment_key(msg.id, index, att.filename, self.options.prefix)
            )
        await self.outbox.forget_personal_data(msg.id)  # the row keeps no address
        log.info("deleted raw mail, event and addresses of %s after delivery (policy)", msg.id)

    async def _send(
        self,
        job: Job,
        target: Target,
        route: Route,
        event: dict[str, object],
        body: bytes,
        raw: bytes,
        parsed: ParsedMessage,
        started: float,
    ) -> JobStatus:
        request = formats.render(
            formats.Delivery(
                format=formats.Format(route.format),
                url=target.url,
                secrets=tuple(s.reveal() for s in target.secrets),
                job_id=job.id,
                timestamp=int(self.wall_clock.now().timestamp()),
                raw_email=route.raw_email,
            ),
            event=event,
            event_body=body,
            raw=raw,
            contents=[a.content for a in parsed.attachments],
        )
        pin: str | None = None
        if not target.trusted:
            try:
                pinned = await urlguard.check(request.url, allow_private=self.options.allow_private)
            except urlguard.Refused as exc:
                return await self._final(job, JobStatus.FAILED, str(exc), started)
            except urlguard.Unresolved:
                # A DNS blip at the customer's is transient: retry on the schedule.
                return await self._record(job, outcome.from_error("dns_error"), started)
            pin = pinned.ip
        now = self.clock.now()
        resp = await self.sender.post(request.url, request.body, request.headers, pin=pin)
        if resp.status_code is None:
            result = outcome.from_error(resp.error or "error")
        else:
            result = outcome.from_response(resp.status_code, resp.retry_after, now)
        excerpt = resp.body.decode("utf-8", errors="replace") if resp.body else None
        return await self._record(job, result, started, response=excerpt, kind=_kind(event))

    async def _event(
        self,
        job: Job,
        route: Route,
        parsed: ParsedMessage,
        verdict: Classification,
        dek: bytes | None,
        checked: Checked,
    ) -> dict[str, object]:
        msg = job.message
        urls: dict[int, str] = {}
        inline_limit = route.inline_attachment_limit
        for index, att in enumerate(parsed.attachments):
            if att.size <= route.inline_attachment_limit:
                continue
            key = keys.attachment_key(msg.id, index, att.filename, self.options.prefix)
            url = await self.objects.store.presign(key, self.options.presign_seconds)
            if url is None and self.file_urls is not None:
                url = self.file_urls.url(key)  # served, signed, by the admin listener
            if url is None:
                # No way to reach a stored copy: never leave an attachment unreachable.
                inline_limit = max(inline_limit, att.size)
                continue
            await self.objects.put(dek, key, att.content, att.content_type)
            urls[index] = url
        raw_url = None
        if route.raw_url:
            raw_url = await self.objects.store.presign(msg.raw_key, self.options.presign_seconds)
        return events.build(
            parsed,
            verdict,
            message_id=msg.id,
            received_at=msg.received_at,
            route=route.name,
            envelope=msg.envelope.__class__(
                mail_from=msg.envelope.mail_from,
                rcpt_to=job.rcpt_to,  # only this route's recipients: others stay private
                remote_ip=msg.envelope.remote_ip,
                helo=msg.envelope.helo,
                tls=msg.envelope.tls,
            ),
            mailbox_hash=job.mailbox_hash,
            raw=events.RawRef(
                key=msg.raw_key,
                size=msg.raw_size,
                sha256=msg.raw_sha256,
                expires_at=msg.raw_expires_at,
                url=raw_url,
            ),
            attachments=events.AttachmentPolicy(inline_limit=inline_limit, urls=urls),
            authentication=checked.authentication,
            spam=checked.spam,
        )

    async def _authenticate(self, raw: bytes, envelope: Envelope) -> Checked:
        if self.authenticator is None:
            return Checked(authentication=None, spam=None)
        return await self.authenticator.check(raw, envelope)

    async def _index_addresses(
        self, message_id: str, parsed: ParsedMessage, verdict: Classification
    ) -> None:
        """Add the header addresses (and a bounce's failed recipients) to the erase index."""
        if not self.options.index_key:
            return
        found = addresses_of(parsed, verdict)
        await self.outbox.add_addresses(
            message_id, sorted({address_hash(self.options.index_key, a) for a in found})
        )

    # ------------------------------------------------------------ records

    async def _store_record(
        self, job: Job, attempt: Attempt, status: JobStatus, next_at: datetime | None
    ) -> None:
        if await self.outbox.record(job.id, attempt, status, next_at):
            return
        # The message was erased while this job was in flight: remove what it wrote since.
        store = self.objects.store
        await store.delete(self._event_key(job))
        prefix = f"{self.options.prefix}{keys.ATTACHMENTS}{job.message.id}/"
        for info in await store.list(prefix):
            await store.delete(info.key)
        log.info("job %s: its message was erased during delivery; removed its objects", job.id)

    async def _final(
        self,
        job: Job,
        status: JobStatus,
        detail: str,
        started: float,
        *,
        kind: str | None = None,
    ) -> JobStatus:
        attempt = Attempt(
            job_id=job.id,
            n=job.attempts + 1,
            at=self.clock.now(),
            outcome=status.value,
            detail=detail,
            duration_ms=_ms(started),
            kind=kind,
        )
        await self._store_record(job, attempt, status, None)
        level = logging.ERROR if status is JobStatus.FAILED else logging.INFO
        log.log(level, "job %s (%s): %s: %s", job.id, job.message.id, status.value, detail)
        if self.metrics is not None and status is JobStatus.FAILED:
            self.metrics.delivery_attempt("failed", time.monotonic() - started)
        elif self.metrics is not None and status is JobStatus.DELIVERED:
            self.metrics.delivery_attempt("delivered", time.monotonic() - started)
        return status

    async def _record(
        self,
        job: Job,
        result: outcome.Outcome,
        started: float,
        *,
        response: str | None = None,
        kind: str | None = None,
    ) -> JobStatus:
        now = self.clock.now()
        n = job.attempts + 1
        next_at: datetime | None = None
        if result.verdict is outcome.Verdict.DELIVERED:
            status = JobStatus.DELIVERED
        elif result.verdict is outcome.Verdict.REFUSED:
            status = JobStatus.REFUSED
        else:
            next_at = schedule.next_attempt_at(
                self.options.policy,
                attempt=n,
                now=now,
                first_queued_at=job.created_at,
                retry_after_seconds=result.retry_after_seconds,
            )
            status = JobStatus.PENDING if next_at is not None else JobStatus.FAILED
        attempt = Attempt(
            job_id=job.id,
            n=n,
            at=now,
            outcome=result.verdict.value,
            status_code=result.status_code,
            detail=result.detail,
            duration_ms=_ms(started),
            response=response,
            kind=kind,
        )
        await self._store_record(job, attempt, status, next_at)
        if self.metrics is not None:
            counted = "failed" if status is JobStatus.FAILED else result.verdict.value
            self.metrics.delivery_attempt(counted, time.monotonic() - started)
        # A retry is a WARNING; a job that will not be tried again without help, an ERROR.
        level = {
            JobStatus.DELIVERED: logging.INFO,
            JobStatus.PENDING: logging.WARNING,
        }.get(status, logging.ERROR)
        log.log(
            level,
            "job %s (%s) attempt %d: %s%s -> %s",
            job.id,
            job.message.id,
            n,
            result.verdict.value,
            f" {result.status_code}" if result.status_code else f" ({result.detail})",
            status.value if next_at is None else f"retry at {next_at.isoformat()}",
        )
        return status


def _parse_and_classify(
    raw: bytes, received_at: datetime, hints: Hints
) -> tuple[ParsedMessage, Classification]:
    parsed = parse(raw, received_at)
    return parsed, classify(parsed, hints, received_at)


def _raw_needed(route: Route) -> bool:
    """Whether the webhook request carries the raw message (else it is freed early)."""
    fmt = formats.Format(route.format)
    return fmt is formats.Format.RAW or (fmt is formats.Format.POSTMARK and route.raw_email)


def _kind(event: dict[str, object]) -> str | None:
    data = event.get("data")
    if isinstance(data, dict):
        classification = data.get("classification")
        if isinstance(classification, dict):
            kind = classification.get("kind")
            return None if kind is None else str(kind)
    return None


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
