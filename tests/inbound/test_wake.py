"""Cross-process nudges (inbound/wake.py): real abstract Unix sockets, two listeners."""

from __future__ import annotations

import asyncio
from pathlib import Path

from inbound.wake import Wake


async def test_each_nudge_goes_to_the_next_worker_in_turn(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox.sqlite3"
    got: list[int] = []
    listeners = [Wake(outbox, 2, index=i) for i in range(2)]
    for i, listener in enumerate(listeners):
        listener.listen(lambda i=i: got.append(i))  # type: ignore[misc]
    sender = Wake(outbox, 2)
    try:
        for _ in range(4):
            sender.notify()
            sender.notify()  # the same turn of the loop: coalesced into one nudge
            for _ in range(50):
                await asyncio.sleep(0.01)
                if len(got) % 2 == 1 or len(got) >= 4:
                    break
            await asyncio.sleep(0.05)
        assert sorted(got) == [0, 0, 1, 1]
        assert got[0] != got[1] and got[2] != got[3]
    finally:
        sender.close()
        for listener in listeners:
            listener.close()


async def test_a_nudge_to_a_worker_not_listening_is_not_an_error(tmp_path: Path) -> None:
    sender = Wake(tmp_path / "outbox.sqlite3", 3)
    try:
        for _ in range(5):
            sender.notify()
            await asyncio.sleep(0)
    finally:
        sender.close()
