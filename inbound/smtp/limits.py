"""Per-client limits: who a client is (``client_key``), and its message rate (450 4.7.1).

A client is its IPv4 address, or its IPv6 network (/64 by default, set by
``server.ipv6_prefix_length``): a host that rotates addresses inside its /64 is still
one client, for the session limits of server.py and for the rate limit here.

The rate limit is a token bucket per client: ``rate`` messages per minute on average,
bursts up to the same number. Pure apart from the ``now`` function it is given
(monotonic seconds), so tests move time by hand. Buckets of clients that went quiet are
dropped so the table stays small under address churn.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass

# An IPv6 site usually gets a /64 (RFC 6177; SLAAC needs one): a client that rotates
# addresses inside it is still one client.
DEFAULT_IPV6_PREFIX = 64


def client_key(ip: str, ipv6_prefix: int = DEFAULT_IPV6_PREFIX) -> str:
    """What per-client limits count on: the IPv4 address, or the IPv6 /prefix network.

    IPv4-mapped IPv6 (``::ffff:192.0.2.1``, a dual-stack socket) counts as the IPv4 address.
    """
    try:
        address = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, ipv6_prefix), strict=False))
    return str(address)


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    def __init__(
        self, per_minute: int, now: Callable[[], float], max_clients: int = 100_000
    ) -> None:
        self.capacity = float(per_minute)
        self.refill_per_second = per_minute / 60.0
        self.now = now
        self.max_clients = max_clients
        self._buckets: dict[str, _Bucket] = {}

    def allow(self, client: str) -> bool:
        """Take one token for ``client``; False when its bucket is empty."""
        if self.capacity <= 0:
            return True  # 0 = no limit
        t = self.now()
        bucket = self._buckets.get(client)
        if bucket is None:
            if len(self._buckets) >= self.max_clients:
                self._forget_full(t)
            bucket = self._buckets[client] = _Bucket(tokens=self.capacity, at=t)
        bucket.tokens = min(self.capacity, bucket.tokens + (t - bucket.at) * self.refill_per_second)
        bucket.at = t
        if bucket.tokens < 1.0:
            return False
        bucket.tokens -= 1.0
        return True

    def _forget_full(self, t: float) -> None:
        for client, bucket in list(self._buckets.items()):
            if bucket.tokens + (t - bucket.at) * self.refill_per_second >= self.capacity:
                del self._buckets[client]
