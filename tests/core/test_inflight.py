"""The shared drain-on-stop helper: finished work is left alone, late work is cut short and counted."""

from __future__ import annotations

import asyncio
from contextlib import ExitStack

from bot.core.inflight import InFlight


async def test_drain_with_nothing_in_flight_cuts_nothing() -> None:
    assert await InFlight().drain(0) == 0


async def test_work_that_finishes_within_the_grace_is_not_cancelled() -> None:
    in_flight = InFlight()
    release = asyncio.Event()

    async def work() -> str:
        await release.wait()
        return "done"

    job = asyncio.ensure_future(work())
    with in_flight.tracking(job):
        assert len(in_flight) == 1
        release.set()
        assert await in_flight.drain(60) == 0
        assert job.result() == "done"


async def test_late_work_is_cancelled_and_counted_and_sees_the_cancellation() -> None:
    in_flight = InFlight()
    said_sorry = asyncio.Event()

    async def work() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            said_sorry.set()  # adapters tell the user here
            raise

    jobs = [asyncio.ensure_future(work()) for _ in range(2)]
    with ExitStack() as stack:
        for job in jobs:
            stack.enter_context(in_flight.tracking(job))
        await asyncio.sleep(0)  # let both start waiting
        assert await in_flight.drain(0) == 2
    assert said_sorry.is_set()
    assert all(job.cancelled() for job in jobs)
    assert len(in_flight) == 0


async def test_work_leaves_the_tracker_when_its_block_ends() -> None:
    in_flight = InFlight()
    job: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    with in_flight.tracking(job):
        pass
    job.set_result(None)
    assert len(in_flight) == 0 and await in_flight.drain(0) == 0
