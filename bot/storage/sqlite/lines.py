"""Each user's line in SQLite, kept in ``accepted_requests``: one process, and one statement per step.

Every write is one statement, atomic by itself, so the cap is checked in the insert and the running cap in the
start; a refusal reads the counts afterwards (only to tell the user a place). The queue wakes its own waiters
when a request leaves: there is no other process to hear.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from bot.core.lines import LineTicket, start_or_place
from bot.core.persistence import AcceptedRequest
from bot.errors import AlreadyAccepted
from bot.storage.rows import ACCEPTED_COLUMNS, accepted_values
from bot.storage.sqlite.database import SqliteDatabase

_OPEN = "state IN ('waiting', 'running')"
#: registered in its line, never recorded by the journal (the first delivery is on its way, or died with it)
_UNACKNOWLEDGED = f"{_OPEN} AND payload = '{{}}'"

_REGISTER = f"""
INSERT INTO accepted_requests ({ACCEPTED_COLUMNS})
SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
WHERE (SELECT count(*) FROM accepted_requests WHERE user_key = ? AND {_OPEN}) < ?
ON CONFLICT (id) DO NOTHING
RETURNING 1
"""

_RUNNING = "(SELECT count(*) FROM accepted_requests WHERE user_key = :user AND state = 'running')"
# the user's waiting requests accepted before this one (first come, first served; the id breaks ties)
_AHEAD = """(SELECT count(*) FROM accepted_requests AS other, accepted_requests AS me
    WHERE me.id = :id AND other.user_key = :user AND other.state = 'waiting'
      AND (other.accepted_at < me.accepted_at OR (other.accepted_at = me.accepted_at AND other.id < me.id)))"""

_TRY_START = f"""
UPDATE accepted_requests SET state = 'running'
WHERE id = :id AND state = 'waiting' AND {_RUNNING} + {_AHEAD} < :cap
RETURNING 1
"""

_PLACE = f"SELECT {_RUNNING}, {_AHEAD}, (SELECT state FROM accepted_requests WHERE id = :id AND {_OPEN})"

_LEAVE = f"""
UPDATE accepted_requests SET state = CASE state WHEN 'running' THEN 'delivering' ELSE 'failed' END
WHERE id = ? AND {_OPEN}
"""


class SqliteUserLines:
    """``bot.core.lines.UserLines`` for the one process using the file."""

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def register(self, request: AcceptedRequest, *, cap: int) -> int | None:
        if await self._db.returning(_REGISTER, (*accepted_values(request), request.user_key, cap)):
            return None
        row = await self._db.fetch_one(
            f"SELECT count(*), (SELECT count(*) FROM accepted_requests WHERE id = ?),"
            f" (SELECT count(*) FROM accepted_requests WHERE id = ? AND {_UNACKNOWLEDGED})"
            f" FROM accepted_requests WHERE user_key = ? AND {_OPEN}",
            (request.id, request.id, request.user_key),
        )
        if row is not None and int(row[1]):
            # the same update again: the row is the first delivery's
            raise AlreadyAccepted(request.id, acknowledged=not int(row[2]))
        return max(cap, int(row[0])) if row is not None else cap

    async def try_start(self, ticket: LineTicket, *, running_cap: int) -> int:
        params = {"id": ticket.id, "user": ticket.user_key, "cap": running_cap}
        if await self._db.returning(_TRY_START, params):
            return 0
        row = await self._db.fetch_one(_PLACE, params)
        if row is None or row[2] is None:
            raise LookupError(f"request {ticket.id} is not in its user's line")
        if row[2] == "running":
            return 0
        return max(1, start_or_place(running=int(row[0]), ahead=int(row[1]), running_cap=running_cap))

    async def leave(self, ticket: LineTicket) -> None:
        await self._db.execute(_LEAVE, (ticket.id,))

    @asynccontextmanager
    async def listen(self, wake: Callable[[str], None], missed: Callable[[], None]) -> AsyncIterator[None]:
        yield  # one process: the queue wakes its own waiters
