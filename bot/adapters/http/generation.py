"""One API request's images through the core: cheap checks, admission for all ``n``, URL fetches, then generation.

Shared by ``/v1/images/*`` and ``/v1/chat/completions``. The order is the core's: prompt checks and the
allow-list, limits (all ``n`` or none) and queue room come before any reference is downloaded or decoded.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from fastapi import Request

from bot.adapters.http.context import HttpContext
from bot.adapters.http.fetch import PublicImageFetcher
from bot.adapters.http.inputs import ReferenceInput
from bot.adapters.http.metrics import Metrics
from bot.core.admission import Admission
from bot.core.models import GenerationRequest, GenerationResult
from bot.core.parsing import parse_prompt
from bot.core.service import ProgressCallback

log = logging.getLogger(__name__)


def check_prompt(request: GenerationRequest) -> None:
    """Refuse a bad prompt, ratio, size or flag before anything is admitted (``InvalidRequest``)."""
    parse_prompt(request.text, request.options)


async def fetch_references(
    fetcher: PublicImageFetcher, inputs: Sequence[ReferenceInput]
) -> tuple[bytes, ...]:
    """The references' bytes; URLs are fetched now (the request is admitted), concurrently."""

    async def one(item: ReferenceInput) -> bytes:
        if item.data is not None:
            return item.data
        assert item.url is not None
        return await fetcher.fetch(item.url)

    return tuple(await asyncio.gather(*(one(item) for item in inputs)))


async def generate_images(
    context: HttpContext,
    metrics: Metrics,
    route: str,
    request: GenerationRequest,
    *,
    admission: Admission,
    progress: ProgressCallback | None = None,
) -> list[GenerationResult]:
    """The images ``request`` asks for (``options.count``), made at once under one admission.

    The core hands back the images that failed while others were made; only when none was made is the error
    raised (and counted).
    """
    try:
        results = await context.run(
            lambda: context.service.generate_all(request, progress, admission=admission)
        )
    except BaseException as error:
        metrics.failed(error)
        raise
    for result in results:
        metrics.delivered(route, result)
    return results


def model_option(context: HttpContext, name: str | None) -> str | None:
    """A model the bot offers (alias, id or its last part) is used; any other name (``dall-e-3``, ``gpt-4o``,
    what a client happens to send) means the default model rather than an error."""
    if name and context.service.models.find(name) is not None:
        return name
    return None


def base_url(context: HttpContext, request: Request) -> str:
    """``PUBLIC_BASE_URL``, else the URL this request came in on (proxy headers honoured by uvicorn)."""
    configured = context.settings.public_base_url
    return configured if configured else str(request.base_url).rstrip("/")


async def image_link(context: HttpContext, request: Request, result: GenerationResult) -> str:
    """Keep ``result`` in the image store and return its absolute ``/image/{id}`` URL."""
    kept = await context.archive.keep(result.image, result.mime, job_id=result.job_id)
    return f"{base_url(context, request)}/image/{kept.id}"


def output_format(mime: str) -> str:
    """``png``/``jpeg``/``webp``: what the bytes really are (sniffed by the provider)."""
    return mime.split("/", 1)[-1] if mime.startswith("image/") else "png"
