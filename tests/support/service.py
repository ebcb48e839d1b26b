"""Run the real service on its own event loop in a thread, so tests can speak smtplib to it.

The SMTP server binds 127.0.0.1 port 0. With ``worker=False`` no background delivery
runs: tests call ``run_until_empty()`` after moving the injected clock, so retries are
tested without sleeping.
"""

from __future__ import annotations

import asyncio
import re
import smtplib
import threading
from collections.abc import Coroutine
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar

import jsonschema
import pytest

from inbound import events
from inbound.app import Service
from inbound.clock import Clock, FakeClock
from inbound.config import Settings, from_mapping
from tests.support import dns as test_dns
from tests.support.webhook import SECRET

_T = TypeVar("_T")

START = datetime(2026, 11, 22, 10, 0, 0, tzinfo=UTC)


def settings_for(
    data_dir: Path, routes: list[dict[str, Any]] | None = None, **tables: Any
) -> Settings:
    raw: dict[str, Any] = {
        "server": {"listen": "127.0.0.1:0", "hostname": "mx.test", "domains": ["example.test"]},
        "storage": {"data_dir": str(data_dir)},
        "delivery": {"allow_private_webhooks": True},
        # Sender authentication asks the suite's own DNS server, never the machine's.
        "dns": {"nameservers": [test_dns.shared().address], "timeout_seconds": 2},
    }
    for name, table in tables.items():
        raw.setdefault(name, {}).update(table)
    if routes is not None:
        raw["routes"] = routes
    return from_mapping(raw, {}, {})


def webhook_route(url: str, **extra: Any) -> dict[str, Any]:
    """The usual test route: support@example.test to ``url``, signed with the test secret."""
    return {
        "name": "support",
        "recipients": ["support@example.test"],
        "url": url,
        "secret": SECRET,
        **extra,
    }


class Running:
    def __init__(
        self, settings: Settings, *, clock: Clock | None = None, worker: bool = False
    ) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.settings = settings
        self.service: Service = self.call(self._make(settings, clock))
        self.call(self.service.start(worker=worker))
        assert self.service.address is not None
        self.port = self.service.address[1]

    @staticmethod
    async def _make(settings: Settings, clock: Clock | None) -> Service:
        return Service(settings, clock=clock)

    def call(self, coro: Coroutine[Any, Any, _T], timeout: float = 60.0) -> _T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def deliver(self) -> int:
        return self.call(self.service.worker.run_until_empty())

    def smtp(self) -> smtplib.SMTP:
        return smtplib.SMTP("127.0.0.1", self.port, local_hostname="client.test", timeout=30)

    def send(
        self,
        message: EmailMessage | bytes,
        sender: str = "alice@sender.test",
        rcpts: list[str] | None = None,
    ) -> tuple[int, bytes]:
        """Send one message; return the reply to DATA (code, text)."""
        rcpts = rcpts or ["support@example.test"]
        raw = message if isinstance(message, bytes) else message.as_bytes()
        with self.smtp() as s:
            s.ehlo()
            code, text = s.mail(sender)
            assert code == 250, (code, text)
            for r in rcpts:
                code, text = s.rcpt(r)
                assert code == 250, (code, text)
            return s.data(raw)

    def stored(self, key: str) -> bytes:
        """An object as the service reads it: opened with its message's data key."""
        message_id = re.search(r"msg_[0-9a-z]{26}", key)
        assert message_id, key
        return self.call(self._stored(message_id.group(0), key))

    async def _stored(self, message_id: str, key: str) -> bytes:
        msg = await self.service.outbox.message(message_id)
        assert msg is not None, message_id
        dek = self.service.objects.data_key(msg.id, msg.wrapped_key)
        return await self.service.objects.get(dek, key)

    def stop(self) -> None:
        try:
            self.call(self.service.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
            self.loop.close()


_TRACE = re.compile(rb"Return-Path: <[^\r\n]*>\r\nReceived: [^\r\n]*\r\n(?:\t[^\r\n]*\r\n)+")


def without_trace(stored: bytes) -> bytes:
    """A stored message minus the trace headers the SMTP edge put first (RFC 5321 §4.4)."""
    match = _TRACE.match(stored)
    assert match, stored[:300]
    return stored[match.end() :]


def message(
    subject: str = "Hello",
    body: str = "Where is my order?\n",
    *,
    sender: str = "Alice <alice@sender.test>",
    to: str = "support@example.test",
    **headers: str,
) -> EmailMessage:
    m = EmailMessage(policy=policy.SMTP)  # CRLF line ends, as on the wire
    m["From"], m["To"], m["Subject"] = sender, to, subject
    m["Message-ID"] = "<m1@sender.test>"
    for k, v in headers.items():
        m[k.replace("_", "-")] = v
    m.set_content(body)
    return m


_VALIDATOR = jsonschema.Draft202012Validator(
    events.schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
)


def assert_valid_event(event: dict[str, Any]) -> None:
    """Every event a test sees must fit the published schema."""
    errors = sorted(_VALIDATOR.iter_errors(event), key=lambda e: list(e.path))
    assert not errors, "; ".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


def assert_valid_data(data: dict[str, Any]) -> None:
    assert_valid_event({"type": "inbound.message", "timestamp": data["received_at"], "data": data})


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)
