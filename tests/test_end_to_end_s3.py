"""End to end with S3 (issue 4): smtplib -> our server -> moto's S3 on loopback -> webhook.

The service runs as in production, with ``storage.backend = "s3"`` pointing at moto's
real S3 HTTP API; the bucket is inspected with an independent client. Covered: the raw
object under the documented key with the exact bytes, the event's ``raw`` block, the
event kept in the bucket, a 3 MB attachment travelling as a presigned URL, lifecycle
rules merged next to a rule inbound did not create, and S3 down -> 451 with nothing
left in the outbox.
"""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Iterator
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest

from inbound.config import Settings
from inbound.smtp import replies
from inbound.storage import keys
from tests.support.s3 import S3Bucket
from tests.support.service import (
    Running,
    assert_valid_event,
    message,
    settings_for,
    without_trace,
)
from tests.support.webhook import SECRET, Receiver

PREFIX = "mail/"
FOREIGN_RULE = {
    "ID": "cdn-logs",
    "Filter": {"Prefix": "logs/"},
    "Status": "Enabled",
    "Expiration": {"Days": 90},
}


def _settings(
    tmp_path: Path, endpoint_url: str, bucket: str, receiver: Receiver | None, **s3: Any
) -> Settings:
    route: dict[str, Any] = {"name": "support", "recipients": ["support@example.test"]}
    if receiver is None:
        route["store"] = True
    else:
        route.update(url=receiver.url, secret=SECRET, raw_url=True)
    table: dict[str, Any] = {
        "bucket": bucket,
        "prefix": PREFIX,
        "endpoint_url": endpoint_url,
        "region": "us-east-1",
        "addressing_style": "path",
        "timeout_seconds": 5.0,
    }
    table.update(s3)
    return settings_for(
        tmp_path,
        routes=[route],
        storage={"backend": "s3", "s3": table},
        retention={"raw_days": 5, "event_days": 20},
    )


def _object(bucket: S3Bucket, key: str) -> bytes:
    body: bytes = bucket.client.get_object(Bucket=bucket.name, Key=key)["Body"].read()
    return body


def _queued_id(reply: bytes) -> str:
    return reply.decode().rsplit(" ", 1)[1]


def test_smtp_to_s3_to_signed_webhook(
    tmp_path: Path, s3_bucket: S3Bucket, receiver: Receiver
) -> None:
    s3_bucket.client.put_bucket_lifecycle_configuration(
        Bucket=s3_bucket.name, LifecycleConfiguration={"Rules": [FOREIGN_RULE]}
    )
    running = Running(
        _settings(tmp_path, s3_bucket.endpoint_url, s3_bucket.name, receiver), worker=True
    )
    sent = message().as_bytes()
    try:
        code, reply = running.send(sent)
        assert code == 250, reply
        msg_id = _queued_id(reply)
        receiver.wait_for(1)
    finally:
        running.stop()

    [event] = receiver.events()
    assert_valid_event(event)
    data = event["data"]
    assert data["id"] == msg_id
    received_at = datetime.fromisoformat(data["received_at"])
    expected_key = keys.raw_key(msg_id, received_at, PREFIX)
    assert expected_key.startswith(f"{PREFIX}raw/{received_at:%Y/%m/%d}/")

    # The raw object: under the documented key, the exact bytes, a message/rfc822 type.
    assert data["raw"]["key"] == expected_key
    stored = _object(s3_bucket, expected_key)
    assert without_trace(stored) == sent  # after the trace headers (RFC 5321 §4.4)
    assert data["raw"]["sha256"] == hashlib.sha256(stored).hexdigest()
    assert data["raw"]["size"] == len(stored)
    assert datetime.fromisoformat(data["raw"]["expires_at"]) == received_at + timedelta(days=5)
    head = s3_bucket.client.head_object(Bucket=s3_bucket.name, Key=expected_key)
    assert head["ContentType"] == "message/rfc822"
    assert head["Metadata"] == {}  # no addresses or subjects in object headers

    # The route asked for a URL to the raw message: it downloads the same bytes.
    raw_url = data["raw"].get("url")
    assert raw_url, data["raw"]
    assert httpx.get(raw_url).content == stored

    # The event is kept in the bucket exactly as it was sent.
    event_key = keys.event_key(msg_id, received_at, PREFIX)
    assert _object(s3_bucket, event_key) == receiver.deliveries[0].body

    # Lifecycle: inbound's three rules were merged in; the foreign rule is still there.
    rules = s3_bucket.client.get_bucket_lifecycle_configuration(Bucket=s3_bucket.name)["Rules"]
    assert FOREIGN_RULE in rules
    by_prefix = {r["Filter"]["Prefix"]: r for r in rules}
    assert by_prefix[f"{PREFIX}raw/"]["Expiration"] == {"Days": 5}
    assert by_prefix[f"{PREFIX}attachments/"]["Expiration"] == {"Days": 5}
    assert by_prefix[f"{PREFIX}events/"]["Expiration"] == {"Days": 20}
    assert all(r["ID"].startswith("inbound-") for r in rules if r != FOREIGN_RULE)
    assert len(rules) == 4


def test_large_attachment_travels_as_a_presigned_url(
    tmp_path: Path, s3_bucket: S3Bucket, receiver: Receiver
) -> None:
    payload = b"".join(hashlib.sha256(str(i).encode()).digest() for i in range(98_304))
    assert len(payload) == 3 * 1024 * 1024
    mail: EmailMessage = message("Quarterly figures", "See the attached report.\n")
    mail.add_attachment(
        payload, maintype="application", subtype="octet-stream", filename="Bericht Q3.bin"
    )
    mail.add_attachment(b"small", maintype="text", subtype="plain", filename="note.txt")
    running = Running(
        _settings(tmp_path, s3_bucket.endpoint_url, s3_bucket.name, receiver), worker=True
    )
    try:
        code, reply = running.send(mail)
        assert code == 250, reply
        msg_id = _queued_id(reply)
        receiver.wait_for(1, timeout=60)
    finally:
        running.stop()

    [event] = receiver.events()
    assert_valid_event(event)
    big, small = event["data"]["attachments"]
    assert big["filename"] == "Bericht Q3.bin"
    assert big["size"] == len(payload)
    assert big["sha256"] == hashlib.sha256(payload).hexdigest()
    assert big["content"] is None
    assert big["url"]
    # The URL alone (no credentials) downloads the exact bytes.
    response = httpx.get(big["url"])
    assert response.status_code == 200
    assert response.content == payload
    # The stored copy sits under attachments/{id}/ in the bucket.
    listed = s3_bucket.client.list_objects_v2(
        Bucket=s3_bucket.name, Prefix=f"{PREFIX}attachments/{msg_id}/"
    )
    assert [o["Size"] for o in listed["Contents"]] == [len(payload)]
    # Below the route's inline limit: inline base64, no URL, nothing extra stored.
    assert small["url"] is None
    assert small["content"] is not None


@pytest.fixture
def dead_endpoints() -> Iterator[dict[str, str]]:
    """A closed port (connection refused) and one that never answers (a stalled S3)."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        closed_port = closed.getsockname()[1]
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)  # handshakes complete in the kernel; nobody ever reads
        yield {
            "down": f"http://127.0.0.1:{closed_port}",
            "slow": f"http://127.0.0.1:{silent.getsockname()[1]}",
        }


@pytest.mark.parametrize("state", ["down", "slow"])
def test_s3_down_or_slow_gets_451_and_leaves_no_outbox_row(
    tmp_path: Path, s3_env: None, dead_endpoints: dict[str, str], state: str
) -> None:
    settings = _settings(
        tmp_path,
        dead_endpoints[state],
        "inbound-unreachable",
        None,
        timeout_seconds=1.0,
        apply_lifecycle=False,  # else start-up itself would stop on the dead endpoint
    )
    running = Running(settings)
    try:
        with running.smtp() as s:
            s.ehlo()
            s.mail("alice@sender.test")
            s.rcpt("support@example.test")
            code, text = s.data(message().as_bytes())
        assert f"{code} {text.decode()}" == replies.TRY_AGAIN
        assert running.call(running.service.outbox.jobs()) == []
        assert running.call(running.service.outbox.messages()) == []
    finally:
        running.stop()
