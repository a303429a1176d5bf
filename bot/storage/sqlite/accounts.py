"""What must survive a restart about each Cloudflare account: spent-until, and usage per UTC day."""

from __future__ import annotations

from bot.core.persistence import AccountDayUsage
from bot.storage.sqlite.database import SqliteDatabase


class SqliteAccountStateStore:
    """Spent accounts and per-account daily usage. Cooldowns and misconfiguration are in memory only."""

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def spent_accounts(self, *, now: float) -> dict[str, float]:
        """Accounts still spent at ``now``, with the time they come back."""
        rows = await self._db.fetch_all(
            "SELECT account_key, spent_until FROM account_state WHERE spent_until > ?", (now,)
        )
        return {str(row[0]): float(row[1]) for row in rows}

    async def mark_spent(self, account_key: str, *, until: float, now: float) -> None:
        await self._db.execute(
            """
            INSERT INTO account_state (account_key, spent_until, updated_at) VALUES (?, ?, ?)
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
            INSERT INTO account_usage (account_key, day, images, neurons, calls, failures)
            VALUES (:key, :day, :images, :neurons, 1, :failures)
            ON CONFLICT (account_key, day) DO UPDATE SET
                images = images + excluded.images,
                neurons = neurons + excluded.neurons,
                calls = calls + 1,
                failures = failures + excluded.failures
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
            "SELECT account_key, images, neurons, calls, failures FROM account_usage WHERE day = ?", (day,)
        )
        return {
            str(row[0]): AccountDayUsage(
                images=int(row[1]), neurons=float(row[2]), calls=int(row[3]), failures=int(row[4])
            )
            for row in rows
        }
