"""The worker's byte budget: jobs whose raw mail does not fit wait; nothing is refused."""

from __future__ import annotations

import asyncio

from inbound.delivery.budget import ByteBudget


async def test_jobs_that_do_not_fit_wait_and_a_huge_one_goes_alone() -> None:
    budget = ByteBudget(100)
    running: list[int] = []
    peak = 0

    async def job(size: int) -> None:
        nonlocal peak
        async with budget.hold(size):
            running.append(min(size, budget.capacity))
            peak = max(peak, sum(running))
            await asyncio.sleep(0.01)
            running.remove(min(size, budget.capacity))

    await asyncio.gather(*(job(40) for _ in range(10)), job(500), job(0))
    assert peak <= 100  # never more than the budget at once (the huge one counted as 100)
    assert budget.used == 0
    assert not running
