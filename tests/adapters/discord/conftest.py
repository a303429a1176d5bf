"""Fixtures for the Discord adapter: the real discord.py against the fake Discord, the real service against the
fake Workers AI, over one SQLite database per test (a second ``start_bot`` over it is a restart)."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from PIL import Image

from bot.adapters.discord import DiscordAdapter
from bot.app import App, open_app
from bot.core.models import ProviderImage, ProviderJob
from bot.providers.base import ImageProvider, TokenCheck
from bot.providers.workers_ai import WorkersAIClient
from bot.settings import AccountConfig, load_settings
from tests.fakes.discord_api import FakeDiscord, RecordedResponse
from tests.fakes.discord_gateway import FakeInteraction, Json
from tests.fakes.workers_ai import FakeWorkersAI

CF_TOKEN = "cf-token-SECRET-1234567890"
ADMIN_ID = "200000000000000099"


def png(width: int, height: int, colour: str = "purple") -> bytes:
    """An encoded PNG of the given size."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def image_size(data: bytes) -> tuple[int, int]:
    """(width, height) of encoded image bytes."""
    with Image.open(io.BytesIO(data)) as image:
        return image.size


def reroll_id(response: RecordedResponse) -> str:
    """The custom_id of the re-roll button on the message a response created."""
    assert response.message is not None
    return str(response.message["components"][0]["components"][0]["custom_id"])


class GatedProvider:
    """Wraps the real Workers AI client; jobs whose prompt contains ``marker`` wait until ``release()``."""

    def __init__(self, inner: ImageProvider, marker: str) -> None:
        self._inner = inner
        self._marker = marker
        self._gate = asyncio.Event()
        self._arrived = asyncio.Event()

    def release(self) -> None:
        """Let held jobs (and later ones) through."""
        self._gate.set()

    async def held(self) -> None:
        """Wait until a job is being held at the gate."""
        await asyncio.wait_for(self._arrived.wait(), timeout=10)

    async def generate(self, account: AccountConfig, job: ProviderJob) -> ProviderImage:
        if self._marker in job.prompt:
            self._arrived.set()
            await self._gate.wait()
        return await self._inner.generate(account, job)

    async def verify_token(self, account: AccountConfig) -> TokenCheck:
        return await self._inner.verify_token(account)


@dataclass
class Bot:
    """A running adapter over a running app, and the fakes it talks to."""

    dc: FakeDiscord
    workers: FakeWorkersAI
    app: App
    adapter: DiscordAdapter
    gate: GatedProvider | None = None

    async def imagine(self, prompt: str, **options: object) -> FakeInteraction:
        """Send ``/imagine`` as the default user (``user=``/``guild_id=``/``locale=`` go to the fake)."""
        extra = {k: options.pop(k) for k in ("user", "guild_id", "locale") if k in options}
        return await self.dc.slash_command("imagine", {"prompt": prompt, **options}, **extra)  # type: ignore[arg-type]

    async def image(self, interaction: FakeInteraction, kind: str = "edit") -> RecordedResponse:
        """Wait for the response that carries the image file."""
        index = 0
        while True:
            response = await self.dc.wait_for_response(interaction, kind, index=index)  # type: ignore[arg-type]
            if response.files:
                return response
            index += 1

    async def private_note(self, interaction: FakeInteraction) -> RecordedResponse:
        """Wait for the ephemeral follow-up that ends a failed public interaction."""
        response = await self.dc.wait_for_response(interaction, "followup")
        assert response.ephemeral, response.payload
        return response


BotFactory = Callable[..., AbstractAsyncContextManager[Bot]]


@pytest.fixture
async def workers() -> AsyncIterator[FakeWorkersAI]:
    async with FakeWorkersAI() as fake:
        yield fake


@pytest.fixture
async def dc() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as fake:
        fake.install()
        yield fake
    assert fake.unknown_routes == []
    assert fake.gateway.problems == []


@pytest.fixture
def start_bot(dc: FakeDiscord, workers: FakeWorkersAI, tmp_path: Path) -> BotFactory:
    """``async with start_bot(**env) as bot``; ``gate=`` wraps the provider in a ``GatedProvider``, ``grace=`` is
    how long ``stop()`` lets generations in flight finish."""

    @asynccontextmanager
    async def factory(gate: str | None = None, grace: float = 5.0, **env: str) -> AsyncIterator[Bot]:
        environ = {
            "CF_API_TOKEN_1": CF_TOKEN,
            "ACCOUNT_1": "acc1",
            "CF_API_BASE_URL": workers.base_url,
            "DATABASE_PATH": str(tmp_path / "db.sqlite3"),
            "DISCORD_BOT_TOKEN": dc.token,
            "ADMIN_IDS": ADMIN_ID,
            "RATE_LIMIT_PER_MINUTE": "0",
            # the ❌ status edit only for requests waiting in line, unless a test asks for it on running ones
            "DISCORD_CANCEL_AFTER_SECONDS": "60",
        } | env
        settings = load_settings(None, environ)
        async with httpx.AsyncClient(timeout=30, trust_env=False) as http:
            provider: ImageProvider = WorkersAIClient(http, workers.base_url)
            gated = None if gate is None else GatedProvider(provider, gate)
            async with open_app(settings, provider=gated or provider) as app:
                adapter = DiscordAdapter(
                    settings, app.service, guild_ready_timeout=0.05, shutdown_grace_seconds=grace
                )
                await adapter.start()
                try:
                    yield Bot(dc, workers, app, adapter, gated)
                finally:
                    await adapter.stop()

    return factory


@pytest.fixture
async def bot(start_bot: BotFactory) -> AsyncIterator[Bot]:
    async with start_bot() as running:
        yield running


def attachment_of(
    dc: FakeDiscord, data: bytes, name: str = "ref.png", content_type: str | None = "image/png"
) -> Json:
    """Host a file on the fake CDN and return its attachment object."""
    return dc.add_attachment(data, name, content_type)
