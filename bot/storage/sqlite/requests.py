"""Accepted requests and their leases in SQLite: one process, so a restart takes over the previous run's."""

from __future__ import annotations

import json
from collections.abc import Sequence

from bot.core.persistence import AcceptedRequest, RequestState
from bot.storage.rows import ACCEPTED_COLUMNS, accepted_from_row, accepted_values
from bot.storage.sqlite.database import SqliteDatabase
from bot.storage.statements import (
    GET_REQUEST,
    INSERT_REQUEST,
    OPEN_REQUEST,
    PRUNE_REQUESTS,
    SET_LEASES,
    qmark,
)

# One statement: the writer runs one at a time, so no other sweep can take the same rows meanwhile.
_CLAIM = f"""
UPDATE accepted_requests SET replica = :me, lease_until = :until, attempts = attempts + 1
WHERE id IN (
    SELECT id FROM accepted_requests
    WHERE {OPEN_REQUEST} AND platform IN (SELECT value FROM json_each(:platforms))
      AND (lease_until <= :now OR (:foreign AND replica <> :me))
    ORDER BY lease_until LIMIT :limit
)
RETURNING {ACCEPTED_COLUMNS}
"""


class SqliteAcceptedRequests:
    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def insert(self, request: AcceptedRequest) -> None:
        """Record a newly accepted request; one its user's line registered at admission gets its charge,
        payload and lease, and keeps its state (the line moves it)."""
        await self._db.execute(
            qmark(INSERT_REQUEST),
            accepted_values(request),
        )

    async def get(self, request_id: str) -> AcceptedRequest | None:
        row = await self._db.fetch_one(qmark(GET_REQUEST), (request_id,))
        return None if row is None else accepted_from_row(row)

    async def renew(self, replica: str, *, lease_until: float) -> int:
        """Extend the lease of every open request ``replica`` holds."""
        return await self._db.execute(
            qmark(SET_LEASES),
            (lease_until, replica),
        )

    async def set_state(self, request_id: str, state: RequestState, *, replica: str) -> bool:
        """Move an open request ``replica`` still holds to ``state``."""
        changed = await self._db.execute(
            f"UPDATE accepted_requests SET state = ? WHERE id = ? AND replica = ? AND {OPEN_REQUEST}",
            (state.value, request_id, replica),
        )
        return changed == 1

    async def note_reply(self, request_id: str, key: str, value: int | str, *, replica: str) -> None:
        """Set ``payload["reply"][key]`` of an open request ``replica`` holds."""
        await self._db.execute(
            f"UPDATE accepted_requests SET payload = json_set(payload, ?, ?)"
            f" WHERE id = ? AND replica = ? AND {OPEN_REQUEST} AND json_type(payload, '$.reply') = 'object'",
            (f"$.reply.{key}", value, request_id, replica),
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
        """Take over open requests whose lease lapsed (and, with ``foreign_too``, a previous run's)."""
        rows = await self._db.returning(
            _CLAIM,
            {
                "me": replica,
                "until": lease_until,
                "platforms": json.dumps(list(platforms)),
                "now": now,
                "foreign": int(foreign_too),
                "limit": limit,
            },
        )
        return sorted((accepted_from_row(row) for row in rows), key=lambda request: request.accepted_at)

    async def release(self, replica: str, *, now: float) -> int:
        """Let the lease of every open request ``replica`` holds lapse now."""
        return await self._db.execute(qmark(SET_LEASES), (now, replica))

    async def charge(self, request_id: str, usage_ids: tuple[int, ...]) -> None:
        """Put the admission's charge on the row its line registered (so a sweeper can refund it)."""
        await self._db.execute(
            "UPDATE accepted_requests SET usage_ids = ? WHERE id = ?",
            (json.dumps(list(usage_ids)), request_id),
        )

    async def forget(self, request_id: str, *, replica: str) -> bool:
        """Delete an open row ``replica`` holds that was never acknowledged."""
        deleted = await self._db.execute(
            "DELETE FROM accepted_requests"
            " WHERE id = ? AND replica = ? AND payload = '{}' AND state IN ('waiting', 'running')",
            (request_id, replica),
        )
        return deleted == 1

    async def prune(self, *, accepted_before: float) -> int:
        """Forget ended requests accepted before ``accepted_before``."""
        return await self._db.execute(qmark(PRUNE_REQUESTS), (accepted_before,))
