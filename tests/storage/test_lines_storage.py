"""Each user's line on ``accepted_requests``, on both backends: the cap in the insert, first come first served,
the running cap, and what leaving does to the row (and, on PostgreSQL, to the other replicas)."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import replace

import pytest

from bot.core.lines import LineTicket
from bot.core.persistence import AcceptedRequest, RequestState, Storage
from bot.errors import AlreadyAccepted
from bot.storage.postgres import PostgresStorage
from tests.conftest import OpenStorage

USER = "http:alice"


def waiting(request_id: str, accepted_at: float, user_key: str = USER) -> AcceptedRequest:
    return AcceptedRequest(
        id=request_id,
        user_key=user_key,
        platform="http",
        replica="r1",
        state=RequestState.WAITING,
        accepted_at=accepted_at,
        lease_until=accepted_at + 60,
    )


def ticket(request_id: str, user_key: str = USER) -> LineTicket:
    return LineTicket(request_id, user_key)


async def state_of(storage: Storage, request_id: str) -> RequestState | None:
    found = await storage.requests.get(request_id)
    return None if found is None else found.state


async def test_the_cap_counts_waiting_and_running_requests_only(storage: Storage) -> None:
    lines = storage.lines
    assert await lines.register(waiting("a", 1000.0), cap=2) is None
    assert await lines.register(waiting("b", 1001.0), cap=2) is None
    assert await lines.register(waiting("c", 1002.0), cap=2) == 2  # refused, and nothing written
    assert await storage.requests.get("c") is None
    assert await lines.register(waiting("x", 1002.0, user_key="http:bob"), cap=2) is None  # others unaffected
    assert await lines.try_start(ticket("a"), running_cap=1) == 0
    await lines.leave(ticket("a"))  # a delivering request no longer holds a place in line
    assert await state_of(storage, "a") is RequestState.DELIVERING
    assert await lines.register(waiting("c", 1003.0), cap=2) is None


async def test_first_come_first_served_under_the_running_cap(storage: Storage) -> None:
    lines = storage.lines
    for n, request_id in enumerate(("a", "b", "c")):
        assert await lines.register(waiting(request_id, 1000.0 + n), cap=5) is None
    # the last one asks first: the free slot is a's, and b is next after it
    assert await lines.try_start(ticket("c"), running_cap=1) == 2
    assert await lines.try_start(ticket("b"), running_cap=1) == 1
    assert await lines.try_start(ticket("a"), running_cap=1) == 0
    assert await lines.try_start(ticket("a"), running_cap=1) == 0  # asking again changes nothing
    assert await lines.try_start(ticket("c"), running_cap=1) == 2
    await lines.leave(ticket("b"))  # b gives up while waiting: c moves up
    assert await state_of(storage, "b") is RequestState.FAILED
    assert await lines.try_start(ticket("c"), running_cap=1) == 1
    await lines.leave(ticket("a"))
    assert await lines.try_start(ticket("c"), running_cap=1) == 0
    assert await state_of(storage, "c") is RequestState.RUNNING


async def test_a_running_cap_of_two_lets_the_first_two_run(storage: Storage) -> None:
    lines = storage.lines
    for n, request_id in enumerate(("a", "b", "c")):
        await lines.register(waiting(request_id, 1000.0 + n), cap=5)
    assert await lines.try_start(ticket("b"), running_cap=2) == 0  # a's slot is kept for a
    assert await lines.try_start(ticket("c"), running_cap=2) == 1
    assert await lines.try_start(ticket("a"), running_cap=2) == 0


async def test_an_id_registered_again_is_already_accepted_and_changes_nothing(storage: Storage) -> None:
    lines = storage.lines
    await lines.register(waiting("a", 1000.0), cap=2)
    assert await lines.try_start(ticket("a"), running_cap=1) == 0
    # the same chat update delivered twice registers the same id: refused as a repeat, the row stays the first's
    with pytest.raises(AlreadyAccepted):
        await lines.register(waiting("a", 1005.0), cap=2)
    row = await storage.requests.get("a")
    assert row is not None and row.accepted_at == 1000.0 and row.state == RequestState.RUNNING
    assert await lines.register(waiting("b", 1006.0), cap=2) is None  # the repeat took no place
    # ended rows are kept a while: a repeat arriving after the image is still recognised
    await lines.leave(ticket("a"))
    with pytest.raises(AlreadyAccepted):
        await lines.register(waiting("a", 1010.0), cap=2)


async def test_a_request_not_in_line_is_an_error_not_a_start(storage: Storage) -> None:
    with pytest.raises(LookupError):
        await storage.lines.try_start(ticket("nobody"), running_cap=1)
    await storage.lines.leave(ticket("nobody"))  # leaving twice, or unknown: nothing happens


async def test_concurrent_registrations_from_several_replicas_never_pass_the_cap(
    storage_factory: OpenStorage,
) -> None:
    async with storage_factory() as one, storage_factory() as two, storage_factory() as three:
        replicas = [one, two, three]
        outcomes = await asyncio.gather(
            *(
                replicas[n % 3].lines.register(waiting(f"r{n}", 1000.0 + n, user_key=f"u{n % 2}"), cap=4)
                for n in range(30)
            )
        )
        admitted = Counter(f"u{n % 2}" for n, refused in enumerate(outcomes) if refused is None)
        assert admitted == Counter({"u0": 4, "u1": 4})
        # and of everyone's waiting requests, starting all at once, exactly one per user runs
        tickets = [ticket(f"r{n}", f"u{n % 2}") for n, refused in enumerate(outcomes) if refused is None]
        places = await asyncio.gather(
            *(replicas[n % 3].lines.try_start(t, running_cap=1) for n, t in enumerate(tickets))
        )
        started = Counter(t.user_key for t, place in zip(tickets, places, strict=True) if place == 0)
        assert started == Counter({"u0": 1, "u1": 1})
        assert sorted(place for place in places if place) == [1, 1, 2, 2, 3, 3]


async def test_the_same_id_registered_at_once_on_two_replicas_is_recorded_once(
    storage_factory: OpenStorage,
) -> None:
    async with storage_factory() as one, storage_factory() as two:
        outcomes = await asyncio.gather(
            *(replica.lines.register(waiting("dup", 1000.0), cap=4) for replica in (one, two, one, two)),
            return_exceptions=True,
        )
        assert outcomes.count(None) == 1
        assert sum(isinstance(outcome, AlreadyAccepted) for outcome in outcomes) == 3
        assert await one.lines.register(waiting("other", 1001.0), cap=2) is None  # one place taken, not four


async def test_leaving_wakes_the_users_waiters_on_another_replica(pg_url: str) -> None:
    async with PostgresStorage(pg_url, pool_size=2) as one, PostgresStorage(pg_url, pool_size=2) as two:
        heard: asyncio.Queue[str] = asyncio.Queue()
        async with two.lines.listen(heard.put_nowait, lambda: None):
            await one.lines.register(waiting("a", 1000.0), cap=3)
            await one.lines.try_start(ticket("a"), running_cap=1)
            # the journal marked it delivering before the line's own write (which goes on behind the image)
            assert await one.requests.set_state("a", RequestState.DELIVERING, replica="r1")
            await one.lines.leave(ticket("a"))
            await one.lines.register(waiting("b", 1001.0, user_key="http:bob"), cap=3)
            await one.lines.leave(ticket("b", "http:bob"))
            # told by the journal's move and by the line's own leave (which no longer moved anything)
            assert await asyncio.wait_for(heard.get(), timeout=30) == USER
            assert await asyncio.wait_for(heard.get(), timeout=30) == USER
            assert await asyncio.wait_for(heard.get(), timeout=30) == "http:bob"
            assert heard.empty()


async def test_the_journal_adopts_the_row_the_line_registered_and_leaves_its_state(storage: Storage) -> None:
    await storage.lines.register(waiting("a", 1000.0), cap=3)
    await storage.lines.try_start(ticket("a"), running_cap=1)
    accepted = AcceptedRequest(
        id="a", user_key=USER, platform="http", replica="r2", state=RequestState.WAITING,
        accepted_at=1001.0, lease_until=1031.0, usage_ids=(4, 5), payload={"kind": "imagine"},
    )  # fmt: skip
    await storage.requests.insert(accepted)
    row = await storage.requests.get("a")
    assert row is not None
    assert (row.state, row.replica, row.lease_until, row.usage_ids, row.payload) == (
        RequestState.RUNNING, "r2", 1031.0, (4, 5), {"kind": "imagine"},
    )  # fmt: skip
    assert row.accepted_at == 1000.0  # its place in line is kept


async def test_after_a_lost_listening_connection_every_waiter_is_told_to_ask_again(pg_url: str) -> None:
    async with PostgresStorage(pg_url, pool_size=2) as storage:
        missed = asyncio.Event()
        async with storage.lines.listen(lambda user: None, missed.set):
            # the server drops the listening connection (a restart, a failover, an idle-killer)
            await storage.db.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE query LIKE 'LISTEN%%' AND pid <> pg_backend_pid()"
            )
            await asyncio.wait_for(missed.wait(), timeout=60)


async def test_a_request_the_journal_ends_while_running_frees_its_place_on_every_replica(pg_url: str) -> None:
    async with PostgresStorage(pg_url, pool_size=2) as one, PostgresStorage(pg_url, pool_size=2) as two:
        heard: asyncio.Queue[str] = asyncio.Queue()
        async with two.lines.listen(heard.put_nowait, lambda: None):
            await one.lines.register(waiting("a", 1000.0), cap=3)
            await one.lines.register(waiting("b", 1001.0, user_key="http:bob"), cap=3)
            await one.lines.try_start(ticket("a"), running_cap=1)
            await one.lines.try_start(ticket("b", "http:bob"), running_cap=1)
            # bob's request is delivering, then done: it had left the line already, nobody is told again
            assert await one.requests.set_state("b", RequestState.DELIVERING, replica="r1")
            assert await one.requests.set_state("b", RequestState.DONE, replica="r1")
            # alice's, taken over and given up while running, ends failed: her waiters hear it
            assert await one.requests.set_state("a", RequestState.FAILED, replica="r1")
            assert not await one.requests.set_state("a", RequestState.DONE, replica="r1")  # ended stays ended
            assert await asyncio.wait_for(heard.get(), timeout=30) == "http:bob"  # running -> delivering
            assert await asyncio.wait_for(heard.get(), timeout=30) == USER
            assert heard.empty()


async def test_a_repeat_tells_whether_the_first_delivery_was_recorded(storage: Storage) -> None:
    lines, requests = storage.lines, storage.requests
    await lines.register(waiting("a", 1000.0), cap=3)
    await requests.charge("a", (7, 8))  # the admission's charge goes on the row before any payload
    row = await requests.get("a")
    assert row is not None and row.usage_ids == (7, 8) and not row.payload
    with pytest.raises(AlreadyAccepted) as unrecorded:
        await lines.register(waiting("a", 1001.0), cap=3)
    assert unrecorded.value.acknowledged is False  # on its way, or its replica died: try again later
    # the journal records it (payload and charge): a repeat now is dropped quietly
    await requests.insert(replace(waiting("a", 1000.0), usage_ids=(7, 8), payload={"kind": "imagine"}))
    with pytest.raises(AlreadyAccepted) as recorded:
        await lines.register(waiting("a", 1002.0), cap=3)
    assert recorded.value.acknowledged is True
    # a row that ended without being recorded (refused after admission, e.g. a photo too large) was answered
    await lines.register(waiting("b", 1003.0), cap=3)
    await lines.leave(ticket("b"))
    with pytest.raises(AlreadyAccepted) as ended:
        await lines.register(waiting("b", 1004.0), cap=3)
    assert ended.value.acknowledged is True


async def test_forgetting_deletes_only_an_unrecorded_open_row_of_its_holder(storage: Storage) -> None:
    lines, requests = storage.lines, storage.requests
    await lines.register(waiting("a", 1000.0), cap=3)
    await lines.register(waiting("b", 1001.0), cap=3)
    await requests.insert(replace(waiting("b", 1001.0), payload={"kind": "imagine"}))
    assert await requests.forget("a", replica="someone else") is False
    assert await requests.forget("b", replica="r1") is False  # recorded: the sweeper resumes it instead
    assert await requests.forget("a", replica="r1") is True
    assert await requests.get("a") is None and await requests.get("b") is not None
    assert await lines.register(waiting("a", 1002.0), cap=3) is None  # the update sent again registers afresh
