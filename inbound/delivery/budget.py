"""How many bytes of raw mail one worker process holds for parsing at once (issue 12).

A parse costs about twice its message in memory (the raw bytes, then the decoded parts),
so ten 25 MB messages due together would take half a gigabyte in one worker. Each job
holds its message's size of the budget from reading the raw bytes until its event is
built; a job that does not fit waits for others to finish (never an OOM). A message
larger than the whole budget still goes, alone.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class ByteBudget:
    def __init__(self, capacity: int) -> None:
        self.capacity = max(1, capacity)
        self.used = 0
        self._changed = asyncio.Condition()

    @contextlib.asynccontextmanager
    async def hold(self, size: int) -> AsyncIterator[None]:
        """Wait until ``size`` bytes fit, hold them for the ``async with`` block."""
        size = min(max(size, 0), self.capacity)
        async with self._changed:
            await self._changed.wait_for(lambda: self.used + size <= self.capacity)
            self.used += size
        try:
            yield
        finally:
            async with self._changed:
                self.used -= size
                self._changed.notify_all()
