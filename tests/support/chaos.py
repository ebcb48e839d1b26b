"""Crash-safety runs: mail sent while `inbound serve` is SIGKILLed at random and restarted.

Shared by the suite's ``chaos`` test (a few hundred messages) and ``bench/chaos.py``
(thousands). The service runs as the operator starts it (``inbound serve --data-dir
--domain --webhook --secret``) in a session of its own, so a kill takes its whole process
group (a supervisor and every child), and, where the service has children, sometimes
just one child. Senders behave like MTAs: a 4xx or a dropped connection means "try
again", until a 250. The receiver verifies every POST with ``standardwebhooks``.

The report says what the promise needs: every Message-ID that got a 250 reached the
webhook (``lost`` must be 0); a POST repeated for one job shares its webhook-id
(``duplicated``: a kill between the POST and its record); a Message-ID delivered under
two webhook-ids was accepted twice because its first 250 was lost to a kill
(``resent``), which only a sender retry can explain.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import smtplib
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path

from inbound import retention
from inbound.outbox.sqlite import SqliteOutbox
from inbound.storage import keys
from inbound.storage.local import LocalStore
from inbound.sweeper import ORPHAN_GRACE, Sweeper
from tests.support.net import free_port
from tests.support.webhook import SECRET, Receiver

DOMAIN = "example.test"


class ServeProcess:
    """`inbound serve` in its own session: killed as a group, restarted on the same port."""

    def __init__(self, data_dir: Path, webhook_url: str, log_path: Path) -> None:
        self.data_dir = data_dir
        self.webhook_url = webhook_url
        self.log_path = log_path
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.start_seconds: list[float] = []

    def start(self, timeout: float = 60.0) -> None:
        cmd = [
            sys.executable,
            "-m",
            "inbound",
            "serve",
            "--listen",
            f"127.0.0.1:{self.port}",
            "--data-dir",
            str(self.data_dir),
            "--domain",
            DOMAIN,
            "--webhook",
            self.webhook_url,
            "--secret",
            SECRET,
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith("INBOUND_")}
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                cmd,
                cwd=self.data_dir.parent,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # its own process group: killpg takes every child
            )
        self.starts += 1
        began = time.monotonic()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"inbound serve exited: {self.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    self.start_seconds.append(time.monotonic() - began)
                    return
            except OSError:
                time.sleep(0.2)  # an MTA waits longer; this keeps the run short
        raise AssertionError(f"inbound serve did not listen: {self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def children(self) -> list[int]:
        """The service's child processes (a supervisor's workers), where it has any."""
        if self.proc is None:
            return []
        found: list[int] = []
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{self.proc.pid}/task").iterdir():
                found.extend(int(p) for p in (task / "children").read_text().split())
        return found

    def kill_group(self) -> None:
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        # Children are reaped by init: wait until none holds the port any more.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.02)

    def kill_child(self, rng: random.Random) -> bool:
        kids = self.children()
        if not kids:
            return False
        with contextlib.suppress(ProcessLookupError):
            os.kill(rng.choice(kids), signal.SIGKILL)
        return True

    def stop(self) -> int | None:
        """SIGTERM (a graceful stop); SIGKILL for the group if it does not exit in time."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.kill_group()
            return None
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)  # a child left behind, if any


@dataclass
class Report:
    sent: int = 0  # distinct messages the senders set out to deliver
    attempts: int = 0  # SMTP transactions tried (a retry is another one)
    accepted: int = 0  # distinct Message-IDs that got a 250
    delivered: int = 0  # distinct Message-IDs that reached the webhook, signature verified
    lost: int = 0  # accepted, never delivered: must be 0
    duplicated: int = 0  # POSTs beyond the first of one webhook-id (kill between POST and record)
    resent: int = 0  # Message-IDs delivered under two webhook-ids: their first 250 was lost
    unexplained_resends: int = 0  # ... without a dropped transaction to explain it: must be 0
    temporary_replies: int = 0  # 4xx answers (the sender tried again)
    permanent_replies: int = 0  # 5xx answers to mail we could have taken: must be 0
    dropped: int = 0  # connections lost or refused mid-transaction (kills, restarts)
    unverified: int = 0  # complete POSTs whose signature did not verify: must be 0
    incomplete: int = 0  # POSTs cut off by a kill (body shorter than its content-length)
    seed: int = 0
    kills: int = 0
    group_kills: int = 0
    child_kills: int = 0
    starts: int = 0
    start_seconds: float = 0.0  # median time from exec to listening
    runtime_seconds: float = 0.0
    integrity: str = ""
    orphans: int = 0  # raw objects with no outbox row after the run (kill between put and commit)
    temporary: int = 0  # temporary files of killed writers after the run
    left_after_sweep: int = 0  # either, after one sweep an hour on: must be 0
    rows_without_raw: int = 0  # rows whose raw object is gone after the sweep: must be 0
    lost_ids: list[str] = field(default_factory=list)
    not_accepted: list[str] = field(default_factory=list)
    messages_rows: int = 0  # message rows in the outbox after the run
    job_states: dict[str, int] = field(default_factory=dict)  # jobs by status after the run
    attempt_outcomes: dict[str, int] = field(default_factory=dict)  # recorded attempts by outcome
    undelivered_jobs: list[str] = field(default_factory=list)  # what the outbox says of each

    def lines(self) -> list[str]:
        return [
            f"sent {self.sent}  accepted {self.accepted}  delivered {self.delivered}"
            f"  lost {self.lost}  duplicated {self.duplicated}  resent {self.resent}",
            f"attempts {self.attempts}  4xx {self.temporary_replies}"
            f"  5xx {self.permanent_replies}  dropped {self.dropped}"
            f"  unverified {self.unverified}  cut off {self.incomplete}",
            f"seed {self.seed}  kills {self.kills} (group {self.group_kills},"
            f" child {self.child_kills})"
            f"  starts {self.starts} (median {self.start_seconds:.1f} s to listen)"
            f"  runtime {self.runtime_seconds:.1f} s"
            f"  outbox integrity_check {self.integrity}",
            f"left by kills: {self.orphans} raw objects without a row,"
            f" {self.temporary} temporary files; after a sweep: {self.left_after_sweep}"
            f" (rows without raw: {self.rows_without_raw})",
            f"outbox: {self.messages_rows} messages, jobs {self.job_states},"
            f" attempts {self.attempt_outcomes}",
            *(f"  not delivered: {line}" for line in self.undelivered_jobs),
        ]


def chaos_message(run: str, n: int, size: int = 600) -> tuple[str, bytes]:
    message_id = f"chaos-{run}-{n}@sender.test"
    m = EmailMessage(policy=policy.SMTP)
    m["From"] = "Alice <alice@sender.test>"
    m["To"] = f"support@{DOMAIN}"
    m["Subject"] = f"chaos {n}"
    m["Message-ID"] = f"<{message_id}>"
    m.set_content(("Where is my order? " * (size // 20 + 1))[:size] + "\n")
    return message_id, m.as_bytes()


class _Senders:
    def __init__(self, port: int, messages: list[tuple[str, bytes]], deadline: float) -> None:
        self.port = port
        self.todo = list(reversed(messages))
        self.all_ids = [m for m, _ in messages]
        self.deadline = deadline
        self.lock = threading.Lock()
        self.accepted: set[str] = set()
        self.dropped_for: dict[str, int] = defaultdict(int)
        self.report = Report(sent=len(messages))

    def _next(self) -> tuple[str, bytes] | None:
        with self.lock:
            return self.todo.pop() if self.todo else None

    def run(self) -> None:
        while (item := self._next()) is not None:
            message_id, raw = item
            while time.monotonic() < self.deadline:
                verdict = self._send_once(raw)
                with self.lock:
                    self.report.attempts += 1
                    if verdict == "250":
                        self.accepted.add(message_id)
                        break
                    if verdict == "4xx":
                        self.report.temporary_replies += 1
                    elif verdict == "5xx":
                        self.report.permanent_replies += 1
                        break
                    else:
                        self.report.dropped += 1
                        self.dropped_for[message_id] += 1
                time.sleep(0.2)  # an MTA waits longer; this keeps the run short

    def _send_once(self, raw: bytes) -> str:
        try:
            with smtplib.SMTP(
                "127.0.0.1", self.port, local_hostname="client.test", timeout=20
            ) as s:
                s.sendmail("alice@sender.test", [f"support@{DOMAIN}"], raw)
            return "250"
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            return "5xx" if any(c >= 500 for c in codes) else "4xx"
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code == 421:
                return "4xx"
            return "5xx" if exc.smtp_code >= 500 else "4xx"
        except (OSError, smtplib.SMTPException):
            return "dropped"  # refused, reset, or closed mid-transaction: a kill


def outbox_state(outbox: Path, report: Report) -> None:
    """What the outbox says after the run: jobs by status, and each job not delivered.

    A Message-ID the receiver never saw is either late (its job still pending or claimed:
    the settle bound was too short) or lost (no row, or a row marked delivered whose POST
    never arrived); this tells the two apart in the report.
    """
    conn = sqlite3.connect(outbox)
    try:
        now = time.time()
        report.messages_rows = conn.execute("SELECT count(*) FROM messages").fetchone()[0]
        report.job_states = dict(
            conn.execute("SELECT status, count(*) FROM jobs GROUP BY status").fetchall()
        )
        report.attempt_outcomes = dict(
            conn.execute("SELECT outcome, count(*) FROM attempts GROUP BY outcome").fetchall()
        )
        for job_id, status, attempts, due, lease, by in conn.execute(
            "SELECT id, status, attempts, next_attempt_at, lease_until, claimed_by"
            " FROM jobs WHERE status != 'delivered'"
        ):
            last = conn.execute(
                "SELECT outcome, status_code, detail FROM attempts WHERE job_id = ?"
                " ORDER BY n DESC LIMIT 1",
                (job_id,),
            ).fetchone()
            lease_in = f"{lease - now:+.1f}s" if lease is not None else "none"
            report.undelivered_jobs.append(
                f"{job_id} {status} attempts={attempts} due in {due - now:+.1f}s"
                f" lease {lease_in} by {by} last={last}"
            )
    finally:
        conn.close()


def integrity(outbox: Path) -> str:
    conn = sqlite3.connect(outbox)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def run(
    work: Path,
    *,
    messages: int,
    threads: int = 4,
    kills: int = 8,
    kill_jitter: float = 0.5,
    child_share: float = 0.3,
    send_seconds: float = 120.0,
    settle_seconds: float = 60.0,
    seed: int | None = None,
) -> Report:
    """Send ``messages`` while killing the service ``kills`` times; wait; the report.

    Each kill falls at a random point of the stream (once a random number of messages
    got their 250, plus up to ``kill_jitter`` seconds), so it may hit a DATA in flight,
    a commit, a claim, a parse or a POST; ``child_share`` of them take one child only,
    where the service has children. One more kill follows the last 250.
    """
    if seed is None:
        seed = random.SystemRandom().randrange(1 << 32)
    rng = random.Random(seed)  # the report names the seed: a failing run can be replayed
    started = time.monotonic()
    receiver = Receiver()
    data_dir = work / "data"
    serve = ServeProcess(data_dir, receiver.url, work / "serve.log")
    run_id = f"{rng.getrandbits(32):08x}"
    batch = [chaos_message(run_id, n) for n in range(messages)]
    senders = _Senders(serve.port, batch, time.monotonic() + send_seconds)
    report = senders.report
    report.seed = seed
    try:
        serve.start()
        pool = [threading.Thread(target=senders.run, daemon=True) for _ in range(threads)]
        for t in pool:
            t.start()
        # Kills at random points of the stream (after the n-th 250, then a random
        # delay), not on a timer: a faster or slower machine gets the same number.
        for point in sorted(rng.sample(range(1, messages), min(kills, messages - 1))):
            while len(senders.accepted) < point and any(t.is_alive() for t in pool):
                time.sleep(0.01)
            time.sleep(rng.uniform(0, kill_jitter))
            if rng.random() < child_share and serve.kill_child(rng):
                report.child_kills += 1
            else:
                serve.kill_group()
                report.group_kills += 1
                serve.start()
            report.kills += 1
        for t in pool:
            t.join()
        # One more kill once every message is in, then a last start: what was claimed
        # or half-sent by the killed process must come back without waiting it out.
        serve.kill_group()
        report.group_kills += 1
        report.kills += 1
        serve.start()
        _settle(receiver, senders.accepted, time.monotonic() + settle_seconds)
        serve.stop()
    finally:
        serve.stop()
        receiver.close()
    report.starts = serve.starts
    report.start_seconds = statistics.median(serve.start_seconds or [0.0])
    _tally(report, receiver, senders)
    report.integrity = integrity(data_dir / "outbox.sqlite3")
    outbox_state(data_dir / "outbox.sqlite3", report)
    asyncio.run(_sweep_leftovers(data_dir, report))
    report.runtime_seconds = time.monotonic() - started
    return report


async def _leftovers(store: LocalStore, outbox: SqliteOutbox) -> tuple[set[str], int, int]:
    rows = await outbox.messages()
    raw = {o.key for o in await store.list(keys.RAW)}
    owned = {m.raw_key for m in rows}
    temporary = store.root / ".tmp"
    temp = len(list(temporary.iterdir())) if temporary.is_dir() else 0
    return raw - owned, temp, len(owned - raw)


async def _sweep_leftovers(data_dir: Path, report: Report) -> None:
    """Count what the kills left, sweep once as an hour later, count again."""
    store = LocalStore(data_dir)
    outbox = SqliteOutbox(data_dir / "outbox.sqlite3")
    sweeper = Sweeper(store=store, outbox=outbox, rules=retention.lifecycle_rules(7, 30), prefix="")
    try:
        orphans, report.temporary, _ = await _leftovers(store, outbox)
        report.orphans = len(orphans)
        await sweeper.run_once(datetime.now(UTC) + ORPHAN_GRACE + timedelta(minutes=1))
        orphans, temp, report.rows_without_raw = await _leftovers(store, outbox)
        report.left_after_sweep = len(orphans) + temp
    finally:
        await outbox.close()
        await store.close()


def _delivered_ids(receiver: Receiver) -> set[str]:
    with receiver._lock:
        deliveries = list(receiver.deliveries)
    return {
        str(d.event["data"]["message_id"]).strip("<>") for d in deliveries if d.event is not None
    }


def _settle(receiver: Receiver, accepted: set[str], deadline: float) -> None:
    while time.monotonic() < deadline and not accepted <= _delivered_ids(receiver):
        time.sleep(0.2)


def _tally(report: Report, receiver: Receiver, senders: _Senders) -> None:
    by_webhook_id: dict[str, list[str]] = defaultdict(list)
    for d in receiver.deliveries:
        if d.event is None:
            if len(d.body) < int(d.headers.get("content-length", "0")):
                report.incomplete += 1  # the sender died mid-POST: nothing to verify
            else:
                report.unverified += 1
            continue
        message_id = str(d.event["data"]["message_id"]).strip("<>")
        by_webhook_id[d.headers["webhook-id"]].append(message_id)
    webhook_ids_of: dict[str, set[str]] = defaultdict(set)
    for webhook_id, message_ids in by_webhook_id.items():
        assert len(set(message_ids)) == 1, f"{webhook_id} carried {set(message_ids)}"
        report.duplicated += len(message_ids) - 1
        webhook_ids_of[message_ids[0]].add(webhook_id)
    delivered = set(webhook_ids_of)
    report.accepted = len(senders.accepted)
    report.delivered = len(delivered)
    report.lost_ids = sorted(senders.accepted - delivered)
    report.lost = len(report.lost_ids)
    report.not_accepted = sorted(set(senders.all_ids) - senders.accepted)
    for message_id, ids in webhook_ids_of.items():
        if len(ids) > 1:
            report.resent += 1
            # Each extra webhook-id needs a transaction whose 250 the sender never saw.
            if senders.dropped_for.get(message_id, 0) < len(ids) - 1:
                report.unexplained_resends += 1
