"""Reference images from Discord attachments: judged by their metadata first, then downloaded with a size cap."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import aiohttp
import discord

from bot.core import MAX_REFERENCES
from bot.errors import InvalidReference
from bot.i18n.texts import reference_too_large

#: the types the core's reference decoder accepts (JPEG, PNG, WebP, GIF, BMP, HEIC from iPhones, AVIF)
IMAGE_TYPES = frozenset(
    {"image/png", "image/jpeg", "image/jpg", "image/webp", "image/gif", "image/bmp"}
    | {"image/heic", "image/heif", "image/avif"}
)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".heic", ".heif", ".avif")
_CHUNK = 64 * 1024


def is_image(attachment: discord.Attachment) -> bool:
    """True when Discord says the attachment is an image type the bot can use."""
    if attachment.content_type:
        return attachment.content_type.split(";")[0].strip().lower() in IMAGE_TYPES
    # Discord leaves content_type out for some uploads; the file name is then all there is to go on.
    return attachment.filename.lower().endswith(IMAGE_SUFFIXES)


def check_attachments(attachments: Sequence[discord.Attachment], max_bytes: int) -> None:
    """Refuse non-images, oversized images and too many of them, from metadata alone (nothing is downloaded)."""
    if len(attachments) > MAX_REFERENCES:
        raise InvalidReference(
            f"At most {MAX_REFERENCES} reference images can be used; you sent {len(attachments)}.",
            code="too_many",
            count=len(attachments),
            limit=MAX_REFERENCES,
        )
    for attachment in attachments:
        if not is_image(attachment):
            raise InvalidReference("That file is not an image.", code="not_an_image")
        if attachment.size > max_bytes:
            raise reference_too_large(attachment.size, max_bytes)


def images_in_message(message: discord.Message, max_bytes: int) -> list[discord.Attachment]:
    """The first four image attachments of ``message``, checked; other files are ignored."""
    images = [attachment for attachment in message.attachments if is_image(attachment)]
    if not images:
        raise InvalidReference("That message has no images to use as references.", code="none_in_message")
    images = images[:MAX_REFERENCES]
    check_attachments(images, max_bytes)
    return images


class ReferenceDownloader:
    """Downloads attachments over one aiohttp session, never reading more than ``max_bytes`` of any file."""

    def __init__(self, max_bytes: int, *, proxy: str | None = None, timeout_seconds: float = 30.0) -> None:
        self.max_bytes = max_bytes
        self._proxy = proxy
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        """Create the HTTP session (in the running loop)."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def fetch_all(self, attachments: Sequence[discord.Attachment]) -> tuple[bytes, ...]:
        """Every attachment's bytes, in order, fetched concurrently."""
        return tuple(await asyncio.gather(*(self.fetch(attachment) for attachment in attachments)))

    async def fetch(self, attachment: discord.Attachment) -> bytes:
        """One attachment's bytes; ``InvalidReference`` if it is over the cap or cannot be fetched."""
        if self._session is None:
            raise RuntimeError("ReferenceDownloader.open() was not called")
        try:
            async with self._session.get(attachment.url, proxy=self._proxy) as response:
                if response.status != 200:
                    raise _download_failed()
                if (response.content_length or 0) > self.max_bytes:
                    raise reference_too_large(response.content_length or 0, self.max_bytes)
                return await self._read_capped(response)
        except (aiohttp.ClientError, TimeoutError):
            raise _download_failed() from None

    async def _read_capped(self, response: aiohttp.ClientResponse) -> bytes:
        # The metadata said the size was fine; the bytes themselves are still never trusted past the cap.
        data = bytearray()
        async for chunk in response.content.iter_chunked(_CHUNK):
            data += chunk
            if len(data) > self.max_bytes:
                raise reference_too_large(len(data), self.max_bytes)
        return bytes(data)


def _download_failed() -> InvalidReference:
    return InvalidReference("One of the images could not be downloaded from Discord.", code="download_failed")
