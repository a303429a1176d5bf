"""Album items in SQLite: the same protocol as PostgreSQL's, so one process gathers albums the same way."""

from __future__ import annotations

from bot.core.persistence import AlbumClaim, AlbumItem
from bot.storage.sqlite.database import SqliteDatabase

_ITEM_COLUMNS = "chat_id, album_id, item_id, received_at, payload"
#: albums no one claimed, quiet since the cut-off (the claim itself checks again, atomically)
_UNCLAIMED = """
    SELECT i.chat_id, i.album_id FROM album_items i
    WHERE NOT EXISTS (SELECT 1 FROM album_claims c WHERE c.chat_id = i.chat_id AND c.album_id = i.album_id)
    GROUP BY i.chat_id, i.album_id
    HAVING MAX(i.received_at) <= ?
    ORDER BY MAX(i.received_at)
    LIMIT ?
"""


class SqliteAlbumStore:
    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def add(self, item: AlbumItem) -> bool:
        """Keep one item unless its album was claimed; a transaction, so no claim slips in between."""
        async with self._db.transaction() as conn:
            claimed = await conn.execute_fetchall(
                "SELECT 1 FROM album_claims WHERE chat_id = ? AND album_id = ?", (item.chat_id, item.album_id)
            )
            if claimed:
                return False
            await conn.execute(
                f"INSERT INTO album_items ({_ITEM_COLUMNS}) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (item.chat_id, item.album_id, item.item_id, item.received_at, item.payload),
            )
        return True

    async def claim(
        self, chat_id: str, album_id: str, *, quiet_since: float, by: str, now: float
    ) -> AlbumClaim:
        """BEGIN IMMEDIATE takes SQLite's write lock first: the check and the claim are one step for every process."""
        key = (chat_id, album_id)
        async with self._db.transaction() as conn:
            if await conn.execute_fetchall(
                "SELECT 1 FROM album_claims WHERE chat_id = ? AND album_id = ?", key
            ):
                return AlbumClaim()
            rows = await conn.execute_fetchall(
                f"SELECT {_ITEM_COLUMNS} FROM album_items WHERE chat_id = ? AND album_id = ? ORDER BY item_id",
                key,
            )
            items = tuple(AlbumItem(str(r[0]), str(r[1]), int(r[2]), float(r[3]), str(r[4])) for r in rows)
            if not items:
                return AlbumClaim()
            last = max(item.received_at for item in items)
            if last > quiet_since:
                return AlbumClaim(last_arrival=last)
            await conn.execute(
                "INSERT INTO album_claims (chat_id, album_id, claimed_by, claimed_at) VALUES (?, ?, ?, ?)",
                (chat_id, album_id, by, now),
            )
        return AlbumClaim(items=items)

    async def unclaimed(self, *, quiet_since: float, limit: int) -> list[tuple[str, str]]:
        rows = await self._db.reader.execute_fetchall(_UNCLAIMED, (quiet_since, limit))
        return [(str(row[0]), str(row[1])) for row in rows]

    async def prune(self, *, older_than: float) -> int:
        async with self._db.transaction() as conn:
            cursor = await conn.execute("DELETE FROM album_items WHERE received_at < ?", (older_than,))
            removed = cursor.rowcount
            await conn.execute("DELETE FROM album_claims WHERE claimed_at < ?", (older_than,))
        return removed
