"""Accepted requests and their leases on PostgreSQL: every replica renews its own and sweeps up the lapsed."""

from __future__ import annotations

import json
from collections.abc import Sequence

from bot.core.persistence import AcceptedRequest, RequestState
from bot.storage.postgres.database import PostgresDatabase
from bot.storage.rows import accepted_from_row, accepted_values
from bot.storage.statements import GET_REQUEST, INSERT_REQUEST, PRUNE_REQUESTS, SET_LEASES

# SKIP LOCKED: replicas sweeping at the same moment each take different rows instead of queueing on the same
# ones; FOR UPDATE re-checks the lease on the latest row version, so a row renewed meanwhile is left alone.
_CLAIM = """
UPDATE accepted_requests AS taken
SET replica = %(me)s, lease_until = %(until)s, attempts = taken.attempts + 1
FROM (
    SELECT id FROM accepted_requests
    WHERE state IN ('waiting', 'running', 'delivering') AND platform = ANY(%(platforms)s)
      AND (lease_until <= %(now)s OR (%(foreign)s AND replica <> %(me)s))
    ORDER BY lease_until LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
) AS due
WHERE taken.id = due.id
RETURNING taken.id, taken.user_key, taken.platform, taken.replica, taken.state, taken.accepted_at,
          taken.lease_until, taken.attempts, taken.usage_ids, taken.payload
"""


# A request that leaves its user's line here (it ended while waiting or running: a takeover given up, a failure)
# frees a place: the user's waiters on every replica hear it as they hear the line's own departures.
_SET_STATE = """
WITH moved AS (
    UPDATE accepted_requests AS r SET state = %(state)s
    FROM (SELECT id, state AS was FROM accepted_requests WHERE id = %(id)s FOR UPDATE) AS before
    WHERE r.id = before.id AND r.replica = %(replica)s AND r.state IN ('waiting', 'running', 'delivering')
    RETURNING r.user_key, before.was
), told AS (
    SELECT pg_notify('imagine_lines', user_key) FROM moved
    WHERE was IN ('waiting', 'running') AND %(state)s NOT IN ('waiting', 'running')
)
SELECT (SELECT count(*) FROM moved), (SELECT count(*) FROM told)
"""


class PostgresAcceptedRequests:
    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    async def insert(self, request: AcceptedRequest) -> None:
        """Record a newly accepted request; one its user's line registered at admission gets its charge,
        payload and lease, and keeps its state (the line moves it)."""
        await self._db.execute(
            INSERT_REQUEST,
            accepted_values(request),
        )

    async def get(self, request_id: str) -> AcceptedRequest | None:
        row = await self._db.fetch_one(GET_REQUEST, (request_id,))
        return None if row is None else accepted_from_row(row)

    async def renew(self, replica: str, *, lease_until: float) -> int:
        """Extend the lease of every open request ``replica`` holds."""
        return await self._db.execute(
            SET_LEASES,
            (lease_until, replica),
        )

    async def set_state(self, request_id: str, state: RequestState, *, replica: str) -> bool:
        """Move an open request ``replica`` still holds to ``state``."""
        row = await self._db.fetch_one(
            _SET_STATE, {"id": request_id, "state": state.value, "replica": replica}
        )
        return row is not None and int(row[0]) == 1

    async def note_reply(self, request_id: str, key: str, value: int | str, *, replica: str) -> None:
        """Set ``payload["reply"][key]`` of an open request ``replica`` holds."""
        await self._db.execute(
            "UPDATE accepted_requests SET payload = jsonb_set(payload::jsonb, %s, %s::jsonb)::text"
            " WHERE id = %s AND replica = %s AND state IN ('waiting', 'running', 'delivering')"
            " AND jsonb_typeof(payload::jsonb -> 'reply') = 'object'",
            (["reply", key], json.dumps(value), request_id, replica),
        )

    async def claim_expired(
        self,
        replica: str,
        *,
        now: float,
        lease_until: float,
        platforms: Sequence[str],
        limit: int,
        foreign_too: bool = False,
    ) -> list[AcceptedRequest]:
        """Take over open requests whose lease lapsed, each by one replica only."""
        rows = await self._db.fetch_all(
            _CLAIM,
            {
                "me": replica,
                "until": lease_until,
                "platforms": list(platforms),
                "now": now,
                "foreign": foreign_too,
                "limit": limit,
            },
        )
        return sorted((accepted_from_row(row) for row in rows), key=lambda request: request.accepted_at)

    async def release(self, replica: str, *, now: float) -> int:
        """Let the lease of every open request ``replica`` holds lapse now."""
        return await self._db.execute(
            SET_LEASES,
            (now, replica),
        )

    async def charge(self, request_id: str, usage_ids: tuple[int, ...]) -> None:
        """Put the admission's charge on the row its line registered (so a sweeper can refund it)."""
        await self._db.execute(
            "UPDATE accepted_requests SET usage_ids = %s WHERE id = %s",
            (json.dumps(list(usage_ids)), request_id),
        )

    async def forget(self, request_id: str, *, replica: str) -> bool:
        """Delete an open row ``replica`` holds that was never acknowledged; the user's waiters hear it."""
        row = await self._db.fetch_one(
            """
            WITH gone AS (
                DELETE FROM accepted_requests
                WHERE id = %s AND replica = %s AND payload = '{}' AND state IN ('waiting', 'running')
                RETURNING user_key
            ), told AS (
                SELECT pg_notify('imagine_lines', user_key) FROM gone
            )
            SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM told)
            """,
            (request_id, replica),
        )
        return row is not None and int(row[0]) == 1

    async def prune(self, *, accepted_before: float) -> int:
        """Forget ended requests accepted before ``accepted_before``."""
        return await self._db.execute(
            PRUNE_REQUESTS,
            (accepted_before,),
        )
