"""Admission into generation: a per-user cap on jobs in flight, a waiting line, and a global cap."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from bot.errors import QueueFull

OnQueued = Callable[[int], Awaitable[None]]


@dataclass
class _UserLine:
    slots: asyncio.Semaphore
    waiting: int = 0
    holders: int = field(default=0)


class JobQueue:
    """Jobs beyond a user's cap wait (up to ``max_waiting_per_user``) and are told their position."""

    def __init__(self, *, per_user: int, max_waiting_per_user: int, global_limit: int) -> None:
        self._per_user = per_user
        self._max_waiting = max_waiting_per_user
        self._global = asyncio.Semaphore(global_limit)
        self._global_waiting = 0
        self._users: dict[str, _UserLine] = {}

    def check_room(self, user_key: str) -> None:
        """Raise ``QueueFull`` now, before any limit is consumed, if this job could not even wait."""
        line = self._users.get(user_key)
        if line is not None and line.holders >= self._per_user and line.waiting >= self._max_waiting:
            raise QueueFull(waiting=line.waiting)

    @property
    def waiting(self) -> int:
        """Jobs admitted but not yet running (all users)."""
        return self._global_waiting + sum(line.waiting for line in self._users.values())

    @asynccontextmanager
    async def slot(self, user_key: str, on_queued: OnQueued | None = None) -> AsyncIterator[None]:
        """Hold a running slot for the body; waits (reporting the position) when the user or the bot is busy."""
        self.check_room(user_key)
        line = self._users.setdefault(user_key, _UserLine(asyncio.Semaphore(self._per_user)))
        holds_user_slot = False
        try:
            await self._acquire_user(line, on_queued)
            holds_user_slot = True
            await self._acquire_global(on_queued)
            try:
                yield
            finally:
                self._global.release()
        finally:
            if holds_user_slot:
                line.holders -= 1
                line.slots.release()
            if line.holders == 0 and line.waiting == 0:
                self._users.pop(user_key, None)

    async def _acquire_user(self, line: _UserLine, on_queued: OnQueued | None) -> None:
        if line.slots.locked():
            line.waiting += 1
            try:
                if on_queued is not None:
                    await on_queued(line.waiting)
                await line.slots.acquire()
            finally:
                line.waiting -= 1
        else:
            await line.slots.acquire()
        line.holders += 1

    async def _acquire_global(self, on_queued: OnQueued | None) -> None:
        if self._global.locked():
            self._global_waiting += 1
            try:
                if on_queued is not None:
                    await on_queued(self._global_waiting)
                await self._global.acquire()
            finally:
                self._global_waiting -= 1
        else:
            await self._global.acquire()
