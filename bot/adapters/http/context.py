"""What every HTTP route needs, built once by ``run`` and reached through ``get_context``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib import metadata
from typing import Annotated, TypeVar

from fastapi import Depends, Request

from bot.adapters.http.errors import shutting_down
from bot.core.image_store import ImageArchive
from bot.core.inflight import InFlight
from bot.core.service import ImageService
from bot.settings import Settings

T = TypeVar("T")


def package_version() -> str:
    try:
        return metadata.version("imagine-bot")
    except metadata.PackageNotFoundError:
        return "0"


@dataclass
class HttpContext:
    """The core objects the routes call, plus the state that ``/health`` reports."""

    settings: Settings
    service: ImageService
    archive: ImageArchive
    #: adapter name → running; ``run`` keeps it current so ``/health`` can say what is up
    adapters: dict[str, bool] = field(default_factory=dict)
    in_flight: InFlight = field(default_factory=InFlight)
    version: str = field(default_factory=package_version)

    async def run(self, work: Callable[[], Awaitable[T]]) -> T:
        """Run one generation so that a stop can drain it; cut short by the stop, it is a 503 (limit refunded)."""
        job = asyncio.ensure_future(work())
        try:
            with self.in_flight.tracking(job):
                return await job
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling() > 0:
                job.cancel()  # the request itself went away (client gone): stop its generation too
                raise
            raise shutting_down() from None


async def get_context(request: Request) -> HttpContext:
    """The app's ``HttpContext`` (a FastAPI dependency).

    ``async`` on purpose: FastAPI runs a plain ``def`` dependency in its thread pool, one thread hop per request
    (found by profiling ``bench/http_api.py``: under load, waiting for a pool thread was the largest cost of a
    request at c = 1).
    """
    context: HttpContext = request.app.state.context
    return context


Context = Annotated[HttpContext, Depends(get_context)]
