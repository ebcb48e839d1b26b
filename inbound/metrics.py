"""Prometheus metrics (DESIGN §11): the one prometheus-client user.

Names are DESIGN §11's, exactly. Labels carry only fixed vocabularies (a reply code, an
outcome, a kind): never an address, a subject, a route's URL or a message id.

Counters and the histogram live in the process that counts. With several processes
(``inbound serve --processes N``) the supervisor sets ``PROMETHEUS_MULTIPROC_DIR`` before
the children start; every process then writes its figures to files there, and
``/metrics`` in any process adds up all of them (``MultiProcessCollector``), so the figures
are the whole service's. prometheus-client picks its value store when it is first
imported, so this module imports it only when a ``Metrics`` is made (in the process that
counts, after the variable is set), never at import: the supervisor, which imports the
service before it sets the variable, never loads it. The two outbox gauges are not counted
by anyone: they are read from the outbox (shared by every process) when ``/metrics`` is
scraped, so they are right in both modes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Webhook attempts take milliseconds to the 30 s deadline (DESIGN §6).
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class DueStats:
    """What the outbox says at scrape time."""

    due_jobs: int  # pending and due now
    oldest_due_seconds: float  # how long the oldest due job has waited (0: none due)


class Metrics:
    """The service's counters; one per Service, each on its own registry (tests stay apart)."""

    def __init__(self, *, multiprocess_dir: str | None = None) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        # Set (from PROMETHEUS_MULTIPROC_DIR, read by config) when several processes count.
        self.multiprocess_dir = multiprocess_dir
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.accepted = Counter(
            "inbound_messages_accepted", "Messages accepted (250 after DATA)", registry=r
        )
        self.smtp_replies = Counter(
            "inbound_smtp_replies",
            "Final SMTP replies: to each DATA and each refused MAIL/RCPT, by code",
            ["code"],
            registry=r,
        )
        self.deliveries = Counter(
            "inbound_deliveries",
            "Webhook delivery attempts, by outcome (delivered, retry, refused, failed)",
            ["outcome"],
            registry=r,
        )
        self.duration = Histogram(
            "inbound_delivery_duration_seconds",
            "Time per delivery attempt (read, parse, POST, record)",
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.classified = Counter(
            "inbound_classified", "Messages classified, by kind", ["kind"], registry=r
        )
        self.received_bytes = Counter(
            "inbound_received_bytes", "Bytes of accepted messages", registry=r
        )

    # ------------------------------------------------------------ hooks

    def smtp_reply(self, line: str) -> None:
        """Count a final reply by its three-digit code (the line's first word)."""
        code = line[:3]
        if code.isdigit():
            self.smtp_replies.labels(code=code).inc()

    def message_accepted(self, size: int) -> None:
        self.accepted.inc()
        self.received_bytes.inc(size)

    def delivery_attempt(self, outcome: str, seconds: float) -> None:
        self.deliveries.labels(outcome=outcome).inc()
        self.duration.observe(seconds)

    def message_classified(self, kind: str) -> None:
        self.classified.labels(kind=kind).inc()

    # ------------------------------------------------------------ exposition

    def exposition(self, due: DueStats | None) -> bytes:
        """The text format for ``GET /metrics``: this process or every process, plus gauges."""
        from prometheus_client import CollectorRegistry, generate_latest, multiprocess

        registry = CollectorRegistry(auto_describe=False)
        if self.multiprocess_dir:
            # prometheus-client leaves this constructor untyped.
            multiprocess.MultiProcessCollector(registry, path=self.multiprocess_dir)  # type: ignore[no-untyped-call]
        else:
            registry.register(_collector(lambda: self.registry.collect()))
        if due is not None:
            registry.register(_collector(lambda: _gauges(due)))
        return generate_latest(registry)


def _collector(collect: Any) -> Collector:
    """Anything with ``collect()`` is a collector to prometheus-client (duck-typed there)."""

    class _Collect:
        def collect(self) -> Iterator[Any]:
            yield from collect()

    return cast("Collector", _Collect())


def _gauges(due: DueStats) -> Iterator[Any]:
    from prometheus_client.core import GaugeMetricFamily

    yield GaugeMetricFamily(
        "inbound_outbox_due_jobs", "Delivery jobs pending and due now", value=due.due_jobs
    )
    yield GaugeMetricFamily(
        "inbound_outbox_oldest_due_seconds",
        "Seconds the oldest due job has been waiting (0 when none is due)",
        value=due.oldest_due_seconds,
    )


__all__ = ["CONTENT_TYPE", "DueStats", "Metrics"]
