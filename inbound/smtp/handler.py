"""The SMTP policy: aiosmtpd hooks that answer with the lines of replies.py.

EHLO: no AUTH (an MX takes no logins). MAIL/RCPT: a non-ASCII address without the
SMTPUTF8 parameter gets 553 5.6.7 (RFC 6531 §3.5); server.py already refused NUL bytes
and bytes that are not UTF-8, so whatever is accepted here can be carried to the event.
RCPT: route lookup (DESIGN §3) — a domain we do not serve gets 550 5.7.1 (never relay),
a served domain without a route for the mailbox gets 550 5.1.1, the 101st recipient gets
452 4.5.3. DATA: ``begin`` opens the spool (trace headers first, RFC 5321 §4.4), the
server reads the message into it, then ``data`` runs ``accept()`` and only then answers
``250 … queued as <id>``; any failure is a fixed 451 line, never the exception text.
Parsing and classifying happen later, in the delivery worker: the transaction stays short.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from inbound.accept import Accepted, Arrival
from inbound.clock import Clock, SystemClock
from inbound.config import Route
from inbound.errors import AcceptFailed
from inbound.log import mask_address
from inbound.outbox.model import Envelope, NewJob
from inbound.routing import Verdict, resolve
from inbound.smtp import replies, trace
from inbound.smtp.limits import RateLimiter, client_key
from inbound.spool import DEFAULT_MEMORY_LIMIT, Spool

log = logging.getLogger("inbound.smtp")

AcceptFn = Callable[[Arrival, Envelope, list[NewJob]], Awaitable[Accepted]]


class Handler:
    """aiosmtpd handler object: each ``handle_*`` hook returns the reply line."""

    def __init__(
        self,
        *,
        routes: tuple[Route, ...],
        domains: tuple[str, ...],
        max_recipients: int,
        accept: AcceptFn,
        limiter: RateLimiter | None = None,
        hostname: str = "localhost",
        clock: Clock | None = None,
        spool_dir: Path | None = None,
        spool_memory_limit: int = DEFAULT_MEMORY_LIMIT,
        ipv6_prefix: int = 64,
        metrics: Any = None,  # inbound.metrics.Metrics: counts final replies
    ) -> None:
        self.metrics = metrics
        self.routes = routes
        self.domains = domains
        self.max_recipients = max_recipients
        self._accept = accept
        self.limiter = limiter
        self.hostname = hostname
        self.clock: Clock = clock or SystemClock()
        # No spool directory: every message stays in memory (tests of the policy alone).
        self.spool_dir = spool_dir
        self.spool_memory_limit = spool_memory_limit if spool_dir is not None else 1 << 62
        self.ipv6_prefix = ipv6_prefix

    async def handle_EHLO(  # aiosmtpd hook name (the 5-argument form)
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        # aiosmtpd offers AUTH after STARTTLS; an MX takes no logins, so never offer it.
        session.host_name = hostname  # the hook form leaves this to us
        return [r for r in responses if not r.startswith("250-AUTH")]

    async def handle_MAIL(  # aiosmtpd hook name
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        client = session.peer[0] if isinstance(session.peer, tuple) else "?"
        if not address.isascii() and not envelope.smtp_utf8:
            return self._refused(replies.NEEDS_SMTPUTF8, "MAIL", client, None)
        client = client_key(client, self.ipv6_prefix)
        if self.limiter is not None and not self.limiter.allow(client):
            log.warning("rate limit: a client is over its message rate (450)")
            return self._refused(replies.RATE_LIMITED, "MAIL", client, None)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return replies.OK_SENDER

    async def handle_RCPT(  # aiosmtpd hook name
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        client = session.peer[0] if isinstance(session.peer, tuple) else "?"
        if not address.isascii() and not envelope.smtp_utf8:
            return self._refused(replies.NEEDS_SMTPUTF8, "RCPT", client, None)
        if len(envelope.rcpt_tos) >= self.max_recipients:
            return self._refused(replies.TOO_MANY_RECIPIENTS, "RCPT", client, address)
        match = resolve(address, self.routes, self.domains)
        if match.verdict is Verdict.RELAY_DENIED:
            return self._refused(replies.RELAY_DENIED, "RCPT", client, address)
        if match.verdict is Verdict.UNKNOWN_USER:
            return self._refused(replies.UNKNOWN_USER, "RCPT", client, address)
        # aiosmtpd leaves recording the recipient to a custom hook.
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return replies.OK_RECIPIENT

    def begin(self, session: Any, envelope: Any) -> Arrival:
        """DATA is starting: a new spool, holding the trace headers, and the message id."""
        spool = Spool(self.spool_dir or Path(), memory_limit=self.spool_memory_limit)
        arrival = Arrival.start(self.clock, spool)
        ssl_extra = session.ssl
        cipher = ssl_extra.get("cipher") if isinstance(ssl_extra, dict) else None
        spool.write(
            trace.headers(
                mail_from=envelope.mail_from or "",
                rcpt_to=tuple(envelope.rcpt_tos),
                helo=session.host_name or None,
                remote_ip=_peer_ip(session),
                hostname=self.hostname,
                esmtp=bool(session.extended_smtp),
                smtputf8=bool(envelope.smtp_utf8),
                tls=tuple(cipher) if cipher else None,  # (name, version, bits)
                queue_id=arrival.id,
                received_at=arrival.received_at,
            )
        )
        return arrival

    async def data(self, session: Any, envelope: Any, arrival: Arrival) -> str:
        """The whole message is in the spool: make it durable, then answer 250 (or 451)."""
        jobs = self.jobs_for(list(envelope.rcpt_tos))
        env = Envelope(
            mail_from=envelope.mail_from or "",
            rcpt_to=tuple(envelope.rcpt_tos),
            remote_ip=_peer_ip(session),
            helo=session.host_name or None,
            tls=session.ssl is not None,
        )
        try:
            accepted = await self._accept(arrival, env, jobs)
        except AcceptFailed:
            return self._refused(replies.TRY_AGAIN, "DATA", _peer_ip(session) or "?", None)
        except Exception:
            log.exception("accept raised unexpectedly; answering 451")
            return self._refused(replies.TRY_AGAIN, "DATA", _peer_ip(session) or "?", None)
        log.info("accepted %s (%d bytes, %d jobs)", accepted.id, arrival.body.size, len(jobs))
        if self.metrics is not None:
            self.metrics.message_accepted(arrival.body.size)
            self.metrics.smtp_reply(replies.QUEUED)
        return replies.QUEUED.format(id=accepted.id)

    def _refused(self, reply: str, command: str, client: str, rcpt: str | None) -> str:
        """One log line and one count per refusal: code, client IP, masked recipient."""
        to = f" to {mask_address(rcpt)}" if rcpt else ""
        log.info("refused %s from %s%s: %s", command, client, to, reply)
        if self.metrics is not None:
            self.metrics.smtp_reply(reply)
        return reply

    async def handle_exception(self, error: Exception) -> str:
        # aiosmtpd's default sends the exception's class and text to the peer.
        log.error("SMTP session error: %s", type(error).__name__)
        return replies.INTERNAL_ERROR

    def jobs_for(self, rcpt_tos: list[str]) -> list[NewJob]:
        """One job per route, holding the recipients it serves (stored once, DESIGN §3)."""
        by_route: dict[str, tuple[list[str], str | None]] = {}
        for address in rcpt_tos:
            match = resolve(address, self.routes, self.domains)
            if match.route is None:
                continue
            rcpts, _ = by_route.setdefault(match.route.name, ([], match.mailbox_hash))
            rcpts.append(address)
        return [
            NewJob(route=name, rcpt_to=tuple(r), mailbox_hash=tag)
            for name, (r, tag) in by_route.items()
        ]


def _peer_ip(session: Any) -> str | None:
    return session.peer[0] if isinstance(session.peer, tuple) else None
