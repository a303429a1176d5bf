"""A ❌ pressed on one replica, heard by the one running the request: NOTIFY on a channel every replica LISTENs to.

The payload is the request id alone (nothing secret); each replica cancels it if it holds its ticket and ignores
it otherwise. Who may cancel was checked against the shared row before the NOTIFY was sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from bot.storage.postgres.database import PostgresDatabase
from bot.storage.postgres.notify import listening

log = logging.getLogger(__name__)

CHANNEL = "imagine_cancel"


class PostgresCancelRelay:
    """``bot.core.cancel.CancelRelay`` for every replica on one database."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    async def ask(self, request_id: str) -> None:
        await self._db.execute("SELECT pg_notify(%s, %s)", (CHANNEL, request_id))

    def listen(self, on_cancel: Callable[[str], None]) -> AbstractAsyncContextManager[None]:
        async def reconnected() -> None:
            # A cancel is a moment's wish, not state: one sent while we were away is gone (the user presses
            # again). Storing it would need a column and a check on every step for a rare, harmless loss.
            log.info("cancel listener is back; a ❌ pressed meanwhile elsewhere may have gone unheard")

        return listening(self._db.url, CHANNEL, on_cancel, reconnected)
