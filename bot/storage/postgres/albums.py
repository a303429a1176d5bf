"""Album items on PostgreSQL: each replica stores the items it receives; one replica claims the album."""

from __future__ import annotations

from bot.core.persistence import AlbumClaim, AlbumItem
from bot.storage.postgres.database import Connection, PostgresDatabase

_ITEM_COLUMNS = "chat_id, album_id, item_id, received_at, payload"
#: albums no one claimed, quiet since the cut-off (the claim itself checks again, atomically)
_UNCLAIMED = """
    SELECT i.chat_id, i.album_id FROM album_items i
    WHERE NOT EXISTS (SELECT 1 FROM album_claims c WHERE c.chat_id = i.chat_id AND c.album_id = i.album_id)
    GROUP BY i.chat_id, i.album_id
    HAVING MAX(i.received_at) <= %s
    ORDER BY MAX(i.received_at)
    LIMIT %s
"""


class PostgresAlbumStore:
    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    async def add(self, item: AlbumItem) -> bool:
        """Keep one item unless its album was claimed. Under the album's lock, so an item is either seen by
        the claim or refused, never stored after the claim read the album."""
        async with self._db.transaction() as conn:
            await _lock(conn, item.chat_id, item.album_id)
            cursor = await conn.execute(
                "SELECT 1 FROM album_claims WHERE chat_id = %s AND album_id = %s",
                (item.chat_id, item.album_id),
            )
            if await cursor.fetchone() is not None:
                return False
            await conn.execute(
                f"INSERT INTO album_items ({_ITEM_COLUMNS}) VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (item.chat_id, item.album_id, item.item_id, item.received_at, item.payload),
            )
        return True

    async def claim(
        self, chat_id: str, album_id: str, *, quiet_since: float, by: str, now: float
    ) -> AlbumClaim:
        """One transaction under the album's advisory lock: the check and the claim are one step across replicas
        (the primary key on album_claims would refuse a second claim anyway)."""
        key = (chat_id, album_id)
        async with self._db.transaction() as conn:
            await _lock(conn, chat_id, album_id)
            cursor = await conn.execute(
                "SELECT 1 FROM album_claims WHERE chat_id = %s AND album_id = %s", key
            )
            if await cursor.fetchone() is not None:
                return AlbumClaim()
            cursor = await conn.execute(
                f"SELECT {_ITEM_COLUMNS} FROM album_items WHERE chat_id = %s AND album_id = %s ORDER BY item_id",
                key,
            )
            items = tuple(
                AlbumItem(str(r[0]), str(r[1]), int(r[2]), float(r[3]), str(r[4]))
                for r in await cursor.fetchall()
            )
            if not items:
                return AlbumClaim()
            last = max(item.received_at for item in items)
            if last > quiet_since:
                return AlbumClaim(last_arrival=last)
            await conn.execute(
                "INSERT INTO album_claims (chat_id, album_id, claimed_by, claimed_at) VALUES (%s, %s, %s, %s)",
                (chat_id, album_id, by, now),
            )
        return AlbumClaim(items=items)

    async def unclaimed(self, *, quiet_since: float, limit: int) -> list[tuple[str, str]]:
        rows = await self._db.fetch_all(_UNCLAIMED, (quiet_since, limit))
        return [(str(row[0]), str(row[1])) for row in rows]

    async def prune(self, *, older_than: float) -> int:
        async with self._db.transaction() as conn:
            cursor = await conn.execute("DELETE FROM album_items WHERE received_at < %s", (older_than,))
            removed = cursor.rowcount
            await conn.execute("DELETE FROM album_claims WHERE claimed_at < %s", (older_than,))
        return removed


async def _lock(conn: Connection, chat_id: str, album_id: str) -> None:
    # transaction-scoped: released by the commit; other albums never wait
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('album:' || %s || ':' || %s, 0))", (chat_id, album_id)
    )
