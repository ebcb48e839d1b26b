"""Several ``inbound serve`` nodes on one PostgreSQL outbox and one S3 bucket, as processes.

Each node is ``python -m inbound serve --role smtp|worker`` with a config file of its own
(its own data dir and, for receivers, its own port) and the shared parts: the outbox URL,
the bucket on moto's S3 server, the install secret, the webhook route. Tests send over
SMTP from several threads, kill nodes with SIGKILL, and count what the webhook receiver
got by ``webhook-id``.
"""

from __future__ import annotations

import os
import secrets
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from tests.support.net import free_port
from tests.support.s3 import ACCESS_KEY, REGION, SECRET_KEY
from tests.support.webhook import SECRET, Receiver

DOMAIN = "example.test"
RCPT = f"support@{DOMAIN}"


def node_env() -> dict[str, str]:
    """The environment of a node: dummy AWS credentials for moto, nothing of ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INBOUND_", "AWS_"))}
    env.update(
        AWS_ACCESS_KEY_ID=ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=SECRET_KEY,
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE="/nonexistent/inbound-tests/aws-config",
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent/inbound-tests/aws-credentials",
        AWS_EC2_METADATA_DISABLED="true",
    )
    return env


@dataclass
class Shared:
    """What every node of one installation shares."""

    outbox_url: str
    s3_endpoint: str
    bucket: str
    webhook_url: str
    install_secret: str = field(default_factory=lambda: secrets.token_hex(32))


class Node:
    """One ``inbound serve --role ROLE`` process with its own data dir."""

    def __init__(self, root: Path, name: str, role: str, shared: Shared) -> None:
        self.name, self.role, self.shared = name, role, shared
        self.dir = root / name
        self.data = self.dir / "data"
        self.data.mkdir(parents=True, mode=0o700, exist_ok=True)
        self.port = free_port() if role != "worker" else 0
        self.config = self.dir / "inbound.toml"
        self.config.write_text(self._toml())
        self.log = self.dir / "serve.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def _toml(self) -> str:
        s = self.shared
        listen = f"127.0.0.1:{self.port}" if self.port else "127.0.0.1:0"
        return (
            f'[server]\nlisten = "{listen}"\nhostname = "{self.name}.test"\n'
            f'domains = ["{DOMAIN}"]\nprocesses = 1\nmax_messages_per_minute_per_ip = 0\n'
            "max_connections_per_ip = 100\n"
            f'[storage]\nbackend = "s3"\ndata_dir = "{self.data}"\n'
            f'[storage.s3]\nbucket = "{s.bucket}"\nendpoint_url = "{s.s3_endpoint}"\n'
            f'region = "{REGION}"\naddressing_style = "path"\ntimeout_seconds = 10.0\n'
            f'[outbox]\nurl = "{s.outbox_url}"\ntimeout_seconds = 3.0\n'
            f'[privacy]\ninstall_secret = "{s.install_secret}"\n'
            "[delivery]\nallow_private_webhooks = true\nconcurrency = 8\n"
            f'[[routes]]\nname = "support"\nrecipients = ["{RCPT}"]\n'
            f'url = "{s.webhook_url}"\nsecret = "{SECRET}"\n'
        )

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "inbound",
                    "serve",
                    "--config",
                    str(self.config),
                    "--role",
                    self.role,
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=node_env(),
            )

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Receivers: until the port answers. Workers: until the log says they run."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None and self.proc.poll() is None, self.log.read_text()
            if self.port:
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                        return
                except OSError:
                    pass
            elif self.log.exists() and b"delivery worker" in self.log.read_bytes():
                return
            time.sleep(0.1)
        raise AssertionError(f"{self.name} not ready:\n{self.log.read_text()}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(40)
        except subprocess.TimeoutExpired:
            self.kill()


def stop_all(nodes: Iterable[Node]) -> None:
    """SIGTERM every node at once, then wait for each (a node still running is killed)."""
    nodes = [n for n in nodes if n.proc is not None and n.proc.poll() is None]
    for node in nodes:
        assert node.proc is not None
        node.proc.send_signal(signal.SIGTERM)
    for node in nodes:
        node.stop()


def start_all(nodes: Iterable[Node]) -> None:
    nodes = list(nodes)
    for node in nodes:
        node.start()
    for node in nodes:
        node.wait_ready()


def make_message(tag: str, n: int) -> EmailMessage:
    m = EmailMessage(policy=policy.SMTP)
    m["From"] = "Alice <alice@sender.test>"
    m["To"] = RCPT
    m["Subject"] = f"order {tag}-{n}"
    m["Message-ID"] = f"<{tag}-{n}@sender.test>"
    m.set_content(f"Where is my order {tag}-{n}?\n")
    return m


@dataclass
class SendReport:
    """What the senders saw: per Message-ID, the queue ids of each 250; 451s counted."""

    accepted: dict[str, list[str]] = field(default_factory=dict)
    temporary: int = 0
    first_451_at: float | None = None
    last_451_at: float | None = None
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def queue_ids(self) -> list[str]:
        return [q for ids in self.accepted.values() for q in ids]


def send(
    ports: list[int],
    tag: str,
    count: int,
    *,
    threads: int = 8,
    per_connection: int = 25,
    give_up_after: float = 120.0,
    report: SendReport | None = None,
) -> SendReport:
    """Send ``count`` messages over ``threads`` connections spread over ``ports``.

    A 4xx is retried after a short pause, as an MTA would (on a new connection); a
    message counts as accepted at its ``250``.
    """
    report = report or SendReport()
    todo = list(range(count))
    todo_lock = threading.Lock()

    def take(k: int) -> list[int]:
        with todo_lock:
            batch, todo[:] = todo[:k], todo[k:]
            return batch

    def again(n: int) -> None:
        with todo_lock:
            todo.append(n)

    def run(index: int) -> None:
        port = ports[index % len(ports)]
        deadline = time.monotonic() + give_up_after
        while time.monotonic() < deadline:
            batch = take(per_connection)
            if not batch:
                with todo_lock:
                    if not todo:
                        return
                time.sleep(0.05)
                continue
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
                    for i, n in enumerate(batch):
                        message_id = f"<{tag}-{n}@sender.test>"
                        smtp.ehlo_or_helo_if_needed()
                        code, _ = smtp.mail("alice@sender.test")
                        if code == 250:
                            code, _ = smtp.rcpt(RCPT)
                        if code == 250:
                            code, text = smtp.data(make_message(tag, n).as_bytes())
                        if code == 250:
                            with report.lock:
                                queue_id = text.decode().rsplit(" ", 1)[-1]
                                report.accepted.setdefault(message_id, []).append(queue_id)
                            continue
                        with report.lock:
                            report.temporary += 1
                            now = time.monotonic()
                            report.first_451_at = report.first_451_at or now
                            report.last_451_at = now
                            if code >= 500:
                                report.errors.append(f"{message_id}: {code}")
                        for rest in batch[i:]:
                            again(rest)
                        smtp.rset()
                        break
            except (OSError, smtplib.SMTPException) as exc:
                # The connection broke: whatever was not answered 250 goes again.
                done = set(report.accepted)
                for n in batch:
                    if f"<{tag}-{n}@sender.test>" not in done:
                        again(n)
                with report.lock:
                    report.errors.append(f"connection: {type(exc).__name__}")
            time.sleep(0.02)

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return report


def delivered(receiver: Receiver, tag: str) -> Counter[str]:
    """webhook-id -> how many verified POSTs carried it, for this test's messages."""
    out: Counter[str] = Counter()
    for d in list(receiver.deliveries):
        if d.event is None:
            continue
        if str(d.event["data"].get("message_id", "")).startswith(f"{tag}-"):
            out[d.headers["webhook-id"]] += 1
    return out


def delivered_messages(receiver: Receiver, tag: str) -> set[str]:
    """The queue ids (``msg_…``) the receiver got for this test's messages."""
    return {
        str(d.event["data"]["id"])
        for d in list(receiver.deliveries)
        if d.event is not None and str(d.event["data"].get("message_id", "")).startswith(f"{tag}-")
    }


def wait_until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")
