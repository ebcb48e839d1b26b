"""Composition root: build the adapters from Settings, run SMTP + worker, stop cleanly.

Nothing else in the service reads Settings whole: adapters and policies get plain values
here. On SIGTERM or SIGINT the service stops accepting connections, lets DATA in
progress finish, lets in-flight webhook POSTs finish (bounded), closes and exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import ssl
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from inbound import accept as accept_mod
from inbound import claimant, crypto, retention, tls
from inbound.auth.check import Authenticator
from inbound.clock import Clock, SystemClock
from inbound.config import Settings
from inbound.delivery import schedule
from inbound.delivery.sender import Sender
from inbound.delivery.worker import Worker, WorkerOptions
from inbound.errors import InboundError
from inbound.metrics import Metrics
from inbound.outbox.base import Outbox
from inbound.outbox.model import Envelope, NewJob
from inbound.privacy import Privacy
from inbound.sealed import SealedObjects
from inbound.smtp.handler import Handler
from inbound.smtp.limits import RateLimiter
from inbound.smtp.server import EdgeLimits, SmtpServer
from inbound.storage.base import RawStore
from inbound.sweeper import Sweeper
from inbound.wake import Wake

log = logging.getLogger("inbound")

INSTALL_SECRET_FILE = "install.key"  # noqa: S105  (a file name, not a secret)


def open_store(settings: Settings) -> RawStore:
    if settings.storage_backend == "s3":
        from inbound.storage import factory  # imported here: boto3 loads only when used

        return factory.open_store(settings)
    from inbound.storage.local import LocalStore

    return LocalStore(settings.data_dir)


def open_outbox(settings: Settings, *, worker_only: bool = False) -> Outbox:
    """PostgreSQL when ``outbox.url`` is set, else the SQLite file (the embedded default).

    ``worker_only``: a delivery-only process; its SQLite writes wait a few milliseconds
    to share one commit (and one WAL fsync), leaving the write lock to the acceptors.
    """
    if settings.outbox.url is not None:
        # Imported here: psycopg loads only when the shared outbox is chosen.
        from inbound.outbox.postgres import PostgresOutbox

        return PostgresOutbox(
            settings.outbox.url.reveal(),
            timeout_seconds=settings.outbox.timeout_seconds,
            pool_size=settings.outbox.pool_size,
        )
    from inbound.outbox.sqlite import SqliteOutbox

    return SqliteOutbox(
        settings.outbox_file, commit_delay=WORKER_COMMIT_DELAY if worker_only else 0.0
    )


# How long a delivery-only process's outbox writes wait to share a commit (issue 12).
WORKER_COMMIT_DELAY = 0.02


def install_secret(settings: Settings) -> bytes:
    """The install's secret: from config, else created once (0600) in the data dir.

    It keys the address index and wraps the per-message data keys; every node of one
    install must share it (``privacy.install_secret``), and losing it makes sealed
    objects unreadable. Two processes starting at once on one data dir end up with the
    same secret: each writes a complete file of its own, and only one of them can link
    it into place (``link`` fails if the name exists: an exclusive create that never
    shows a half-written file); the other reads the winner's.
    """
    if settings.install_secret is not None:
        return bytes.fromhex(settings.install_secret.reveal())
    path = settings.data_dir / INSTALL_SECRET_FILE
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_bytes(32)
    tmp = path.with_name(f"{INSTALL_SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(secret.hex())
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return bytes.fromhex(path.read_text().strip())  # another process won
    finally:
        tmp.unlink(missing_ok=True)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return secret


def install_fingerprint(secret: bytes) -> str:
    """Names the install secret without revealing it: recorded in the outbox, checked at start."""
    return crypto.derive(secret, "install-fingerprint").hex()


def _prefix(settings: Settings) -> str:
    return settings.s3.prefix if settings.storage_backend == "s3" and settings.s3 else ""


class Service:
    """The running pieces of one process; ``start``/``stop`` in that order."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        smtp: bool = True,
        reuse_port: bool = False,
        wake: Wake | None = None,
    ) -> None:
        self.settings = settings
        # Nudges to worker processes after an accept (under inbound.supervisor).
        self.wake = wake
        self.clock: Clock = clock or SystemClock()
        self.store = open_store(settings)
        self.outbox = open_outbox(settings, worker_only=not smtp)
        self.sender = Sender(settings.delivery_concurrency)
        self.reuse_port = reuse_port  # several processes share the ports (admin too)
        self.metrics = Metrics(multiprocess_dir=settings.metrics_multiprocess_dir)
        secret = install_secret(settings)
        self._files_key = crypto.derive(secret, "files")
        self.fingerprint = install_fingerprint(secret)
        self.index_key = crypto.derive(secret, "index")
        sealing = settings.encrypt_at_rest and settings.storage_backend == "local"
        vault = crypto.Vault(crypto.derive(secret, "kek")) if sealing else None
        self.objects = SealedObjects(self.store, vault)
        self.sweeper = Sweeper(
            store=self.store,
            outbox=self.outbox,
            rules=retention.lifecycle_rules(
                settings.raw_days, settings.event_days, _prefix(settings)
            ),
            prefix=_prefix(settings),
        )
        self.privacy = Privacy(
            objects=self.objects,
            outbox=self.outbox,
            sweeper=self.sweeper,
            index_key=self.index_key,
            prefix=_prefix(settings),
        )
        self.worker = Worker(
            routes=settings.routes,
            objects=self.objects,
            outbox=self.outbox,
            sender=self.sender,
            clock=self.clock,
            options=WorkerOptions(
                concurrency=settings.delivery_concurrency,
                policy=schedule.Policy(
                    initial_seconds=settings.initial_backoff_seconds,
                    max_seconds=settings.max_backoff_seconds,
                    jitter_seconds=settings.jitter_seconds,
                    give_up_after=timedelta(days=settings.max_attempt_days),
                ),
                allow_private=settings.allow_private_webhooks,
                prefix=_prefix(settings),
                presign_seconds=settings.s3.presign_seconds if settings.s3 else 7 * 24 * 3600,
                index_key=self.index_key,
                deadlines_days=settings.deadlines_days,
                # A parse holds about twice its message: four of the largest at once.
                max_raw_bytes_in_flight=4 * settings.max_message_bytes,
            ),
            metrics=self.metrics,
            authenticator=Authenticator(settings.auth, hostname=settings.hostname),
        )
        self.smtp: SmtpServer | None = None
        self.tls_context = _tls(settings)
        self.admin: Any = None  # inbound.admin.server.AdminServer when [admin] listen is set
        self.admin_address: tuple[str, int] | None = None
        if smtp:
            handler = Handler(
                routes=settings.routes,
                domains=settings.domains,
                max_recipients=settings.max_recipients,
                accept=self._accept,
                limiter=RateLimiter(settings.max_messages_per_minute_per_ip, time.monotonic),
                hostname=settings.hostname,
                clock=self.clock,
                # Beside the local store's own temporary files (one file system: a rename).
                spool_dir=settings.data_dir / ".tmp",
                ipv6_prefix=settings.ipv6_prefix_length,
                metrics=self.metrics,
            )
            self.smtp = SmtpServer(
                handler,
                host=settings.listen_host,
                port=settings.listen_port,
                hostname=settings.hostname,
                max_message_bytes=settings.max_message_bytes,
                tls_context=self.tls_context,
                max_connections_per_ip=settings.max_connections_per_ip,
                max_connections=settings.max_connections,
                reuse_port=reuse_port,
                limits=EdgeLimits(
                    max_line_length=settings.max_line_length,
                    max_data_in_flight_bytes=settings.max_data_in_flight_bytes,
                    require_tls=settings.require_tls,
                    timeout_seconds=settings.timeout_seconds,
                    ipv6_prefix=settings.ipv6_prefix_length,
                ),
            )
        self._stop_worker = asyncio.Event()
        self._worker_task: asyncio.Task[None] | None = None
        self._sweeper_task: asyncio.Task[None] | None = None
        self._slot: claimant.Slot | None = None
        self.address: tuple[str, int] | None = None

    async def _accept(
        self, arrival: accept_mod.Arrival, envelope: Envelope, jobs: list[NewJob]
    ) -> accept_mod.Accepted:
        accepted = await accept_mod.accept(
            arrival,
            envelope,
            jobs,
            objects=self.objects,
            outbox=self.outbox,
            retention=accept_mod.Retention(
                raw_days=self.settings.raw_days, metadata_days=self.settings.metadata_days
            ),
            index_key=self.index_key,
            prefix=_prefix(self.settings),
        )
        self.worker.notify()
        if self.wake is not None:
            self.wake.notify()
        return accepted

    async def open_outbox(self) -> None:
        """Open (and migrate) the outbox and check it belongs to this install's secret."""
        await self.outbox.open()
        await self.outbox.check_install(self.fingerprint)

    async def start(self, *, worker: bool = True, sweep: bool = True) -> None:
        await self.open_outbox()
        s3 = self.settings.s3
        if self.settings.storage_backend == "s3" and s3 is not None and s3.apply_lifecycle:
            try:
                for line in await self.store.apply_lifecycle(self.sweeper.rules):
                    log.info("lifecycle: %s", line)
            except InboundError as exc:
                # Not fatal: mail is still refused with 451 while S3 is down, and the rules
                # are merged again at the next start or by `inbound storage apply-lifecycle`.
                log.error("lifecycle rules not applied (%s); continuing", type(exc).__name__)
        if self.smtp is not None:
            self.address = await self.smtp.start()
            log.info(
                "SMTP listening on %s:%d for %s", *self.address, ", ".join(self.settings.domains)
            )
        if self.settings.admin is not None:
            await self._start_admin()
        if worker:
            if self.wake is not None and self.wake.index is not None:
                try:
                    self.wake.listen(self.worker.notify)
                except OSError as exc:  # e.g. the address is taken: polling still delivers
                    log.warning("worker: no wake-ups (%s); polling the outbox", exc)
            self._slot = claimant.take(self.settings.data_dir, self.settings.outbox.node_id)
            self.worker.claimant = self._slot.claimant
            log.info("delivery worker %s started", self._slot.claimant.node)
            self._worker_task = asyncio.create_task(self.worker.run(self._stop_worker))
        if worker and sweep:
            self._sweeper_task = asyncio.create_task(
                self.sweeper.run(
                    self._stop_worker, self.clock, retention.SWEEP_INTERVAL.total_seconds()
                )
            )

    async def _start_admin(self) -> None:
        from inbound.admin import wiring  # aiohttp loads only when the listener is on

        self.admin = wiring.build(self, self._files_key)
        self.admin_address = await self.admin.start()
        self.worker.file_urls = wiring.file_signer(self, self._files_key, self.admin_address)

    def reload_tls(self) -> None:
        """SIGHUP: load the certificate files again into the live context (renewal)."""
        cert, key = self.settings.tls_cert, self.settings.tls_key
        if self.tls_context is None or cert is None or key is None:
            log.info("SIGHUP: no TLS certificate configured; nothing to reload")
            return
        try:
            self.tls_context.load_cert_chain(cert, key)
        except (OSError, ssl.SSLError) as exc:
            log.error("SIGHUP: TLS certificate not reloaded (%s); keeping the old one", exc)
            return
        log.info("SIGHUP: TLS certificate reloaded; new connections use it")

    async def stop(self) -> None:
        grace = self.settings.shutdown_grace_seconds
        if self.admin is not None:
            await self.admin.stop()
            self.admin = None
        if self.smtp is not None:
            await self.smtp.stop(grace)
        self._stop_worker.set()
        for task in (self._worker_task, self._sweeper_task):
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.worker.drain(grace)
        if self.wake is not None:
            self.wake.close()
        await self.worker.close()
        await self.sender.close()
        await self.outbox.close()
        await self.store.close()
        if self._slot is not None:
            self._slot.release()


def _tls(settings: Settings) -> ssl.SSLContext | None:
    if settings.tls_cert is None or settings.tls_key is None:
        return None
    return tls.server_context(settings.tls_cert, settings.tls_key)


async def serve(
    settings: Settings,
    *,
    smtp: bool = True,
    worker: bool = True,
    sweep: bool = True,
    reuse_port: bool = False,
    wake: Wake | None = None,
    on_ready: Callable[[Service], None] | None = None,
) -> int:
    """Run until SIGTERM/SIGINT; return the exit status.

    One process's share of the service: SMTP and/or delivery (``inbound.supervisor``
    runs several of these as children of one ``inbound serve``).
    """
    service = Service(settings, smtp=smtp, reuse_port=reuse_port, wake=wake)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGHUP, service.reload_tls)
    try:
        await service.start(worker=worker, sweep=sweep)
        if on_ready is not None:
            on_ready(service)
        await stop.wait()
        log.info("stopping: no new connections; finishing DATA and deliveries in flight")
    finally:
        await service.stop()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(sig)
    log.info("stopped")
    return 0
