"""The one call the delivery worker makes: raw mail + envelope -> verdicts and spam score.

``Authenticator.check`` runs the DNS-bound checks (SPF, DKIM, ARC, DMARC) in a small
thread pool of its own, so neither the event loop nor the parse threads wait on DNS, and
asks the spam filter at the same time. It never raises: DNS failures are ``temperror``
verdicts, the whole check has a deadline after which every verdict is ``temperror``, and
a silent spam filter is ``spam: null``. ``Checked.apply`` then folds the verdict into what
inbound concludes (DESIGN §12): ``classification.sender_verified``, a lower confidence
and an evidence line for an unverified data request or unsubscribe, and the event's
headers without forged Authentication-Results (RFC 8601 §5).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email import policy as email_policy
from email.parser import BytesHeaderParser
from email.utils import getaddresses

from inbound.auth import dkim, dmarc, results, spf
from inbound.auth.model import Arc, Authentication, Dkim, Dmarc, Result, Spam, Spf
from inbound.auth.resolver import Resolver, ResolverSettings
from inbound.auth.settings import AuthSettings
from inbound.auth.spam import Rspamd, SpamChecker, Spamd
from inbound.outbox.model import Envelope
from parsers.model import Classification, Evidence, Kind, ParsedMessage

log = logging.getLogger("inbound.auth")

# The whole check (SPF's 20 s budget of RFC 7208 §4.6.4 included) ends by then.
DEADLINE_SECONDS = 30.0
THREADS = 4
# What an unverified sender does to the confidence of a request it makes (DESIGN §12):
# a forged From is the obvious attack on a data-request workflow.
CONFIDENCE_UNVERIFIED = 0.5  # no aligned pass: anyone could have written this From
CONFIDENCE_UNKNOWN = 0.8  # a DNS failure: not verified, not refuted
GUARDED_KINDS = frozenset({Kind.DATA_REQUEST, Kind.UNSUBSCRIBE})


@dataclass(frozen=True, slots=True, kw_only=True)
class Checked:
    """What ``Authenticator.check`` found for one message."""

    authentication: Authentication | None  # None: checks switched off ([auth] enabled)
    spam: Spam | None  # None: no filter configured, or it did not answer
    screen_ids: tuple[str, ...] = ()  # authserv-ids whose Authentication-Results we keep

    @property
    def sender_verified(self) -> bool | None:
        return None if self.authentication is None else self.authentication.sender_verified

    def holds(self, verdict: Classification) -> bool:
        """A route with ``require_verified_sender`` holds back this data request (§12)."""
        return verdict.kind is Kind.DATA_REQUEST and verdict.sender_verified is not True

    def apply(
        self, parsed: ParsedMessage, verdict: Classification
    ) -> tuple[ParsedMessage, Classification]:
        if self.authentication is None:
            return parsed, verdict
        kept, _trusted = results.screen(parsed.headers, self.screen_ids)
        parsed = dataclasses.replace(parsed, headers=tuple(kept))
        verified = self.authentication.sender_verified
        verdict = dataclasses.replace(verdict, sender_verified=verified)
        if verified is True or verdict.kind not in GUARDED_KINDS:
            return parsed, verdict
        factor = CONFIDENCE_UNKNOWN if verified is None else CONFIDENCE_UNVERIFIED
        confidence = None if verdict.confidence is None else round(verdict.confidence * factor, 2)
        note = Evidence(where="authentication", text=_why_unverified(self.authentication))
        return parsed, dataclasses.replace(
            verdict, confidence=confidence, evidence=(*verdict.evidence, note)
        )


def _why_unverified(auth: Authentication) -> str:
    d = auth.dmarc
    domain = d.domain or "(no From domain)"
    if d.result is Result.TEMPERROR:
        return f"sender not verified: DNS failure while checking {domain} (dmarc=temperror)"
    policy = f", policy {d.policy}" if d.policy else ""
    return (
        f"sender not verified: no SPF or DKIM pass aligned with {domain}"
        f" (dmarc={d.result}{policy}, spf={auth.spf.result})"
    )


class Authenticator:
    """Verdicts for every message, from one resolver and cache shared by all of them."""

    def __init__(
        self,
        settings: AuthSettings,
        *,
        hostname: str,
        resolver: Resolver | None = None,
        spam: SpamChecker | None = None,
    ) -> None:
        self.settings = settings
        self.hostname = hostname
        self.resolver = resolver or Resolver(
            ResolverSettings(
                nameservers=settings.nameservers, timeout_seconds=settings.dns_timeout_seconds
            )
        )
        self.spam = spam if spam is not None else _spam_checker(settings)
        own = hostname.lower().rstrip(".")
        self.screen_ids = tuple(t for t in settings.trusted_authserv_ids if t != own)
        self._pool: ThreadPoolExecutor | None = None

    async def check(self, raw: bytes, envelope: Envelope) -> Checked:
        loop = asyncio.get_running_loop()
        auth_job: asyncio.Future[Authentication] | None = None
        if self.settings.enabled:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(THREADS, thread_name_prefix="inbound-auth")
            auth_job = loop.run_in_executor(self._pool, self.verdicts, raw, envelope)
        spam_job = (
            None if self.spam is None else asyncio.ensure_future(self.spam.check(raw, envelope))
        )
        authentication = None
        if auth_job is not None:
            try:
                authentication = await asyncio.wait_for(auth_job, DEADLINE_SECONDS)
            except TimeoutError:
                log.warning("auth: checks took over %g s; verdicts are temperror", DEADLINE_SECONDS)
                authentication = self.timed_out(raw, envelope)
        spam_verdict = None if spam_job is None else await spam_job
        return Checked(authentication=authentication, spam=spam_verdict, screen_ids=self.screen_ids)

    def verdicts(self, raw: bytes, envelope: Envelope) -> Authentication:
        """All four checks, synchronously (in a pool thread; also what the bench times)."""
        # The header block is split once; the body is read only by a check that needs it
        # (a DKIM or ARC signature's body hash), not by every parser in turn.
        head = dkim.header_block(raw)
        headers = _headers(head)
        names = dkim.header_names(head)
        spf_v = spf.check(
            self.resolver, ip=envelope.remote_ip, mail_from=envelope.mail_from, helo=envelope.helo
        )
        dkim_v = dkim.verify_signatures(self.resolver, raw, names)
        arc_v = dkim.verify_arc(self.resolver, raw, names)
        dmarc_v = dmarc.evaluate(
            self.resolver, from_domains=_from_domains(headers), spf=spf_v, dkim=dkim_v
        )
        return self._authentication(headers, spf_v, dkim_v, dmarc_v, arc_v)

    def timed_out(self, raw: bytes, envelope: Envelope) -> Authentication:
        headers = _headers(dkim.header_block(raw))
        domains = _from_domains(headers)
        temp = Result.TEMPERROR
        return self._authentication(
            headers,
            Spf(result=temp, domain=spf_domain(envelope), reason="deadline"),
            (),
            Dmarc(result=temp, policy=None, domain=domains[0] if domains else None, aligned=False),
            Arc(result=temp, reason="deadline"),
        )

    def _authentication(
        self,
        headers: list[tuple[str, str]],
        spf_v: Spf,
        dkim_v: tuple[Dkim, ...],
        dmarc_v: Dmarc,
        arc_v: Arc,
    ) -> Authentication:
        _kept, trusted = results.screen(headers, self.screen_ids, own_id=self.hostname)
        return Authentication(
            spf=spf_v,
            dkim=dkim_v,
            dmarc=dmarc_v,
            arc=arc_v,
            authentication_results=results.header_value(
                self.hostname, spf=spf_v, dkim=dkim_v, dmarc=dmarc_v, arc=arc_v
            ),
            trusted_results=trusted,
        )

    async def close(self) -> None:
        """Wait for checks in flight (each ends within its deadline) off the event loop."""
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await asyncio.get_running_loop().run_in_executor(None, pool.shutdown)


def spf_domain(envelope: Envelope) -> str | None:
    mail_from = envelope.mail_from.strip("<>")
    if "@" in mail_from:
        return mail_from.rpartition("@")[2].lower() or None
    return (envelope.helo or "").lower() or None


def _spam_checker(settings: AuthSettings) -> SpamChecker | None:
    spam = settings.spam
    if spam.rspamd_url is not None:
        return Rspamd(spam.rspamd_url, spam.timeout_seconds)
    if spam.spamd is not None:
        return Spamd(spam.spamd[0], spam.spamd[1], spam.timeout_seconds)
    return None


def _headers(head: bytes) -> list[tuple[str, str]]:
    """The top-level header fields of ``head`` (``dkim.header_block``), unfolded, as text."""
    message = BytesHeaderParser(policy=email_policy.compat32).parsebytes(head)
    return [(k, " ".join(str(v).split())) for k, v in message.items()]


def _from_domains(headers: list[tuple[str, str]]) -> tuple[str, ...]:
    values = [v for k, v in headers if k.lower() == "from"]
    domains = []
    for _name, address in getaddresses(values):
        _local, at, domain = address.rpartition("@")
        if at and domain:
            domains.append(domain.lower().rstrip(".").strip("[]"))
    return tuple(domains)
