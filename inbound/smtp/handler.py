"""The SMTP policy: aiosmtpd hooks that answer with the lines of replies.py.

RCPT: route lookup (DESIGN §3) — a domain we do not serve gets 550 5.7.1 (never relay),
a served domain without a route for the mailbox gets 550 5.1.1, the 101st recipient gets
452 4.5.3. DATA: ``accept()`` and only then ``250 … queued as <id>``; any failure is a
fixed 451 line, never the exception text. Parsing and classifying happen later, in the
delivery worker: the SMTP transaction stays short.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from inbound.accept import Accepted
from inbound.config import Route
from inbound.errors import AcceptFailed
from inbound.outbox.model import Envelope, NewJob
from inbound.routing import Verdict, resolve
from inbound.smtp import replies
from inbound.smtp.limits import RateLimiter

log = logging.getLogger("inbound.smtp")

AcceptFn = Callable[[bytes, Envelope, list[NewJob]], Awaitable[Accepted]]


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
    ) -> None:
        self.routes = routes
        self.domains = domains
        self.max_recipients = max_recipients
        self._accept = accept
        self.limiter = limiter

    async def handle_MAIL(  # aiosmtpd hook name
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        client = session.peer[0] if isinstance(session.peer, tuple) else "?"
        if self.limiter is not None and not self.limiter.allow(client):
            log.warning("rate limit: a client is over its message rate (450)")
            return replies.RATE_LIMITED
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return replies.OK_SENDER

    async def handle_RCPT(  # aiosmtpd hook name
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if len(envelope.rcpt_tos) >= self.max_recipients:
            return replies.TOO_MANY_RECIPIENTS
        match = resolve(address, self.routes, self.domains)
        if match.verdict is Verdict.RELAY_DENIED:
            return replies.RELAY_DENIED
        if match.verdict is Verdict.UNKNOWN_USER:
            return replies.UNKNOWN_USER
        # aiosmtpd leaves recording the recipient to a custom hook.
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return replies.OK_RECIPIENT

    async def handle_DATA(  # aiosmtpd hook name
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        raw: bytes = envelope.original_content or b""
        jobs = self.jobs_for(list(envelope.rcpt_tos))
        peer = session.peer[0] if isinstance(session.peer, tuple) else None
        env = Envelope(
            mail_from=envelope.mail_from or "",
            rcpt_to=tuple(envelope.rcpt_tos),
            remote_ip=peer,
            helo=session.host_name or None,
            tls=session.ssl is not None,
        )
        try:
            accepted = await self._accept(raw, env, jobs)
        except AcceptFailed:
            return replies.TRY_AGAIN
        except Exception:
            log.exception("accept raised unexpectedly; answering 451")
            return replies.TRY_AGAIN
        log.info("accepted %s (%d bytes, %d jobs)", accepted.id, len(raw), len(jobs))
        return replies.QUEUED.format(id=accepted.id)

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
