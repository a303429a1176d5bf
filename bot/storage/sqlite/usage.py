"""Per-user usage events: the ledger behind per-minute and per-day limits."""

from __future__ import annotations

from bot.core.persistence import UsageCounts
from bot.storage.sqlite.database import SqliteDatabase

# SQLite compares against this when a limit is off; far above any real count.
_UNLIMITED = 1 << 62

# ``count`` rows or none: one statement, so the limit check and all the inserts are one atomic step.
# "The last minute" is (now - 60 s, now + 60 s]: events stamped more than a minute ahead (the clock was stepped
# back since) would otherwise count as recent for as long as the step, locking the user out for an hour after a
# one-hour step; the minute of slack keeps counting events of a process whose clock is slightly ahead.
_CONSUME = """
WITH RECURSIVE unit(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM unit WHERE n < :count)
INSERT INTO usage_events (user_key, created_at, day)
SELECT :user, :now, :day FROM unit
WHERE (SELECT COUNT(*) FROM usage_events
       WHERE user_key = :user AND created_at > :minute_ago AND created_at <= :ahead) + :count
        <= :per_minute
  AND (SELECT COUNT(*) FROM usage_events WHERE user_key = :user AND day = :day) + :count <= :per_day
RETURNING id
"""


class SqliteUsageLedger:
    """Records one event per admitted generation; a refund deletes it."""

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def try_consume(
        self,
        user_key: str,
        *,
        now: float,
        day: str,
        per_minute: int | None,
        per_day: int | None,
        count: int = 1,
    ) -> tuple[int, ...] | None:
        """Record ``count`` events if both limits allow all of them, atomically; their ids, or None if refused."""
        if count < 1:
            raise ValueError("count must be at least 1")
        params = {
            "count": count,
            "user": user_key,
            "now": now,
            "day": day,
            "minute_ago": now - 60.0,
            "ahead": now + 60.0,
            "per_minute": _UNLIMITED if per_minute is None else per_minute,
            "per_day": _UNLIMITED if per_day is None else per_day,
        }
        # One INSERT ... SELECT ... WHERE is atomic in SQLite, so concurrent requests cannot both pass the check.
        rows = await self._db.returning(_CONSUME, params)
        return tuple(int(row[0]) for row in rows) if rows else None

    async def refund(self, *event_ids: int) -> None:
        """Give back events (the generation failed, or was never started)."""
        if event_ids:
            marks = ", ".join("?" * len(event_ids))
            await self._db.execute(f"DELETE FROM usage_events WHERE id IN ({marks})", event_ids)

    async def counts(self, user_key: str, *, now: float, day: str) -> UsageCounts:
        row = await self._db.fetch_one(
            """
            SELECT
              (SELECT COUNT(*) FROM usage_events
               WHERE user_key = :user AND created_at > :minute_ago AND created_at <= :ahead),
              (SELECT COUNT(*) FROM usage_events WHERE user_key = :user AND day = :day),
              (SELECT MIN(created_at) FROM usage_events
               WHERE user_key = :user AND created_at > :minute_ago AND created_at <= :ahead)
            """,
            {"user": user_key, "minute_ago": now - 60.0, "ahead": now + 60.0, "day": day},
        )
        if row is None:  # an aggregate SELECT always yields a row; this keeps mypy honest
            return UsageCounts(0, 0, None)
        return UsageCounts(this_minute=int(row[0]), today=int(row[1]), oldest_in_minute=row[2])

    async def prune(self, *, before_day: str) -> int:
        """Drop events of days before ``before_day``; the limits never look at them again."""
        return await self._db.execute("DELETE FROM usage_events WHERE day < ?", (before_day,))
