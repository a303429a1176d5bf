"""The embedded backend: one SQLite file, one process. ``make run`` needs no server."""

from __future__ import annotations

from pathlib import Path

from bot.core.cancel import LocalCancelRelay
from bot.core.persistence import AccountStateFeed
from bot.storage.sqlite.accounts import SqliteAccountStateStore
from bot.storage.sqlite.albums import SqliteAlbumStore
from bot.storage.sqlite.database import SqliteDatabase
from bot.storage.sqlite.images import SqliteImageStore
from bot.storage.sqlite.jobs import SqliteJobStore
from bot.storage.sqlite.lines import SqliteUserLines
from bot.storage.sqlite.requests import SqliteAcceptedRequests
from bot.storage.sqlite.usage import SqliteUsageLedger


class SqliteStorage:
    """The SQLite implementation of ``bot.core.persistence.Storage``: one connection, every store on it."""

    def __init__(self, path: Path | str) -> None:
        self.db = SqliteDatabase(path)
        self.ledger = SqliteUsageLedger(self.db)
        self.accounts = SqliteAccountStateStore(self.db)
        self.jobs = SqliteJobStore(self.db)
        self.requests = SqliteAcceptedRequests(self.db)
        self.lines = SqliteUserLines(self.db)
        self.albums = SqliteAlbumStore(self.db)
        self.images = SqliteImageStore(self.db)
        #: one process: what the pool learns in memory is already everything there is to know
        self.feed: AccountStateFeed | None = None
        #: one process: a ❌ only ever has this process's own requests to reach
        self.cancels = LocalCancelRelay()

    async def __aenter__(self) -> SqliteStorage:
        await self.db.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.db.close()


__all__ = [
    "SqliteAcceptedRequests",
    "SqliteAccountStateStore",
    "SqliteAlbumStore",
    "SqliteDatabase",
    "SqliteImageStore",
    "SqliteJobStore",
    "SqliteStorage",
    "SqliteUsageLedger",
    "SqliteUserLines",
]
