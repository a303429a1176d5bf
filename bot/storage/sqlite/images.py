"""Finished images for ``GET /image/{id}``: bytes with their content type, expiry and a total size cap."""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.image_store import ImageLink, StoredImage
from bot.storage.sqlite.database import SqliteDatabase

# Newest first, a running total of sizes: every row past the cap goes (never the image just stored).
_EVICT_OVER_CAP = """
DELETE FROM images WHERE id IN (
    SELECT id FROM (
        SELECT id, SUM(size) OVER (ORDER BY created_at DESC, rowid DESC) AS running FROM images
    ) WHERE running > :cap AND id != :kept
)
"""


class SqliteImageStore:
    """The SQLite implementation of ``bot.core.image_store.ImageStore``."""

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def put(self, image: StoredImage, *, max_total_bytes: int) -> None:
        """Insert, then drop expired images and the oldest beyond the cap, in one transaction."""
        async with self._db.transaction() as conn:
            await conn.execute("DELETE FROM images WHERE expires_at <= ?", (image.created_at,))
            await conn.execute(
                "INSERT INTO images (id, job_id, mime, size, created_at, expires_at, data) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    image.id,
                    image.job_id,
                    image.mime,
                    len(image.data),
                    image.created_at,
                    image.expires_at,
                    image.data,
                ),
            )
            await conn.execute(_EVICT_OVER_CAP, {"cap": max_total_bytes, "kept": image.id})

    async def get(self, image_id: str, *, now: float) -> StoredImage | None:
        row = await self._db.fetch_one(
            "SELECT id, data, mime, created_at, expires_at, job_id FROM images WHERE id = ? AND expires_at > ?",
            (image_id, now),
        )
        if row is None:
            return None
        return StoredImage(
            id=row[0], data=bytes(row[1]), mime=row[2], created_at=row[3], expires_at=row[4], job_id=row[5]
        )

    async def prune(self, *, now: float) -> int:
        return await self._db.execute("DELETE FROM images WHERE expires_at <= ?", (now,))

    async def links_for_jobs(self, job_ids: Sequence[str], *, now: float) -> dict[str, ImageLink]:
        marks = ", ".join("?" for _ in job_ids)
        rows = await self._db.fetch_all(
            f"SELECT job_id, id, mime FROM images WHERE expires_at > ? AND job_id IN ({marks})",
            (now, *job_ids),
        )
        return {row[0]: ImageLink(id=row[1], mime=row[2]) for row in rows}
