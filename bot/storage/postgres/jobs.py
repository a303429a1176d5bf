"""Finished jobs on PostgreSQL, so any replica can re-roll a job another one made."""

from __future__ import annotations

from dataclasses import replace

from bot.core.persistence import StoredJob
from bot.storage.postgres.database import PostgresDatabase
from bot.storage.rows import JOB_COLUMNS, job_from_row


class PostgresJobStore:
    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    async def save(self, job: StoredJob) -> None:
        """Store a job and its (already normalised, small) reference images in one transaction."""
        async with self._db.transaction() as conn:
            await conn.execute(
                f"INSERT INTO jobs ({JOB_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    job.id,
                    job.user_key,
                    job.chat_id,
                    job.original_prompt,
                    job.final_prompt,
                    job.is_json,
                    job.negative,
                    job.width,
                    job.height,
                    job.steps,
                    job.model,
                    job.seed,
                    job.created_at,
                ),
            )
            if job.references:
                async with conn.cursor() as cursor:
                    await cursor.executemany(
                        "INSERT INTO job_references (job_id, position, data) VALUES (%s, %s, %s)",
                        [(job.id, position, data) for position, data in enumerate(job.references)],
                    )

    async def get(self, job_id: str) -> StoredJob | None:
        row = await self._db.fetch_one(f"SELECT {JOB_COLUMNS} FROM jobs WHERE id = %s", (job_id,))
        if row is None:
            return None
        refs = await self._db.fetch_all(
            "SELECT data FROM job_references WHERE job_id = %s ORDER BY position", (job_id,)
        )
        return replace(job_from_row(row), references=tuple(bytes(ref[0]) for ref in refs))

    async def recent_for_user(self, user_key: str, limit: int) -> list[StoredJob]:
        """A user's latest jobs, newest first, without their reference images."""
        rows = await self._db.fetch_all(
            f"SELECT {JOB_COLUMNS} FROM jobs WHERE user_key = %s ORDER BY created_at DESC, id DESC LIMIT %s",
            (user_key, limit),
        )
        return [job_from_row(row) for row in rows]

    async def prune(self, *, older_than: float) -> int:
        """Forget jobs created before ``older_than`` (their buttons then answer "no longer available")."""
        return await self._db.execute("DELETE FROM jobs WHERE created_at < %s", (older_than,))
