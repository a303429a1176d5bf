"""Each user's line on PostgreSQL, kept in ``accepted_requests``: the same rows every replica sees.

The cap check and the insert, and the start of a waiting request, are each one call to a server-side function
(migration 8) that takes a transaction-scoped advisory lock on the user, as ``try_consume_usage`` does for the
limits: two replicas admitting or starting the same user's requests take turns, other users never wait, and the
lock is held only inside the server (one round trip, not a transaction spanning several). Leaving is one UPDATE
that also NOTIFYs, in the same commit, so a waiter on any replica that hears it and asks again finds the slot free.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from bot.core.lines import LineTicket, start_or_place
from bot.core.persistence import AcceptedRequest
from bot.errors import AlreadyAccepted
from bot.storage.postgres.database import PostgresDatabase
from bot.storage.postgres.notify import listening
from bot.storage.rows import accepted_values

CHANNEL = "imagine_lines"
#: what ``line_register`` answers for an id already in the table (migration 9)
ALREADY_RECORDED = -1

# Running → delivering (the image goes out; ``bot.core.requests`` ends it), waiting → failed (it left the line).
# The notification goes out even when the row had already moved on: the journal may have marked it delivering
# first (this write goes on behind the image), and the user's waiters must still hear that the slot is free.
_LEAVE = """
WITH moved AS (
    UPDATE accepted_requests
    SET state = CASE state WHEN 'running' THEN 'delivering' ELSE 'failed' END
    WHERE id = %(id)s AND state IN ('waiting', 'running')
)
SELECT pg_notify('imagine_lines', %(user)s)
"""


class RequestGone(LookupError):
    """The request is not waiting or running any more (it ended, or was never registered)."""


class PostgresUserLines:
    """``bot.core.lines.UserLines`` for every replica on one database."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    async def register(self, request: AcceptedRequest, *, cap: int) -> int | None:
        # line_register (migration 8): the user's lock, the count and the insert in one round trip
        row = await self._db.fetch_one(
            "SELECT line_register(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (*accepted_values(request), cap),
        )
        if row is not None and row[0] == ALREADY_RECORDED:
            # the same update again: the row is the first delivery's (a row swept away meanwhile: try again)
            found = await self._db.fetch_one(
                "SELECT payload <> '{}' OR state NOT IN ('waiting', 'running') FROM accepted_requests WHERE id = %s",
                (request.id,),
            )
            raise AlreadyAccepted(request.id, acknowledged=found is not None and bool(found[0]))
        return None if row is None or row[0] is None else int(row[0])

    async def try_start(self, ticket: LineTicket, *, running_cap: int) -> int:
        row = await self._db.fetch_one(
            "SELECT o_running, o_ahead, o_state, o_started FROM line_try_start(%s, %s, %s)",
            (ticket.id, ticket.user_key, running_cap),
        )
        if row is None or row[2] is None:
            raise RequestGone(f"request {ticket.id} is not in its user's line")
        running, ahead, state, started = int(row[0]), int(row[1]), row[2], bool(row[3])
        if started or state == "running":
            return 0
        return max(1, start_or_place(running=running, ahead=ahead, running_cap=running_cap))

    async def leave(self, ticket: LineTicket) -> None:
        await self._db.execute(_LEAVE, {"id": ticket.id, "user": ticket.user_key})

    def listen(
        self, wake: Callable[[str], None], missed: Callable[[], None]
    ) -> AbstractAsyncContextManager[None]:
        async def reconnected() -> None:
            missed()  # whatever left the lines meanwhile went unheard: every waiter asks again

        return listening(self._db.url, CHANNEL, wake, reconnected)
