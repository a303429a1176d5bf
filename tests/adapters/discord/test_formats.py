"""Formats people really send: an iPhone's HEIC (declared ``image/heic``) and AVIF work as references."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from bot.providers import references
from tests.adapters.discord.conftest import Bot
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.workers_ai import FakeWorkersAI


@pytest.mark.parametrize(
    ("fmt", "name", "content_type"),
    [("HEIF", "IMG_0001.HEIC", "image/heic"), ("AVIF", "a.avif", "image/avif")],
)
async def test_an_iphone_photo_is_a_reference(
    bot: Bot, dc: FakeDiscord, workers: FakeWorkersAI, fmt: str, name: str, content_type: str
) -> None:
    references._register_plugins()  # the HEIF encoder comes with the decoder's plugin
    buffer = io.BytesIO()
    Image.new("RGB", (1008, 756), (30, 90, 200)).save(buffer, fmt, quality=80)
    photo = dc.add_attachment(buffer.getvalue(), name, content_type)

    reply = await bot.image(await bot.imagine("the same sky at dusk", image1=photo))

    [call] = workers.calls
    assert call.reference_sizes == [(512, 384)]
    assert reply.files and dc.downloads == {photo["id"]: 1}
