"""Finishing, on this replica, a Telegram request another one accepted and could not finish (it died).

Everything needed is in the request's stored address (``delivery.reply_address``): the chat, the message to
reply to, and the file ids of its photos, which any replica can download again with the same bot token.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from telegram.error import TelegramError

from bot.adapters.telegram.delivery import Delivery, Origin, origin_from
from bot.adapters.telegram.references import Media, fetch_references
from bot.core.models import GenerationResult
from bot.core.persistence import AcceptedRequest
from bot.core.requests import Redo
from bot.core.service import FetchImage, ImageService, ProgressCallback
from bot.errors import InvalidReference
from bot.i18n import translate

log = logging.getLogger(__name__)


#: the key of the status line's message id in a request's reply address (noted once the line is posted)
STATUS_MESSAGE = "status_message_id"


class TelegramResumer:
    """The ``bot.core.requests.Resumer`` of Telegram: the same delivery as a new request, to the old message."""

    def __init__(self, service: ImageService, delivery: Delivery) -> None:
        self._service = service
        self._delivery = delivery

    async def resume(self, request: AcceptedRequest) -> None:
        """Generate again (downloading its photos again) and answer the original message, in the background."""
        redo = Redo.from_payload(request.payload)
        reply = redo.reply or {}
        media = [
            Media(str(m["file_id"]), m.get("file_size"), bool(m["is_image"])) for m in reply.get("media", [])
        ]
        image = reply.get("image")
        max_bytes = self._service.config.max_reference_bytes

        async def fetch() -> bytes:
            if not isinstance(image, str):
                raise InvalidReference("The image is no longer available.", code="download_failed")
            return (await fetch_references(self._delivery.bot, [Media(image, None, True)], max_bytes))[0]

        async def produce(progress: ProgressCallback) -> list[GenerationResult]:
            references = await fetch_references(self._delivery.bot, media, max_bytes) if media else ()
            vary: FetchImage | None = fetch if image else None
            return await self._service.resume(request, progress, references=references, fetch=vary)

        origin = origin_from(redo.user, reply)
        await self._remove_stale_status(origin, reply)
        self._delivery.start(origin, produce, request_id=request.id)

    async def _remove_stale_status(self, origin: Origin, reply: Mapping[str, Any]) -> None:
        """The dead replica's status line (its ❌ leads nowhere now); this replica posts its own if needed."""
        message_id = reply.get(STATUS_MESSAGE)
        if isinstance(message_id, int):
            try:
                await self._delivery.bot.delete_message(origin.chat_id, message_id)
            except TelegramError as exc:
                log.debug("stale status line not removed: %s", exc)

    def answerable(self, request: AcceptedRequest) -> bool:
        """A chat can be written to any time."""
        return True

    async def tell(self, request: AcceptedRequest, key: str) -> None:
        """Reply to the original message with the catalogue text ``key``."""
        redo = Redo.from_payload(request.payload)
        origin = origin_from(redo.user, redo.reply or {})
        await self._remove_stale_status(origin, redo.reply or {})
        await self._delivery.reply(origin, translate(key, origin.locale))
