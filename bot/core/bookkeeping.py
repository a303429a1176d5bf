"""Write-behind for bookkeeping: what the bot records must never hold up, or cost, a user's image.

Usage counts, spent marks and stored jobs are written by one background task, in the order they were
submitted; a failed write is retried a few times (a lock held by another process usually clears) and then
logged with its real cause, once per cause, and dropped. Whoever submits never waits and never sees the error.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress

from bot.core.persistence import JobStore, StoredJob

log = logging.getLogger(__name__)

Write = Callable[[], Awaitable[object]]
_Item = tuple[str, Write, "asyncio.Future[None] | None"]


class Bookkeeper:
    """One ordered background writer. ``drain`` waits for what was submitted; ``close`` drains then stops."""

    def __init__(self, *, attempts: int = 3, retry_delay: float = 0.5, close_within: float = 10.0) -> None:
        self._attempts = attempts
        self._retry_delay = retry_delay
        self._close_within = close_within
        self._queue: asyncio.Queue[_Item] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._logged: set[str] = set()
        #: writes given up after every attempt failed (for ``accounts``/tests; the log says why)
        self.lost = 0

    def submit(self, what: str, write: Write) -> None:
        """Queue ``write`` (a no-argument coroutine function); ``what`` names it in the log."""
        self._put((what, write, None))

    async def write(self, what: str, write: Write, *, wait: float) -> None:
        """Queue ``write`` and wait for it at most ``wait`` seconds; the caller goes on either way, never sees an
        error, and the write goes on behind it."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._put((what, write, done))
        with suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(done), wait)

    def _put(self, item: _Item) -> None:
        self._queue.put_nowait(item)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._work(), name="bookkeeping")

    async def drain(self) -> None:
        """Wait until every write submitted so far is done (or given up)."""
        if self._worker is not None and not self._worker.done():
            await self._queue.join()

    async def close(self) -> None:
        """Finish pending writes (for at most ``close_within`` seconds), then stop the worker."""
        try:
            async with asyncio.timeout(self._close_within):
                await self.drain()
        except TimeoutError:
            log.error("%d bookkeeping write(s) still pending at shutdown were dropped", self._queue.qsize())
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None

    async def _work(self) -> None:
        while True:
            what, write, done = await self._queue.get()
            try:
                await self._write(what, write)
            finally:
                if done is not None and not done.done():
                    done.set_result(None)
                self._queue.task_done()

    async def _write(self, what: str, write: Write) -> None:
        for attempt in range(1, self._attempts + 1):
            try:
                await write()
            except Exception as error:  # any storage fault: the user already has the image
                if attempt < self._attempts:
                    await asyncio.sleep(self._retry_delay * attempt)
                    continue
                self.lost += 1
                self._log_once(what, error)
            else:
                return

    def _log_once(self, what: str, error: Exception) -> None:
        cause = f"{type(error).__name__}: {error}"
        if cause in self._logged:
            log.debug("bookkeeping write lost (%s): %s", what, cause)
            return
        if len(self._logged) < 100:  # a bounded memory of what was already said
            self._logged.add(cause)
        log.error("bookkeeping write lost (%s) after %d attempts: %s", what, self._attempts, cause)


class WriteBehindJobs:
    """A ``JobStore`` whose ``save`` never fails a generation: the job is written before the image goes out when
    the database keeps up (within ``wait`` seconds), and behind it, retried or logged, when it does not.

    A re-roll of a job whose write was lost says "no longer available", which is better than no image at all.
    """

    def __init__(self, jobs: JobStore, bookkeeper: Bookkeeper, *, wait: float = 1.0) -> None:
        self._jobs = jobs
        self._books = bookkeeper
        self._wait = wait

    async def save(self, job: StoredJob) -> None:
        await self._books.write(f"job {job.id}", lambda: self._jobs.save(job), wait=self._wait)

    async def get(self, job_id: str) -> StoredJob | None:
        return await self._jobs.get(job_id)

    async def recent_for_user(self, user_key: str, limit: int) -> list[StoredJob]:
        return await self._jobs.recent_for_user(user_key, limit)

    async def prune(self, *, older_than: float) -> int:
        return await self._jobs.prune(older_than=older_than)
