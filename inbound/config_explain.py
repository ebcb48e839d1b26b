"""``inbound check-config FILE --explain``: every delivery key, its value and its meaning.

The retry schedule is the part of the configuration operators most often need to read
back ("when will the next try be, and when does inbound give up?"), so the explanation
prints each ``[delivery]`` key with the value in force (file, environment or default)
and the schedule those values give. The same texts are the README's table of delivery
keys; a test keeps the two in step.
"""

from __future__ import annotations

from inbound.config import Settings
from inbound.delivery import schedule

# key -> (Settings attribute, unit, what it does). Order is the README table's order.
DELIVERY_KEYS: dict[str, tuple[str, str, str]] = {
    "concurrency": (
        "delivery_concurrency",
        "",
        "webhook POSTs in flight at once per process (env INBOUND_DELIVERY_CONCURRENCY)",
    ),
    "initial_backoff_seconds": (
        "initial_backoff_seconds",
        "s",
        "wait after the first failed attempt; doubles after each further failure",
    ),
    "max_backoff_seconds": (
        "max_backoff_seconds",
        "s",
        "longest wait between two attempts (a Retry-After is honoured up to 6 h)",
    ),
    "jitter_seconds": (
        "jitter_seconds",
        "s",
        "random extra wait, 0 to this, added to each backoff so retries do not arrive in lockstep",
    ),
    "max_attempt_days": (
        "max_attempt_days",
        " days",
        "after this long since the message arrived the job is `failed` (redeliver by hand)",
    ),
    "allow_private_webhooks": (
        "allow_private_webhooks",
        "",
        "allow http:// and loopback/private webhook addresses (tests, same-host receivers; "
        "env INBOUND_ALLOW_PRIVATE_WEBHOOKS)",
    ),
}


def explain(settings: Settings) -> list[str]:
    """Lines describing the delivery keys in force and the schedule they make."""
    lines = ["[delivery]"]
    for key, (attr, unit, text) in DELIVERY_KEYS.items():
        value = getattr(settings, attr)
        shown = str(value).lower() if isinstance(value, bool) else f"{value:g}{unit}"
        lines.append(f"  {key} = {shown}: {text}")
    policy = schedule.Policy(
        initial_seconds=settings.initial_backoff_seconds,
        max_seconds=settings.max_backoff_seconds,
        jitter_seconds=0.0,
    )
    waits = [schedule.backoff_seconds(policy, n) for n in range(1, 9)]
    lines.append(
        "  schedule: waits of "
        + ", ".join(f"{w:g}s" for w in waits)
        + f" … (each plus 0-{settings.jitter_seconds:g}s jitter), at most"
        f" {settings.max_backoff_seconds:g}s apart, until {settings.max_attempt_days:g} days"
        " after arrival; 2xx delivers, 403/406/410 refuse for good, anything else retries"
    )
    return lines
