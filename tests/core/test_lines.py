"""The per-user line shared by replicas: three queues (one per replica) over one set of lines.

``MemoryUserLines`` is the one-process model of what the database keeps for every replica; the storage
implementations run the same protocol (tests/storage/test_lines_storage.py) and three real processes run it on
PostgreSQL (tests/replicas/test_lines_across_replicas.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import pytest

from bot.core.lines import LineTicket, MemoryUserLines, start_or_place
from bot.core.queue import JobQueue
from bot.errors import QueueFull

PER_USER = 1
MAX_WAITING = 3


async def settle() -> None:
    """Let every woken task run until nothing is left to do (no timing involved)."""
    for _ in range(50):
        await asyncio.sleep(0)


def replicas(lines: MemoryUserLines, count: int = 3, **kwargs: float) -> list[JobQueue]:
    # the poll is a safety net only: an hour, so these tests pass on the wake-ups alone
    return [
        JobQueue(
            per_user=PER_USER,
            max_waiting_per_user=MAX_WAITING,
            global_limit=10,
            lines=lines,
            poll_every=kwargs.get("poll_every", 3600.0),
        )
        for _ in range(count)
    ]


class Workers:
    """The user's requests, each held inside its slot until released."""

    def __init__(self) -> None:
        self.running: set[str] = set()
        self.most_at_once = 0
        self.started: list[str] = []
        self.told: dict[str, list[int]] = {}
        self.gates: dict[str, asyncio.Event] = {}

    async def job(self, queue: JobQueue, name: str, ticket: LineTicket | None = None) -> None:
        self.gates[name] = asyncio.Event()

        async def on_queued(position: int) -> None:
            self.told.setdefault(name, []).append(position)

        async with queue.slot("alice", on_queued, ticket=ticket):
            self.running.add(name)
            self.started.append(name)
            self.most_at_once = max(self.most_at_once, len(self.running))
            await self.gates[name].wait()
            self.running.discard(name)


@pytest.fixture
async def three() -> AsyncIterator[tuple[MemoryUserLines, list[JobQueue]]]:
    lines = MemoryUserLines()
    queues = replicas(lines)
    async with AsyncExitStack() as stack:
        for queue in queues:
            await stack.enter_async_context(queue.shared())
        yield lines, queues


async def test_the_cap_and_the_order_hold_across_replicas(
    three: tuple[MemoryUserLines, list[JobQueue]],
) -> None:
    _, queues = three
    workers = Workers()
    # six requests over three replicas; the cap is PER_USER running + MAX_WAITING waiting = 4 open
    tickets: list[LineTicket] = []
    for n in range(4):
        tickets.append(await queues[n % 3].register("alice", f"r{n}"))
    for n in (4, 5):
        with pytest.raises(QueueFull):
            await queues[n % 3].register("alice", f"r{n}")
    tasks = []
    for n, ticket in enumerate(tickets):
        tasks.append(asyncio.create_task(workers.job(queues[n % 3], f"r{n}", ticket)))
        await settle()
    assert workers.started == ["r0"]
    assert workers.told == {"r1": [1], "r2": [2], "r3": [3]}
    for n in range(4):
        workers.gates[f"r{n}"].set()
        await settle()
    await asyncio.gather(*tasks)
    # first come, first served across replicas; one at a time; each told every place it moved to
    assert workers.started == ["r0", "r1", "r2", "r3"]
    assert workers.most_at_once == PER_USER
    assert workers.told == {"r1": [1], "r2": [2, 1], "r3": [3, 2, 1]}
    # everything was given back: four new requests fit again
    for n in range(4):
        await queues[n % 3].abandon(await queues[n % 3].register("alice"))


async def test_a_waiter_that_leaves_on_one_replica_moves_the_others_up(
    three: tuple[MemoryUserLines, list[JobQueue]],
) -> None:
    _, queues = three
    workers = Workers()
    tasks = {}
    for n in range(3):
        tasks[n] = asyncio.create_task(workers.job(queues[n], f"r{n}"))
        await settle()
    assert workers.told == {"r1": [1], "r2": [2]}
    tasks[1].cancel()
    await settle()
    assert workers.told == {"r1": [1], "r2": [2, 1]}
    workers.gates["r0"].set()
    await settle()
    assert workers.started == ["r0", "r2"]
    workers.gates["r2"].set()
    await asyncio.gather(tasks[0], tasks[2])
    assert queues[0].waiting == queues[1].waiting == queues[2].waiting == 0


async def test_an_unused_registration_given_back_lets_the_next_one_in() -> None:
    queue = replicas(MemoryUserLines(), count=1)[0]
    held = [await queue.register("alice") for _ in range(PER_USER + MAX_WAITING)]
    with pytest.raises(QueueFull) as refused:
        await queue.register("alice")
    assert refused.value.waiting == MAX_WAITING
    await queue.abandon(held[0])
    await queue.abandon(await queue.register("alice"))


async def test_without_wake_ups_the_poll_still_lets_a_waiter_start() -> None:
    lines = MemoryUserLines()
    # two replicas that do not listen to each other: only the poll tells the second one its turn came
    first, second = replicas(lines, count=2, poll_every=0.01)
    workers = Workers()
    running = asyncio.create_task(workers.job(first, "r0"))
    await settle()
    waiting = asyncio.create_task(workers.job(second, "r1"))
    await settle()
    assert workers.started == ["r0"]
    workers.gates["r0"].set()
    workers.gates["r1"].set()
    await asyncio.gather(running, waiting)
    assert workers.started == ["r0", "r1"]


class UnreachableLines(MemoryUserLines):
    """The shared lines as seen while the database is down after admission: no answer to anything."""

    async def try_start(self, ticket: LineTicket, *, running_cap: int) -> int:
        raise ConnectionError("database unreachable")

    async def leave(self, ticket: LineTicket) -> None:
        raise ConnectionError("database unreachable")


async def test_when_the_shared_line_cannot_answer_this_process_line_decides() -> None:
    queue = replicas(UnreachableLines(), count=1)[0]
    workers = Workers()
    first = asyncio.create_task(workers.job(queue, "r0"))
    await settle()
    second = asyncio.create_task(workers.job(queue, "r1"))
    await settle()
    assert workers.started == ["r0"]  # the per-process cap still holds
    workers.gates["r0"].set()
    workers.gates["r1"].set()
    await asyncio.gather(first, second)
    assert workers.started == ["r0", "r1"] and workers.most_at_once == 1


@pytest.mark.parametrize(
    ("running", "ahead", "cap", "expected"),
    [(0, 0, 1, 0), (1, 0, 1, 1), (0, 1, 1, 1), (1, 2, 1, 3), (1, 0, 2, 0), (0, 1, 2, 0), (2, 1, 2, 2)],
)
def test_a_free_slot_goes_to_those_ahead_first(running: int, ahead: int, cap: int, expected: int) -> None:
    assert start_or_place(running=running, ahead=ahead, running_cap=cap) == expected


async def test_a_request_taken_over_keeps_its_place_instead_of_queueing_behind_itself(
    three: tuple[MemoryUserLines, list[JobQueue]],
) -> None:
    lines, (dead, heir, _) = three
    workers = Workers()
    # the request started on a replica that then died: its row stays running until the heir finishes it
    ticket = await dead.register("alice", "r0")
    assert await lines.try_start(ticket, running_cap=PER_USER) == 0
    waiting = asyncio.create_task(workers.job(heir, "r1"))
    await settle()
    assert workers.told == {"r1": [1]}
    # the heir runs it again under its own id: no second place, no waiting behind its own slot
    resumed = asyncio.create_task(heir_job(heir, workers, "r0"))
    await settle()
    assert workers.started == ["r0"]
    workers.gates["r0"].set()
    await settle()
    assert workers.started == ["r0", "r1"]
    workers.gates["r1"].set()
    await asyncio.gather(resumed, waiting)


async def heir_job(queue: JobQueue, workers: Workers, request_id: str) -> None:
    workers.gates[request_id] = asyncio.Event()
    async with queue.slot("alice", request_id=request_id):
        workers.started.append(request_id)
        await workers.gates[request_id].wait()
