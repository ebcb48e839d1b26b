"""SPF (RFC 7208) for the envelope: the one pyspf user.

pyspf is the reference implementation (its author maintains dkimpy too, and it passes
the RFC 7208 test suite): mechanisms, macros, the 10-lookup limit and the 2-void-lookup
limit of §4.6.4 (both give ``permerror``) are its work. What we add is where its DNS
goes: pyspf looks names up through a module-level function, ``spf.DNSLookup``, with no
parameter to hand it a resolver, so this module points that function once, at import,
at a dispatcher that reads the resolver of the running check from a context variable.
Every lookup therefore goes through our ``Resolver`` (configured nameservers, timeouts,
the shared TTL cache) and a DNS failure is pyspf's ``TempError``: ``temperror``.
"""

from __future__ import annotations

import contextvars
import ipaddress
import logging
from typing import Any

import spf as pyspf

from inbound.auth.model import Result, Spf
from inbound.auth.resolver import LookupFailed, Resolver

log = logging.getLogger("inbound.auth")

# RFC 7208 §4.6.4: "at least 20 seconds" for the whole evaluation.
QUERY_SECONDS = 20

_RESOLVER: contextvars.ContextVar[Resolver] = contextvars.ContextVar("inbound_spf_resolver")


def _lookup(name: str, qtype: str, *_args: Any, **_kwargs: Any) -> list[tuple[Any, Any]]:
    """pyspf's DNSLookup contract: [((name, type), value), ...]; TempError on failure."""
    resolver = _RESOLVER.get()
    if qtype == "SPF":  # RR type 99 is obsolete (RFC 7208 §3.1); nobody publishes it
        return []
    try:
        if qtype == "TXT":
            return [((name, qtype), chunks) for chunks in resolver.txt(name)]
        if qtype in ("A", "AAAA"):
            return [((name, qtype), a) for a in resolver.addresses(name, qtype)]
        if qtype == "MX":
            return [((name, qtype), mx) for mx in resolver.mx(name)]
        if qtype == "PTR":
            return [((name, qtype), p) for p in resolver.ptr(name)]
    except LookupFailed as exc:
        raise pyspf.TempError(f"DNS {exc}") from None
    return []


pyspf.DNSLookup = _lookup  # the one hook pyspf offers (see the module docstring)


def check(resolver: Resolver, *, ip: str | None, mail_from: str, helo: str | None) -> Spf:
    """The SPF verdict for MAIL FROM (or, for a bounce's empty MAIL FROM, the HELO name)."""
    mail_from = mail_from.strip().strip("<>")
    identity = "mailfrom" if mail_from else "helo"
    domain = _domain_of(mail_from) if mail_from else (helo or "").lower().rstrip(".") or None
    if not domain:
        return Spf(result=Result.NONE, domain=None, identity=identity, reason="no identity")
    if ip is None:
        return Spf(result=Result.NONE, domain=domain, identity=identity, reason="no client IP")
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return Spf(result=Result.NONE, domain=domain, identity=identity, reason="bad client IP")
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    token = _RESOLVER.set(resolver)
    try:
        query = pyspf.query(
            i=str(address),
            s=mail_from,
            h=helo or domain,
            strict=True,
            querytime=QUERY_SECONDS,
        )
        outcome, _code, explanation = query.check()
    except Exception as exc:  # a parser of untrusted DNS text must not stop a delivery
        log.warning("auth: pyspf failed on %s: %s", domain, type(exc).__name__)
        return Spf(result=Result.PERMERROR, domain=domain, identity=identity, reason="error")
    finally:
        _RESOLVER.reset(token)
    try:
        result = Result(str(outcome))
    except ValueError:
        result = Result.PERMERROR
    return Spf(result=result, domain=domain, identity=identity, reason=str(explanation))


def _domain_of(address: str) -> str | None:
    local, at, domain = address.rpartition("@")
    if not at or not local:
        return None
    return domain.lower().rstrip(".") or None
