"""Account state shared by the replicas: a row per account, and LISTEN/NOTIFY so the others hear at once."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import replace

from bot.core.persistence import AccountChange, AccountEvent
from bot.storage.postgres.database import PostgresDatabase
from bot.storage.postgres.notify import listening

CHANNEL = "imagine_accounts"

# Each event's columns; every publish also ends the account's probe claim.
_PUBLISH = """
WITH changed AS (
    INSERT INTO account_state AS a (account_key, spent_until, cooling_until, misconfigured, recheck_at, updated_at)
    VALUES (%(key)s, %(spent)s, %(cooling)s, %(misconfigured)s, %(recheck)s, extract(epoch FROM now()))
    ON CONFLICT (account_key) DO UPDATE SET
        spent_until = CASE WHEN %(event)s = 'spent' THEN excluded.spent_until ELSE a.spent_until END,
        cooling_until = CASE WHEN %(event)s IN ('cooling', 'serving') THEN excluded.cooling_until
                             ELSE a.cooling_until END,
        misconfigured = CASE WHEN %(event)s IN ('misconfigured', 'serving') THEN excluded.misconfigured
                             ELSE a.misconfigured END,
        recheck_at = CASE WHEN %(event)s IN ('misconfigured', 'serving') THEN excluded.recheck_at
                          ELSE a.recheck_at END,
        probe_until = NULL,
        updated_at = excluded.updated_at
    RETURNING 1
)
SELECT pg_notify('imagine_accounts', %(payload)s) FROM changed
"""


def _encode(change: AccountChange) -> str:
    return json.dumps(
        {
            "k": change.account_key,
            "e": change.event.value,
            "u": change.until,
            "r": change.reason,
            "o": change.origin,
        }
    )


def _decode(payload: str) -> AccountChange:
    data = json.loads(payload)
    return AccountChange(data["k"], AccountEvent(data["e"]), data["u"], data["r"], data["o"])


class PostgresAccountFeed:
    """``AccountStateFeed`` on PostgreSQL. ``origin`` names this replica so its own notifications are skipped."""

    def __init__(self, db: PostgresDatabase, *, origin: str | None = None) -> None:
        self._db = db
        self.origin = origin or uuid.uuid4().hex[:12]

    async def publish(self, change: AccountChange) -> None:
        if not change.origin:
            change = replace(change, origin=self.origin)
        event = change.event
        params = {
            "key": change.account_key,
            "event": event.value,
            "spent": change.until if event is AccountEvent.SPENT else None,
            "cooling": change.until if event is AccountEvent.COOLING else None,
            "misconfigured": change.reason if event is AccountEvent.MISCONFIGURED else None,
            "recheck": change.until if event is AccountEvent.MISCONFIGURED else None,
            "payload": _encode(change),
        }
        # The row and the notification commit together: a replica that hears it and re-reads finds it.
        await self._db.execute(_PUBLISH, params)

    async def current(self, *, now: float) -> list[AccountChange]:
        rows = await self._db.fetch_all(
            "SELECT account_key, spent_until, cooling_until, misconfigured, recheck_at FROM account_state"
            " WHERE spent_until > %(now)s OR cooling_until > %(now)s OR misconfigured IS NOT NULL",
            {"now": now},
        )
        changes: list[AccountChange] = []
        for key, spent_until, cooling_until, misconfigured, recheck_at in rows:
            if spent_until is not None and spent_until > now:
                changes.append(AccountChange(key, AccountEvent.SPENT, spent_until))
            if cooling_until is not None and cooling_until > now:
                changes.append(AccountChange(key, AccountEvent.COOLING, cooling_until))
            if misconfigured is not None:
                changes.append(AccountChange(key, AccountEvent.MISCONFIGURED, recheck_at, misconfigured))
        return changes

    async def claim_probe(self, account_key: str, *, now: float, lease: float) -> bool:
        # ON CONFLICT ... WHERE runs under the row's lock: of two replicas claiming at once, one gets the row.
        # An account another replica has just found spent, cooling or misconfigured is refused too, even before
        # its notification arrives here (the claim would be a wasted call).
        row = await self._db.fetch_one(
            """
            INSERT INTO account_state AS a (account_key, probe_until, updated_at)
            VALUES (%(key)s, %(until)s, %(now)s)
            ON CONFLICT (account_key) DO UPDATE SET probe_until = excluded.probe_until,
                                                    updated_at = excluded.updated_at
            WHERE (a.probe_until IS NULL OR a.probe_until <= %(now)s)
              AND (a.spent_until IS NULL OR a.spent_until <= %(now)s)
              AND (a.cooling_until IS NULL OR a.cooling_until <= %(now)s)
              AND (a.misconfigured IS NULL OR a.recheck_at <= %(now)s)
            RETURNING 1
            """,
            {"key": account_key, "until": now + lease, "now": now},
        )
        return row is not None

    def listen(
        self, on_change: Callable[[AccountChange], None], on_reconnect: Callable[[], Awaitable[None]]
    ) -> AbstractAsyncContextManager[None]:
        # Changes published once this is entered are heard: start-up reads current() only after it.
        def heard(payload: str) -> None:
            change = _decode(payload)
            if change.origin != self.origin:
                on_change(change)

        return listening(self._db.url, CHANNEL, heard, on_reconnect)
