"""Per-client message rate limit (DESIGN §3: 450 4.7.1 when exceeded).

A token bucket per client IP: ``rate`` messages per minute on average, bursts up to the
same number. Pure apart from the ``now`` function it is given (monotonic seconds), so
tests move time by hand. Buckets of clients that went quiet are dropped so the table
stays small under address churn.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


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
