"""Fixtures for the Telegram adapter: the real adapter and core, the fake Bot API, the fake Workers AI."""

from __future__ import annotations

import asyncio
import io
import logging
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from bot.adapters.telegram import TelegramAdapter
from bot.app import App, open_app
from bot.settings import Settings, load_settings
from tests.fakes.telegram_api import ApiCall, FakeTelegramBotAPI
from tests.fakes.workers_ai import FakeWorkersAI

TOKEN = "123456:TEST-token-for-the-fake-bot-api"
BOT_USERNAME = "imagine_test_bot"
ACCOUNT = "acc1"

SettingsFactory = Callable[..., Settings]


@dataclass
class RunningBot:
    """The adapter running against the fakes, with the core it drives."""

    app: App
    adapter: TelegramAdapter
    tg: FakeTelegramBotAPI
    workers: FakeWorkersAI


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegramBotAPI]:
    async with FakeTelegramBotAPI(token=TOKEN, bot_username=BOT_USERNAME) as fake:
        yield fake


@pytest.fixture
async def workers() -> AsyncIterator[FakeWorkersAI]:
    async with FakeWorkersAI() as fake:
        yield fake


@pytest.fixture
def make_settings(tg: FakeTelegramBotAPI, workers: FakeWorkersAI, tmp_path: Path) -> SettingsFactory:
    """``make_settings(RATE_LIMIT_PER_DAY="2", ...)``: settings pointing at both fakes, overrides as env names."""

    def build(**overrides: str) -> Settings:
        env = {
            "CF_API_TOKEN_1": "cf-token-1",
            "ACCOUNT_1": ACCOUNT,
            "CF_API_BASE_URL": workers.base_url,
            "DATABASE_PATH": str(tmp_path / "db.sqlite3"),
            "TELEGRAM_BOT_TOKEN": tg.token,
            "TELEGRAM_API_BASE_URL": tg.base_url,
            "TELEGRAM_FILE_BASE_URL": tg.base_file_url,
            "TELEGRAM_ALBUM_WAIT_SECONDS": "0.3",
            "RATE_LIMIT_PER_MINUTE": "0",
            # a status line only for requests that wait in line, unless a test asks for one on late images
            "TELEGRAM_STATUS_AFTER_SECONDS": "60",
            **overrides,
        }
        return load_settings(None, env)

    return build


@asynccontextmanager
async def running(
    settings: Settings, tg: FakeTelegramBotAPI, workers: FakeWorkersAI
) -> AsyncIterator[RunningBot]:
    """Open the core and start the adapter as ``imagine-bot run`` does; stop both afterwards."""
    async with open_app(settings) as app:
        adapter = TelegramAdapter(settings, app.service, albums=app.storage.albums)
        await adapter.start()
        try:
            yield RunningBot(app, adapter, tg, workers)
        finally:
            await adapter.stop()


@pytest.fixture
async def bot(
    make_settings: SettingsFactory,
    tg: FakeTelegramBotAPI,
    workers: FakeWorkersAI,
    caplog: pytest.LogCaptureFixture,
) -> AsyncIterator[RunningBot]:
    """The bot with default settings (no per-minute limit). Fails the test if anything logged an error."""
    caplog.set_level(logging.WARNING)
    async with running(make_settings(), tg, workers) as running_bot:
        yield running_bot
    errors = [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]
    assert errors == []


def png(width: int, height: int, color: str = "orange") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="PNG")
    return buffer.getvalue()


def image_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size


def sent_image(call: ApiCall) -> bytes:
    """The uploaded bytes of a sendPhoto/sendDocument call."""
    upload = call.files.get("photo") or call.files.get("document")
    assert upload is not None, f"{call.method} uploaded no file: {call.params}"
    return upload.data


def texts_to(tg: FakeTelegramBotAPI, chat_id: int) -> list[str]:
    """Text of every sendMessage call to a chat, in order (including messages deleted since)."""
    return [call.params["text"] for call in tg.calls_of("sendMessage") if call.params["chat_id"] == chat_id]


def buttons(call: ApiCall) -> list[str]:
    """Callback data of the inline keyboard a call sent."""
    markup = call.params.get("reply_markup") or {}
    return [button["callback_data"] for row in markup.get("inline_keyboard", []) for button in row]


async def eventually(condition: Callable[[], bool], timeout: float = 10.0) -> None:  # noqa: ASYNC109
    """Wait until ``condition()`` holds (checked every 20 ms) or fail."""
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 - the Workers AI fake has no event to wait on
            await asyncio.sleep(0.02)


def release_sleeping_calls(workers: FakeWorkersAI) -> None:
    """Let every delayed Workers AI answer go now (and skip delays from here on), without closing the fake."""
    # The fake sleeps on its closing event; setting it alone wakes the sleepers and keeps serving.
    workers.release()


def free_port() -> int:
    """A port nobody listens on right now (for PTB's webhook server, which cannot report an ephemeral port)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
