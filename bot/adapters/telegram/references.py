"""Reference images from Telegram messages: which files, size and type checks, downloads."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from telegram import Bot, Message
from telegram.error import BadRequest

from bot.core import MAX_REFERENCES
from bot.errors import InvalidReference
from bot.i18n.texts import reference_too_large

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Media:
    """One file attached to a message: the largest size of a photo, or a document."""

    file_id: str
    file_size: int | None
    is_image: bool


def media_of(message: Message) -> Media | None:
    """The photo (largest size) or document on ``message``, if any."""
    if message.photo:
        largest = message.photo[-1]
        return Media(largest.file_id, largest.file_size, is_image=True)
    if message.document is not None:
        document = message.document
        is_image = (document.mime_type or "").lower().startswith("image/")
        return Media(document.file_id, document.file_size, is_image=is_image)
    return None


def check_media(media: Sequence[Media], max_bytes: int) -> None:
    """Refuse too many files, non-images and files over the cap before downloading anything."""
    if len(media) > MAX_REFERENCES:
        raise InvalidReference(
            "Too many reference images.", code="too_many", limit=MAX_REFERENCES, count=len(media)
        )
    for item in media:
        if not item.is_image:
            raise InvalidReference("That file is not an image.", code="not_an_image")
        if item.file_size is not None and item.file_size > max_bytes:
            raise reference_too_large(item.file_size, max_bytes)


async def download_references(bot: Bot, media: Sequence[Media], max_bytes: int) -> tuple[bytes, ...]:
    """Check, then download every file concurrently; the core validates the pixels."""
    check_media(media, max_bytes)
    return tuple(await asyncio.gather(*(_download(bot, item, max_bytes) for item in media)))


async def _download(bot: Bot, item: Media, max_bytes: int) -> bytes:
    try:
        file = await bot.get_file(item.file_id)
    except BadRequest as exc:
        # The public Bot API serves files up to 20 MB; larger ones are refused as "file is too big".
        if "too big" in exc.message.lower():
            raise reference_too_large(item.file_size or max_bytes + 1, max_bytes) from None
        raise
    if file.file_size is not None and file.file_size > max_bytes:
        raise reference_too_large(file.file_size, max_bytes)
    data = bytes(await file.download_as_bytearray())
    if len(data) > max_bytes:
        raise reference_too_large(len(data), max_bytes)
    return data
