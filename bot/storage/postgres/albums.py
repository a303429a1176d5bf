"""Album items on PostgreSQL: each replica stores the items it receives; one replica claims the album."""

from __future__ import annotations

from bot.core.persistence import AlbumClaim, AlbumItem
from bot.storage.postgres.database import Connection, PostgresDatabase
from bot.storage.rows import album_item_from_row, album_item_values, refused_claim
from bot.storage.statements import (
    ALBUM_CLAIMED,
    ALBUM_ITEMS,
    INSERT_ALBUM_CLAIM,
    INSERT_ALBUM_ITEM,
    PRUNE_ALBUM_CLAIMS,
    PRUNE_ALBUM_ITEMS,
    UNCLAIMED_ALBUMS,
)


class PostgresAlbumStore:
    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    async def add(self, item: AlbumItem) -> bool:
        """Keep one item unless its album was claimed. Under the album's lock, so an item is either seen by
        the claim or refused, never stored after the claim read the album."""
        async with self._db.transaction() as conn:
            await _lock(conn, item.chat_id, item.album_id)
            cursor = await conn.execute(ALBUM_CLAIMED, (item.chat_id, item.album_id))
            if await cursor.fetchone() is not None:
                return False
            await conn.execute(INSERT_ALBUM_ITEM, album_item_values(item))
        return True

    async def claim(
        self, chat_id: str, album_id: str, *, quiet_since: float, by: str, now: float
    ) -> AlbumClaim:
        """One transaction under the album's advisory lock: the check and the claim are one step across replicas
        (the primary key on album_claims would refuse a second claim anyway)."""
        key = (chat_id, album_id)
        async with self._db.transaction() as conn:
            await _lock(conn, chat_id, album_id)
            cursor = await conn.execute(ALBUM_CLAIMED, key)
            if await cursor.fetchone() is not None:
                return AlbumClaim()
            cursor = await conn.execute(ALBUM_ITEMS, key)
            items = tuple(album_item_from_row(row) for row in await cursor.fetchall())
            if (refused := refused_claim(items, quiet_since)) is not None:
                return refused
            await conn.execute(INSERT_ALBUM_CLAIM, (chat_id, album_id, by, now))
        return AlbumClaim(items=items)

    async def unclaimed(self, *, quiet_since: float, limit: int) -> list[tuple[str, str]]:
        rows = await self._db.fetch_all(UNCLAIMED_ALBUMS, (quiet_since, limit))
        return [(str(row[0]), str(row[1])) for row in rows]

    async def prune(self, *, older_than: float) -> int:
        async with self._db.transaction() as conn:
            cursor = await conn.execute(PRUNE_ALBUM_ITEMS, (older_than,))
            removed = cursor.rowcount
            await conn.execute(PRUNE_ALBUM_CLAIMS, (older_than,))
        return removed


async def _lock(conn: Connection, chat_id: str, album_id: str) -> None:
    # transaction-scoped: released by the commit; other albums never wait
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('album:' || %s || ':' || %s, 0))", (chat_id, album_id)
    )
