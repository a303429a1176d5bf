"""The PostgreSQL handle: one psycopg connection pool, opened, migrated and closed by the entry point."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, LiteralString, TypeAlias

from psycopg import AsyncConnection
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool

from bot.storage.postgres.migrations import MIGRATIONS

log = logging.getLogger(__name__)

Params: TypeAlias = Sequence[Any] | Mapping[str, Any]
Connection: TypeAlias = AsyncConnection[TupleRow]

# Any constant both the runner and an operator can recognise in pg_locks; it only has to be the same everywhere.
_MIGRATION_LOCK = 0x696D6167696E65  # "imagine"


class PostgresDatabase:
    """Owns a connection pool. Connections are in autocommit: one statement is one transaction, and
    ``transaction()`` groups several."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self._pool: AsyncConnectionPool[Connection] = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            kwargs={"autocommit": True},
            open=False,
            # A replica must notice a restarted server instead of failing the next request on a dead socket.
            check=AsyncConnectionPool.check_connection,
        )

    @property
    def pool(self) -> AsyncConnectionPool[Connection]:
        return self._pool

    async def open(self) -> None:
        """Connect (waiting up to 30 s for the server) and apply pending migrations."""
        await self._pool.open(wait=True, timeout=30.0)
        try:
            await self._migrate()
        except BaseException:
            await self._pool.close()
            raise

    async def close(self) -> None:
        await self._pool.close()

    async def __aenter__(self) -> PostgresDatabase:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def schema_version(self) -> int:
        row = await self.fetch_one("SELECT coalesce(max(version), 0) FROM schema_migrations")
        return int(row[0]) if row else 0

    async def _migrate(self) -> None:
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            )
            cursor = await conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations")
            row = await cursor.fetchone()
            current = int(row[0]) if row else 0
            for version, script in enumerate(MIGRATIONS, start=1):
                if version <= current:
                    continue
                log.info("applying PostgreSQL migration %d", version)
                await conn.execute(script)  # no params: sent as written, several statements at once
                await conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (version,))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """Several statements on one connection, committed together or rolled back together."""
        async with self._pool.connection() as conn, conn.transaction():
            yield conn

    async def fetch_all(self, sql: LiteralString, params: Params | None = None) -> list[TupleRow]:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(sql, params)
            return await cursor.fetchall()

    async def fetch_one(self, sql: LiteralString, params: Params | None = None) -> TupleRow | None:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(sql, params)
            return await cursor.fetchone()

    async def execute(self, sql: LiteralString, params: Params | None = None) -> int:
        """Run one statement (its own transaction); returns the affected row count."""
        async with self._pool.connection() as conn:
            cursor = await conn.execute(sql, params)
            return cursor.rowcount
