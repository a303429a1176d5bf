"""Album items in SQLite: the same protocol as PostgreSQL's, so one process gathers albums the same way."""

from __future__ import annotations

from bot.core.persistence import AlbumClaim, AlbumItem
from bot.storage.rows import album_item_from_row, album_item_values, refused_claim
from bot.storage.sqlite.database import SqliteDatabase
from bot.storage.statements import (
    ALBUM_CLAIMED,
    ALBUM_ITEMS,
    INSERT_ALBUM_CLAIM,
    INSERT_ALBUM_ITEM,
    PRUNE_ALBUM_CLAIMS,
    PRUNE_ALBUM_ITEMS,
    UNCLAIMED_ALBUMS,
    qmark,
)


class SqliteAlbumStore:
    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def add(self, item: AlbumItem) -> bool:
        """Keep one item unless its album was claimed; a transaction, so no claim slips in between."""
        async with self._db.transaction() as conn:
            claimed = await conn.execute_fetchall(qmark(ALBUM_CLAIMED), (item.chat_id, item.album_id))
            if claimed:
                return False
            await conn.execute(qmark(INSERT_ALBUM_ITEM), album_item_values(item))
        return True

    async def claim(
        self, chat_id: str, album_id: str, *, quiet_since: float, by: str, now: float
    ) -> AlbumClaim:
        """BEGIN IMMEDIATE takes SQLite's write lock first: the check and the claim are one step for every process."""
        key = (chat_id, album_id)
        async with self._db.transaction() as conn:
            if await conn.execute_fetchall(qmark(ALBUM_CLAIMED), key):
                return AlbumClaim()
            rows = await conn.execute_fetchall(qmark(ALBUM_ITEMS), key)
            items = tuple(album_item_from_row(row) for row in rows)
            if (refused := refused_claim(items, quiet_since)) is not None:
                return refused
            await conn.execute(qmark(INSERT_ALBUM_CLAIM), (chat_id, album_id, by, now))
        return AlbumClaim(items=items)

    async def unclaimed(self, *, quiet_since: float, limit: int) -> list[tuple[str, str]]:
        rows = await self._db.reader.execute_fetchall(qmark(UNCLAIMED_ALBUMS), (quiet_since, limit))
        return [(str(row[0]), str(row[1])) for row in rows]

    async def prune(self, *, older_than: float) -> int:
        async with self._db.transaction() as conn:
            cursor = await conn.execute(qmark(PRUNE_ALBUM_ITEMS), (older_than,))
            removed = cursor.rowcount
            await conn.execute(qmark(PRUNE_ALBUM_CLAIMS), (older_than,))
        return removed
