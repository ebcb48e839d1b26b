"""Pure: what a webhook's answer means for the job (DESIGN §6).

2xx            Delivered
403, 406, 410  Refused: the customer said no; never try again
429, 503       Retry, honouring Retry-After (seconds or an HTTP date)
anything else  Retry on the backoff schedule (also timeouts and connection errors)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum

REFUSED_CODES = frozenset({403, 406, 410})
RETRY_AFTER_CODES = frozenset({429, 503})


class Verdict(StrEnum):
    DELIVERED = "delivered"  # 2xx
    REFUSED = "refused"  # 403/406/410
    RETRY = "retry"  # everything else


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    verdict: Verdict
    status_code: int | None
    retry_after_seconds: float | None = None
    detail: str | None = None  # a short fixed description, never a response body


def from_response(status_code: int, retry_after: str | None, now: datetime) -> Outcome:
    if 200 <= status_code < 300:
        return Outcome(verdict=Verdict.DELIVERED, status_code=status_code)
    if status_code in REFUSED_CODES:
        return Outcome(
            verdict=Verdict.REFUSED, status_code=status_code, detail=f"HTTP {status_code}"
        )
    after = parse_retry_after(retry_after, now) if status_code in RETRY_AFTER_CODES else None
    return Outcome(
        verdict=Verdict.RETRY,
        status_code=status_code,
        retry_after_seconds=after,
        detail=f"HTTP {status_code}",
    )


def from_error(kind: str) -> Outcome:
    """A transport failure (timeout, refused connection, TLS error…): always retried."""
    return Outcome(verdict=Verdict.RETRY, status_code=None, detail=kind)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """RFC 9110 §10.2.3: delay-seconds or an HTTP-date; None when absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(int(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max((when - now).total_seconds(), 0.0)
