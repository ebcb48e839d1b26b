"""Retention policy: which stored objects expire when (DESIGN §4, §8).

Pure: it turns the configured periods into ``LifecycleRule`` values that both backends
enforce, natively on S3 (``S3Store.apply_lifecycle``) and by the local sweeper
(``LocalStore.expire``, run every ``SWEEP_INTERVAL``). It may not touch storage, clocks
or configuration files itself; the app passes the numbers in.

Rule IDs start with ``LIFECYCLE_ID_PREFIX`` and name the key prefix they cover, so
several deployments sharing one bucket under different prefixes each own their rules,
and rules inbound did not create are never mistaken for its own.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from inbound.storage import keys
from inbound.storage.base import LIFECYCLE_ID_PREFIX, LifecycleRule

# How often the local sweeper runs. Expiry is counted in days, so an hour late is fine.
SWEEP_INTERVAL = timedelta(hours=1)
# S3 PutBucketLifecycleConfiguration: a rule ID is at most 255 characters.
_MAX_RULE_ID = 255


def lifecycle_rules(raw_days: int, event_days: int, prefix: str = "") -> list[LifecycleRule]:
    """Raw mail and stored attachments go after ``raw_days``, events after ``event_days``.

    Attachments hold the same personal data as the raw message they came from, so they
    share its period. ``prefix`` is the store's key prefix ("" or ending in "/").
    """
    if raw_days < 1 or event_days < 1:
        raise ValueError("retention periods are whole days, at least 1")  # S3 rejects 0
    return [
        LifecycleRule(id=_rule_id(prefix, area), prefix=f"{prefix}{area}", days=days)
        for area, days in (
            (keys.RAW, raw_days),
            (keys.ATTACHMENTS, raw_days),
            (keys.EVENTS, event_days),
        )
    ]


def _rule_id(prefix: str, area: str) -> str:
    rule_id = f"{LIFECYCLE_ID_PREFIX}{prefix}{area.rstrip('/')}"
    if len(rule_id) <= _MAX_RULE_ID:
        return rule_id
    digest = hashlib.sha256(prefix.encode()).hexdigest()[:16]
    return f"{LIFECYCLE_ID_PREFIX}{digest}-{area.rstrip('/')}"
