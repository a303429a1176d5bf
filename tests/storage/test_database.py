from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from bot.core.clock import ManualClock, utc_day
from bot.core.persistence import StoredJob
from bot.storage.sqlite import SqliteAccountStateStore, SqliteDatabase, SqliteJobStore, SqliteUsageLedger
from bot.storage.sqlite.migrations import MIGRATIONS


async def test_open_creates_directory_applies_migrations_and_uses_wal(db_path: Path) -> None:
    assert not db_path.parent.exists()
    async with SqliteDatabase(db_path) as db:
        assert db_path.parent.is_dir()
        assert await db.schema_version() == len(MIGRATIONS)
        row = await db.fetch_one("PRAGMA journal_mode")
        assert row is not None and row[0] == "wal"
    async with SqliteDatabase(db_path) as again:  # reopening applies nothing twice
        assert await again.schema_version() == len(MIGRATIONS)


async def test_spent_state_and_usage_survive_reopen(db_path: Path, clock: ManualClock) -> None:
    now = clock.time()
    async with SqliteDatabase(db_path) as db:
        store = SqliteAccountStateStore(db)
        await store.mark_spent("acc-1", until=now + 3600, now=now)
        await store.record_call("acc-1", day=utc_day(now), image=True, neurons=104.5)
        await store.record_call("acc-1", day=utc_day(now), image=False, failed=True)
    async with SqliteDatabase(db_path) as db:
        store = SqliteAccountStateStore(db)
        assert await store.spent_accounts(now=now) == {"acc-1": now + 3600}
        assert await store.spent_accounts(now=now + 3601) == {}
        usage = (await store.usage_on(utc_day(now)))["acc-1"]
        assert (usage.images, usage.neurons, usage.calls, usage.failures) == (1, 104.5, 2, 1)


async def test_job_round_trip_with_references(db: SqliteDatabase) -> None:
    jobs = SqliteJobStore(db)
    job = StoredJob(
        id="abc",
        user_key="telegram:1",
        chat_id="1",
        original_prompt="cat 16:9",
        final_prompt="a cat",
        is_json=False,
        negative=None,
        width=1344,
        height=768,
        steps=None,
        model="m",
        seed=7,
        created_at=100.0,
        references=(b"one", b"two"),
    )
    await jobs.save(job)
    assert await jobs.get("abc") == job
    assert await jobs.get("missing") is None
    assert await jobs.prune(older_than=101.0) == 1
    assert await jobs.get("abc") is None


async def test_usage_ledger_counts_refund_and_prune(db: SqliteDatabase) -> None:
    ledger = SqliteUsageLedger(db)
    first = await ledger.try_consume("u", now=1000.0, day="2026-11-21", per_minute=2, per_day=None)
    second = await ledger.try_consume("u", now=1001.0, day="2026-11-21", per_minute=2, per_day=None)
    assert first is not None and second is not None
    assert await ledger.try_consume("u", now=1002.0, day="2026-11-21", per_minute=2, per_day=None) is None
    counts = await ledger.counts("u", now=1002.0, day="2026-11-21")
    assert (counts.this_minute, counts.today, counts.oldest_in_minute) == (2, 2, 1000.0)
    await ledger.refund(first)
    assert (await ledger.counts("u", now=1002.0, day="2026-11-21")).today == 1
    assert await ledger.prune(before_day="2026-11-22") == 1


async def test_a_statement_never_joins_another_coroutines_transaction(db: SqliteDatabase) -> None:
    """A rolled-back (e.g. cancelled) transaction must not take other coroutines' writes with it."""
    ledger = SqliteUsageLedger(db)
    consumed: asyncio.Task[int | None] | None = None
    with contextlib.suppress(RuntimeError):
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO jobs (id, user_key, chat_id, original_prompt, final_prompt, is_json, "
                "negative, width, height, steps, model, seed, created_at) "
                "VALUES ('j', 'u', NULL, 'p', 'p', 0, NULL, 1, 1, NULL, 'm', 1, 0)"
            )
            consumed = asyncio.create_task(
                ledger.try_consume("u", now=1000.0, day="2026-11-21", per_minute=None, per_day=None)
            )
            await asyncio.sleep(0.05)
            assert not consumed.done()  # it waits for the transaction instead of joining it
            raise RuntimeError("the job save fails")
    assert consumed is not None and await consumed is not None
    assert (await ledger.counts("u", now=1000.0, day="2026-11-21")).today == 1
    assert await SqliteJobStore(db).get("j") is None  # the failed transaction itself was rolled back
