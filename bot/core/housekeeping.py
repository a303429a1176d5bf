"""Tidying while the bot runs: old jobs (prompts, chat ids, users' photos) and usage events are pruned every
``every`` seconds, not only at start-up, so a bot that runs for months keeps 30 days, not months."""

from __future__ import annotations

import asyncio
import logging
from types import TracebackType

from bot.core.clock import Clock, utc_day
from bot.core.persistence import AlbumStore, JobStore, UsageLedger

log = logging.getLogger(__name__)

JOB_RETENTION_SECONDS = 30 * 24 * 3600
#: usage events the limits still read: today's and yesterday's (a margin for clocks and time zones)
USAGE_RETENTION_SECONDS = 2 * 86400
#: album items are needed for seconds (until claimed); an hour keeps late duplicates recognisable as claimed
ALBUM_RETENTION_SECONDS = 3600


class Housekeeper:
    """Prunes at once on entry, then every ``every`` seconds until exit. A failed prune is logged, not raised."""

    def __init__(
        self,
        jobs: JobStore,
        ledger: UsageLedger,
        clock: Clock,
        *,
        every: float = 3600.0,
        albums: AlbumStore | None = None,
    ) -> None:
        self._jobs = jobs
        self._albums = albums
        self._ledger = ledger
        self._clock = clock
        self._every = every
        self._task: asyncio.Task[None] | None = None

    async def prune(self) -> None:
        now = self._clock.time()
        try:
            jobs = await self._jobs.prune(older_than=now - JOB_RETENTION_SECONDS)
            events = await self._ledger.prune(before_day=utc_day(now - USAGE_RETENTION_SECONDS))
            if self._albums is not None:
                items = await self._albums.prune(older_than=now - ALBUM_RETENTION_SECONDS)
                if items:
                    log.debug("pruned %d old album item(s)", items)
        except Exception:
            log.exception("pruning old jobs and usage failed; trying again in %.0f s", self._every)
            return
        if jobs or events:
            log.info("pruned %d old job(s) and %d old usage event(s)", jobs, events)

    async def __aenter__(self) -> Housekeeper:
        await self.prune()
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="housekeeping")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            await self.prune()
