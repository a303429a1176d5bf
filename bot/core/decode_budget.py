"""A memory budget for decoding references: a cap on the bytes all decodes may hold at once, and on how many run.

A small file can decode into hundreds of MB; twenty users sending four each must not add that up. Each decode
reserves its peak (estimated from the header) before it starts and gives it back when done; decodes that do not
fit wait their turn in arrival order.
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


def default_parallel_decodes() -> int:
    """One decode per core, at most four: decoding is CPU work in threads."""
    return max(1, min(4, os.cpu_count() or 1))


class DecodeBudget:
    """``async with budget.reserve(cost):`` runs the body once ``cost`` bytes and a decode slot are free."""

    def __init__(self, total_bytes: int, *, parallel: int | None = None) -> None:
        if total_bytes < 1:
            raise ValueError("the decode budget must be positive")
        self.total_bytes = total_bytes
        self._free = total_bytes
        self._slots = parallel or default_parallel_decodes()
        self._waiting: deque[tuple[int, asyncio.Future[None]]] = deque()

    @property
    def free_bytes(self) -> int:
        return self._free

    @asynccontextmanager
    async def reserve(self, cost: int) -> AsyncIterator[None]:
        """Hold ``cost`` bytes (at most the whole budget) and one decode slot for the body."""
        cost = min(max(cost, 0), self.total_bytes)
        await self._acquire(cost)
        try:
            yield
        finally:
            self._free += cost
            self._slots += 1
            self._wake()

    async def _acquire(self, cost: int) -> None:
        if not self._waiting and self._fits(cost):
            self._take(cost)
            return
        turn = asyncio.get_running_loop().create_future()
        entry = (cost, turn)
        self._waiting.append(entry)
        try:
            await turn
        except BaseException:
            if turn.done() and not turn.cancelled():
                # Granted just as we were cancelled: hand it on.
                self._free += cost
                self._slots += 1
            elif entry in self._waiting:
                self._waiting.remove(entry)
            self._wake()
            raise

    def _fits(self, cost: int) -> bool:
        return self._slots > 0 and cost <= self._free

    def _take(self, cost: int) -> None:
        self._free -= cost
        self._slots -= 1

    def _wake(self) -> None:
        # First come, first served: a big decode at the head is not overtaken forever by small ones.
        while self._waiting and self._fits(self._waiting[0][0]):
            cost, turn = self._waiting.popleft()
            if turn.cancelled():  # its owner is on the way out and takes nothing
                continue
            self._take(cost)
            turn.set_result(None)
