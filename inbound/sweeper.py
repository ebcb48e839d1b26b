"""The retention sweeper (DESIGN §8): raw mail after raw_days, rows after metadata_days.

Runs at start and then every ``retention.SWEEP_INTERVAL``; ``run_once(now)`` is what
tests call with an injected clock. Expiry is driven by the outbox rows, so it is exact
per message on both backends; afterwards ``store.expire`` removes orphans (objects with
no row, e.g. from a put that timed out) on backends without native lifecycle rules.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

from inbound.clock import Clock
from inbound.errors import InboundError
from inbound.outbox.sqlite import SqliteOutbox
from inbound.storage import keys
from inbound.storage.base import LifecycleRule, RawStore

log = logging.getLogger("inbound.retention")


class Sweeper:
    def __init__(
        self, *, store: RawStore, outbox: SqliteOutbox, rules: list[LifecycleRule], prefix: str
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
        counts = {"raw": 0, "messages": 0, "orphans": 0}
        for msg in await self.outbox.select_messages(
            "raw_deleted = 0 AND raw_expires_at <= ?", (now.timestamp(),)
        ):
            await self.store.delete(msg.raw_key)
            for att in await self.store.list(f"{self.prefix}{keys.ATTACHMENTS}{msg.id}/"):
                await self.store.delete(att.key)
            await self.outbox.mark_raw_deleted(msg.id)
            counts["raw"] += 1
        expired = await self.outbox.select_messages("expires_at <= ?", (now.timestamp(),))
        for msg in expired:
            await self.delete_objects(msg.id, msg.raw_key, msg.received_at)
        if expired:
            # Deleting the rows destroys the data keys: any copy left anywhere is unreadable.
            removed = await self.outbox.delete_messages([m.id for m in expired])
            counts["messages"] = removed["messages"]
        counts["orphans"] = await self.store.expire(self.rules, now)
        if any(counts.values()):
            log.info(
                "retention: %d raw messages, %d expired messages, %d orphan objects removed",
                counts["raw"],
                counts["messages"],
                counts["orphans"],
            )
        return counts

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
