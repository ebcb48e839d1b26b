"""The retention sweeper (DESIGN §8): raw mail after raw_days, rows after metadata_days.

Runs at start and then every ``retention.SWEEP_INTERVAL``; ``run_once(now)`` is what
tests call with an injected clock. Expiry is driven by the outbox rows, so it is exact
per message on both backends; afterwards ``store.expire`` removes objects past their
rule's age on backends without native lifecycle rules.

It also clears what a crash leaves behind (issue 16, item 15):

* objects with no outbox row: a process killed between the raw ``put`` and the
  outbox commit never answered 250, so nobody will deliver that object. Once it is
  older than ``ORPHAN_GRACE`` (no accept waits that long for its commit) it goes,
  with any event or attachment of the same message id;
* temporary files of writers killed mid-``put`` (``store.sweep_temporary``).

It may not decide what expires when (retention.py does) nor speak SQL (the outbox's
named methods do).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta

from inbound.clock import Clock
from inbound.errors import InboundError
from inbound.outbox.base import MessageStore
from inbound.storage import keys
from inbound.storage.base import LifecycleRule, RawStore

log = logging.getLogger("inbound.retention")

# An object whose message has no row is an orphan only when it is older than this. The
# raw put and the outbox commit of one accept both fit in the 300 s SMTP budget
# (RFC 5321 §4.5.3.2.7, DESIGN §3); an hour leaves room for a slow group commit and for
# clock skew between an S3 service and us.
ORPHAN_GRACE = timedelta(hours=1)
# Object areas whose keys name a message id (storage/keys.py).
_AREAS = (keys.RAW, keys.EVENTS, keys.ATTACHMENTS)


class Sweeper:
    def __init__(
        self, *, store: RawStore, outbox: MessageStore, rules: list[LifecycleRule], prefix: str
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.rules = rules
        self.prefix = prefix

    async def delete_objects(self, message_id: str, raw_key: str, received_at: datetime) -> int:
        """Remove every object of one message; return how many keys were deleted."""
        targets = [raw_key, keys.event_key(message_id, received_at, self.prefix)]
        attachments = await self.store.list(f"{self.prefix}{keys.ATTACHMENTS}{message_id}/")
        targets.extend(a.key for a in attachments)
        for key in targets:
            await self.store.delete(key)
        return len(targets)

    async def run_once(self, now: datetime) -> dict[str, int]:
        counts = {"raw": 0, "messages": 0, "orphans": 0, "unowned": 0, "temporary": 0}
        for msg in await self.outbox.raw_expired(now):
            await self.store.delete(msg.raw_key)
            for att in await self.store.list(f"{self.prefix}{keys.ATTACHMENTS}{msg.id}/"):
                await self.store.delete(att.key)
            await self.outbox.mark_raw_deleted(msg.id)
            counts["raw"] += 1
        expired = await self.outbox.expired(now)
        for msg in expired:
            await self.delete_objects(msg.id, msg.raw_key, msg.received_at)
        if expired:
            # Deleting the rows destroys the data keys: any copy left anywhere is unreadable.
            removed = await self.outbox.delete_messages([m.id for m in expired])
            counts["messages"] = removed["messages"]
        counts["orphans"] = await self.store.expire(self.rules, now)
        counts.update(await self.sweep_crash_leftovers(now))
        if any(counts.values()):
            log.info(
                "retention: %d raw messages, %d expired messages, %d expired objects,"
                " %d objects without a message row, %d temporary files removed",
                counts["raw"],
                counts["messages"],
                counts["orphans"],
                counts["unowned"],
                counts["temporary"],
            )
        return counts

    async def sweep_crash_leftovers(self, now: datetime) -> dict[str, int]:
        """Objects without a row (older than ORPHAN_GRACE) and dead writers' temp files."""
        cutoff = now - ORPHAN_GRACE
        candidates: dict[str, list[str]] = {}
        for area in _AREAS:
            for info in await self.store.list(f"{self.prefix}{area}"):
                message_id = keys.message_id_of(info.key)
                if message_id is not None and info.modified <= cutoff:
                    candidates.setdefault(message_id, []).append(info.key)
        unowned = 0
        if candidates:
            known = await self.outbox.existing(sorted(candidates))
            for message_id, found in candidates.items():
                if message_id in known:
                    continue
                for key in found:
                    await self.store.delete(key)
                    unowned += 1
        return {"unowned": unowned, "temporary": await self.store.sweep_temporary(now)}

    async def run(self, stop: asyncio.Event, clock: Clock, interval_seconds: float) -> None:
        while not stop.is_set():
            try:
                await self.run_once(clock.now())
            except InboundError as exc:
                log.error(
                    "retention sweep failed (%s); next try in %.0f s",
                    type(exc).__name__,
                    interval_seconds,
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval_seconds)
