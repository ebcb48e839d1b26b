"""The listening socket of SmtpServer: SO_REUSEPORT for several acceptor processes."""

from __future__ import annotations

import asyncio
import smtplib

import pytest

from inbound.accept import Accepted, Arrival
from inbound.outbox.model import Envelope, NewJob
from inbound.smtp.handler import Handler
from inbound.smtp.server import SmtpServer


async def _never(arrival: Arrival, env: Envelope, jobs: list[NewJob]) -> Accepted:
    raise AssertionError("no DATA in this test")


def _server(port: int, *, reuse_port: bool) -> SmtpServer:
    handler = Handler(routes=(), domains=(), max_recipients=10, accept=_never)
    return SmtpServer(
        handler,
        host="127.0.0.1",
        port=port,
        hostname="mx.test",
        max_message_bytes=1000,
        reuse_port=reuse_port,
    )


def test_reuse_port_lets_two_servers_share_one_port() -> None:
    async def run() -> None:
        first = _server(0, reuse_port=True)
        _, port = await first.start()
        second = _server(port, reuse_port=True)
        assert (await second.start())[1] == port
        loop = asyncio.get_running_loop()
        code, _ = await loop.run_in_executor(None, _noop, port)
        assert code == 250
        await first.stop(1.0)
        await second.stop(1.0)

    asyncio.run(run())


def test_without_reuse_port_the_port_is_exclusive() -> None:
    async def run() -> None:
        first = _server(0, reuse_port=False)
        _, port = await first.start()
        with pytest.raises(OSError):
            await _server(port, reuse_port=False).start()
        await first.stop(1.0)

    asyncio.run(run())


def _noop(port: int) -> tuple[int, bytes]:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
        return s.noop()
