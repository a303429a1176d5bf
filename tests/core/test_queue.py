from __future__ import annotations

import asyncio

import pytest

from bot.core.queue import JobQueue
from bot.errors import QueueFull


async def test_second_job_of_a_user_waits_with_its_position_while_others_run() -> None:
    queue = JobQueue(per_user=1, max_waiting_per_user=2, global_limit=10)
    release = asyncio.Event()
    positions: list[int] = []
    order: list[str] = []

    async def job(user: str, name: str) -> None:
        async def on_queued(position: int) -> None:
            positions.append(position)

        async with queue.slot(user, on_queued):
            order.append(f"start {name}")
            if name == "a1":
                await release.wait()

    first = asyncio.create_task(job("a", "a1"))
    await asyncio.sleep(0)
    second = asyncio.create_task(job("a", "a2"))
    other = asyncio.create_task(job("b", "b1"))
    await other  # another user is never held up by a's slow job
    assert order == ["start a1", "start b1"]
    assert positions == [1]
    third = asyncio.create_task(job("a", "a3"))
    await asyncio.sleep(0)
    assert queue.waiting == 2
    with pytest.raises(QueueFull):
        await job("a", "a4")  # a2 and a3 already wait: the line is full
    release.set()
    await asyncio.gather(first, second, third)
    assert order[-2:] == ["start a2", "start a3"]
    assert queue.waiting == 0


async def test_cancelled_waiter_gives_its_place_back() -> None:
    queue = JobQueue(per_user=1, max_waiting_per_user=1, global_limit=10)
    hold = asyncio.Event()

    async def holder() -> None:
        async with queue.slot("a"):
            await hold.wait()

    running = asyncio.create_task(holder())
    await asyncio.sleep(0)

    async def waiter() -> None:
        async with queue.slot("a"):
            pass

    waiting = asyncio.create_task(waiter())
    await asyncio.sleep(0)
    assert queue.waiting == 1
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert queue.waiting == 0
    hold.set()
    await running
    async with queue.slot("a"):  # nothing leaked: the user's slot is free again
        pass
