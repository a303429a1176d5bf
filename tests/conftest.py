"""Shared fixtures: a manual clock, an open database in a temp dir, and loopback-only HTTP."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.pg_cluster import PostgresCluster
from bot.core.clock import ManualClock
from bot.core.persistence import Storage
from bot.storage.postgres import PostgresStorage
from bot.storage.sqlite import SqliteDatabase, SqliteStorage

# Tests talk only to fakes on loopback: never let a proxy from the environment intercept them.
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
os.environ.setdefault("no_proxy", "127.0.0.1,localhost")
# python-telegram-bot 22 warns inside RetryAfter unless told to use timedelta; warnings are errors here.
os.environ.setdefault("PTB_TIMEDELTA", "true")

NOON = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOON)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "bot.sqlite3"


@pytest.fixture
async def db(db_path: Path) -> AsyncIterator[SqliteDatabase]:
    async with SqliteDatabase(db_path) as database:
        yield database


# --- PostgreSQL: one throwaway cluster per session, a fresh database per test --------------------------------
@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    cluster = PostgresCluster()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: PostgresCluster) -> str:
    """The URL of an empty database of its own (``DATABASE_URL`` for a test)."""
    return pg_cluster.new_database()


OpenStorage = Callable[[], SqliteStorage | PostgresStorage]


@pytest.fixture(params=["sqlite", "postgres"])
def storage_factory(request: pytest.FixtureRequest, db_path: Path) -> OpenStorage:
    """Each backend in turn: a callable giving a new (unopened) handle on the same test database."""
    if request.param == "sqlite":
        return lambda: SqliteStorage(db_path)
    url = request.getfixturevalue("pg_url")
    return lambda: PostgresStorage(url, pool_size=4)


@pytest.fixture
async def storage(storage_factory: OpenStorage) -> AsyncIterator[Storage]:
    """One backend, opened and migrated: the storage suite runs against both."""
    async with storage_factory() as backend:
        yield backend
