"""Per-user usage events: the ledger behind per-minute and per-day limits."""

from __future__ import annotations

from bot.core.persistence import UsageCounts
from bot.storage.sqlite.database import SqliteDatabase

# SQLite compares against this when a limit is off; far above any real count.
_UNLIMITED = 1 << 62

_CONSUME = """
INSERT INTO usage_events (user_key, created_at, day)
SELECT :user, :now, :day
WHERE (SELECT COUNT(*) FROM usage_events WHERE user_key = :user AND created_at > :minute_ago) < :per_minute
  AND (SELECT COUNT(*) FROM usage_events WHERE user_key = :user AND day = :day) < :per_day
"""


class SqliteUsageLedger:
    """Records one event per admitted generation; a refund deletes it."""

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def try_consume(
        self, user_key: str, *, now: float, day: str, per_minute: int | None, per_day: int | None
    ) -> int | None:
        """Record an event if both limits allow it, atomically; return its id, or None when a limit is reached."""
        params = {
            "user": user_key,
            "now": now,
            "day": day,
            "minute_ago": now - 60.0,
            "per_minute": _UNLIMITED if per_minute is None else per_minute,
            "per_day": _UNLIMITED if per_day is None else per_day,
        }
        # One INSERT ... SELECT ... WHERE is atomic in SQLite, so concurrent requests cannot both pass the check.
        return await self._db.insert(_CONSUME, params)

    async def refund(self, event_id: int) -> None:
        """Give back an event (the generation failed)."""
        await self._db.execute("DELETE FROM usage_events WHERE id = ?", (event_id,))

    async def counts(self, user_key: str, *, now: float, day: str) -> UsageCounts:
        row = await self._db.fetch_one(
            """
            SELECT
              (SELECT COUNT(*) FROM usage_events WHERE user_key = :user AND created_at > :minute_ago),
              (SELECT COUNT(*) FROM usage_events WHERE user_key = :user AND day = :day),
              (SELECT MIN(created_at) FROM usage_events WHERE user_key = :user AND created_at > :minute_ago)
            """,
            {"user": user_key, "minute_ago": now - 60.0, "day": day},
        )
        if row is None:  # an aggregate SELECT always yields a row; this keeps mypy honest
            return UsageCounts(0, 0, None)
        return UsageCounts(this_minute=int(row[0]), today=int(row[1]), oldest_in_minute=row[2])

    async def prune(self, *, before_day: str) -> int:
        """Drop events of days before ``before_day``; the limits never look at them again."""
        return await self._db.execute("DELETE FROM usage_events WHERE day < ?", (before_day,))
