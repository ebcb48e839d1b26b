"""Pure routing: a recipient address -> the route that serves it, and its mailbox hash.

Plus-addressing (DESIGN §3): ``reply+abc123@in.example.com`` routes like
``reply@in.example.com`` and carries ``mailbox_hash = "abc123"``. Patterns are lower-case
globs matched in configuration order; the first match wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from fnmatch import fnmatchcase

from inbound.config import Route


class Verdict(StrEnum):
    """What RCPT TO gets for one address."""

    ACCEPT = "accept"  # a route serves it
    UNKNOWN_USER = "unknown_user"  # a served domain, but no route for this mailbox: 550 5.1.1
    RELAY_DENIED = "relay_denied"  # not a domain we serve: 550 5.7.1, never relay


@dataclass(frozen=True, slots=True, kw_only=True)
class Match:
    verdict: Verdict
    route: Route | None = None
    mailbox_hash: str | None = None


def split_address(address: str) -> tuple[str, str, str | None]:
    """``"Reply+abc@Ex.com"`` -> ``("reply", "ex.com", "abc")``; the hash keeps its case."""
    local, _, domain = address.rpartition("@")
    base, plus, tag = local.partition("+")
    return base.lower(), domain.lower().rstrip("."), (tag if plus and tag else None)


def resolve(address: str, routes: tuple[Route, ...], domains: tuple[str, ...]) -> Match:
    base, domain, tag = split_address(address)
    if not base or not domain:
        return Match(verdict=Verdict.UNKNOWN_USER if domain in domains else Verdict.RELAY_DENIED)
    bare = f"{base}@{domain}"
    for route in routes:
        for pattern in route.recipients:
            if pattern == "*" and domain not in domains:
                continue  # a catch-all route never turns us into a relay
            if fnmatchcase(bare, pattern):
                return Match(verdict=Verdict.ACCEPT, route=route, mailbox_hash=tag)
    if domain in domains:
        return Match(verdict=Verdict.UNKNOWN_USER)
    return Match(verdict=Verdict.RELAY_DENIED)
