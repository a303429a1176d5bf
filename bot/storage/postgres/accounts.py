"""Account state on PostgreSQL: spent-until and usage per UTC day, shared by every replica."""

from __future__ import annotations

from bot.core.persistence import AccountDayUsage
from bot.storage.postgres.database import PostgresDatabase


class PostgresAccountStateStore:
    """Spent accounts and per-account daily usage."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    async def spent_accounts(self, *, now: float) -> dict[str, float]:
        """Accounts still spent at ``now``, with the time they come back."""
        rows = await self._db.fetch_all(
            "SELECT account_key, spent_until FROM account_state WHERE spent_until > %s", (now,)
        )
        return {str(row[0]): float(row[1]) for row in rows}

    async def mark_spent(self, account_key: str, *, until: float, now: float) -> None:
        await self._db.execute(
            """
            INSERT INTO account_state (account_key, spent_until, updated_at) VALUES (%s, %s, %s)
            ON CONFLICT (account_key) DO UPDATE SET spent_until = excluded.spent_until,
                                                    updated_at = excluded.updated_at
            """,
            (account_key, until, now),
        )

    async def record_call(
        self, account_key: str, *, day: str, image: bool, neurons: float | None = None, failed: bool = False
    ) -> None:
        """Count one upstream call against the account's UTC day."""
        await self._db.execute(
            """
            INSERT INTO account_usage AS u (account_key, day, images, neurons, calls, failures)
            VALUES (%(key)s, %(day)s, %(images)s, %(neurons)s, 1, %(failures)s)
            ON CONFLICT (account_key, day) DO UPDATE SET
                images = u.images + excluded.images,
                neurons = u.neurons + excluded.neurons,
                calls = u.calls + 1,
                failures = u.failures + excluded.failures
            """,
            {
                "key": account_key,
                "day": day,
                "images": int(image),
                "neurons": neurons or 0.0,
                "failures": int(failed),
            },
        )

    async def usage_on(self, day: str) -> dict[str, AccountDayUsage]:
        rows = await self._db.fetch_all(
            "SELECT account_key, images, neurons, calls, failures FROM account_usage WHERE day = %s", (day,)
        )
        return {
            str(row[0]): AccountDayUsage(
                images=int(row[1]), neurons=float(row[2]), calls=int(row[3]), failures=int(row[4])
            )
            for row in rows
        }
