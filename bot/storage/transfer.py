"""``imagine-bot migrate-db``: copy an SQLite database into an empty PostgreSQL one, in one transaction."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, LiteralString

import psycopg
from psycopg_pool import PoolTimeout

from bot.errors import ConfigurationError
from bot.storage.postgres import PostgresStorage
from bot.storage.sqlite import SqliteStorage

# Parents before children (job_references references jobs). usage_events get new ids: nothing refers to them
# once the bot is stopped, and PostgreSQL's identity column then goes on from the right value by itself.
TABLES: tuple[tuple[LiteralString, LiteralString], ...] = (
    ("account_state", "account_key, spent_until, updated_at"),
    ("account_usage", "account_key, day, images, neurons, calls, failures"),
    ("usage_events", "user_key, created_at, day"),
    (
        "jobs",
        "id, user_key, chat_id, original_prompt, final_prompt, is_json, negative, width, height, steps, model, "
        "seed, created_at",
    ),
    ("job_references", "job_id, position, data"),
    ("images", "id, job_id, mime, size, created_at, expires_at, data"),
)


def _convert(table: str, row: Any) -> tuple[Any, ...]:
    values = tuple(row)
    if table == "jobs":  # SQLite stores the flag as 0/1
        values = (*values[:5], bool(values[5]), *values[6:])
    return values


async def copy_sqlite_to_postgres(source: Path, target_url: str) -> dict[str, int]:
    """Copy every table; returns rows per table. Refuses a target that already holds data."""
    if not await asyncio.to_thread(source.is_file):
        raise ConfigurationError("DATABASE_PATH", f"{source} does not exist: nothing to migrate")
    try:
        return await _copy(source, target_url)
    except (psycopg.Error, PoolTimeout) as error:
        raise ConfigurationError("DATABASE_URL", f"cannot copy into it: {error}") from None


async def _copy(source: Path, target_url: str) -> dict[str, int]:
    copied: dict[str, int] = {}
    async with (
        SqliteStorage(source) as sqlite,
        PostgresStorage(target_url, pool_size=1) as postgres,
        postgres.db.transaction() as conn,
    ):
        cursor = await conn.execute(
            "SELECT (SELECT count(*) FROM jobs) + (SELECT count(*) FROM usage_events)"
            " + (SELECT count(*) FROM account_usage) + (SELECT count(*) FROM account_state)"
            " + (SELECT count(*) FROM images)"
        )
        existing = await cursor.fetchone()
        if existing is not None and existing[0]:
            raise ConfigurationError(
                "DATABASE_URL",
                f"already holds {existing[0]} rows; migrate-db fills an empty database only",
            )
        for table, columns in TABLES:
            rows = await sqlite.db.fetch_all(f"SELECT {columns} FROM {table}")
            async with (
                conn.cursor() as copy_cursor,
                copy_cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
            ):
                for row in rows:
                    await copy.write_row(_convert(table, row))
            copied[table] = len(rows)
    return copied
