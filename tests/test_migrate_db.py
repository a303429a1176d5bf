"""``imagine-bot migrate-db`` copies an SQLite database into an empty PostgreSQL one, all or nothing."""

from __future__ import annotations

from pathlib import Path

from bot.cli import EXIT_CONFIG, EXIT_OK, migrate_db
from bot.core.image_store import StoredImage
from bot.core.persistence import StoredJob
from bot.settings import load_settings
from bot.storage.postgres import PostgresStorage
from bot.storage.sqlite import SqliteStorage

DAY = "2026-11-21"
IMAGE = StoredImage("img-1", b"\x89PNG data", "image/png", created_at=1000.0, expires_at=99000.0, job_id="j1")


async def fill(path: Path) -> StoredJob:
    job = StoredJob(
        id="j1", user_key="telegram:1", chat_id="1", original_prompt="boat --seed 9", final_prompt="a boat",
        is_json=True, negative=None, width=1024, height=768, steps=4, model="m", seed=2**32 - 1,
        created_at=1000.0, references=(b"\x89PNG one", b"two"),
    )  # fmt: skip
    async with SqliteStorage(path) as sqlite:
        await sqlite.jobs.save(job)
        await sqlite.ledger.try_consume(
            "telegram:1", now=1000.0, day=DAY, per_minute=None, per_day=None, count=3
        )
        await sqlite.accounts.mark_spent("acc-1", until=90000.0, now=1000.0)
        await sqlite.accounts.record_call("acc-1", day=DAY, image=True, neurons=12.5)
        await sqlite.images.put(IMAGE, max_total_bytes=10**6)
    return job


async def test_migrate_db_copies_everything_and_refuses_a_second_time(tmp_path: Path, pg_url: str) -> None:
    source = tmp_path / "bot.sqlite3"
    job = await fill(source)
    settings = load_settings(None, {"DATABASE_PATH": str(source), "DATABASE_URL": pg_url})
    said: list[str] = []
    assert await migrate_db(settings, said.append) == EXIT_OK
    assert any(line.split() == ["usage_events", "3", "rows"] for line in said), said
    async with PostgresStorage(pg_url, pool_size=1) as postgres:
        assert await postgres.jobs.get("j1") == job
        assert (await postgres.ledger.counts("telegram:1", now=1001.0, day=DAY)).today == 3
        assert await postgres.accounts.spent_accounts(now=1001.0) == {"acc-1": 90000.0}
        assert (await postgres.accounts.usage_on(DAY))["acc-1"].neurons == 12.5
        assert await postgres.images.get("img-1", now=1001.0) == IMAGE
        # new admissions go on after the copied events (the identity column was not disturbed)
        more = await postgres.ledger.try_consume(
            "telegram:1", now=1002.0, day=DAY, per_minute=None, per_day=4
        )
        assert more is not None
    said.clear()
    assert await migrate_db(settings, said.append) == EXIT_CONFIG  # never doubles the data
    assert "already holds" in said[-1]


async def test_migrate_db_needs_a_target_and_a_source(tmp_path: Path, pg_url: str) -> None:
    said: list[str] = []
    no_target = load_settings(None, {"DATABASE_PATH": str(tmp_path / "x.sqlite3")})
    assert await migrate_db(no_target, said.append) == EXIT_CONFIG
    assert "DATABASE_URL" in said[-1]
    no_source = load_settings(
        None, {"DATABASE_PATH": str(tmp_path / "missing.sqlite3"), "DATABASE_URL": pg_url}
    )
    assert await migrate_db(no_source, said.append) == EXIT_CONFIG
    assert "does not exist" in said[-1]
