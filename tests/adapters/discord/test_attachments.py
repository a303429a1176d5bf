"""Reference attachments: metadata checks, and a download that stops reading at the cap."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp import web

from bot.adapters.discord.attachments import ReferenceDownloader, check_attachments, is_image
from bot.errors import InvalidReference

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
    import discord

CHUNK = 64 * 1024


def attachment(url: str = "http://127.0.0.1:1/x.png", **fields: Any) -> discord.Attachment:
    data = {
        "id": "1",
        "size": 1000,
        "filename": "x.png",
        "url": url,
        "proxy_url": url,
        "content_type": "image/png",
    }
    return discord.Attachment(data=data | fields, state=SimpleNamespace(http=None))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("content_type", "filename", "expected"),
    [
        ("image/png", "x.png", True),
        ("image/jpeg", "x.bin", True),
        ("IMAGE/WEBP; charset=binary", "x", True),
        ("image/svg+xml", "x.svg", False),  # an image type the decoder refuses: not worth downloading
        ("application/pdf", "x.png", False),  # the declared type wins over the name
        (None, "photo.JPG", True),  # no declared type: the name decides
        (None, "notes.txt", False),
    ],
)
def test_is_image_uses_the_declared_type_then_the_name(
    content_type: str | None, filename: str, expected: bool
) -> None:
    assert is_image(attachment(content_type=content_type, filename=filename)) is expected


def test_more_than_four_references_are_refused() -> None:
    with pytest.raises(InvalidReference) as refused:
        check_attachments([attachment()] * 5, max_bytes=10_000)
    assert refused.value.code == "too_many" and refused.value.params == {"count": 5, "limit": 4}


class StreamingServer:
    """Streams ``chunks`` chunks without a Content-Length; counts how many it managed to write."""

    def __init__(self, chunks: int) -> None:
        self.chunks = chunks
        self.written = 0
        self.finished = asyncio.Event()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "image/png"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            for _ in range(self.chunks):
                await response.write(b"\0" * CHUNK)
                self.written += 1
                await asyncio.sleep(0)
            await response.write_eof()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self.finished.set()
        return response


@pytest.fixture
async def streaming() -> AsyncIterator[tuple[StreamingServer, str]]:
    server = StreamingServer(chunks=400)  # 25 MiB if read to the end
    app = web.Application()
    app.router.add_get("/big.png", server.handle)
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield server, f"http://127.0.0.1:{port}/big.png"
    await runner.cleanup()


async def test_a_stream_without_length_is_cut_off_at_the_cap(streaming: tuple[StreamingServer, str]) -> None:
    server, url = streaming
    downloader = ReferenceDownloader(max_bytes=4 * CHUNK)
    await downloader.open()
    try:
        with pytest.raises(InvalidReference) as refused:
            await downloader.fetch(attachment(url))
    finally:
        await downloader.close()
    assert refused.value.code == "too_large"
    await asyncio.wait_for(server.finished.wait(), timeout=10)
    assert server.written < server.chunks  # the client hung up instead of taking all 25 MiB


async def test_a_small_stream_is_read_whole() -> None:
    async def small(request: web.Request) -> web.Response:
        return web.Response(body=b"abc" * 100)

    app = web.Application()
    app.router.add_get("/s.png", small)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    downloader = ReferenceDownloader(max_bytes=1000)
    await downloader.open()
    try:
        data = await downloader.fetch(attachment(f"http://127.0.0.1:{runner.addresses[0][1]}/s.png"))
        with pytest.raises(InvalidReference) as missing:
            await downloader.fetch(attachment(f"http://127.0.0.1:{runner.addresses[0][1]}/gone.png"))
    finally:
        await downloader.close()
        await runner.cleanup()
    assert data == b"abc" * 100
    assert missing.value.code == "download_failed"
