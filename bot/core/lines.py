"""Each user's line across replicas: how many of their requests are open, which may run, and their places.

A request is registered when it is admitted (before anything is downloaded), waits until fewer than the user's
running cap of their requests run anywhere in the deployment, runs, and leaves. The state lives where every
replica sees it (``bot.storage``: rows of ``accepted_requests``); ``MemoryUserLines`` is the same protocol for one
process (tests, and the reference the storage implementations follow).

Only *this* is shared. The global cap (``MAX_CONCURRENT_GENERATIONS``) stays per replica: it protects one
process's memory and connections, which another replica's load does not use.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Protocol

from bot.core.persistence import AcceptedRequest
from bot.errors import AlreadyAccepted

#: called with a user key whenever one of that user's requests left its line (on any replica)
Wake = Callable[[str], None]


@dataclass(frozen=True)
class LineTicket:
    """One registered request in its user's line."""

    id: str
    user_key: str


class UserLines(Protocol):
    """The per-user lines of the whole deployment. Every method is atomic across processes for one user."""

    async def register(self, request: AcceptedRequest, *, cap: int) -> int | None:
        """Record ``request`` (waiting) if its user has fewer than ``cap`` requests waiting or running: None
        when recorded, else how many there are (nothing was recorded). On a database this is the
        ``accepted_requests`` insert itself, with the cap checked in the same step. An id already recorded (the
        same chat update delivered twice) raises ``AlreadyAccepted`` and changes nothing: the row is the first
        delivery's. A request taken over from a replica that died keeps its row and never registers again."""
        ...

    async def try_start(self, ticket: LineTicket, *, running_cap: int) -> int:
        """Start ``ticket`` if fewer than ``running_cap`` of its user's requests run and none of the waiting
        ones that could start is ahead of it (first come, first served): 0 when started (or already running),
        else its place in line (1 = next)."""
        ...

    async def leave(self, ticket: LineTicket) -> None:
        """``ticket`` holds no place any more (it ran, or left while waiting); the user's other requests move up."""
        ...

    def listen(self, wake: Wake, missed: Callable[[], None]) -> AbstractAsyncContextManager[None]:
        """Call ``wake(user_key)`` while open whenever a request of that user left its line on another process,
        and ``missed()`` when some of that may have gone unheard (a lost connection is back): all should ask."""
        ...


class Wakeups:
    """Waiters of each user, woken when that user's line moved (here or, through ``UserLines.listen``, elsewhere)."""

    def __init__(self) -> None:
        self._events: dict[str, set[asyncio.Event]] = {}

    @contextmanager
    def watch(self, user_key: str) -> Iterator[asyncio.Event]:
        event = asyncio.Event()
        self._events.setdefault(user_key, set()).add(event)
        try:
            yield event
        finally:
            events = self._events.get(user_key)
            if events is not None:
                events.discard(event)
                if not events:
                    del self._events[user_key]

    def wake(self, user_key: str) -> None:
        for event in self._events.get(user_key, ()):
            event.set()

    def wake_all(self) -> None:
        for user_key in self._events:
            self.wake(user_key)


@dataclass
class _Entry:
    order: int
    running: bool = False


class MemoryUserLines:
    """``UserLines`` for one process: a dict per user, in arrival order."""

    def __init__(self) -> None:
        self._users: dict[str, dict[str, _Entry]] = {}
        self._arrivals = 0
        self._listeners: list[Wake] = []

    async def register(self, request: AcceptedRequest, *, cap: int) -> int | None:
        line = self._users.get(request.user_key, {})
        if any(request.id in other for other in self._users.values()):
            raise AlreadyAccepted(request.id)
        if len(line) >= cap:
            return len(line)
        self._arrivals += 1
        self._users.setdefault(request.user_key, line)[request.id] = _Entry(self._arrivals)
        return None

    async def try_start(self, ticket: LineTicket, *, running_cap: int) -> int:
        line = self._users.get(ticket.user_key, {})
        entry = line.get(ticket.id)
        if entry is None:
            raise KeyError(f"ticket {ticket.id} is not registered")
        if entry.running:
            return 0
        running = sum(1 for other in line.values() if other.running)
        ahead = sum(1 for other in line.values() if not other.running and other.order < entry.order)
        place = start_or_place(running=running, ahead=ahead, running_cap=running_cap)
        if place == 0:
            entry.running = True
        return place

    async def leave(self, ticket: LineTicket) -> None:
        line = self._users.get(ticket.user_key)
        if line is not None:
            line.pop(ticket.id, None)
            if not line:
                del self._users[ticket.user_key]
        for wake in self._listeners:
            wake(ticket.user_key)

    @asynccontextmanager
    async def listen(self, wake: Wake, missed: Callable[[], None]) -> AsyncIterator[None]:
        # Several queues may share one instance (replicas in a test); each hears the others' departures.
        self._listeners.append(wake)
        try:
            yield
        finally:
            self._listeners.remove(wake)


def start_or_place(*, running: int, ahead: int, running_cap: int) -> int:
    """0 if a waiting request with ``ahead`` waiting before it may start now, else its place (1 = next).

    The ones ahead take the free running slots first; a slot that is free but taken by someone ahead counts.
    """
    if running + ahead < running_cap:
        return 0
    return running + ahead - running_cap + 1
