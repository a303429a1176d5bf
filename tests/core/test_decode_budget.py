"""DecodeBudget: decodes wait until their bytes and a slot are free, in arrival order; cancellation gives back."""

from __future__ import annotations

import asyncio

import pytest

from bot.core.decode_budget import DecodeBudget


async def hold(budget: DecodeBudget, cost: int, entered: list[int], release: asyncio.Event) -> None:
    async with budget.reserve(cost):
        entered.append(cost)
        await release.wait()


async def settle() -> None:
    for _ in range(5):  # let every runnable task take its step
        await asyncio.sleep(0)


async def test_decodes_wait_for_bytes_then_run_in_arrival_order() -> None:
    budget = DecodeBudget(100, parallel=4)
    entered: list[int] = []
    gates = [asyncio.Event() for _ in range(3)]
    tasks = [
        asyncio.create_task(hold(budget, cost, entered, gate))
        for cost, gate in zip((70, 50, 10), gates, strict=True)
    ]
    await settle()
    # 70 runs; 50 does not fit, and 10 (which would) does not overtake it
    assert entered == [70] and budget.free_bytes == 30
    gates[0].set()
    await settle()
    assert entered == [70, 50, 10] and budget.free_bytes == 40
    for gate in gates:
        gate.set()
    await asyncio.gather(*tasks)
    assert budget.free_bytes == 100


async def test_the_number_of_decodes_at_once_is_bounded_too() -> None:
    budget = DecodeBudget(1000, parallel=2)
    entered: list[int] = []
    release = asyncio.Event()
    tasks = [asyncio.create_task(hold(budget, 1, entered, release)) for _ in range(5)]
    await settle()
    assert len(entered) == 2
    release.set()
    await asyncio.gather(*tasks)
    assert len(entered) == 5


async def test_a_cost_over_the_whole_budget_runs_alone_instead_of_never() -> None:
    budget = DecodeBudget(100, parallel=4)
    entered: list[int] = []
    release = asyncio.Event()
    task = asyncio.create_task(hold(budget, 500, entered, release))
    await settle()
    assert entered == [500] and budget.free_bytes == 0
    release.set()
    await task


async def test_a_cancelled_waiter_takes_nothing_and_blocks_no_one() -> None:
    budget = DecodeBudget(100, parallel=4)
    entered: list[int] = []
    first, third = asyncio.Event(), asyncio.Event()
    running = asyncio.create_task(hold(budget, 80, entered, first))
    await settle()
    waiting = asyncio.create_task(hold(budget, 90, entered, asyncio.Event()))
    behind = asyncio.create_task(hold(budget, 20, entered, third))
    await settle()
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    first.set()
    third.set()
    await asyncio.gather(running, behind)
    assert entered == [80, 20] and budget.free_bytes == 100
