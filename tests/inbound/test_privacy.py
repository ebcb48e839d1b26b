"""Privacy by design (DESIGN §8): erase and export by address, retention, clean logs.

Mail goes through the whole pipeline (smtplib -> SMTP -> storage -> worker -> webhook),
on the local backend and on S3 (moto's server on loopback); then the address is erased
and every file, object and database byte is searched for it.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from inbound import crypto
from inbound import log as inbound_log
from inbound.clock import FakeClock
from inbound.config import Settings
from inbound.outbox.model import JobStatus
from tests.support.s3 import S3Bucket
from tests.support.service import Running, message, settings_for, webhook_route
from tests.support.webhook import Receiver

ERIN = "erin.k7q@private.test"
SUBJECT = "Subject-q9z-secret"
KEEP = "keep.w2m@keep.test"


@dataclass
class Backend:
    name: str
    bucket: S3Bucket | None

    def settings(self, tmp_path: Path, receiver: Receiver, **route: Any) -> Settings:
        tables: dict[str, Any] = {}
        if self.bucket is not None:
            tables["storage"] = {
                "backend": "s3",
                "s3": {
                    "bucket": self.bucket.name,
                    "endpoint_url": self.bucket.endpoint_url,
                    "region": "us-east-1",
                    "addressing_style": "path",
                    "prefix": "in/",
                },
            }
        return settings_for(
            tmp_path,
            routes=[webhook_route(receiver.url, **route)],
            **tables,
        )

    def objects(self) -> dict[str, bytes]:
        assert self.bucket is not None
        out = {}
        pages = self.bucket.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket.name
        )
        for page in pages:
            for obj in page.get("Contents", []):
                body = self.bucket.client.get_object(Bucket=self.bucket.name, Key=obj["Key"])[
                    "Body"
                ]
                out[obj["Key"]] = body.read()
        return out


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "s3":
        return Backend("s3", request.getfixturevalue("s3_bucket"))
    return Backend("local", None)


@pytest.fixture
def service_log() -> Iterator[io.StringIO]:
    """Everything the service logs, through the same setup `inbound serve` uses."""
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    inbound_log.setup("DEBUG", stream)
    yield stream
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved[0]:
        root.addHandler(handler)
    root.setLevel(saved[1])


def _bounce_about(address: str) -> bytes:
    """An RFC 3464 bounce whose failed recipient is ``address`` (and nowhere else)."""
    return (
        "From: Mail Delivery Subsystem <mailer-daemon@mx.remote.test>\r\n"
        "To: support@example.test\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <dsn-1@mx.remote.test>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n'
        "\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
        "Your message could not be delivered.\r\n"
        "\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.remote.test\r\n\r\n"
        f"Final-Recipient: rfc822; {address}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n"
        "\r\n--b--\r\n"
    ).encode()


def _files_with(root: Path, needle: str) -> list[str]:
    found = []
    for f in root.rglob("*"):
        if f.is_file() and needle.encode() in f.read_bytes():
            found.append(str(f.relative_to(root)))
    return found


def _send_all(running: Running) -> None:
    running.send(message(SUBJECT, "Please call me back.\n", sender=f"Erin <{ERIN}>"), sender=ERIN)
    running.send(message("Team news", "See you.\n", sender=f"Other <{KEEP}>", Cc=ERIN), sender=KEEP)
    running.send(message("Keep me", "Nothing about Erin.\n", sender=f"Keep <{KEEP}>"), sender=KEEP)
    running.send(_bounce_about(ERIN), sender="")


def test_erase_leaves_no_trace_and_keeps_others(
    tmp_path: Path, backend: Backend, clock: FakeClock, service_log: io.StringIO
) -> None:
    receiver = Receiver()
    running = Running(backend.settings(tmp_path, receiver), clock=clock)
    try:
        _send_all(running)
        assert running.deliver() == 4
        # One more from Erin, not delivered yet: erase must find it through the envelope.
        running.send(message("Second", "again\n", sender=f"Erin <{ERIN}>"), sender=ERIN)
        if backend.bucket is None:
            assert _files_with(tmp_path, ERIN)  # plain in the outbox rows before erasure
        else:
            assert any(ERIN.encode() in body for body in backend.objects().values())
        record = running.call(running.service.privacy.erase(ERIN, operator="test", now=clock.now()))
        # While the service still runs (its outbox connection open, the WAL in use):
        assert _files_with(tmp_path, ERIN) == []  # files: outbox, WAL, raw, events, keys
        assert _files_with(tmp_path, SUBJECT) == []
        assert running.deliver() == 0  # the pending delivery about Erin was cancelled
        jobs = running.call(running.service.outbox.jobs())
    finally:
        running.stop()
        receiver.close()
    assert record.counts["messages"] == 4
    assert len(record.message_ids) == 4
    assert ERIN not in json.dumps(record.to_dict())
    assert _files_with(tmp_path, ERIN) == []
    if backend.bucket is not None:
        objects = backend.objects()
        assert [k for k, body in objects.items() if ERIN.encode() in body] == []
        assert any(KEEP.encode() in body for body in objects.values())  # others untouched
    # The one message that is not about Erin is still there, with its delivery.
    assert len(jobs) == 1
    with sqlite3.connect(tmp_path / "outbox.sqlite3") as conn:
        assert conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 1
        assert conn.execute("SELECT COUNT(*) FROM audit").fetchone()[0] == 1
    logged = service_log.getvalue()
    assert "accepted msg_" in logged  # the capture works...
    assert ERIN not in logged and KEEP not in logged and SUBJECT not in logged  # ...and is clean


def test_erase_destroys_the_key_of_copies_left_behind(tmp_path: Path, clock: FakeClock) -> None:
    receiver = Receiver()
    running = Running(Backend("local", None).settings(tmp_path, receiver), clock=clock)
    try:
        running.send(message(SUBJECT, "secret words\n", sender=ERIN), sender=ERIN)
        running.deliver()
        [raw_file] = list((tmp_path / "raw").rglob("*.eml"))
        backup = raw_file.read_bytes()  # e.g. a snapshot or backup of the disk
        [msg] = running.call(running.service.outbox.messages())
        assert msg.wrapped_key is not None
        dek = running.service.objects.data_key(msg.id, msg.wrapped_key)
        assert dek is not None
        assert b"secret words" in crypto.open_sealed(dek, msg.raw_key, backup)
        running.call(running.service.privacy.erase(ERIN, operator="test", now=clock.now()))
        after = running.call(running.service.outbox.messages())
    finally:
        running.stop()
        receiver.close()
    assert after == []  # the wrapped key went with the row
    assert b"secret words" not in backup and ERIN.encode() not in backup
    assert not raw_file.exists()


def test_export_holds_everything_about_the_address_and_nothing_else(
    tmp_path: Path, backend: Backend, clock: FakeClock
) -> None:
    receiver = Receiver()
    running = Running(backend.settings(tmp_path, receiver), clock=clock)
    out = tmp_path / "export.json"
    try:
        _send_all(running)
        running.deliver()
        record = running.call(
            running.service.privacy.export(ERIN, out, operator="test", now=clock.now())
        )
    finally:
        running.stop()
        receiver.close()
    document = json.loads(out.read_bytes())
    assert out.stat().st_mode & 0o777 == 0o600
    assert document["address"] == ERIN
    subjects = sorted(m["event"]["data"]["subject"] for m in document["messages"])
    assert subjects == sorted([SUBJECT, "Team news", "Undelivered Mail Returned to Sender"])
    for m in document["messages"]:
        raw = base64.b64decode(m["raw"]["base64"])
        assert ERIN.encode() in raw
        assert m["deliveries"][0]["status"] == "delivered"
    assert "Keep me" not in out.read_text()
    assert record.action == "export" and record.counts == {"messages": 3}


def test_cli_erase_dry_run_export_and_audit(tmp_path: Path, clock: FakeClock) -> None:
    receiver = Receiver()
    running = Running(Backend("local", None).settings(tmp_path, receiver), clock=clock)
    try:
        _send_all(running)
        running.deliver()
    finally:
        running.stop()
        receiver.close()

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "inbound", *args, "--data-dir", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    dry = cli("erase", "--address", ERIN, "--dry-run", "--operator", "dpo@corp")
    assert dry.returncode == 0, dry.stderr
    assert "would erase 3 messages" in dry.stdout
    assert _files_with(tmp_path, ERIN)  # nothing erased yet
    export = cli("export", "--address", ERIN, "--out", str(tmp_path.parent / "erin.json"))
    assert export.returncode == 0, export.stderr
    erase = cli("erase", "--address", ERIN)
    assert erase.returncode == 0, erase.stderr
    assert "erased 3 messages" in erase.stdout
    assert _files_with(tmp_path, ERIN) == []
    audit = cli("audit")
    records = [json.loads(line) for line in audit.stdout.splitlines()]
    assert [r["action"] for r in records] == ["erase-dry-run", "export", "erase"]
    assert records[0]["operator"] == "dpo@corp"
    assert len({r["address_hash"] for r in records}) == 1
    assert ERIN not in audit.stdout


def test_erase_during_a_delivery_in_flight_leaves_nothing(tmp_path: Path, clock: FakeClock) -> None:
    receiver = Receiver()
    running = Running(Backend("local", None).settings(tmp_path, receiver), clock=clock)
    try:
        running.send(message(SUBJECT, "Please call me back.\n", sender=ERIN), sender=ERIN)
        # Hold the worker between reading the raw message and writing the event: both
        # parse threads wait on `release`, so the job is claimed and its raw read first.
        release = threading.Event()
        pool = running.service.worker._parse_pool
        holds = [pool.submit(release.wait, 30) for _ in range(pool._max_workers)]
        delivering = threading.Thread(target=running.deliver)
        delivering.start()
        deadline = time.monotonic() + 10
        while not running.call(running.service.outbox.jobs(JobStatus.SENDING)):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        running.call(running.service.privacy.erase(ERIN, operator="test", now=clock.now()))
        release.set()
        for hold in holds:
            hold.result(10)
        delivering.join(30)
        assert _files_with(tmp_path, ERIN) == []
        assert list((tmp_path / "events").rglob("*.json")) == []  # written after the erase
    finally:
        running.stop()
        receiver.close()


# ------------------------------------------------------------------ retention


def _raw_files(tmp_path: Path) -> list[Path]:
    return list((tmp_path / "raw").rglob("*.eml")) if (tmp_path / "raw").exists() else []


def test_sweeper_expires_raw_then_rows(tmp_path: Path, clock: FakeClock) -> None:
    receiver = Receiver()
    settings = settings_for(
        tmp_path,
        routes=[webhook_route(receiver.url)],
        retention={"raw_days": 2, "metadata_days": 5, "event_days": 5},
    )
    running = Running(settings, clock=clock)
    try:
        running.send(message())
        running.deliver()
        sweep = running.service.sweeper.run_once
        assert running.call(sweep(clock.now())) == {
            "raw": 0,
            "messages": 0,
            "orphans": 0,
            "unowned": 0,
            "temporary": 0,
        }
        clock.advance(timedelta(days=2, seconds=1).total_seconds())
        assert running.call(sweep(clock.now()))["raw"] == 1
        assert _raw_files(tmp_path) == []
        assert list((tmp_path / "events").rglob("*.json"))  # events live longer
        [msg] = running.call(running.service.outbox.messages())
        assert msg.raw_deleted
        clock.advance(timedelta(days=3).total_seconds())
        assert running.call(sweep(clock.now()))["messages"] == 1
        assert running.call(running.service.outbox.messages()) == []
        assert running.call(running.service.outbox.jobs()) == []
        assert list((tmp_path / "events").rglob("*.json")) == []
    finally:
        running.stop()
        receiver.close()


def test_a_job_whose_raw_expired_fails_instead_of_sending(tmp_path: Path, clock: FakeClock) -> None:
    receiver = Receiver()
    receiver.respond(500)
    settings = settings_for(
        tmp_path,
        routes=[webhook_route(receiver.url)],
        retention={"raw_days": 1},
        delivery={"max_attempt_days": 5},
    )
    running = Running(settings, clock=clock)
    try:
        running.send(message())
        running.deliver()
        clock.advance(timedelta(days=1, hours=1).total_seconds())
        running.call(running.service.sweeper.run_once(clock.now()))
        running.deliver()
        [job] = running.call(running.service.outbox.jobs())
    finally:
        running.stop()
        receiver.close()
    assert job.status == "failed"
    assert len(receiver.deliveries) == 1


def test_delete_after_delivery(tmp_path: Path, clock: FakeClock) -> None:
    receiver = Receiver()
    running = Running(
        Backend("local", None).settings(tmp_path, receiver, delete_after_delivery=True), clock=clock
    )
    try:
        running.send(message())
        assert _raw_files(tmp_path)
        running.deliver()
        [msg] = running.call(running.service.outbox.messages())
    finally:
        running.stop()
        receiver.close()
    assert len(receiver.events()) == 1
    assert _raw_files(tmp_path) == []
    assert list((tmp_path / "events").rglob("*.json")) == []
    assert msg.raw_deleted and msg.wrapped_key is None  # the key is gone too
