"""Cancelling a request by its id while it waits in line or works: the ❌ button of both chats.

The request's own task is cancelled and the cancellation is turned back into a ``Cancelled`` error where the
request runs, so the usual clean-up (leaving the line, refunding the quota) happens on the way out.

With several replicas the press may land on one that does not run the request: it checks the shared
``accepted_requests`` row and passes the request id on through a ``CancelRelay`` (PostgreSQL: NOTIFY); the
replica holding the ticket cancels it there as if the press had landed on it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Protocol


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


class CancelRelay(Protocol):
    """Carries a ❌ from the replica it landed on to the one running the request (only the request id travels)."""

    async def ask(self, request_id: str) -> None:
        """Ask the process that runs ``request_id`` to cancel it; the caller has checked who may."""
        ...

    def listen(self, on_cancel: Callable[[str], None]) -> AbstractAsyncContextManager[None]:
        """Call ``on_cancel(request_id)`` while open for every ``ask`` (from any process, this one included).

        An ask made while the listener is reconnecting is lost: the presser sees nothing change and presses again.
        """
        ...


class LocalCancelRelay:
    """``CancelRelay`` for one process (SQLite): every listener of this instance hears every ask."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[str], None]] = []

    async def ask(self, request_id: str) -> None:
        for on_cancel in list(self._listeners):
            on_cancel(request_id)

    @asynccontextmanager
    async def listen(self, on_cancel: Callable[[str], None]) -> AsyncIterator[None]:
        self._listeners.append(on_cancel)
        try:
            yield
        finally:
            self._listeners.remove(on_cancel)
