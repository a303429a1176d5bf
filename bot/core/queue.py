"""Admission into generation: a per-user cap on jobs in flight, a waiting line, and a global cap.

A line is first come, first served. Whoever leaves it (admitted, or cancelled while waiting) lets everyone
behind move up, and they are told their new place: every move near the front, further back only when the
place improved by a tenth, so 1,000 people waiting do not cost a million messages.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from bot.errors import QueueFull

OnQueued = Callable[[int], Awaitable[None]]

#: places up to this one are reported on every move
TELL_EVERY_MOVE_UP_TO = 10


@dataclass(eq=False)
class _Waiter:
    position: int
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    granted: bool = False
    told: int = 0

    def worth_telling(self) -> bool:
        return self.position <= TELL_EVERY_MOVE_UP_TO or self.position * 10 <= self.told * 9


class _Line:
    """``slots`` holders at once; the rest wait in order and hear their place when it changes."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self.free = slots
        self._queue: deque[_Waiter] = deque()

    @property
    def waiting(self) -> int:
        return len(self._queue)

    @property
    def held(self) -> int:
        return self.slots - self.free

    async def enter(self, on_queued: OnQueued | None) -> None:
        if self.free > 0 and not self._queue:
            self.free -= 1
            return
        waiter = _Waiter(position=len(self._queue) + 1)
        self._queue.append(waiter)
        try:
            while not waiter.granted:
                if waiter.position != waiter.told:
                    waiter.told = waiter.position
                    if on_queued is not None:
                        await on_queued(waiter.position)
                    continue
                waiter.changed.clear()
                await waiter.changed.wait()
        except BaseException:
            if waiter.granted:
                self.leave()  # the slot was handed over as we were cancelled: pass it on
            else:
                self._queue.remove(waiter)
                self._move_up()
            raise

    def leave(self) -> None:
        """Give a slot back: the first waiter gets it, everyone behind moves up."""
        if not self._queue:
            self.free += 1
            return
        first = self._queue.popleft()
        first.granted = True
        first.changed.set()
        self._move_up()

    def _move_up(self) -> None:
        for position, waiter in enumerate(self._queue, start=1):
            if waiter.position != position:
                waiter.position = position
                if waiter.worth_telling():
                    waiter.changed.set()


class JobQueue:
    """Jobs beyond a user's cap wait (up to ``max_waiting_per_user``) and are told their position."""

    def __init__(self, *, per_user: int, max_waiting_per_user: int, global_limit: int) -> None:
        self._per_user = per_user
        self._max_waiting = max_waiting_per_user
        self._global = _Line(global_limit)
        self._users: dict[str, _Line] = {}

    def check_room(self, user_key: str, count: int = 1) -> None:
        """Raise ``QueueFull`` now, before any limit is consumed, if ``count`` more jobs could not even wait."""
        line = self._users.get(user_key)
        held, waiting = (line.held, line.waiting) if line is not None else (0, 0)
        free = max(0, self._per_user - held)
        if count > free and waiting + count - free > self._max_waiting:
            raise QueueFull(waiting=waiting)

    @property
    def waiting(self) -> int:
        """Jobs admitted but not yet running (all users)."""
        return self._global.waiting + sum(line.waiting for line in self._users.values())

    @asynccontextmanager
    async def slot(self, user_key: str, on_queued: OnQueued | None = None) -> AsyncIterator[None]:
        """Hold a running slot for the body; waits (reporting the position) when the user or the bot is busy."""
        self.check_room(user_key)
        line = self._users.setdefault(user_key, _Line(self._per_user))
        holds_user_slot = False
        try:
            await line.enter(on_queued)
            holds_user_slot = True
            await self._global.enter(on_queued)
            try:
                yield
            finally:
                self._global.leave()
        finally:
            if holds_user_slot:
                line.leave()
            if line.held == 0 and line.waiting == 0:
                self._users.pop(user_key, None)
