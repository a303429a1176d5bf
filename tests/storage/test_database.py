from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from bot.storage.sqlite import SqliteDatabase, SqliteJobStore, SqliteUsageLedger
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


async def test_a_statement_never_joins_another_coroutines_transaction(db: SqliteDatabase) -> None:
    """A rolled-back (e.g. cancelled) transaction must not take other coroutines' writes with it."""
    ledger = SqliteUsageLedger(db)
    consumed: asyncio.Task[tuple[int, ...] | None] | None = None
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
