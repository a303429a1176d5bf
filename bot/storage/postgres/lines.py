"""Each user's line on PostgreSQL, kept in ``accepted_requests``: the same rows every replica sees.

The cap check and the insert, and the start of a waiting request, each run under a transaction-scoped advisory
lock on the user (as ``try_consume_usage`` does for the limits): two replicas admitting or starting the same
user's requests take turns, other users never wait. Under READ COMMITTED each statement after the lock sees
everything committed before it was granted. Leaving is one UPDATE that also NOTIFYs, in the same commit, so a
waiter on any replica that hears it and asks again finds the slot free.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from bot.core.lines import LineTicket, start_or_place
from bot.core.persistence import AcceptedRequest
from bot.storage.postgres.database import PostgresDatabase
from bot.storage.postgres.notify import listening
from bot.storage.rows import ACCEPTED_COLUMNS, accepted_values

CHANNEL = "imagine_lines"

_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('lines:' || %s, 0))"

# The open count and the insert in one statement, so the count the caller hears is the one the insert obeyed.
# A request already recorded (taken over from a replica that died) keeps its row and its place.
_REGISTER = f"""
WITH line AS (
    SELECT count(*) AS open FROM accepted_requests
    WHERE user_key = %(user)s AND state IN ('waiting', 'running')
), known AS (
    SELECT count(*) AS rows FROM accepted_requests WHERE id = %(id)s
), added AS (
    INSERT INTO accepted_requests ({ACCEPTED_COLUMNS})
    SELECT %(id)s, %(user)s, %(platform)s, %(replica)s, %(state)s, %(accepted_at)s, %(lease_until)s,
           %(attempts)s, %(usage_ids)s, %(payload)s
    FROM line, known WHERE line.open < %(cap)s AND known.rows = 0
    RETURNING 1
)
SELECT line.open, known.rows FROM line, known
"""

# First come, first served: the requests ahead are the user's waiting ones accepted earlier (id breaks ties).
_TRY_START = """
WITH line AS (
    SELECT id, state, accepted_at FROM accepted_requests
    WHERE user_key = %(user)s AND state IN ('waiting', 'running')
), me AS (
    SELECT state, accepted_at FROM line WHERE id = %(id)s
), counts AS (
    SELECT (SELECT count(*) FROM line WHERE state = 'running') AS running,
           (SELECT count(*) FROM line, me
            WHERE line.state = 'waiting' AND (line.accepted_at, line.id) < (me.accepted_at, %(id)s)) AS ahead,
           (SELECT state FROM me) AS state
), started AS (
    UPDATE accepted_requests SET state = 'running'
    WHERE id = %(id)s AND state = 'waiting' AND (SELECT running + ahead FROM counts) < %(cap)s
    RETURNING 1
)
SELECT running, ahead, state, (SELECT count(*) FROM started) FROM counts
"""

# Running → delivering (the image goes out; ``bot.core.requests`` ends it), waiting → failed (it left the line).
_LEAVE = """
WITH moved AS (
    UPDATE accepted_requests
    SET state = CASE state WHEN 'running' THEN 'delivering' ELSE 'failed' END
    WHERE id = %(id)s AND state IN ('waiting', 'running')
    RETURNING user_key
)
SELECT pg_notify('imagine_lines', user_key) FROM moved
"""


class RequestGone(LookupError):
    """The request is not waiting or running any more (it ended, or was never registered)."""


class PostgresUserLines:
    """``bot.core.lines.UserLines`` for every replica on one database."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    async def register(self, request: AcceptedRequest, *, cap: int) -> int | None:
        values = dict(
            zip(
                ("id", "user", "platform", "replica", "state", "accepted_at", "lease_until", "attempts",
                 "usage_ids", "payload"),
                accepted_values(request),
                strict=True,
            )
        )  # fmt: skip
        async with self._db.transaction() as conn:
            await conn.execute(_LOCK, (request.user_key,))
            cursor = await conn.execute(_REGISTER, values | {"cap": cap})
            row = await cursor.fetchone()
        if row is None or int(row[1]) or int(row[0]) < cap:
            return None
        return int(row[0])

    async def try_start(self, ticket: LineTicket, *, running_cap: int) -> int:
        async with self._db.transaction() as conn:
            await conn.execute(_LOCK, (ticket.user_key,))
            cursor = await conn.execute(
                _TRY_START, {"user": ticket.user_key, "id": ticket.id, "cap": running_cap}
            )
            row = await cursor.fetchone()
        if row is None or row[2] is None:
            raise RequestGone(f"request {ticket.id} is not in its user's line")
        running, ahead, state, started = int(row[0]), int(row[1]), row[2], int(row[3])
        if started or state == "running":
            return 0
        return max(1, start_or_place(running=running, ahead=ahead, running_cap=running_cap))

    async def leave(self, ticket: LineTicket) -> None:
        await self._db.execute(_LEAVE, {"id": ticket.id})

    def listen(self, wake: Callable[[str], None]) -> AbstractAsyncContextManager[None]:
        async def missed_some() -> None:
            # Nothing is known about what left meanwhile: waiters find out at their next poll.
            return None

        return listening(self._db.url, CHANNEL, wake, missed_some)
