"""Admission into generation: a per-user cap on jobs in flight, a waiting line, and a global cap.

A line is first come, first served. Whoever leaves it (admitted, or cancelled while waiting) lets everyone
behind move up, and they are told their new place: every move near the front, further back only when the
place improved by a tenth, so 1,000 people waiting do not cost a million messages.

The per-user line is the deployment's (``bot.core.lines``: shared by every replica through the database); the
global line is this process's (it protects this process's memory and connections).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field

from bot.core.clock import Clock, SystemClock
from bot.core.lines import LineTicket, MemoryUserLines, UserLines, Wakeups
from bot.core.persistence import AcceptedRequest, RequestState
from bot.errors import AlreadyAccepted, QueueFull

log = logging.getLogger(__name__)

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


def worth_telling(position: int, told: int) -> bool:
    """Whether a waiter last told ``told`` (0: never) hears ``position``: every move near the front, else by tenths."""
    return position != told and (position <= TELL_EVERY_MOVE_UP_TO or told == 0 or position * 10 <= told * 9)


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
    """Jobs beyond a user's cap wait (up to ``max_waiting_per_user``) and are told their position.

    The user's cap (running and waiting) and order are kept in ``lines``, shared by every replica when the
    storage is; the global cap is this process's. ``poll_every`` (seconds) is the safety net under the wake-ups:
    a waiter re-checks its place that often even when no wake-up reached it.
    """

    def __init__(
        self,
        *,
        per_user: int,
        max_waiting_per_user: int,
        global_limit: int,
        lines: UserLines | None = None,
        poll_every: float = 5.0,
        replica: str = "",
        lease: float = 60.0,
        clock: Clock | None = None,
    ) -> None:
        self._per_user = per_user
        self._max_waiting = max_waiting_per_user
        self._global = _Line(global_limit)
        self._lines: UserLines = lines if lines is not None else MemoryUserLines()
        self._poll_every = poll_every
        #: the replica recorded as the holder of the requests registered here, and for how long at first
        self._replica = replica
        self._lease = lease
        self._clock: Clock = clock or SystemClock()
        self._wakeups = Wakeups()
        self._user_waiting = 0
        #: this process's running requests per user: the line to fall back on when the shared one cannot answer
        self._running_here: Counter[str] = Counter()
        #: places being given back in the background (``_leave`` logs its own failures)
        self._leaving: dict[str, set[asyncio.Task[None]]] = {}

    @asynccontextmanager
    async def shared(self) -> AsyncIterator[None]:
        """Hear, while open, when another replica's request leaves a user's line (so waiters here move up);
        on the way out, finish writing the places given back."""
        try:
            async with self._lines.listen(self._wakeups.wake, self._wakeups.wake_all):
                yield
        finally:
            await self.settled()

    async def settled(self, user_key: str | None = None) -> None:
        """Wait until every place given back so far (by ``user_key``, or anyone) is written."""
        while pending := [
            task for user, tasks in self._leaving.items() if user_key in (None, user) for task in tasks
        ]:
            await asyncio.gather(*pending, return_exceptions=True)

    async def register(
        self, user_key: str, ticket_id: str | None = None, *, platform: str = ""
    ) -> LineTicket:
        """Take a place in the user's line, or raise ``QueueFull`` (nothing registered) if it could not even wait.

        Atomic across replicas: the user's open requests never exceed ``per_user + max_waiting_per_user``.
        An id registered before (a chat update delivered twice) raises ``AlreadyAccepted``.
        """
        # The user's own places given back a moment ago count as free (their writes go on behind the images).
        await self.settled(user_key)
        ticket = LineTicket(ticket_id or uuid.uuid4().hex[:12], user_key)
        now = self._clock.time()
        request = AcceptedRequest(
            id=ticket.id,
            user_key=user_key,
            platform=platform or user_key.partition(":")[0],
            replica=self._replica,
            state=RequestState.WAITING,
            accepted_at=now,
            lease_until=now + self._lease,
        )
        cap = self._per_user + self._max_waiting
        refused_at = await self._lines.register(request, cap=cap)
        if refused_at is not None:
            raise QueueFull(waiting=max(0, refused_at - self._per_user))
        return ticket

    async def abandon(self, ticket: LineTicket) -> None:
        """A registered request that will never run (its admission ended first) gives its place back."""
        self._leave_behind(ticket)

    @property
    def waiting(self) -> int:
        """Jobs admitted but not yet running (all users, this process)."""
        return self._global.waiting + self._user_waiting

    @asynccontextmanager
    async def slot(
        self,
        user_key: str,
        on_queued: OnQueued | None = None,
        *,
        ticket: LineTicket | None = None,
        request_id: str | None = None,
    ) -> AsyncIterator[None]:
        """Hold a running slot for the body; waits (reporting the position) when the user or the bot is busy.

        ``ticket``: the place registered at admission; without one, a place is registered now, under
        ``request_id`` (a request taken over from a replica that died finds its place there).
        """
        if ticket is None:
            try:
                ticket = await self.register(user_key, request_id)
            except AlreadyAccepted as already:  # its own row, recorded before the replica that held it died
                ticket = LineTicket(already.request_id, user_key)
        try:
            await self._start(ticket, on_queued)
            self._running_here[user_key] += 1
            try:
                await self._global.enter(on_queued)
                try:
                    yield
                finally:
                    self._global.leave()
            finally:
                self._running_here[user_key] -= 1
                if not self._running_here[user_key]:
                    del self._running_here[user_key]
        finally:
            self._leave_behind(ticket)

    async def _start(self, ticket: LineTicket, on_queued: OnQueued | None) -> None:
        """Wait until the deployment lets ``ticket`` run; tell its place whenever it is worth telling."""
        told = 0
        with self._wakeups.watch(ticket.user_key) as moved:
            while True:
                moved.clear()  # before asking: a wake-up that comes during the question is not lost
                place = await self._try_start(ticket)
                if place == 0:
                    return
                if worth_telling(place, told):
                    told = place
                    if on_queued is not None:
                        await on_queued(place)
                self._user_waiting += 1
                try:
                    with suppress(TimeoutError):
                        async with asyncio.timeout(self._poll_every):
                            await moved.wait()
                finally:
                    self._user_waiting -= 1

    async def _try_start(self, ticket: LineTicket) -> int:
        try:
            return await self._lines.try_start(ticket, running_cap=self._per_user)
        except Exception:
            # The shared line cannot answer (database down): this process's own line decides, as before the
            # lines were shared, rather than cost an admitted (and charged) request its image.
            log.warning("the shared queue did not answer; the per-process line decides", exc_info=True)
            return 0 if self._running_here[ticket.user_key] < self._per_user else 1

    def _leave_behind(self, ticket: LineTicket) -> None:
        """Give the place back without making the request wait for the write: its image must not wait behind a
        database that is slow or locked (the write goes on in the background, and the waiters are woken after)."""
        task = asyncio.get_running_loop().create_task(self._leave(ticket), name=f"leave line {ticket.id}")
        self._leaving.setdefault(ticket.user_key, set()).add(task)
        task.add_done_callback(lambda done: self._forget(ticket.user_key, done))

    def _forget(self, user_key: str, task: asyncio.Task[None]) -> None:
        tasks = self._leaving.get(user_key)
        if tasks is not None:
            tasks.discard(task)
            if not tasks:
                del self._leaving[user_key]

    async def _leave(self, ticket: LineTicket) -> None:
        try:
            await self._lines.leave(ticket)
        except Exception:
            log.warning("could not give a place in the line back", exc_info=True)
        self._wakeups.wake(ticket.user_key)
