"""Admission into generation: a per-user cap on jobs in flight, a waiting line, and a global cap."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from bot.errors import QueueFull

OnQueued = Callable[[int], Awaitable[None]]


class _Line:
    """A semaphore that counts who waits on it, so each waiter can be told its position."""

    def __init__(self, slots: int) -> None:
        self.slots = asyncio.Semaphore(slots)
        self.waiting = 0

    async def enter(self, on_queued: OnQueued | None) -> None:
        if not self.slots.locked():
            await self.slots.acquire()
            return
        self.waiting += 1
        try:
            if on_queued is not None:
                await on_queued(self.waiting)
            await self.slots.acquire()
        finally:
            self.waiting -= 1


class _UserLine(_Line):
    def __init__(self, slots: int) -> None:
        super().__init__(slots)
        self.holders = 0


class JobQueue:
    """Jobs beyond a user's cap wait (up to ``max_waiting_per_user``) and are told their position."""

    def __init__(self, *, per_user: int, max_waiting_per_user: int, global_limit: int) -> None:
        self._per_user = per_user
        self._max_waiting = max_waiting_per_user
        self._global = _Line(global_limit)
        self._users: dict[str, _UserLine] = {}

    def check_room(self, user_key: str) -> None:
        """Raise ``QueueFull`` now, before any limit is consumed, if this job could not even wait."""
        line = self._users.get(user_key)
        if line is not None and line.holders >= self._per_user and line.waiting >= self._max_waiting:
            raise QueueFull(waiting=line.waiting)

    @property
    def waiting(self) -> int:
        """Jobs admitted but not yet running (all users)."""
        return self._global.waiting + sum(line.waiting for line in self._users.values())

    @asynccontextmanager
    async def slot(self, user_key: str, on_queued: OnQueued | None = None) -> AsyncIterator[None]:
        """Hold a running slot for the body; waits (reporting the position) when the user or the bot is busy."""
        self.check_room(user_key)
        line = self._users.setdefault(user_key, _UserLine(self._per_user))
        holds_user_slot = False
        try:
            await line.enter(on_queued)
            line.holders += 1
            holds_user_slot = True
            await self._global.enter(on_queued)
            try:
                yield
            finally:
                self._global.slots.release()
        finally:
            if holds_user_slot:
                line.holders -= 1
                line.slots.release()
            if line.holders == 0 and line.waiting == 0:
                self._users.pop(user_key, None)
