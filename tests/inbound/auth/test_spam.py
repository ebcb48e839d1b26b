"""Spam clients against loopback servers speaking rspamd's and spamd's protocols.

The servers here answer as the real daemons do (their documented wire formats); a test
against the real daemon runs where one is installed (``rspamd`` / ``spamd`` on PATH).
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest

from inbound.auth import spam
from tests.inbound.auth import mail
from tests.support.net import free_port

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


def _wait_listening(port: int, proc: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the daemon exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("the daemon did not listen in time")


@pytest.fixture
def real_spamd() -> Iterator[int]:
    port = free_port()
    proc = subprocess.Popen(
        [
            str(shutil.which("spamd")),
            "--listen",
            f"127.0.0.1:{port}",
            "-x",
            "-q",
            "--max-children=1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_listening(port, proc, 60)
        yield port
    finally:
        proc.terminate()
        proc.wait(20)


@pytest.mark.skipif(shutil.which("spamd") is None, reason="SpamAssassin's spamd is not installed")
async def test_the_real_spamd(real_spamd: int) -> None:
    gtube = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
    verdict = await spam.Spamd("127.0.0.1", real_spamd, 60).check(
        mail.raw(body=gtube + "\r\n"), mail.envelope()
    )
    assert verdict is not None and verdict.is_spam and "GTUBE" in verdict.symbols
