"""Server-sent events and the core's progress as events: the pieces every streaming route shares.

``follow_progress`` runs a core call and yields its ``Progress`` events as they happen, then the result;
``progress_payload`` is the JSON form of one event; ``sse_response`` sends ``data:`` lines with a keep-alive comment
so proxies do not close a slow stream.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, AsyncIterable, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.background import BackgroundTask

from bot.core.models import Progress
from bot.core.service import ProgressCallback
from bot.i18n.texts import progress_text

T = TypeVar("T")

#: a comment line at least this often (proxies and some clients give up after 30-60 s of silence)
KEEP_ALIVE_SECONDS = 10.0


@dataclass(frozen=True)
class Finished(Generic[T]):
    """The last item ``follow_progress`` yields: what the call returned."""

    value: T


async def follow_progress(
    call: Callable[[ProgressCallback], Awaitable[T]],
) -> AsyncGenerator[Progress | Finished[T], None]:
    """Run ``call(progress)`` and yield each ``Progress`` as the core reports it, then ``Finished(result)``.

    An error of the call is raised from the iterator after the events before it. Closing the iterator early
    (the client went away) cancels the call.
    """
    events: asyncio.Queue[Progress] = asyncio.Queue()

    async def progress(event: Progress) -> None:
        events.put_nowait(event)

    job = asyncio.ensure_future(call(progress))
    try:
        while True:
            next_event = asyncio.ensure_future(events.get())
            await asyncio.wait({next_event, job}, return_when=asyncio.FIRST_COMPLETED)
            if next_event.done():
                yield next_event.result()
                continue
            next_event.cancel()
            while not events.empty():
                yield events.get_nowait()
            yield Finished(job.result())
            return
    finally:
        if not job.done():
            job.cancel()
            await asyncio.gather(job, return_exceptions=True)


def progress_payload(event: Progress, locale: str = "en") -> dict[str, Any]:
    """One progress event as JSON: ``stage`` (queued, optimising, generating), ``position`` in line, the chat's text."""
    return {"stage": event.stage.value, "position": event.position, "text": progress_text(event, locale)}


def json_data(payload: Mapping[str, Any]) -> str:
    """Compact JSON for one ``data:`` line (non-ASCII kept readable)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def sse_response(
    events: AsyncIterable[str],
    *,
    keep_alive: float = KEEP_ALIVE_SECONDS,
    headers: Mapping[str, str] | None = None,
    on_close: Callable[[], Awaitable[object]] | None = None,
) -> EventSourceResponse:
    """A ``text/event-stream``: each item of ``events`` becomes one ``data:`` event; ``: keep-alive`` in between.

    ``on_close`` runs after the response, however it ended (also when the client left before the first event
    and ``events`` never got to clean up): make it idempotent.
    """
    return EventSourceResponse(
        events,
        ping=keep_alive,
        sep="\n",
        ping_message_factory=lambda: ServerSentEvent(comment="keep-alive"),
        headers={"cache-control": "no-store", "x-accel-buffering": "no", **(headers or {})},
        background=BackgroundTask(on_close) if on_close is not None else None,
    )
