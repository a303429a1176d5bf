"""Albums across replicas: Telegram sends each photo of an album as an update of its own, and behind a load
balancer they may land on different replicas. Each replica stores the items it receives in the shared database
(``AlbumStore``); once no item came for ``wait`` seconds, exactly one replica claims the album and runs it as
one request with every photo (any replica can download them by file id: the same bot token).

Telegram gives no "album complete" signal: an album is complete when ``wait`` seconds pass without another
item. The replicas compare arrival times, so their clocks should agree (NTP) to well within ``wait``.

The timer lives in the replicas that received items. If they all die before it fires (kill -9, or the one SQLite
process restarting), the album would wait forever: so every replica also sweeps for albums nobody claimed whose
newest item is ``ORPHAN_AFTER_WAITS`` waits old, and claims them with the same atomic claim. An orphan is run
however old it is (until housekeeping prunes it after an hour): it is late only when no replica ran at all, and
then Telegram's own queued updates are answered just as late; the image replies to the album, so it is clear.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram import Bot, Message

from bot.core.persistence import AlbumItem, AlbumStore

log = logging.getLogger(__name__)

Spawn = Callable[[Coroutine[Any, Any, None]], object]
AlbumKey = tuple[str, str]

#: an album is an orphan once no item came for this many waits: well past the wait, so a live replica's own
#: timer claims its album first even when it runs late
ORPHAN_AFTER_WAITS = 3.0
#: how often every replica looks for orphans, in waits (one indexed query each time)
SWEEP_EVERY_WAITS = 2.0
#: orphans rescued per sweep; more wait for the next one
SWEEP_BATCH = 20


class SharedAlbums:
    """Gathers album items in the database; hands each album's messages over once, on the replica that claims it."""

    def __init__(
        self,
        store: AlbumStore,
        wait: float,
        on_complete: Callable[[list[Message]], Awaitable[None]],
        spawn: Spawn,
        *,
        clock: Callable[[], float] = time.time,
        replica: str | None = None,
    ) -> None:
        self._store = store
        self._wait = wait
        self._on_complete = on_complete
        self._spawn = spawn
        self._clock = clock
        self._replica = replica or f"{socket.gethostname()}-{os.getpid()}"
        #: albums this replica waits on (one timer each, however many of their items came here)
        self._waiting: set[AlbumKey] = set()
        #: set while no timer runs here, hand-over included (what a stop waits for)
        self._idle = asyncio.Event()
        self._idle.set()
        self._timers = 0
        self._sweeper: asyncio.Task[None] | None = None
        self._stop_sweeping = asyncio.Event()

    @property
    def pending(self) -> int:
        """Albums this replica still waits on."""
        return len(self._waiting)

    async def add(self, message: Message) -> None:
        """Store one album item; the first item of an album that reaches this replica starts its timer here."""
        if message.media_group_id is None:
            raise ValueError("not an album item")
        key = (str(message.chat_id), message.media_group_id)
        item = AlbumItem(*key, message.message_id, self._clock(), message.to_json())
        if not await self._store.add(item):
            log.debug("album item %s came after its album was claimed: ignored", message.message_id)
            return
        if key not in self._waiting:
            self._waiting.add(key)
            self._timers += 1
            self._idle.clear()
            self._spawn(self._timer(key, message.get_bot()))

    def start_sweeping(self, bot: Bot) -> None:
        """Look for orphaned albums every ``SWEEP_EVERY_WAITS`` waits until ``settle``; ``bot`` rebuilds them."""
        if self._sweeper is None:
            self._stop_sweeping.clear()
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep_loop(bot), name="album-sweep")

    async def sweep(self, bot: Bot) -> int:
        """Claim and hand over the albums nobody claimed, quiet for ``ORPHAN_AFTER_WAITS`` waits (their replica
        died before its timer fired); returns how many this replica got."""
        now = self._clock()
        quiet_since = now - ORPHAN_AFTER_WAITS * self._wait
        rescued = 0
        for key in await self._store.unclaimed(quiet_since=quiet_since, limit=SWEEP_BATCH):
            if key in self._waiting:
                continue  # our own timer is on it
            claim = await self._store.claim(*key, quiet_since=quiet_since, by=self._replica, now=now)
            if not claim.items:
                continue  # another replica's sweep (or a late timer) was first
            newest = max(item.received_at for item in claim.items)
            log.info(
                "rescued album %s: %d item(s), quiet for %.1f s, no replica had claimed it",
                key[1],
                len(claim.items),
                now - newest,
            )
            rescued += 1
            await self._hand_over(claim.items, bot)
        return rescued

    async def settle(self, timeout: float) -> bool:  # noqa: ASYNC109
        """Stop sweeping, then wait until every album this replica waits on was claimed (and handed over) or
        taken by another replica; False if ``timeout`` passed first. A stop calls it while new requests can
        still start, so an album whose items were answered with 200 is not dropped."""
        if self._sweeper is not None:
            # not cancelled: a sweep that claimed an album hands it over before it ends
            self._stop_sweeping.set()
            done, _ = await asyncio.wait({self._sweeper}, timeout=timeout)
            if not done:
                return False
            self._sweeper = None
        try:
            async with asyncio.timeout(timeout):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True

    async def _timer(self, key: AlbumKey, bot: Bot) -> None:
        try:
            await self._claim_when_quiet(key, bot)
        finally:
            self._timers -= 1
            if self._timers == 0:
                self._idle.set()

    async def _claim_when_quiet(self, key: AlbumKey, bot: Bot) -> None:
        try:
            delay = self._wait
            while True:  # every new item (on any replica) moves the end of the wait
                await asyncio.sleep(delay)
                now = self._clock()
                claim = await self._store.claim(*key, quiet_since=now - self._wait, by=self._replica, now=now)
                if claim.items:
                    break
                if claim.last_arrival is None:
                    log.debug("album %s was claimed by another replica", key[1])
                    return
                delay = max(claim.last_arrival + self._wait - now, 0.0)
        finally:
            self._waiting.discard(key)
        await self._hand_over(claim.items, bot)

    async def _sweep_loop(self, bot: Bot) -> None:
        while not await _set_within(self._stop_sweeping, SWEEP_EVERY_WAITS * self._wait):
            try:
                await self.sweep(bot)
            except Exception:  # the shared database, say: the next sweep tries again
                log.warning("looking for orphaned albums failed", exc_info=True)

    async def _hand_over(self, items: tuple[AlbumItem, ...], bot: Bot) -> None:
        """The one way a claimed album (by its timer or by a sweep) becomes a request."""
        messages = [Message.de_json(json.loads(item.payload), bot) for item in items]
        await self._on_complete([message for message in messages if message is not None])


async def _set_within(event: asyncio.Event, seconds: float) -> bool:
    """Whether ``event`` is set within ``seconds``."""
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True
