"""The storage suite, run against both backends (SQLite and a real PostgreSQL server)."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from bot.core.clock import ManualClock, utc_day
from bot.core.persistence import Storage, StoredJob
from tests.conftest import OpenStorage

DAY = "2026-11-21"


def a_job(job_id: str = "abc", *, created_at: float = 100.0, references: tuple[bytes, ...] = ()) -> StoredJob:
    return StoredJob(
        id=job_id,
        user_key="telegram:1",
        chat_id="1",
        original_prompt="cat 16:9",
        final_prompt="a cat",
        is_json=False,
        negative="blurry",
        width=1344,
        height=768,
        steps=None,
        model="m",
        seed=2**32 - 1,  # the largest seed the service draws must fit
        created_at=created_at,
        references=references,
    )


async def test_reopening_applies_no_migration_twice_and_keeps_state(
    storage_factory: OpenStorage, clock: ManualClock
) -> None:
    now = clock.time()
    async with storage_factory() as first:
        version = await first.db.schema_version()
        assert version >= 1
        await first.accounts.mark_spent("acc-1", until=now + 3600, now=now)
        await first.accounts.record_call("acc-1", day=utc_day(now), image=True, neurons=104.5)
        await first.accounts.record_call("acc-1", day=utc_day(now), image=False, failed=True)
    async with storage_factory() as again:
        assert await again.db.schema_version() == version
        assert await again.accounts.spent_accounts(now=now) == {"acc-1": now + 3600}
        assert await again.accounts.spent_accounts(now=now + 3601) == {}
        usage = (await again.accounts.usage_on(utc_day(now)))["acc-1"]
        assert (usage.images, usage.neurons, usage.calls, usage.failures) == (1, 104.5, 2, 1)
        assert await again.accounts.usage_on("2000-01-01") == {}


async def test_marking_spent_again_moves_the_return_time(storage: Storage) -> None:
    await storage.accounts.mark_spent("acc-1", until=2000.0, now=1000.0)
    await storage.accounts.mark_spent("acc-1", until=3000.0, now=1500.0)
    assert await storage.accounts.spent_accounts(now=2500.0) == {"acc-1": 3000.0}


async def test_job_round_trip_with_references_and_prune(storage: Storage) -> None:
    job = a_job(references=(b"one", b"\x00\xff binary"))
    await storage.jobs.save(job)
    await storage.jobs.save(a_job("plain", created_at=200.0))
    assert await storage.jobs.get("abc") == job
    assert await storage.jobs.get("plain") == a_job("plain", created_at=200.0)
    assert await storage.jobs.get("missing") is None
    assert await storage.jobs.prune(older_than=101.0) == 1
    assert await storage.jobs.get("abc") is None
    assert await storage.jobs.get("plain") is not None


async def test_a_users_recent_jobs_come_newest_first_without_their_references(storage: Storage) -> None:
    for number in range(5):
        await storage.jobs.save(a_job(f"job{number}", created_at=100.0 + number, references=(b"ref",)))
    await storage.jobs.save(replace(a_job("someone-else", created_at=500.0), user_key="api:other"))
    recent = await storage.jobs.recent_for_user("telegram:1", 3)
    assert [job.id for job in recent] == ["job4", "job3", "job2"]
    assert recent[0] == replace(a_job("job4", created_at=104.0), references=())
    assert [job.id for job in await storage.jobs.recent_for_user("api:other", 10)] == ["someone-else"]
    assert await storage.jobs.recent_for_user("api:nobody", 10) == []


async def test_a_failed_job_save_leaves_nothing_behind(storage: Storage) -> None:
    await storage.jobs.save(a_job("dup"))
    try:
        await storage.jobs.save(a_job("dup", references=(b"x",)))
    except Exception as error:  # each driver raises its own integrity error
        assert "dup" in str(error) or "UNIQUE" in str(error) or "duplicate" in str(error)
    else:
        raise AssertionError("saving the same job id twice must fail")
    assert (await storage.jobs.get("dup")) == a_job("dup")  # no stray reference joined the first save


async def test_usage_ledger_counts_refund_and_prune(storage: Storage) -> None:
    ledger = storage.ledger
    first = await ledger.try_consume("u", now=1000.0, day=DAY, per_minute=2, per_day=None)
    second = await ledger.try_consume("u", now=1001.0, day=DAY, per_minute=2, per_day=None)
    assert first is not None and second is not None and len(set(first + second)) == 2
    assert await ledger.try_consume("u", now=1002.0, day=DAY, per_minute=2, per_day=None) is None
    assert await ledger.try_consume("other", now=1002.0, day=DAY, per_minute=2, per_day=None) is not None
    counts = await ledger.counts("u", now=1002.0, day=DAY)
    assert (counts.this_minute, counts.today, counts.oldest_in_minute) == (2, 2, 1000.0)
    later = await ledger.counts("u", now=1061.0, day=DAY)  # the minute has passed, the day has not
    assert (later.this_minute, later.today, later.oldest_in_minute) == (0, 2, None)
    await ledger.refund(*first)
    assert (await ledger.counts("u", now=1002.0, day=DAY)).today == 1
    assert await ledger.try_consume("u", now=1003.0, day=DAY, per_minute=None, per_day=2) is not None
    assert await ledger.try_consume("u", now=1004.0, day=DAY, per_minute=None, per_day=2) is None
    assert await ledger.prune(before_day="2026-11-22") == 3


async def test_concurrent_admissions_never_exceed_the_limit(storage: Storage) -> None:
    """Many checks at once for the same user: exactly the limit is admitted."""
    results = await asyncio.gather(
        *(storage.ledger.try_consume("u", now=1000.0, day=DAY, per_minute=None, per_day=7) for _ in range(60))
    )
    assert sum(result is not None for result in results) == 7
    assert (await storage.ledger.counts("u", now=1000.0, day=DAY)).today == 7


async def test_usage_ledger_consumes_a_count_all_or_none(storage: Storage) -> None:
    ledger = storage.ledger
    three = await ledger.try_consume("u", now=1000.0, day=DAY, per_minute=None, per_day=4, count=3)
    assert three is not None and len(set(three)) == 3
    # two more would make five: refused whole, nothing recorded
    assert await ledger.try_consume("u", now=1001.0, day=DAY, per_minute=None, per_day=4, count=2) is None
    assert (await ledger.counts("u", now=1001.0, day=DAY)).today == 3
    last = await ledger.try_consume("u", now=1001.0, day=DAY, per_minute=2, per_day=4, count=1)
    assert last is None  # three in this minute already
    last = await ledger.try_consume("u", now=1061.0, day=DAY, per_minute=2, per_day=4, count=1)
    assert last is not None and len(last) == 1
    await ledger.refund(*three[:2])
    await ledger.refund()  # nothing to give back is fine
    assert (await ledger.counts("u", now=1061.0, day=DAY)).today == 2
