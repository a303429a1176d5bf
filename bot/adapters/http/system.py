"""Routes that are not the OpenAI API: ``/health`` and ``/image/{id}`` (``/`` is the web UI, ``web/``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import Response

from bot.adapters.http.context import Context
from bot.adapters.http.errors import ApiError
from bot.adapters.http.schemas import AccountHealthView, Health, error_responses
from bot.core.models import AccountHealth, AccountStatus
from bot.i18n import format_time

router = APIRouter()

#: a stored image never changes under its id, so caches may keep it as long as the store does
_IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp")


@router.get("/health", response_model=Health, tags=["system"], summary="Server and account state")
async def health(context: Context) -> Health:
    """Whether images can be made now: ``status`` is ``ok`` only when at least one account can serve."""
    statuses = await context.service.account_statuses()
    settings = context.settings
    return Health(
        status=_overall(statuses),
        version=context.version,
        mode="failover" if len(statuses) > 1 else "single-account",
        model=settings.flux_model,
        total_accounts=len(statuses),
        accounts_configured=[f"Account {status.index}" for status in statuses],
        accounts=[_account_view(status) for status in statuses],
        adapters=dict(context.adapters),
    )


def _overall(statuses: list[AccountStatus]) -> str:
    if not statuses:
        return "unconfigured"
    if any(status.health is AccountHealth.HEALTHY for status in statuses):
        return "ok"
    return "unavailable"


def _account_view(status: AccountStatus) -> AccountHealthView:
    until = format_time(status.until) if status.until else None
    return AccountHealthView(label=status.label, state=status.health.value, until=until)


@router.get(
    "/image/{image_id}",
    tags=["images"],
    summary="A stored result",
    response_class=Response,
    responses={200: {"content": {kind: {} for kind in _IMAGE_TYPES}}, **error_responses(404)},
)
async def stored_image(
    context: Context, image_id: Annotated[str, Path(min_length=1, max_length=128)]
) -> Response:
    """A result kept for ``IMAGE_EXPIRATION`` seconds, with its real content type; 404 once expired or evicted."""
    image = await context.archive.fetch(image_id)
    if image is None:
        raise ApiError(404, "This image does not exist or has expired.", code="image_not_found")
    remaining = max(0, int(context.archive.seconds_left(image)))
    return Response(
        image.data,
        media_type=image.mime,
        headers={
            # Immutable for as long as it is kept: caches must not hold it past its expiry (the seed did).
            "cache-control": f"public, max-age={remaining}, immutable",
            "x-content-type-options": "nosniff",
        },
    )
