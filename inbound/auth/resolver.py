"""The one dnspython user: a configurable resolver with timeouts and a small TTL cache.

Every lookup the checks make goes through ``Resolver``: SPF (pyspf), DKIM and ARC keys
(dkimpy), DMARC policies. It answers with plain values (TXT records as their byte chunks,
addresses as text); "no such name" and "no such record" are both an empty list; every
failure (timeout, SERVFAIL, refused, no nameserver configured) is ``LookupFailed``, which
the checks turn into ``temperror`` (DESIGN §12) — never an exception out of the worker.

The cache keeps positive answers for their TTL and negative ones for the SOA minimum
(RFC 2308 §5), both capped, in a bounded LRU; failures are never cached. It is shared by
the worker's threads, so it is guarded by a lock. Time comes from an injected monotonic
clock, so tests expire entries without sleeping.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import dns.exception
import dns.name
import dns.nameserver
import dns.rdatatype
import dns.resolver

from inbound.errors import TransientError

log = logging.getLogger("inbound.auth")

# A negative answer without an SOA is remembered this long (seconds).
DEFAULT_NEGATIVE_TTL = 60
# Whatever a zone says, nothing is kept longer than this (a small cache, not a replica).
MAX_TTL = 3600
# EDNS0 payload size of the DNS Flag Day 2020 (avoids fragmentation; larger answers: TCP).
EDNS_PAYLOAD = 1232

RecordType = str  # "TXT", "A", "AAAA", "MX", "PTR"
_TYPES = frozenset({"TXT", "A", "AAAA", "MX", "PTR"})


class LookupFailed(TransientError):
    """The DNS did not answer (timeout, SERVFAIL, refused): the verdict is temperror."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolverSettings:
    # (host, port) pairs; empty: the system's resolver (/etc/resolv.conf).
    nameservers: tuple[tuple[str, int], ...] = ()
    timeout_seconds: float = 5.0  # per lookup, all tries and servers together
    cache_entries: int = 4096


@dataclass(frozen=True, slots=True)
class _Entry:
    expires: float
    values: tuple[object, ...]


class Resolver:
    """Thread-safe lookups through one dnspython resolver and one cache."""

    def __init__(
        self,
        settings: ResolverSettings,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self.hits = 0
        self.misses = 0
        self._resolver: dns.resolver.Resolver | None = None
        self._broken: str | None = None
        try:
            self._resolver = _make(settings)
        except dns.exception.DNSException as exc:
            # No /etc/resolv.conf (a bare container): every lookup is a temperror.
            self._broken = f"no DNS resolver configured ({type(exc).__name__})"
            log.warning("auth: %s; SPF, DKIM and DMARC will report temperror", self._broken)

    # ------------------------------------------------------------ typed lookups

    def txt(self, name: str) -> list[tuple[bytes, ...]]:
        """TXT records, each as its character-strings (RFC 7208 §3.3 joins them)."""
        return [v for v in self.lookup(name, "TXT") if isinstance(v, tuple)]

    def addresses(self, name: str, rdtype: RecordType = "A") -> list[str]:
        return [v for v in self.lookup(name, rdtype) if isinstance(v, str)]

    def mx(self, name: str) -> list[tuple[int, str]]:
        return [v for v in self.lookup(name, "MX") if isinstance(v, tuple)]

    def ptr(self, name: str) -> list[str]:
        return [v for v in self.lookup(name, "PTR") if isinstance(v, str)]

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()

    # ------------------------------------------------------------ the one path to DNS

    def lookup(self, name: str, rdtype: RecordType) -> tuple[object, ...]:
        if rdtype not in _TYPES:
            raise ValueError(f"unsupported record type {rdtype}")
        key = (name.lower().rstrip("."), rdtype)
        now = self._monotonic()
        with self._lock:
            entry = self._cache.get(key)
            if entry is not None and entry.expires > now:
                self._cache.move_to_end(key)
                self.hits += 1
                return entry.values
            self.misses += 1
        values, ttl = self._ask(key[0], rdtype)
        with self._lock:
            self._cache[key] = _Entry(expires=self._monotonic() + ttl, values=values)
            self._cache.move_to_end(key)
            while len(self._cache) > self.settings.cache_entries:
                self._cache.popitem(last=False)
        return values

    def _ask(self, name: str, rdtype: RecordType) -> tuple[tuple[object, ...], float]:
        if self._resolver is None:
            raise LookupFailed(self._broken or "no resolver")
        try:
            qname = dns.name.from_text(name)
        except dns.exception.DNSException:
            return (), DEFAULT_NEGATIVE_TTL  # not a valid name: nothing can exist there
        try:
            answer = self._resolver.resolve(qname, rdtype, search=False, raise_on_no_answer=False)
        except dns.resolver.NXDOMAIN as exc:
            responses: dict[object, object] = exc.kwargs.get("responses") or {}
            return (), _negative_ttl(next(iter(responses.values()), None))
        except dns.resolver.LifetimeTimeout as exc:
            raise LookupFailed(f"DNS timeout for {rdtype} {name}") from exc
        except dns.resolver.NoNameservers as exc:
            raise LookupFailed(f"no nameserver answered {rdtype} {name}") from exc
        except dns.exception.DNSException as exc:
            raise LookupFailed(f"DNS error for {rdtype} {name}: {type(exc).__name__}") from exc
        if answer.rrset is None:
            return (), _negative_ttl(answer.response)
        values = tuple(_value(rdata, rdtype) for rdata in answer.rrset)
        return values, float(min(answer.rrset.ttl, MAX_TTL))


def _make(settings: ResolverSettings) -> dns.resolver.Resolver:
    configure = not settings.nameservers
    resolver = dns.resolver.Resolver(configure=configure)
    if settings.nameservers:
        resolver.nameservers = [
            dns.nameserver.Do53Nameserver(host, port) for host, port in settings.nameservers
        ]
    resolver.lifetime = settings.timeout_seconds
    # Several tries per lookup: one lost UDP datagram must not make a temperror.
    resolver.timeout = max(min(2.0, settings.timeout_seconds / 2), 0.1)
    resolver.use_edns(0, 0, EDNS_PAYLOAD)
    resolver.cache = None  # ours, shared and bounded, is in front
    return resolver


def _negative_ttl(response: object) -> float:
    """RFC 2308 §5: a negative answer lives min(SOA TTL, SOA MINIMUM)."""
    authority = getattr(response, "authority", None) or []
    for rrset in authority:
        if rrset.rdtype == dns.rdatatype.SOA:
            soa = rrset[0]
            return float(min(rrset.ttl, soa.minimum, MAX_TTL))
    return float(DEFAULT_NEGATIVE_TTL)


def _value(rdata: object, rdtype: RecordType) -> object:
    if rdtype == "TXT":
        return tuple(getattr(rdata, "strings", ()))
    if rdtype in ("A", "AAAA"):
        return str(getattr(rdata, "address", ""))
    if rdtype == "MX":
        exchange = getattr(rdata, "exchange", None)
        return (int(getattr(rdata, "preference", 0)), str(exchange).rstrip("."))
    return str(getattr(rdata, "target", "")).rstrip(".")
