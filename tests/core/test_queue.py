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


async def _settle() -> None:
    """Let every woken task run until nothing is left to do (no timing involved)."""
    for _ in range(20):
        await asyncio.sleep(0)


async def test_a_cancelled_waiter_leaves_the_line_and_those_behind_move_up_and_are_told() -> None:
    queue = JobQueue(per_user=1, max_waiting_per_user=5, global_limit=1)
    hold = asyncio.Event()
    told: dict[str, list[int]] = {}
    started: list[str] = []

    async def job(name: str) -> None:
        async def on_queued(position: int) -> None:
            told.setdefault(name, []).append(position)

        async with queue.slot(name, on_queued):
            started.append(name)
            if name == "a":
                await hold.wait()

    tasks = {name: asyncio.create_task(job(name)) for name in "abcd"}
    await _settle()
    assert told == {"b": [1], "c": [2], "d": [3]}
    tasks["b"].cancel()
    await _settle()
    assert told == {"b": [1], "c": [2, 1], "d": [3, 2]}
    hold.set()
    await asyncio.gather(*(task for name, task in tasks.items() if name != "b"))
    assert started == ["a", "c", "d"]
    assert told["d"][:2] == [3, 2]  # and 1 only if it had to wait for c
    assert queue.waiting == 0


async def test_a_thousand_waiters_are_told_near_the_front_every_move_further_back_by_tenths() -> None:
    queue = JobQueue(per_user=1, max_waiting_per_user=0, global_limit=1)
    gate = asyncio.Event()
    messages = 0

    async def job(user: int) -> None:
        async def on_queued(position: int) -> None:
            nonlocal messages
            messages += 1

        async with queue.slot(f"u{user}", on_queued):
            await gate.wait()
            gate.clear()

    tasks = [asyncio.create_task(job(user)) for user in range(1001)]
    await _settle()
    assert queue.waiting == 1000 and messages == 1000
    for _ in range(1001):
        gate.set()
        await _settle()
    await asyncio.gather(*tasks)
    # every waiter moves up 1,000 places in all; telling each move would be ~500,000 messages
    assert 1000 < messages < 60_000
