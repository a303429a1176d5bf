"""Albums across replicas: Telegram sends each photo of an album as an update of its own, and behind a load
balancer they may land on different replicas. Each replica stores the items it receives in the shared database
(``AlbumStore``); once no item came for ``wait`` seconds, exactly one replica claims the album and runs it as
one request with every photo (any replica can download them by file id: the same bot token).

Telegram gives no "album complete" signal: an album is complete when ``wait`` seconds pass without another
item. The replicas compare arrival times, so their clocks should agree (NTP) to well within ``wait``.
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

    async def settle(self, timeout: float) -> bool:  # noqa: ASYNC109
        """Wait until every album this replica waits on was claimed (and handed over) or taken by another
        replica; False if ``timeout`` passed first. A stop calls it while new requests can still start, so an
        album whose items were answered with 200 is not dropped."""
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
        messages = [Message.de_json(json.loads(item.payload), bot) for item in claim.items]
        await self._on_complete([message for message in messages if message is not None])
