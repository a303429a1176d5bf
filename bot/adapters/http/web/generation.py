"""One generation for the page: run it as a task the stream only watches, and tell its progress as SSE events.

The task, not the HTTP response, owns the work: a browser that goes away does not throw away an image that is
being paid for; it is stored and shows up in the history.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from bot.core.models import GenerationResult, Progress
from bot.errors import ImagineError
from bot.i18n import describe_error
from bot.i18n.texts import progress_text

log = logging.getLogger(__name__)

KEEP_ALIVE_SECONDS = 15.0

Generate = Callable[[Callable[[Progress], Awaitable[None]]], Awaitable[GenerationResult]]
Present = Callable[[GenerationResult], Awaitable[dict[str, Any]]]


def sse(event: str, data: dict[str, Any]) -> bytes:
    """One server-sent event."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


async def stream_generation(
    generate: Generate, present: Present, locale: str, tasks: set[asyncio.Task[Any]]
) -> AsyncIterator[bytes]:
    """Progress events as the core reports them, then ``result`` (the stored job) or ``error`` (one sentence)."""
    events: asyncio.Queue[bytes] = asyncio.Queue()

    async def on_progress(event: Progress) -> None:
        data = {"stage": event.stage.value, "position": event.position, "text": progress_text(event, locale)}
        events.put_nowait(sse("progress", data))

    async def work() -> bytes:
        try:
            return sse("result", await present(await generate(on_progress)))
        except ImagineError as error:
            return sse("error", {"message": describe_error(error, locale), "code": error.key})
        except Exception:
            log.exception("web generation failed")
            return sse("error", {"message": describe_error(ImagineError(), locale), "code": "error.generic"})

    task = asyncio.create_task(work())
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    while True:
        getter = asyncio.ensure_future(events.get())
        try:
            done, _ = await asyncio.wait(
                {getter, task}, timeout=KEEP_ALIVE_SECONDS, return_when="FIRST_COMPLETED"
            )
        finally:
            if not getter.done():
                getter.cancel()
        if getter in done:
            yield getter.result()
        elif task in done:
            while not events.empty():
                yield events.get_nowait()
            yield task.result()
            return
        else:
            yield b": keep-alive\n\n"
