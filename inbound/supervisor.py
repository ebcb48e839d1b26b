"""Several processes for one ``inbound serve``: SMTP acceptors share the port, workers deliver.

A role (DESIGN §9, §10) is which children a node runs: ``smtp`` runs acceptors (SMTP
sessions; a message's raw bytes and outbox rows made durable, then ``250``), ``worker``
runs delivery workers (claim, parse, classify, sign, POST), ``all`` (the default) runs
both. ``processes`` (``--processes N``, ``server.processes``, ``INBOUND_PROCESSES``;
default one per core) is how many children of each role; ``1`` runs the role in this very
process, exactly as release 1 did (no supervisor, no children).

All children share the one outbox. With SQLite (WAL) each process group-commits its own
writes and waits for the others' write lock (busy timeout); claims take a lease, so two
workers never send one job at once. Acceptors listen on the one port with SO_REUSEPORT
(the kernel spreads connections over them); for port 0 the supervisor binds a
placeholder first to learn the number, and holds it while it runs, so a restarted
acceptor gets the same port back. After an accept, an acceptor nudges the workers
(``inbound.wake``) so delivery starts without waiting for a poll.

Before any child starts, the supervisor makes what the children would otherwise race
to create (the install secret, the outbox schema), compiles the classifier's lexicons
once (forked children share them), and sets ``PROMETHEUS_MULTIPROC_DIR`` to a fresh
directory under the data dir (``<data_dir>/run/metrics-<pid>``) unless it is set
already: prometheus-client's multiprocess mode, where each child writes its own
sample files there and the metrics endpoint reads them all.

A child that dies is started again (after a short backoff that grows if it keeps dying); a
restarted worker takes back the claims its dead predecessor left at once (its lock-file
slot, and so its node id, is free again: inbound/claimant.py).
SIGTERM or SIGINT is passed to every child: acceptors stop listening, let DATA in progress
finish and close sessions with 421; workers stop claiming and let deliveries in flight
finish. A child still running after the grace period (``server.shutdown_grace_seconds``
plus a margin) is killed. Exit status 0 when every child stopped cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import multiprocessing
import multiprocessing.connection
import os
import shutil
import signal
import socket
import sys
import time
from collections.abc import MutableMapping
from dataclasses import dataclass, replace
from enum import StrEnum
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import FrameType

from inbound.config import Settings

log = logging.getLogger("inbound.supervisor")

# A child that lived shorter than this counts as "keeps dying": its restart waits longer.
_STABLE_SECONDS = 10.0
_BACKOFF_FIRST, _BACKOFF_MAX = 0.5, 30.0
# Beyond the children's own grace period, before the supervisor kills them.
_STOP_MARGIN_SECONDS = 10.0
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


class Role(StrEnum):
    SMTP = "smtp"
    WORKER = "worker"
    ALL = "all"


@dataclass(frozen=True, slots=True)
class Child:
    """One child's job: its role (smtp or worker) and its index within that role."""

    role: Role
    index: int

    @property
    def name(self) -> str:
        return f"{self.role.value}-{self.index}"


def processes_for(settings: Settings) -> int:
    """Processes per role: the configured number, else one per core this process may use."""
    if settings.processes is not None:
        return settings.processes
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def children(role: Role, processes: int) -> list[Child]:
    """The children a node of ``role`` runs: ``processes`` acceptors and/or workers."""
    out: list[Child] = []
    if role in (Role.SMTP, Role.ALL):
        out += [Child(Role.SMTP, i) for i in range(processes)]
    if role in (Role.WORKER, Role.ALL):
        out += [Child(Role.WORKER, i) for i in range(processes)]
    return out


def run(settings: Settings, role: Role, environ: MutableMapping[str, str]) -> int:
    """``inbound serve`` (and ``inbound worker``): one process, or a supervisor of several.

    ``environ`` is the process environment (handed in by the CLI): the supervisor sets
    ``PROMETHEUS_MULTIPROC_DIR`` in it for the children.
    """
    from inbound import app

    processes = processes_for(settings)
    if processes == 1:
        warm_up()
        return asyncio.run(
            app.serve(settings, smtp=role is not Role.WORKER, worker=role is not Role.SMTP)
        )
    return Supervisor(settings, children(role, processes), environ).run()


def warm_up() -> None:
    """Compile the classifier's lexicons and language models now, once, before serving,
    and load the public suffix list the DMARC check reads.

    Done before the first message (and, under the supervisor, before the workers fork,
    so they share the compiled tables) instead of by concurrent parse threads.
    """
    from inbound.auth import dmarc
    from parsers.classify import warm_up as build_tables

    build_tables()
    dmarc.warm_up()


def prepare(settings: Settings) -> None:
    """Create, in one process, what children would race to create: secret and schema."""
    from inbound import app

    secret = app.install_secret(settings)

    async def schema() -> None:
        outbox = app.open_outbox(settings)
        try:
            await outbox.open()
            # Another install's outbox stops the supervisor here, before any child.
            await outbox.check_install(app.install_fingerprint(secret))
        finally:
            await outbox.close()

    asyncio.run(schema())


def metrics_dir(settings: Settings, environ: MutableMapping[str, str]) -> Path:
    """A fresh directory for prometheus-client's multiprocess files, set in ``environ``."""
    configured = environ.get("PROMETHEUS_MULTIPROC_DIR")
    if configured:
        return Path(configured)
    path = settings.data_dir / "run" / f"metrics-{os.getpid()}"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True, mode=0o700)
    environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    return path


class _Placeholder:
    """For port 0: a bound (not listening) SO_REUSEPORT socket that fixes the port number."""

    def __init__(self, host: str, port: int) -> None:
        self.sock: socket.socket | None = None
        self.port = port
        if port != 0:
            return
        infos = socket.getaddrinfo(host, 0, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _name, address = infos[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
        self.sock = sock
        self.port = sock.getsockname()[1]

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()


class Supervisor:
    """Start the children, keep them running, stop them all on SIGTERM/SIGINT."""

    def __init__(
        self, settings: Settings, plan: list[Child], environ: MutableMapping[str, str]
    ) -> None:
        self.settings = settings
        self.environ = environ
        self.plan = plan
        self.running: dict[Child, BaseProcess] = {}
        self._started_at: dict[Child, float] = {}
        self._backoff: dict[Child, float] = {}
        self._restart_at: dict[Child, float] = {}
        self._stopping = False
        self._pid = os.getpid()
        # fork: children start at once and share the parent's imported, warmed-up modules.
        self._context = multiprocessing.get_context("fork")

    def run(self) -> int:
        prepare(self.settings)
        metrics = metrics_dir(self.settings, self.environ)
        placeholder = _Placeholder(self.settings.listen_host, self.settings.listen_port)
        self.settings = replace(
            self.settings, listen_port=placeholder.port, metrics_multiprocess_dir=str(metrics)
        )
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        # SIGHUP (systemctl reload) reloads TLS certificates: passed on, nothing stops.
        previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, self._on_hup)
        try:
            acceptors = [c for c in self.plan if c.role is Role.SMTP]
            workers = [c for c in self.plan if c.role is Role.WORKER]
            # Before any child: the children share the compiled tables, and the supervisor
            # is idle (free to pass signals on at once) once they run. lingua builds its
            # models in native code, during which no Python signal handler can run.
            if workers:
                warm_up()
            for child in self.plan:
                if not self.stopping():
                    self._start(child)
            log.info(
                "inbound serve: %d SMTP acceptor(s) on %s:%d, %d delivery worker(s);"
                " metrics dir %s",
                len(acceptors),
                self.settings.listen_host,
                self.settings.listen_port,
                len(workers),
                metrics,
            )
            self._watch()
            return self._stop()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            placeholder.close()

    def stopping(self) -> bool:
        """A stop signal came (set by the signal handler, between any two statements)."""
        return self._stopping

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if os.getpid() != self._pid:
            # A child just forked, before it put its own handlers in: die of the signal.
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        # Passed on at once (the supervisor may be busy compiling lexicons): acceptors
        # stop listening now, not when the watch loop next looks.
        self._stopping = True
        self._signal_children()

    def _on_hup(self, signum: int, frame: FrameType | None) -> None:
        if os.getpid() != self._pid:
            return  # a child just forked: its own loop reloads on the next SIGHUP
        for process in self.running.values():
            if process.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGHUP)

    def _signal_children(self) -> None:
        for process in self.running.values():
            if process.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGTERM)

    def _start(self, child: Child) -> None:
        process = self._context.Process(
            target=_child_main,
            args=(self.settings, child, self._workers(), self._pid),
            name=f"inbound-{child.name}",
            daemon=False,
        )
        process.start()
        self.running[child] = process
        self._started_at[child] = time.monotonic()
        log.info("started %s (pid %s)", child.name, process.pid)

    def _workers(self) -> int:
        return sum(1 for c in self.plan if c.role is Role.WORKER)

    def _watch(self) -> None:
        """Until a stop signal: wait for a child to exit; start it again after a backoff."""
        while not self._stopping:
            now = time.monotonic()
            for child, at in list(self._restart_at.items()):
                if at <= now and not self.stopping():
                    del self._restart_at[child]
                    self._start(child)
            sentinels = [p.sentinel for p in self.running.values()]
            multiprocessing.connection.wait(sentinels, timeout=0.2)
            for child, process in list(self.running.items()):
                if process.is_alive():
                    continue
                process.join()
                del self.running[child]
                if self.stopping():
                    break
                self._schedule_restart(child, process.exitcode)

    def _schedule_restart(self, child: Child, exitcode: int | None) -> None:
        lived = time.monotonic() - self._started_at.get(child, 0.0)
        if lived >= _STABLE_SECONDS:
            delay = _BACKOFF_FIRST
        else:
            delay = min(self._backoff.get(child, _BACKOFF_FIRST / 2) * 2, _BACKOFF_MAX)
        self._backoff[child] = delay
        self._restart_at[child] = time.monotonic() + delay
        log.error("%s exited (status %s); starting it again in %.1f s", child.name, exitcode, delay)

    def _stop(self) -> int:
        log.info("stopping: no new connections; finishing DATA and deliveries in flight")
        self._signal_children()
        deadline = time.monotonic() + self.settings.shutdown_grace_seconds + _STOP_MARGIN_SECONDS
        status = 0
        for child, process in self.running.items():
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                log.error("%s did not stop in time; killing it", child.name)
                process.kill()
                process.join()
                status = 1
            elif process.exitcode not in (0, -signal.SIGTERM, -signal.SIGINT):
                # (A child killed by the same SIGINT/SIGTERM from the terminal is fine.)
                status = 1
        log.info("stopped")
        return status


def _die_with(parent: int) -> None:
    """Stop (SIGTERM: in-flight DATA and deliveries finish) when the supervisor dies.

    A supervisor killed with SIGKILL cannot stop its children; without this they would
    live on under PID 1, keep the port, and make the next ``inbound serve`` fail with
    "address in use". Linux's ``PR_SET_PDEATHSIG`` asks the kernel to signal us; the
    parent check after it closes the window in which the parent died before the call.
    """
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGTERM)


def _child_main(settings: Settings, child: Child, workers: int, supervisor: int) -> None:
    """A child's body: one role of the service on its own event loop."""
    from inbound import app
    from inbound.wake import Wake

    # The supervisor's handlers (a flag in the parent) must not linger here: the event
    # loop of app.serve installs the child's own.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_DFL)
    _die_with(supervisor)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # until app.serve's loop takes it
    index = child.index if child.role is Role.WORKER else None
    code = asyncio.run(
        app.serve(
            settings,
            smtp=child.role is Role.SMTP,
            worker=child.role is Role.WORKER,
            sweep=child.role is Role.WORKER and child.index == 0,
            reuse_port=True,
            wake=Wake(settings.outbox_file, workers, index=index),
        )
    )
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
