"""Crash-safety battery, the slow kinds of trouble (issue 16): a day without a webhook,
storage and outbox failing in turn, and a full disk.

* The webhook is down for a simulated day (injected clock): every attempt falls where
  the schedule put it, nothing fails, and once it is up every job is delivered within
  one capped backoff, each under the webhook-id it had from the start.
* Storage, then the outbox, then both fail while mail arrives: every reply is 250 or
  451 (never a 5xx); the sender retries what got 451; in the end every message is
  delivered exactly once and no raw object is left without its row.
* The data dir fills up (a small tmpfs when the machine allows, as root; else a store
  that answers ENOSPC): replies are 250 until it is full, then 451/452 only; the
  outbox passes SQLite's integrity check; once space is freed mail flows again and
  every 250 is delivered.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from inbound.clock import FakeClock
from inbound.errors import OutboxError, StorageError
from inbound.outbox.model import JobStatus
from tests.support.service import START, Running, message, settings_for, webhook_route
from tests.support.webhook import Receiver

pytestmark = pytest.mark.chaos


def _mail(tag: str, size: int = 0) -> EmailMessage:
    m = message(subject=f"battery {tag}", body="Where is my order?\n" + "x" * size + "\n")
    del m["Message-ID"]
    m["Message-ID"] = f"<{tag}@sender.test>"
    return m


def _message_ids(receiver: Receiver) -> list[str]:
    """The tags of what reached the webhook (Message-ID ``<tag@sender.test>``), verified."""
    return [str(e["data"]["message_id"]).strip("<>").split("@")[0] for e in receiver.events()]


def _send(running: Running, mail: EmailMessage) -> int:
    """The reply code to one transaction, as a sending MTA sees it."""
    import smtplib

    try:
        with running.smtp() as s:
            s.sendmail("alice@sender.test", ["support@example.test"], mail.as_bytes())
    except smtplib.SMTPResponseException as exc:
        return exc.smtp_code
    return 250


def _drain(running: Running, clock: FakeClock, until: Any, limit: int = 2000) -> int:
    """Run every attempt at the time the outbox says it is due, up to ``until``."""
    rounds = 0
    while rounds < limit:
        due = running.call(running.service.outbox.next_due())
        if due is None or due > until:
            return rounds
        clock.set(max(due, clock.now()))
        running.deliver()
        rounds += 1
    raise AssertionError("the outbox never ran dry")


def test_webhook_down_for_a_day_then_up_delivers_all_on_schedule(
    tmp_path: Path, receiver: Receiver, clock: FakeClock
) -> None:
    running = Running(settings_for(tmp_path, routes=[webhook_route(receiver.url)]), clock=clock)
    policy = running.service.worker.options.policy
    tags = [f"day-{n}" for n in range(4)]
    try:
        for tag in tags:
            assert _send(running, _mail(tag)) == 250
        receiver.respond(*[503] * 100_000)  # down: every POST fails, no Retry-After
        up_at = START + timedelta(days=1)
        _drain(running, clock, up_at)
        down_posts = len(receiver.deliveries)
        jobs = running.call(running.service.outbox.jobs())
        assert {j.status for j in jobs} == {JobStatus.PENDING}  # a day is not three
        receiver.script.clear()  # up again
        clock.set(up_at)
        _drain(running, clock, up_at + timedelta(days=1))
        jobs = running.call(running.service.outbox.jobs())
        attempts = {j.id: running.call(running.service.outbox.attempts(j.id)) for j in jobs}
    finally:
        running.stop()
    assert {j.status for j in jobs} == {JobStatus.DELIVERED}
    assert sorted(set(_message_ids(receiver))) == sorted(tags)
    for job in jobs:
        tried = attempts[job.id]
        assert [a.outcome for a in tried[:-1]] == ["retry"] * (len(tried) - 1)
        assert tried[-1].outcome == "delivered"
        # Each wait is the schedule's: min(initial * 2^(n-1), cap) plus up to the jitter.
        for n, (before, after) in enumerate(itertools.pairwise(tried), start=1):
            gap = (after.at - before.at).total_seconds()
            base = min(policy.initial_seconds * 2 ** (n - 1), policy.max_seconds)
            top = min(base + policy.jitter_seconds, policy.max_seconds)
            assert base - 1e-3 <= gap <= top + 1e-3, (job.id, n, gap)
        # Delivered at the first attempt after the webhook came back.
        assert tried[-2].at < up_at <= tried[-1].at <= up_at + timedelta(seconds=policy.max_seconds)
        assert len(tried) >= 25  # ~6 doubling waits, then hourly for the rest of the day
    # Every POST of one job carried its webhook-id: the receiver can deduplicate.
    posts: dict[str, int] = {}
    for d in receiver.deliveries:
        posts[d.headers["webhook-id"]] = posts.get(d.headers["webhook-id"], 0) + 1
    assert posts == {j.id: len(attempts[j.id]) for j in jobs}
    assert down_posts == sum(posts.values()) - len(jobs)


class _Faulty:
    """A real adapter whose named methods fail while ``failing`` is set (fault injection)."""

    def __init__(self, real: Any, methods: set[str], error: type[Exception]) -> None:
        self._real = real
        self._methods = methods
        self._error = error
        self.failing = False

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._real, name)
        if name not in self._methods:
            return attr

        async def call(*args: Any, **kwargs: Any) -> Any:
            if self.failing:
                raise self._error(f"injected: {name} failed")
            return await attr(*args, **kwargs)

        return call


def test_storage_and_outbox_failing_in_turn_answer_451_and_lose_nothing(
    tmp_path: Path, receiver: Receiver, clock: FakeClock
) -> None:
    running = Running(settings_for(tmp_path, routes=[webhook_route(receiver.url)]), clock=clock)
    service = running.service
    store = _Faulty(service.objects.store, {"put", "put_file", "get"}, StorageError)
    outbox = _Faulty(service.outbox, {"enqueue"}, OutboxError)
    service.objects.store = store  # fault injection
    service.outbox = outbox  # fault injection: accept reads it per message
    phases = [
        ("ok", ()),
        ("storage", (store,)),
        ("ok", ()),
        ("outbox", (outbox,)),
        ("ok", ()),
        ("both", (store, outbox)),
        ("ok", ()),
    ]
    replies: dict[str, list[int]] = {}
    waiting: list[str] = []  # what got 451: the sending MTA tries again
    accepted: list[str] = []
    try:
        for n, (name, broken) in enumerate(phases):
            for part in broken:
                part.failing = True
            tags = [*waiting, *(f"{name}-{n}-{i}" for i in range(3))]
            waiting = []
            for tag in tags:
                code = _send(running, _mail(tag))
                replies.setdefault(name, []).append(code)
                (accepted if code == 250 else waiting).append(tag)
            # Delivery meets the same trouble: retried, never failed.
            clock.advance(2 * 3600)
            running.deliver()
            for part in broken:
                part.failing = False
        assert waiting == []
        _drain(running, clock, clock.now() + timedelta(days=1))
        jobs = running.call(service.worker.outbox.jobs(limit=1000))
        rows = running.call(service.worker.outbox.messages())
        raw = running.call(store.list("raw/"))
    finally:
        running.stop()
    for name, codes in replies.items():
        assert set(codes) == ({250} if name == "ok" else {451}), (name, codes)
    assert sorted(_message_ids(receiver)) == sorted(accepted)  # each exactly once
    assert {j.status for j in jobs} == {JobStatus.DELIVERED}
    assert len(rows) == len(accepted) == len(raw)  # no object without its row


@contextlib.contextmanager
def _small_disk(path: Path, size: str) -> Iterator[bool]:
    """A tmpfs of ``size`` at ``path`` when mounting is allowed (root); False if not."""
    path.mkdir(mode=0o700)
    mounted = False
    if shutil.which("mount") is not None:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)],
            capture_output=True,
            check=False,
        )
        mounted = done.returncode == 0
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(path)], check=False)


def _grow(path: Path, size: str) -> None:
    """The operator adds space: the same tmpfs, remounted bigger."""
    subprocess.run(["mount", "-o", f"remount,size={size}", str(path)], check=True)


class _FullDisk:
    """Fallback where no tmpfs can be mounted: writes fail with ENOSPC while ``full``."""

    def __init__(self, real: Any) -> None:
        self._real = real
        self.full = False

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._real, name)
        if name not in {"put", "put_file"}:
            return attr

        async def call(*args: Any, **kwargs: Any) -> Any:
            if self.full:
                raise StorageError(f"local put failed: {errno.errorcode[errno.ENOSPC]}")
            return await attr(*args, **kwargs)

        return call


def test_a_full_disk_answers_451_or_452_and_corrupts_nothing(
    tmp_path: Path, receiver: Receiver, clock: FakeClock
) -> None:
    data = tmp_path / "data"
    with _small_disk(data, "2m") as mounted:
        running = Running(settings_for(data, routes=[webhook_route(receiver.url)]), clock=clock)
        fallback = None
        if not mounted:
            fallback = _FullDisk(running.service.objects.store)
            running.service.objects.store = fallback
        accepted: list[str] = []
        codes: list[int] = []
        try:
            for n in range(60):  # 60 x 100 KB is well over 2 MB
                if fallback is not None and n == 10:
                    fallback.full = True
                tag = f"full-{n}"
                codes.append(_send(running, _mail(tag, size=100_000)))
                if codes[-1] == 250:
                    accepted.append(tag)
                if sum(c != 250 for c in codes) >= 5:
                    break  # five answers from a full disk: enough
            if mounted:
                _grow(data, "64m")
            if fallback is not None:
                fallback.full = False
            after = _send(running, _mail("after", size=1000))
            if after == 250:
                accepted.append("after")
            _drain(running, clock, clock.now() + timedelta(days=1))
            jobs = running.call(running.service.outbox.jobs(limit=1000))
        finally:
            running.stop()
        conn = sqlite3.connect(data / "outbox.sqlite3")
        try:
            check = conn.execute("PRAGMA integrity_check").fetchone()[0]
            rows = conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
        finally:
            conn.close()
    assert codes[0] == 250 and len(accepted) >= 3, codes  # it took mail until full
    assert sum(c != 250 for c in codes) == 5, codes  # then the disk was full...
    assert set(codes) <= {250, 451, 452}, codes  # ...and said "try again later", no 5xx
    assert check == "ok"
    assert after == 250
    assert sorted(_message_ids(receiver)) == sorted(accepted)
    assert rows == len(accepted)  # a refused message left no row
    assert {j.status for j in jobs} == {JobStatus.DELIVERED}
