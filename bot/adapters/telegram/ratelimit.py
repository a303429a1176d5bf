"""PTB's AIORateLimiter with a slower, yielding lane for status lines and chat actions.

Telegram allows a bot about 30 calls a second. With 1,000 requests waiting, their status lines alone would
fill that for half a minute, and a /help answer would wait behind them. Calls marked ``BACKGROUND`` first pass
a limiter of two thirds of the overall rate, and then wait while answers, buttons or images are on their way:
those never queue behind a status line, and a chat action still waiting when its image is ready is never sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.constants import FloodLimit
from telegram.ext import AIORateLimiter

JSONResult = bool | dict[str, Any] | list[dict[str, Any]]

#: ``rate_limit_args`` of a call that may wait (status lines, chat actions); never a real retry count
BACKGROUND = -1
BACKGROUND_SHARE = 2 / 3


class PoliteRateLimiter(AIORateLimiter):
    """Answers first: background calls take at most ``BACKGROUND_SHARE`` of the rate, and only what answers leave."""

    def __init__(self, *, max_retries: int) -> None:
        super().__init__(max_retries=max_retries)
        self._background = AsyncLimiter(FloodLimit.MESSAGES_PER_SECOND * BACKGROUND_SHARE, 1)
        self._foreground = 0
        self._no_foreground = asyncio.Event()
        self._no_foreground.set()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSONResult]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> JSONResult:
        if rate_limit_args == BACKGROUND:
            async with self._background:
                await self._no_foreground.wait()
                return await super().process_request(callback, args, kwargs, endpoint, data, None)
        self._foreground += 1
        self._no_foreground.clear()
        try:
            return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
        finally:
            self._foreground -= 1
            if not self._foreground:
                self._no_foreground.set()
