"""The shared backend: PostgreSQL, for several replicas behind a load balancer (``DATABASE_URL``)."""

from __future__ import annotations

from bot.storage.postgres.accounts import PostgresAccountStateStore
from bot.storage.postgres.albums import PostgresAlbumStore
from bot.storage.postgres.cancels import PostgresCancelRelay
from bot.storage.postgres.database import PostgresDatabase
from bot.storage.postgres.feed import PostgresAccountFeed
from bot.storage.postgres.images import PostgresImageStore
from bot.storage.postgres.jobs import PostgresJobStore
from bot.storage.postgres.lines import PostgresUserLines
from bot.storage.postgres.requests import PostgresAcceptedRequests
from bot.storage.postgres.usage import PostgresUsageLedger


class PostgresStorage:
    """The PostgreSQL implementation of ``bot.core.persistence.Storage``: one pool, every store on it."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.db = PostgresDatabase(url, pool_size=pool_size)
        self.ledger = PostgresUsageLedger(self.db)
        self.accounts = PostgresAccountStateStore(self.db)
        self.jobs = PostgresJobStore(self.db)
        self.requests = PostgresAcceptedRequests(self.db)
        self.lines = PostgresUserLines(self.db)
        self.albums = PostgresAlbumStore(self.db)
        self.images = PostgresImageStore(self.db)
        self.feed = PostgresAccountFeed(self.db)
        self.cancels = PostgresCancelRelay(self.db)

    async def __aenter__(self) -> PostgresStorage:
        await self.db.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.db.close()


__all__ = [
    "PostgresAcceptedRequests",
    "PostgresAccountFeed",
    "PostgresAccountStateStore",
    "PostgresAlbumStore",
    "PostgresDatabase",
    "PostgresImageStore",
    "PostgresJobStore",
    "PostgresStorage",
    "PostgresUsageLedger",
    "PostgresUserLines",
]
