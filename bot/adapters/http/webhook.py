"""The Telegram webhook's route on the HTTP server: one port for the API, the web page and Telegram's updates.

The route knows nothing of Telegram's objects: a ``WebhookReceiver`` (``bot.adapters.telegram.webhook``)
checks the secret and takes the update. Answers: 200 once the update is durable (recorded, so a replica killed
now loses nothing; or after the receiver's bound), 403 for a missing or wrong
secret (nothing about it is logged), 400 for a body that is no update, 503 while the bot starts or stops, or
while another delivery of the same update is not recorded yet (Telegram delivers the update again later, or the
load balancer to another replica).
"""

from __future__ import annotations

import json
import logging
from typing import Any, Protocol

from fastapi import APIRouter, Request
from fastapi.responses import Response

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class WebhookReceiver(Protocol):
    @property
    def path(self) -> str: ...

    def secret_matches(self, presented: str | None) -> bool: ...

    async def accept(self, data: dict[str, Any]) -> None:
        """Take one update, returning once it is durable; ``ValueError``: not an update; any ``RuntimeError``:
        not running now."""
        ...


def webhook_router(receiver: WebhookReceiver) -> APIRouter:
    """A router with one POST route at the webhook URL's path."""
    router = APIRouter(include_in_schema=False)

    @router.post(receiver.path)
    async def telegram_update(request: Request) -> Response:
        if not receiver.secret_matches(request.headers.get(SECRET_HEADER)):
            log.info("refused a webhook call without the right secret from %s", _client(request))
            return Response(status_code=403)
        try:
            data = json.loads(await request.body())
            if not isinstance(data, dict):
                raise ValueError("not an object")
            await receiver.accept(data)
        except ValueError as exc:
            log.warning("refused a webhook body: %s", exc)
            return Response(status_code=400)
        except RuntimeError as exc:
            log.info("webhook update not taken: %s", exc)
            return Response(status_code=503, headers={"Retry-After": "1"})
        return Response(status_code=200)

    return router


def _client(request: Request) -> str:
    return request.client.host if request.client is not None else "?"
