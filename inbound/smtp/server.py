"""The one aiosmtpd user: an SMTP server on ``loop.create_server`` (port 0 works).

aiosmtpd's ``Controller`` cannot bind port 0 (aio-libs/aiosmtpd#388), so the server is
built on the running loop directly. Our ``_SMTP`` subclass does three things aiosmtpd
does not: it rewrites aiosmtpd's fixed size-limit lines to the RFC 3463 form (552 5.3.4),
counts DATA transactions in progress so shutdown can let them finish, and keeps the set
of open sessions so shutdown can close them with 421.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import Any, AnyStr

from aiosmtpd.smtp import SMTP

from inbound.smtp import replies
from inbound.smtp.handler import Handler

log = logging.getLogger("inbound.smtp")

# aiosmtpd answers an over-size SIZE= (RFC 1870) or DATA with its own text; we send the
# RFC 3463 X.3.4 form instead.
_REWRITE = {
    "552 Error: message size exceeds fixed maximum message size": replies.TOO_BIG,
    "552 Error: Too much mail data": replies.TOO_BIG,
}


class Tracker:
    """Open sessions (per client IP) and DATA in flight: limits and a graceful stop."""

    def __init__(self, *, max_per_ip: int = 20, max_total: int = 1000) -> None:
        self.sessions: set[_SMTP] = set()
        self.per_ip: dict[str, int] = {}
        self.max_per_ip = max_per_ip
        self.max_total = max_total
        self.in_data = 0
        self.idle = asyncio.Event()
        self.idle.set()

    def data_started(self) -> None:
        self.in_data += 1
        self.idle.clear()

    def data_finished(self) -> None:
        self.in_data -= 1
        if self.in_data == 0:
            self.idle.set()


class _SMTP(SMTP):
    def __init__(self, handler: Handler, tracker: Tracker, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._tracker = tracker

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        tracker = self._tracker
        peer = transport.get_extra_info("peername")
        self._ip = peer[0] if isinstance(peer, tuple) else "?"
        count = tracker.per_ip.get(self._ip, 0)
        if count >= tracker.max_per_ip or len(tracker.sessions) >= tracker.max_total:
            # Refuse before the greeting, without starting a session (RFC 5321 §3.8).
            self._refused = True
            if isinstance(transport, asyncio.WriteTransport):
                transport.write(replies.TOO_MANY_CONNECTIONS.encode() + b"\r\n")
            transport.close()
            log.warning("refused a connection: too many sessions from one client")
            return
        self._refused = False
        tracker.per_ip[self._ip] = count + 1
        tracker.sessions.add(self)
        super().connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._refused:
            return
        tracker = self._tracker
        tracker.sessions.discard(self)
        left = tracker.per_ip.get(self._ip, 1) - 1
        if left > 0:
            tracker.per_ip[self._ip] = left
        else:
            tracker.per_ip.pop(self._ip, None)
        super().connection_lost(exc)

    async def push(self, status: AnyStr) -> None:
        if isinstance(status, str) and status in _REWRITE:
            await super().push(_REWRITE[status])
            return
        await super().push(status)

    async def smtp_DATA(self, arg: str) -> None:  # aiosmtpd command method
        self._tracker.data_started()
        try:
            await super().smtp_DATA(arg)
        finally:
            self._tracker.data_finished()

    def close_with_421(self) -> None:
        transport = self.transport
        if isinstance(transport, asyncio.WriteTransport) and not transport.is_closing():
            transport.write(replies.SHUTTING_DOWN.encode() + b"\r\n")
            transport.close()


class SmtpServer:
    """Listening socket + sessions; ``stop()`` drains DATA then closes everything."""

    def __init__(
        self,
        handler: Handler,
        *,
        host: str,
        port: int,
        hostname: str,
        max_message_bytes: int,
        tls_context: ssl.SSLContext | None = None,
        max_connections_per_ip: int = 20,
        max_connections: int = 1000,
        reuse_port: bool = False,
    ) -> None:
        self.handler = handler
        # SO_REUSEPORT: several acceptor processes listen on one port (inbound.supervisor).
        self.reuse_port = reuse_port
        self.host, self.port = host, port
        self.hostname = hostname
        self.max_message_bytes = max_message_bytes
        self.tls_context = tls_context
        self.tracker = Tracker(max_per_ip=max_connections_per_ip, max_total=max_connections)
        self.reuse_port = reuse_port  # SO_REUSEPORT: several acceptor processes on one port
        self._server: asyncio.Server | None = None

    def _factory(self) -> _SMTP:
        return _SMTP(
            self.handler,
            self.tracker,
            hostname=self.hostname,  # else aiosmtpd runs a blocking getfqdn() per connection
            ident="inbound ESMTP",
            decode_data=False,
            enable_SMTPUTF8=True,
            data_size_limit=self.max_message_bytes,
            tls_context=self.tls_context,
            loop=asyncio.get_running_loop(),
        )

    async def start(self) -> tuple[str, int]:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._factory, self.host, self.port, reuse_port=self.reuse_port or None
        )
        sockname = self._server.sockets[0].getsockname()
        self.port = sockname[1]
        return sockname[0], sockname[1]

    async def stop(self, grace_seconds: float) -> None:
        """Stop listening, let DATA in progress finish (bounded), close sessions with 421."""
        if self._server is None:
            return
        self._server.close()
        try:
            await asyncio.wait_for(self.tracker.idle.wait(), timeout=grace_seconds)
        except TimeoutError:
            log.warning("stop: %d DATA transactions still running; closing", self.tracker.in_data)
        for session in list(self.tracker.sessions):
            session.close_with_421()
        await self._server.wait_closed()
        self._server = None
