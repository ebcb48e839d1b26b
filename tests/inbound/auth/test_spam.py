"""Spam clients against loopback servers speaking rspamd's and spamd's protocols.

The servers here answer as the real daemons do (their documented wire formats); the last
tests talk to the real daemons, which the suite installs (Debian packages) when missing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from inbound.auth import spam
from tests.inbound.auth import mail
from tests.support import dns as test_dns
from tests.support import spam_daemons

Serve = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]

RSPAMD_ANSWER = {
    "is_skipped": False,
    "score": 7.25,
    "required_score": 15.0,
    "action": "add header",
    "symbols": {
        "R_SPF_FAIL": {"name": "R_SPF_FAIL", "score": 1.0},
        "BAYES_SPAM": {"name": "BAYES_SPAM", "score": 5.1},
    },
    "message-id": "m1@reject.test",
}


class Server:
    """A one-connection-at-a-time TCP server on 127.0.0.1:0 that records what it read."""

    def __init__(self, handler: Serve) -> None:
        self.handler = handler
        self.requests: list[bytes] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> Server:
        self.server = await asyncio.start_server(self.handler, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


async def _read_http(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return head + await reader.readexactly(length)


def _rspamd(answer: bytes, recorded: list[bytes], status: bytes = b"200 OK") -> Serve:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        recorded.append(await _read_http(reader))
        writer.write(
            b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(answer) + answer
        )
        await writer.drain()
        writer.close()

    return handle


def _spamd(status: bytes, spam_header: bytes, body: bytes, recorded: list[bytes]) -> Serve:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        recorded.append(head + await reader.readexactly(length))
        writer.write(
            status + b"\r\nContent-length: %d\r\n" % len(body) + spam_header + b"\r\n\r\n" + body
        )
        await writer.drain()
        writer.close()

    return handle


@pytest.fixture
async def silent() -> AsyncIterator[Server]:
    """Accepts, reads, never answers: the filter that hangs."""

    release = asyncio.Event()
    handlers: list[asyncio.Task[None]] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.append(task)
        try:
            await reader.read(1 << 20)
            await release.wait()
        finally:
            writer.close()

    server = await Server(handle).start()
    yield server
    release.set()
    await asyncio.gather(*handlers)
    await server.stop()


async def test_rspamd_protocol() -> None:
    recorded: list[bytes] = []
    server = await Server(_rspamd(json.dumps(RSPAMD_ANSWER).encode(), recorded)).start()
    try:
        client = spam.Rspamd(f"http://127.0.0.1:{server.port}", timeout_seconds=5)
        verdict = await client.check(mail.raw(), mail.envelope())
    finally:
        await server.stop()
    assert verdict is not None
    assert verdict.to_dict() == {
        "score": 7.25,
        "threshold": 15.0,
        "is_spam": True,  # action "add header"
        "symbols": ["R_SPF_FAIL", "BAYES_SPAM"],
    }
    [request] = recorded
    head, _, body = request.partition(b"\r\n\r\n")
    assert head.startswith(b"POST /checkv2 HTTP/1.1\r\n")
    for line in (b"IP: 127.0.0.2", b"Helo: client.test", b"From: alice@reject.test"):
        assert line in head.split(b"\r\n")
    assert b"Rcpt: support@example.test" in head.split(b"\r\n")
    assert body == mail.raw()


async def test_rspamd_no_action_is_not_spam() -> None:
    answer = {**RSPAMD_ANSWER, "score": 1.5, "action": "no action", "symbols": {}}
    server = await Server(_rspamd(json.dumps(answer).encode(), [])).start()
    try:
        verdict = await spam.Rspamd(f"http://127.0.0.1:{server.port}", 5).check(
            mail.raw(), mail.envelope()
        )
    finally:
        await server.stop()
    assert verdict is not None and (verdict.is_spam, verdict.symbols) == (False, ())


@pytest.mark.parametrize(
    ("answer", "status"),
    [(b"{not json", b"200 OK"), (b'{"error": "x"}', b"200 OK"), (b"{}", b"500 Oops")],
)
async def test_rspamd_unreadable_answers_are_null(
    answer: bytes, status: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    server = await Server(_rspamd(answer, [], status)).start()
    try:
        with caplog.at_level(logging.WARNING, "inbound.auth"):
            verdict = await spam.Rspamd(f"http://127.0.0.1:{server.port}", 5).check(
                mail.raw(), mail.envelope()
            )
    finally:
        await server.stop()
    assert verdict is None
    assert "unreadable answer from rspamd" in caplog.text


async def test_spamd_protocol() -> None:
    recorded: list[bytes] = []
    handler = _spamd(
        b"SPAMD/1.1 0 EX_OK",
        b"Spam: True ; 18.6 / 5.0",
        b"BAYES_99,FORGED_FROM,SPF_FAIL",
        recorded,
    )
    server = await Server(handler).start()
    try:
        verdict = await spam.Spamd("127.0.0.1", server.port, 5).check(mail.raw(), mail.envelope())
    finally:
        await server.stop()
    assert verdict is not None
    assert verdict.to_dict() == {
        "score": 18.6,
        "threshold": 5.0,
        "is_spam": True,
        "symbols": ["BAYES_99", "FORGED_FROM", "SPF_FAIL"],
    }
    [request] = recorded
    raw = mail.raw()
    assert request == b"SYMBOLS SPAMC/1.5\r\nContent-length: %d\r\n\r\n" % len(raw) + raw


async def test_spamd_ham_and_errors(caplog: pytest.LogCaptureFixture) -> None:
    ham = await Server(_spamd(b"SPAMD/1.1 0 EX_OK", b"Spam: False ; -0.1 / 5.0", b"", [])).start()
    broken = await Server(_spamd(b"SPAMD/1.0 76 Bad header line", b"", b"", [])).start()
    try:
        verdict = await spam.Spamd("127.0.0.1", ham.port, 5).check(mail.raw(), mail.envelope())
        with caplog.at_level(logging.WARNING, "inbound.auth"):
            failed = await spam.Spamd("127.0.0.1", broken.port, 5).check(
                mail.raw(), mail.envelope()
            )
    finally:
        await ham.stop()
        await broken.stop()
    assert verdict is not None and verdict.to_dict() == {
        "score": -0.1,
        "threshold": 5.0,
        "is_spam": False,
        "symbols": [],
    }
    assert failed is None and "spamd error 76" in caplog.text


@pytest.mark.parametrize("engine", ["rspamd", "spamd"])
async def test_a_silent_filter_times_out_to_null(
    engine: str, silent: Server, caplog: pytest.LogCaptureFixture
) -> None:
    client: spam.SpamChecker = (
        spam.Rspamd(f"http://127.0.0.1:{silent.port}", 0.3)
        if engine == "rspamd"
        else spam.Spamd("127.0.0.1", silent.port, 0.3)
    )
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, "inbound.auth"):
        verdict = await client.check(mail.raw(), mail.envelope())
    assert verdict is None
    assert time.monotonic() - started < 2
    assert "gave no verdict within 0.3 s; spam is null" in caplog.text


async def test_a_refused_connection_is_null(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: the connection is refused
        with caplog.at_level(logging.WARNING, "inbound.auth"):
            verdict = await spam.Spamd("127.0.0.1", port, 2).check(mail.raw(), mail.envelope())
    assert verdict is None and "cannot reach spamassassin" in caplog.text


# ---------------------------------------------------------------- the real daemons
# Debian's rspamd and spamd, installed by the suite when missing and run on loopback with
# private directories (tests/support/spam_daemons.py); rspamd asks the suite's DNS server.

GENUINE = "Lunch on Thursday?\r\n\r\nShall we meet at noon by the station?\r\n"


@pytest.mark.timeout(600)  # the first run may install spamassassin + spamd (~30 s)
async def test_the_real_spamd(real_spamd: spam_daemons.Spamd) -> None:
    client = spam.Spamd("127.0.0.1", real_spamd.port, 60)
    gtube = await client.check(mail.raw(body=spam_daemons.GTUBE + "\r\n"), mail.envelope())
    ordinary = await client.check(
        mail.sign(mail.raw(subject="Lunch", body=GENUINE), "reject.test"), mail.envelope()
    )
    assert gtube is not None, real_spamd.log_tail()
    assert gtube.engine == "spamassassin"
    assert gtube.is_spam and "GTUBE" in gtube.symbols
    assert gtube.score >= gtube.threshold == 5.0  # spamd's default required_score
    assert ordinary is not None, real_spamd.log_tail()
    assert not ordinary.is_spam and ordinary.score < ordinary.threshold
    assert "GTUBE" not in ordinary.symbols


@pytest.mark.timeout(600)  # the first run may install rspamd (~10 s) and start it cold (~30 s)
async def test_the_real_rspamd(real_rspamd: spam_daemons.Rspamd) -> None:
    client = spam.Rspamd(real_rspamd.url, 60)
    gtube = await client.check(mail.raw(body=spam_daemons.GTUBE + "\r\n"), mail.envelope())
    genuine = await client.check(
        mail.sign(mail.raw(subject="Lunch", body=GENUINE), "reject.test"), mail.envelope()
    )
    forged = await client.check(
        mail.raw(subject="Lunch", body=GENUINE), mail.envelope(ip=test_dns.BAD_IP)
    )
    assert gtube is not None, real_rspamd.log_tail()
    assert gtube.engine == "rspamd"
    assert gtube.is_spam and gtube.symbols == ("GTUBE",)  # action "reject"
    assert genuine is not None and forged is not None, real_rspamd.log_tail()
    assert not genuine.is_spam and genuine.score < genuine.threshold
    # rspamd checked the envelope we handed it against the suite's DNS, as we do:
    # the signed mail from inside reject.test's SPF passes, the other one fails DMARC.
    assert {"R_DKIM_ALLOW", "R_SPF_ALLOW", "DMARC_POLICY_ALLOW"} <= set(genuine.symbols)
    assert {"R_SPF_FAIL", "DMARC_POLICY_REJECT"} <= set(forged.symbols)
    assert forged.score > genuine.score
