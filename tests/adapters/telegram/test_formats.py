"""Formats people really send: an iPhone's HEIC photo sent as a file is a reference."""

from __future__ import annotations

import io

from PIL import Image

from bot.providers import references
from tests.adapters.telegram.conftest import RunningBot


async def test_a_heic_file_is_a_reference(bot: RunningBot) -> None:
    references._register_plugins()  # the HEIF encoder comes with the decoder's plugin
    buffer = io.BytesIO()
    Image.new("RGB", (1008, 756), (30, 90, 200)).save(buffer, "HEIF", quality=80)

    bot.tg.send_document(
        buffer.getvalue(), "IMG_0001.HEIC", "image/heic", caption="/imagine the same sky at dusk"
    )
    (photo,) = await bot.tg.wait_for("sendPhoto")

    (call,) = bot.workers.calls
    assert call.reference_sizes == [(512, 384)]
    assert "References: 1" in photo.result["caption"]
