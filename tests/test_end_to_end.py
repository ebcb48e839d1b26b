"""smtplib -> our SMTP server -> 250 -> a real HTTP receiver verifying signatures.

The event must validate against the published schema, and the raw file must exist under
the documented key and hash to ``raw.sha256``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests.support.service import Running, assert_valid_event, message, settings_for, webhook_route
from tests.support.webhook import SECRET, Receiver


def test_smtp_to_signed_webhook(tmp_path: Path, receiver: Receiver) -> None:
    settings = settings_for(
        tmp_path,
        routes=[webhook_route(receiver.url)],
    )
    running = Running(settings, worker=True)
    try:
        code, reply = running.send(message(), rcpts=["support+abc123@example.test"])
        assert code == 250
        assert reply.startswith(b"2.0.0 OK queued as msg_")
        queued_id = reply.decode().rsplit(" ", 1)[1]
        receiver.wait_for(1)
        [event] = receiver.events()
        raw = running.stored(event["data"]["raw"]["key"])
        [kept] = list((tmp_path / "events").rglob(f"{queued_id}.json"))
        kept_event = running.stored(kept.relative_to(tmp_path).as_posix())
    finally:
        running.stop()
    assert_valid_event(event)
    data = event["data"]
    assert event["type"] == "inbound.message"
    assert data["id"] == queued_id
    assert data["route"] == "support"
    assert data["subject"] == "Hello"
    assert data["from"] == {"name": "Alice", "address": "alice@sender.test"}
    assert data["mailbox_hash"] == "abc123"
    assert data["envelope"]["mail_from"] == "alice@sender.test"
    assert data["envelope"]["rcpt_to"] == ["support+abc123@example.test"]
    assert data["envelope"]["helo"] == "client.test"
    assert data["envelope"]["remote_ip"] == "127.0.0.1"
    assert data["text"].strip() == "Where is my order?"
    # The webhook-id is the job id, stable across retries; the raw file is the exact bytes.
    assert receiver.deliveries[0].headers["webhook-id"].startswith("evt_")
    raw_path = tmp_path / data["raw"]["key"]
    assert data["raw"]["key"].startswith("raw/2") and raw_path.suffix == ".eml"
    assert hashlib.sha256(raw).hexdigest() == data["raw"]["sha256"]
    assert len(raw) == data["raw"]["size"]
    assert b"Where is my order?" in raw
    # The event is also kept in storage, as sent.
    assert kept_event == receiver.deliveries[0].body
    # At rest, both are sealed under the message's own key: no plaintext on disk.
    for path in (raw_path, kept):
        assert path.read_bytes()[:4] == b"INB1"
        assert b"Where is my order?" not in path.read_bytes()
        assert b"alice@sender.test" not in path.read_bytes()


def test_one_message_to_two_routes_is_stored_once_and_sent_twice(
    tmp_path: Path, receiver: Receiver
) -> None:
    settings = settings_for(
        tmp_path,
        routes=[
            webhook_route(receiver.url),
            {
                "name": "sales",
                "recipients": ["sales@example.test"],
                "url": receiver.url,
                "secret": SECRET,
            },
        ],
    )
    running = Running(settings)
    try:
        code, _ = running.send(message(), rcpts=["support@example.test", "sales@example.test"])
        assert code == 250
        assert running.deliver() == 2
    finally:
        running.stop()
    events = receiver.events()
    assert sorted(e["data"]["route"] for e in events) == ["sales", "support"]
    # Each route sees only its own recipients.
    assert {tuple(e["data"]["envelope"]["rcpt_to"]) for e in events} == {
        ("support@example.test",),
        ("sales@example.test",),
    }
    assert len({e["data"]["id"] for e in events}) == 1
    assert len({d.headers["webhook-id"] for d in receiver.deliveries}) == 2
    assert len(list((tmp_path / "raw").rglob("*.eml"))) == 1
    for event in events:
        assert_valid_event(event)


def test_no_webhook_keeps_the_event_in_storage(tmp_path: Path) -> None:
    running = Running(settings_for(tmp_path))  # no routes: the default store-only route
    try:
        code, reply = running.send(message())
        assert code == 250
        assert running.deliver() == 1
        msg_id = reply.decode().rsplit(" ", 1)[1]
        [kept] = list((tmp_path / "events").rglob(f"{msg_id}.json"))
        event = json.loads(running.stored(kept.relative_to(tmp_path).as_posix()))
    finally:
        running.stop()
    assert_valid_event(event)
    assert event["data"]["subject"] == "Hello"
    assert event["data"]["route"] == "default"
