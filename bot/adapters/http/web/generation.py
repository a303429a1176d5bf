"""One generation for the page, streamed as server-sent events with the HTTP side's SSE pieces.

The work runs as a task of its own that the stream only watches: a browser that goes away (a reload, a closed
tab) does not throw away an image that is being paid for; it is kept and shows up in the history. The task is
counted in the adapter's ``InFlight``, so a stop lets it finish or cuts it short like every other generation.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from bot.adapters.http.context import HttpContext
from bot.adapters.http.sse import Finished, follow_progress, json_data, progress_payload
from bot.core.models import GenerationResult
from bot.core.service import ProgressCallback
from bot.errors import ImagineError
from bot.i18n import describe_error, translate

log = logging.getLogger(__name__)

Generate = Callable[[ProgressCallback], Awaitable[GenerationResult]]
Present = Callable[[GenerationResult, str], dict[str, Any]]


class _CutShort(Exception):
    """The adapter stopped while this generation was in flight."""


async def generation_events(
    context: HttpContext, generate: Generate, present: Present, locale: str
) -> AsyncIterator[str]:
    """``progress`` events as the core reports them, then ``result`` (the kept image) or ``error`` (a sentence)."""

    async def kept(progress: ProgressCallback) -> dict[str, Any]:
        task = asyncio.current_task()
        assert task is not None
        with context.in_flight.tracking(task):
            result = await generate(progress)
            image = await context.archive.keep(result.image, result.mime, job_id=result.job_id)
            return present(result, image.id)

    async def watched(progress: ProgressCallback) -> dict[str, Any]:
        work = asyncio.ensure_future(kept(progress))
        work.add_done_callback(_settle)
        try:
            return await asyncio.shield(work)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if work.cancelled() and not (task is not None and task.cancelling()):
                raise _CutShort from None
            raise  # the page went away: the work goes on, unwatched

    try:
        async for item in follow_progress(watched):
            if isinstance(item, Finished):
                yield json_data({"type": "result", **item.value})
            else:
                yield json_data({"type": "progress", **progress_payload(item, locale)})
    except ImagineError as error:
        yield json_data({"type": "error", "message": describe_error(error, locale), "code": error.key})
    except _CutShort:
        yield json_data({"type": "error", "message": translate("error.shutting_down", locale)})
    except Exception:  # logged by _settle
        yield json_data({"type": "error", "message": translate("error.generic", locale)})


def _settle(work: asyncio.Future[Any]) -> None:
    """Collect the outcome of work whose page may be gone, so a failure is logged once, not lost or repeated."""
    if work.cancelled():
        return
    error = work.exception()
    if error is not None and not isinstance(error, ImagineError):
        log.error("web generation failed", exc_info=error)
