"""The one aiosmtpd user: an SMTP server on ``loop.create_server`` (port 0 works).

aiosmtpd's ``Controller`` cannot bind port 0 (aio-libs/aiosmtpd#388), so the server is
built on the running loop directly. Our ``_SMTP`` subclass keeps aiosmtpd's command
handling and changes what a production MX needs changed:

* DATA is read in blocks by ``smtp/data.py`` (not line by line), into a spool (memory,
  then disk), with the trace headers first; long lines are folded, never refused; only
  ``<CRLF>.<CRLF>`` ends DATA; bytes pipelined after it go back to the command reader.
* A global budget of DATA octets in flight (``max_data_in_flight_bytes``): DATA when it
  is spent, or a transfer that would overrun it, gets ``452 4.3.1``.
* Every command argument is checked first: a NUL byte gets 501 5.5.2, bytes that are not
  UTF-8 get 501 5.5.4 (aiosmtpd would carry them as lone surrogates into the envelope,
  where the event's JSON cannot encode them: accepted, then never delivered).
* ``require_tls``: MAIL before STARTTLS gets 530 5.7.0. A timeout says 421 4.4.2 before
  closing. aiosmtpd's fixed texts are rewritten to RFC 3463 forms (552 5.3.4, 500 5.5.2).
* It counts DATA in progress so shutdown lets it finish, keeps the open sessions so
  shutdown closes them with 421, and limits sessions per client (IPv6: per /64).
"""

from __future__ import annotations

import asyncio
import errno
import functools
import logging
import re
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email._header_value_parser import get_addr_spec, get_angle_addr
from email.errors import HeaderParseError
from typing import Any, AnyStr

from aiosmtpd.smtp import SMTP, syntax

from inbound.accept import Arrival
from inbound.errors import ConfigError, StorageError
from inbound.smtp import replies
from inbound.smtp.data import DEFAULT_MAX_LINE_LENGTH, DataReader
from inbound.smtp.handler import Handler
from inbound.smtp.limits import DEFAULT_IPV6_PREFIX, client_key

log = logging.getLogger("inbound.smtp")

# aiosmtpd answers an over-size SIZE= (RFC 1870) or DATA with its own text; we send the
# RFC 3463 X.3.4 form instead.
_REWRITE = {
    "552 Error: message size exceeds fixed maximum message size": replies.TOO_BIG,
    "552 Error: Too much mail data": replies.TOO_BIG,
    "500 Command line too long": replies.COMMAND_TOO_LONG,
}
# aiosmtpd decodes arguments as UTF-8 with surrogateescape: a lone surrogate is a byte
# that was not UTF-8.
_NOT_UTF8 = re.compile("[\udc80-\udcff]")
# Read DATA this much at a time (asyncio's selector transports hand over <= 256 KiB).
_BLOCK = 256 * 1024
DEFAULT_DATA_IN_FLIGHT = 512 * 1024 * 1024
# RFC 5321 §4.5.3.2.7: a server SHOULD wait at least 5 minutes for a command or data.
DEFAULT_TIMEOUT = 300.0


@dataclass(frozen=True, slots=True, kw_only=True)
class EdgeLimits:
    """The SMTP edge's protocol limits (config: [server], README "SMTP edge")."""

    max_line_length: int = DEFAULT_MAX_LINE_LENGTH
    max_data_in_flight_bytes: int = DEFAULT_DATA_IN_FLIGHT
    require_tls: bool = False
    timeout_seconds: float = DEFAULT_TIMEOUT
    ipv6_prefix: int = DEFAULT_IPV6_PREFIX


class Tracker:
    """Open sessions (per client IP) and DATA in flight: limits and a graceful stop."""

    def __init__(
        self,
        *,
        max_per_ip: int = 20,
        max_total: int = 1000,
        max_bytes: int = DEFAULT_DATA_IN_FLIGHT,
    ) -> None:
        self.sessions: set[_SMTP] = set()
        self.per_ip: dict[str, int] = {}
        self.max_per_ip = max_per_ip
        self.max_total = max_total
        self.max_bytes = max_bytes
        self.bytes_in_flight = 0  # DATA octets read and not yet answered, all sessions
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
    # aiosmtpd sizes its StreamReader buffer with this (and checks DATA lines against it,
    # which our smtp_DATA does not do): a bigger buffer lets DATA arrive in big blocks.
    # Commands are still capped at command_size_limit (512, RFC 5321 §4.5.3.1.4).
    line_length_limit = _BLOCK

    def __init__(
        self,
        handler: Handler,
        tracker: Tracker,
        limits: EdgeLimits,
        *,
        prototype: _Prototype | None = None,
        **kwargs: Any,
    ) -> None:
        if prototype is None:
            super().__init__(handler, timeout=limits.timeout_seconds, **kwargs)
        else:
            prototype.initialise(self)
        self._handler = handler
        self._tracker = tracker
        self._limits = limits

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        tracker = self._tracker
        if self.transport is not None:  # STARTTLS: the same session on a TLS transport
            super().connection_made(transport)
            return
        peer = transport.get_extra_info("peername")
        ip = peer[0] if isinstance(peer, tuple) else "?"
        self._ip = client_key(ip, self._limits.ipv6_prefix)
        count = tracker.per_ip.get(self._ip, 0)
        if count >= tracker.max_per_ip or len(tracker.sessions) >= tracker.max_total:
            # Refuse before the greeting, without starting a session (RFC 5321 §3.8).
            self._refused = True
            if isinstance(transport, asyncio.WriteTransport):
                transport.write(replies.TOO_MANY_CONNECTIONS.encode() + b"\r\n")
            transport.close()
            log.warning("refused a connection from %s: too many sessions (421)", self._ip)
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

    def _refusal(self, reply: str) -> str:
        """A final refusal of MAIL or DATA made here (not in the handler): logged, counted."""
        log.info("refused a message from %s: %s", self._ip, reply)
        if self._handler.metrics is not None:
            self._handler.metrics.smtp_reply(reply)
        return reply

    async def push(self, status: AnyStr) -> None:
        if isinstance(status, str) and status in _REWRITE:
            replacement = _REWRITE[status]
            if replacement == replies.TOO_BIG:  # MAIL FROM SIZE= over the cap (RFC 1870)
                self._refusal(replacement)
            await super().push(replacement)
            return
        await super().push(status)

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        """aiosmtpd 1.4.6's ``SMTP._getaddr``, the same parse, without the ``Protocol``
        class it defines (for typing only) on every call: creating that class cost about
        50 us per MAIL and per RCPT (issue 12)."""
        if not arg:
            return "", ""
        try:
            if arg.lstrip().startswith("<"):
                angle, rest = get_angle_addr(arg)
                addr = angle.addr_spec
            else:
                spec, rest = get_addr_spec(arg)
                addr = spec.addr_spec
        except HeaderParseError:
            return None, None
        localpart = addr.rpartition("@")[0]
        if self.local_part_limit and len(localpart) > self.local_part_limit:
            return None, None
        return addr, rest

    def _timeout_cb(self) -> None:  # aiosmtpd's timer callback: say why, then close
        transport = self.transport
        if isinstance(transport, asyncio.WriteTransport) and not transport.is_closing():
            transport.write(replies.TIMEOUT.encode() + b"\r\n")
        super()._timeout_cb()  # type: ignore[no-untyped-call]  # aiosmtpd is untyped here

    @syntax("MAIL FROM: <address>", extended=" [SP <mail-parameters>]")  # for HELP
    async def smtp_MAIL(self, arg: str | None) -> None:  # aiosmtpd command method
        if self._limits.require_tls and self.tls_context and self._tls_protocol is None:
            await self.push(self._refusal(replies.TLS_REQUIRED))
            return
        await super().smtp_MAIL(arg)

    async def smtp_AUTH(self, arg: str | None) -> None:  # aiosmtpd command method
        # An MX takes no logins: AUTH is neither offered in EHLO nor listed by HELP.
        await self.push(replies.NO_AUTH)

    @syntax("DATA")  # for HELP
    async def smtp_DATA(self, arg: str | None) -> None:  # aiosmtpd command method
        """aiosmtpd's DATA checks, then the block reader (smtp/data.py) into a spool."""
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        if self.envelope is None or self.session is None:  # set by connection_made
            return
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        tracker = self._tracker
        if tracker.bytes_in_flight >= tracker.max_bytes:
            log.warning("DATA refused: the in-flight byte budget is spent (452)")
            await self.push(self._refusal(replies.NO_ROOM))
            return
        tracker.data_started()
        counted = 0
        arrival: Arrival | None = None
        try:
            await self.push("354 End data with <CR><LF>.<CR><LF>")
            arrival = self._handler.begin(self.session, self.envelope)
            status, counted = await self._read_data(arrival)
            if status is None:
                arrival.body.finish()
                status = await self._handler.data(self.session, self.envelope, arrival)
            else:
                self._refusal(status)  # (the handler counts its own answers)
        except StorageError as exc:
            log.warning("DATA: the spool failed (%s); answering 451", exc)
            status = self._refusal(replies.TRY_AGAIN)
        finally:
            tracker.data_finished()
            tracker.bytes_in_flight -= counted
            if arrival is not None:
                arrival.body.discard()
        self._set_post_data_state()  # type: ignore[no-untyped-call]  # aiosmtpd, untyped
        await self.push(status)

    async def _read_data(self, arrival: Arrival) -> tuple[str | None, int]:
        """Read up to the end of data; (a refusal or None, octets counted in the budget)."""
        tracker = self._tracker
        spool_error: StorageError | None = None
        over_budget = False

        def sink(data: bytes) -> None:
            nonlocal spool_error
            if spool_error is None and not over_budget:
                try:
                    arrival.body.write(data)
                except StorageError as exc:
                    spool_error = exc
                    arrival.body.discard()

        reader = DataReader(
            sink, limit=self.data_size_limit, max_line_length=self._limits.max_line_length
        )
        counted = 0
        try:
            while True:
                block = await self._reader.read(_BLOCK)
                if not block:  # the client went away; aiosmtpd cancels us on EOF anyway
                    raise ConnectionResetError("EOF during DATA")
                if not (over_budget or reader.too_big):
                    if tracker.bytes_in_flight + len(block) > tracker.max_bytes:
                        # This block would overrun the budget: the transfer gets 452, the
                        # rest is read and dropped, and the budget counts as spent (new
                        # DATA gets 452) until this transfer is answered.
                        over_budget = True
                        arrival.body.discard()
                        rest_of_budget = max(tracker.max_bytes - tracker.bytes_in_flight, 0)
                        counted += rest_of_budget
                        tracker.bytes_in_flight += rest_of_budget
                    else:
                        counted += len(block)
                        tracker.bytes_in_flight += len(block)
                rest = reader.feed(block)
                if rest is not None:
                    break
        except BaseException:
            tracker.bytes_in_flight -= counted
            raise
        if rest:
            # Commands pipelined after the end of data: give them back to aiosmtpd's
            # command loop (it clears the same private buffer itself after STARTTLS).
            self._reader._buffer[:0] = rest  # type: ignore[attr-defined]  # see above
        if reader.folded:
            log.info("DATA: folded %d pieces of over-long lines", reader.folded)
        if reader.too_big:
            return replies.TOO_BIG, counted
        if over_budget:
            log.warning("DATA: the in-flight byte budget ran out during a transfer (452)")
            return replies.NO_ROOM, counted
        if spool_error is not None:
            log.warning("DATA: the spool failed (%s)", spool_error)
            full = isinstance(spool_error.__cause__, OSError) and (
                spool_error.__cause__.errno == errno.ENOSPC
            )
            return (replies.NO_ROOM if full else replies.TRY_AGAIN), counted
        return None, counted

    def close_with_421(self) -> None:
        transport = self.transport
        if isinstance(transport, asyncio.WriteTransport) and not transport.is_closing():
            transport.write(replies.SHUTTING_DOWN.encode() + b"\r\n")
            transport.close()


class _Prototype:
    """aiosmtpd's per-session set-up, done once per server and copied into each session.

    ``SMTP.__init__`` inspects the handler and the session class on every connection
    (``inspect.getmembers``, ``dir``, ``inspect.signature``, a log line listing AUTH
    mechanisms): a tenth of an acceptor's CPU under one-message-per-connection load
    (issue 12). Those results depend only on the class, the handler and the options, so
    a first session is built the full way and later ones copy what its ``__init__`` set
    (immutable values, and the handler's hooks, which aiosmtpd only reads), rebinding
    the two tables that hold methods of the session itself. The asyncio protocol state
    (reader, transport, tasks) is made fresh for each session as before.
    """

    _REBOUND = frozenset({"_smtp_methods", "_auth_methods"})

    def __init__(self, first: _SMTP) -> None:
        own = set(vars(_bare_protocol(first.loop)))
        self.state = {
            k: v for k, v in vars(first).items() if k not in own and k not in self._REBOUND
        }
        self.smtp_methods = {name: m.__name__ for name, m in first._smtp_methods.items()}
        self.auth_methods = {
            # A built-in mechanism is a method of the session; the handler's are shared.
            name: (impl.method.__name__ if impl.is_builtin else None, impl)
            for name, impl in first._auth_methods.items()
        }
        self.command_size_limits = first.command_size_limits

    def initialise(self, session: _SMTP) -> None:
        loop = self.state["loop"]
        asyncio.StreamReaderProtocol.__init__(
            session,
            asyncio.StreamReader(loop=loop, limit=session.line_length_limit),
            client_connected_cb=session._cb_client_connected,
            loop=loop,
        )
        vars(session).update(self.state)
        session._smtp_methods = {
            name: getattr(session, attr) for name, attr in self.smtp_methods.items()
        }
        session._auth_methods = {
            name: impl if attr is None else impl._replace(method=getattr(session, attr))
            for name, (attr, impl) in self.auth_methods.items()
        }
        self.command_size_limits.clear()  # as SMTP.__init__ does (a class-level table)


def _bare_protocol(loop: asyncio.AbstractEventLoop) -> asyncio.StreamReaderProtocol:
    """An asyncio protocol set up as SMTP's (with a callback): its attributes are per session."""
    return asyncio.StreamReaderProtocol(
        asyncio.StreamReader(loop=loop), client_connected_cb=lambda r, w: None, loop=loop
    )


def probe_listen(host: str, port: int) -> None:
    """Bind the listen address once, without SO_REUSEPORT, before serving: a port in use
    (even by another inbound) or a forbidden port is one ConfigError line, no traceback."""
    if port == 0:
        return
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ConfigError("server.listen", f"{host}: {exc.strerror}") from None
    for family, kind, proto, _name, address in infos:
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as asyncio does
            try:
                sock.bind(address)
            except OSError as exc:
                raise ConfigError("server.listen", _bind_problem(host, port, exc)) from None


def _bind_problem(host: str, port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return f"{host}:{port} is already in use (another server listens there)"
    if exc.errno == errno.EACCES:
        return (
            f"{host}:{port}: permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)"
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"{host}:{port}: {host} is not an address of this machine"
    return f"{host}:{port}: cannot listen ({exc.strerror or type(exc).__name__})"


def _argument_checked(method: Callable[[Any, str | None], Awaitable[None]]) -> Any:
    """``method`` behind the argument check: no NUL, nothing that is not UTF-8."""

    @functools.wraps(method)  # keeps aiosmtpd's __smtp_syntax__ (HELP) attributes
    async def checked(self: _SMTP, arg: str | None) -> None:
        if arg is not None:
            if "\x00" in arg:
                await self.push(replies.NUL_IN_COMMAND)
                return
            if _NOT_UTF8.search(arg):
                await self.push(replies.NOT_UTF8)
                return
        await method(self, arg)

    return checked


# Once, on the class (aiosmtpd collects the smtp_* methods of each new session by name).
for _name in [n for n in dir(_SMTP) if n.startswith("smtp_")]:
    setattr(_SMTP, _name, _argument_checked(getattr(_SMTP, _name)))


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
        limits: EdgeLimits | None = None,
    ) -> None:
        self.handler = handler
        # SO_REUSEPORT: several acceptor processes listen on one port (inbound.supervisor).
        self.reuse_port = reuse_port
        self.host, self.port = host, port
        self.hostname = hostname
        self.max_message_bytes = max_message_bytes
        self.tls_context = tls_context
        self.limits = limits or EdgeLimits()
        self.tracker = Tracker(
            max_per_ip=max_connections_per_ip,
            max_total=max_connections,
            max_bytes=self.limits.max_data_in_flight_bytes,
        )
        self.reuse_port = reuse_port  # SO_REUSEPORT: several acceptor processes on one port
        self._server: asyncio.Server | None = None
        self._prototype: _Prototype | None = None  # aiosmtpd's session set-up, once

    def _factory(self) -> _SMTP:
        if self._prototype is not None:
            return _SMTP(self.handler, self.tracker, self.limits, prototype=self._prototype)
        session = _SMTP(
            self.handler,
            self.tracker,
            self.limits,
            hostname=self.hostname,  # else aiosmtpd runs a blocking getfqdn() per connection
            ident="inbound ESMTP",
            decode_data=False,
            enable_SMTPUTF8=True,
            data_size_limit=self.max_message_bytes,
            tls_context=self.tls_context,
            loop=asyncio.get_running_loop(),
        )
        self._prototype = _Prototype(session)
        return session

    async def start(self) -> tuple[str, int]:
        loop = asyncio.get_running_loop()
        self._prototype = None  # its sessions live on this loop
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
