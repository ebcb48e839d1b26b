"""When to try again: the one tenacity user, as a pure function (DESIGN §6).

tenacity's wait strategies read only the attempt number, so we ask them for the wait and
persist ``now + wait`` in the outbox instead of sleeping. Default schedule: exponential
from 1 minute with up to a minute of jitter, capped at 1 hour between attempts, for up to
3 days after the message arrived; then the job is ``failed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import tenacity


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    initial_seconds: float = 60.0
    max_seconds: float = 3600.0
    jitter_seconds: float = 60.0
    give_up_after: timedelta = timedelta(days=3)
    # A Retry-After longer than this is clamped: a webhook cannot park mail for weeks.
    max_retry_after_seconds: float = 6 * 3600.0


def backoff_seconds(policy: Policy, attempt: int) -> float:
    """The wait after failed attempt number ``attempt`` (1-based)."""
    wait = tenacity.wait_exponential_jitter(
        multiplier=policy.initial_seconds, max=policy.max_seconds, jitter=policy.jitter_seconds
    )
    state = tenacity.RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]  # wait strategies read attempt_number only
    # tenacity counts n from 0 for the first retry: multiplier * 2**(attempt-1).
    state.attempt_number = attempt
    return float(wait(state))


def next_attempt_at(
    policy: Policy,
    *,
    attempt: int,
    now: datetime,
    first_queued_at: datetime,
    retry_after_seconds: float | None = None,
) -> datetime | None:
    """When to try again, or None when the job has run out of time and is ``failed``."""
    if retry_after_seconds is not None:
        wait = min(max(retry_after_seconds, 0.0), policy.max_retry_after_seconds)
    else:
        wait = backoff_seconds(policy, attempt)
    when = now + timedelta(seconds=wait)
    if when > first_queued_at + policy.give_up_after:
        return None
    return when
