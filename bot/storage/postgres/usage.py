"""Per-user usage events on PostgreSQL: exact limits across every replica sharing the database."""

from __future__ import annotations

from bot.core.persistence import UsageCounts
from bot.storage.postgres.database import PostgresDatabase


class PostgresUsageLedger:
    """Records one event per admitted generation; a refund deletes it."""

    def __init__(self, db: PostgresDatabase) -> None:
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
        """Record ``count`` events if both limits allow all of them; their ids, or None if refused."""
        if count < 1:
            raise ValueError("count must be at least 1")
        # try_consume_usage (migration 1) locks the user, counts and inserts in one round trip.
        row = await self._db.fetch_one(
            "SELECT try_consume_usage(%s, %s, %s, %s, %s, %s)",
            (user_key, now, day, per_minute, per_day, count),
        )
        return None if row is None or row[0] is None else tuple(int(event_id) for event_id in row[0])

    async def refund(self, *event_ids: int) -> None:
        """Give back events (the generation failed, was never started or not delivered)."""
        if event_ids:
            await self._db.execute("DELETE FROM usage_events WHERE id = ANY(%s)", (list(event_ids),))

    async def counts(self, user_key: str, *, now: float, day: str) -> UsageCounts:
        row = await self._db.fetch_one(
            """
            SELECT
              count(*) FILTER (WHERE created_at > %(minute_ago)s AND created_at <= %(ahead)s),
              count(*) FILTER (WHERE day = %(day)s),
              min(created_at) FILTER (WHERE created_at > %(minute_ago)s AND created_at <= %(ahead)s)
            FROM usage_events WHERE user_key = %(user)s AND (day = %(day)s OR created_at > %(minute_ago)s)
            """,
            {"user": user_key, "minute_ago": now - 60.0, "ahead": now + 60.0, "day": day},
        )
        if row is None:  # an aggregate SELECT always yields a row; this keeps mypy honest
            return UsageCounts(0, 0, None)
        return UsageCounts(this_minute=int(row[0]), today=int(row[1]), oldest_in_minute=row[2])

    async def prune(self, *, before_day: str) -> int:
        """Drop events of days before ``before_day``; the limits never look at them again."""
        return await self._db.execute("DELETE FROM usage_events WHERE day < %s", (before_day,))
