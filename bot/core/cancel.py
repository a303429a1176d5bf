"""Cancelling a request by its id while it waits in line or works: the ❌ button of both chats.

The request's own task is cancelled and the cancellation is turned back into a ``Cancelled`` error where the
request runs, so the usual clean-up (leaving the line, refunding the quota) happens on the way out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(eq=False)
class Ticket:
    """One request that may still be cancelled."""

    user_key: str
    task: asyncio.Task[object] | None
    cancelled: bool = False

    def cancel(self) -> None:
        if self.cancelled or self.task is None:
            return
        self.cancelled = True
        self.task.cancel("cancelled by the user")

    def takes_back(self) -> bool:
        """True when the ``CancelledError`` in flight is this ticket's own (not a shutdown's): swallow it."""
        return self.cancelled and self.task is not None and self.task.uncancel() == 0


class Tickets:
    """The requests that can be cancelled now, by request id."""

    def __init__(self) -> None:
        self._open: dict[str, Ticket] = {}

    @contextmanager
    def open(self, request_id: str, user_key: str) -> Iterator[Ticket]:
        """Make the current task cancellable under ``request_id`` for the body."""
        ticket = Ticket(user_key, asyncio.current_task())
        self._open[request_id] = ticket
        try:
            yield ticket
        finally:
            if self._open.get(request_id) is ticket:
                del self._open[request_id]

    def get(self, request_id: str) -> Ticket | None:
        return self._open.get(request_id)

    def __len__(self) -> int:
        return len(self._open)
