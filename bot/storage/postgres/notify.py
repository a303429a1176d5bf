"""One LISTEN connection per channel, kept open: reconnects after a loss and says so, so the caller catches up."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from psycopg import AsyncConnection, sql

log = logging.getLogger(__name__)

_RECONNECT_SECONDS = (0.5, 1.0, 2.0, 5.0)


@asynccontextmanager
async def listening(
    url: str,
    channel: str,
    on_payload: Callable[[str], None],
    on_reconnect: Callable[[], Awaitable[None]],
) -> AsyncIterator[None]:
    """Call ``on_payload`` for every notification on ``channel`` while open; ``on_reconnect`` after a lost
    connection is back. Entering waits until the first LISTEN is in place (or raises why it could not be)."""
    connected = asyncio.Event()
    task = asyncio.create_task(
        _listen(url, channel, on_payload, on_reconnect, connected), name=f"{channel} listener"
    )
    try:
        # Notifications sent after this point are heard: a caller reading the state next misses nothing.
        waiting = asyncio.create_task(connected.wait())
        await asyncio.wait([task, waiting], return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        if task.done():
            task.result()  # the first connection failed: say why
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _listen(
    url: str,
    channel: str,
    on_payload: Callable[[str], None],
    on_reconnect: Callable[[], Awaitable[None]],
    connected: asyncio.Event,
) -> None:
    failures = 0
    while True:
        try:
            async with await AsyncConnection.connect(url, autocommit=True) as conn:
                await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                if connected.is_set():  # a reconnection: catch up on what was said meanwhile
                    await on_reconnect()
                connected.set()
                failures = 0
                async for notify in conn.notifies():
                    on_payload(notify.payload)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            if not connected.is_set() and failures >= len(_RECONNECT_SECONDS):
                raise
            delay = _RECONNECT_SECONDS[min(failures, len(_RECONNECT_SECONDS) - 1)]
            failures += 1
            log.warning("%s listener lost its connection (%s); reconnecting in %g s", channel, error, delay)
            await asyncio.sleep(delay)
