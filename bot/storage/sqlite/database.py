"""The one database handle: opened, migrated and closed by the entry point.

Two connections to one file: a writer, which every write and transaction goes through one at a time, and a
read-only reader. In WAL mode readers never wait for writers, so ``/quota`` and re-roll look-ups answer at once
even while a write waits for a lock another process holds.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any, TypeAlias

import aiosqlite

from bot.errors import StorageUnavailable
from bot.storage.sqlite.migrations import MIGRATIONS

log = logging.getLogger(__name__)

Params: TypeAlias = Sequence[Any] | Mapping[str, Any]


class SqliteDatabase:
    """Owns the connections. Stores take it in their constructor; SQL stays in ``bot.storage``.

    ``watch_every``: how often (seconds) to check that the file is still there; None: never.
    """

    def __init__(self, path: Path | str, *, watch_every: float | None = 60.0) -> None:
        self.path = Path(path)
        self._conn: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        # The writer serves every coroutine. A transaction spans several awaits, and any statement another
        # coroutine ran meanwhile would join it (and vanish with its rollback): so every write and every
        # transaction takes this lock. Reads use the reader and never take it.
        self._lock = asyncio.Lock()
        self._watch_every = watch_every
        self._watch: asyncio.Task[None] | None = None
        self._identity: tuple[int, int] | None = None
        self._file_problem: str | None = None

    @property
    def in_memory(self) -> bool:
        return str(self.path) == ":memory:"

    async def open(self) -> None:
        """Create the file owner-only if missing, connect, enable WAL and apply pending migrations.

        A file that cannot be used raises ``StorageUnavailable`` naming it, with every connection closed (an
        open aiosqlite thread would keep the process alive).
        """
        try:
            if not self.in_memory:
                _create_owner_only(self.path)
            self._conn = await self._connect()
            await self._conn.execute("PRAGMA journal_mode=WAL")
            await self._conn.execute("PRAGMA synchronous=NORMAL")
            await self._migrate()
            # an in-memory database exists once per connection: there the writer reads too
            self._reader = self._conn if self.in_memory else await self._connect(read_only=True)
        except (sqlite3.Error, OSError) as error:
            await self.close()
            raise StorageUnavailable(
                f"The database file {self.path} cannot be used ({error}): restore a backup, or move it away "
                "to start with an empty one."
            ) from None
        if not self.in_memory:
            self._identity = _identity(self.path)
            if self._watch_every is not None:
                self._watch = asyncio.get_running_loop().create_task(
                    self._watch_file(), name="database watch"
                )

    async def _connect(self, *, read_only: bool = False) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        try:
            conn.row_factory = aiosqlite.Row
            await conn.execute("PRAGMA foreign_keys=ON")
            await conn.execute("PRAGMA busy_timeout=5000")
            if read_only:
                await conn.execute("PRAGMA query_only=ON")
            # touch the file now: "file is not a database" shows here, not at the first request
            async with conn.execute("SELECT count(*) FROM sqlite_master") as cursor:
                await cursor.fetchone()
        except BaseException:
            await conn.close()
            raise
        return conn

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            await asyncio.gather(self._watch, return_exceptions=True)
            self._watch = None
        for conn in {id(c): c for c in (self._reader, self._conn) if c is not None}.values():
            with suppress(sqlite3.Error):
                await conn.close()
        self._conn = self._reader = None

    async def __aenter__(self) -> SqliteDatabase:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def conn(self) -> aiosqlite.Connection:
        """The writer."""
        if self._conn is None:
            raise RuntimeError("database is not open")
        return self._conn

    @property
    def reader(self) -> aiosqlite.Connection:
        if self._reader is None:
            raise RuntimeError("database is not open")
        return self._reader

    async def schema_version(self) -> int:
        async with self.conn.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def _migrate(self) -> None:
        current = await self.schema_version()
        for version, script in enumerate(MIGRATIONS, start=1):
            if version <= current:
                continue
            log.info("applying database migration %d", version)
            async with self._lock:
                await self.conn.executescript(
                    f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {version};\nCOMMIT;"
                )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """Run several statements as one unit: committed together, or rolled back together (also on cancel)."""
        async with self._lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                await asyncio.shield(self._rollback())
                raise
            try:
                await asyncio.shield(self.conn.execute("COMMIT"))
            except BaseException:
                await asyncio.shield(self._rollback())
                raise

    async def _rollback(self) -> None:
        # SQLite has already rolled back after some errors (a full disk, say): a second ROLLBACK would fail with
        # "no transaction is active" and hide the real cause, which is what must reach the log.
        if self.conn.in_transaction:
            with suppress(sqlite3.Error):
                await self.conn.execute("ROLLBACK")

    # ``execute_fetchall`` runs the statement and reads its rows in one trip to aiosqlite's thread; a cursor costs
    # three (execute, fetch, close), and every trip is a thread wake-up that a loaded machine makes slow.
    async def fetch_all(self, sql: str, params: Params = ()) -> list[aiosqlite.Row]:
        """A read on the reader: it never waits for a write."""
        return list(await self.reader.execute_fetchall(sql, params))

    async def fetch_one(self, sql: str, params: Params = ()) -> aiosqlite.Row | None:
        """A read on the reader (for statements that yield at most one row): it never waits for a write."""
        return next(iter(await self.reader.execute_fetchall(sql, params)), None)

    async def returning(self, sql: str, params: Params = ()) -> list[aiosqlite.Row]:
        """A write whose statement returns rows (``INSERT ... RETURNING``), on the writer."""
        async with self._lock:
            return list(await self.conn.execute_fetchall(sql, params))

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement (atomic by itself in autocommit mode); returns the affected row count."""
        async with self._lock, self.conn.execute(sql, params) as cursor:
            return cursor.rowcount

    async def insert(self, sql: str, params: Params = ()) -> int | None:
        """Run one INSERT; returns the new row's id, or None when it inserted nothing."""
        async with self._lock, self.conn.execute(sql, params) as cursor:
            return cursor.lastrowid if cursor.rowcount == 1 else None

    def check_file(self) -> str | None:
        """What is wrong with the file under the open connections (deleted, replaced), logged once; None if fine."""
        problem: str | None
        try:
            identity = _identity(self.path)
        except FileNotFoundError:
            problem = "was deleted"
        else:
            problem = None if identity == self._identity else "was replaced by another file"
        if problem is not None and problem != self._file_problem:
            log.error(
                "the database file %s %s while the bot runs: nothing recorded from now on survives a restart "
                "(restore it and restart the bot)",
                self.path,
                problem,
            )
        self._file_problem = problem
        return problem

    async def _watch_file(self) -> None:
        assert self._watch_every is not None
        while True:
            await asyncio.sleep(self._watch_every)
            self.check_file()


def _create_owner_only(path: Path) -> None:
    """The file holds prompts, chat ids and users' photos: only the bot's user may read it (0600 in 0700)."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True)
    if path.exists():
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            os.chmod(path, mode & 0o700)
            log.warning("made the database file %s owner-only (it was %o)", path, mode)
        return
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))  # SQLite gives -wal and -shm the same mode


def _identity(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_dev, stat.st_ino
