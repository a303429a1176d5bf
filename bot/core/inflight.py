"""Work in flight that a stopping adapter lets finish for a grace period, then cuts short."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class InFlight:
    """Tracks the futures (generations, handler tasks) an adapter must not drop silently on stop.

    Every adapter drains the same way: wait up to ``grace`` seconds, cancel what is left (each cancelled
    piece of work still tells its user), and wait for the cancellations to settle.
    """

    def __init__(self) -> None:
        self._work: set[asyncio.Future[Any]] = set()

    def __len__(self) -> int:
        return sum(1 for future in self._work if not future.done())

    @contextmanager
    def tracking(self, future: asyncio.Future[Any]) -> Iterator[None]:
        """Count ``future`` as in flight for the duration of the ``with`` block."""
        self._work.add(future)
        try:
            yield
        finally:
            self._work.discard(future)

    async def drain(self, grace: float) -> int:
        """Give the work in flight ``grace`` seconds, then cancel the rest; returns how many were cut short."""
        pending = {future for future in self._work if not future.done()}
        if not pending:
            return 0
        _, late = await asyncio.wait(pending, timeout=grace)
        for future in late:
            future.cancel()
        if late:
            await asyncio.gather(*late, return_exceptions=True)
        return len(late)
