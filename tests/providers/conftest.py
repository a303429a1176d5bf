"""Fixtures for provider tests: a fake Workers AI, a client pointed at it, an account, image bytes."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from PIL import Image

from bot.providers.workers_ai import WorkersAIClient
from bot.settings import AccountConfig
from tests.fakes.workers_ai import FakeWorkersAI

ImageFactory = Callable[..., bytes]


@pytest.fixture
async def fake_workers_ai() -> AsyncIterator[FakeWorkersAI]:
    async with FakeWorkersAI() as fake:
        yield fake


@pytest.fixture
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    # trust_env=False: a proxy from the environment must never see calls to the local fake
    async with httpx.AsyncClient(timeout=10.0, trust_env=False) as client:
        yield client


@pytest.fixture
def workers_ai(fake_workers_ai: FakeWorkersAI, http_client: httpx.AsyncClient) -> WorkersAIClient:
    return WorkersAIClient(http_client, fake_workers_ai.base_url)


@pytest.fixture
def account() -> AccountConfig:
    return AccountConfig(index=1, account_id="0123456789abcdef0123456789abcd01", token="tok-secret-VALUE-42")


def _image_bytes(
    width: int, height: int, fmt: str = "PNG", mode: str = "RGB", colour: object = (200, 30, 30)
) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (width, height), colour).save(buffer, format=fmt)  # type: ignore[arg-type]
    return buffer.getvalue()


@pytest.fixture
def make_image() -> ImageFactory:
    """``make_image(width, height, fmt="PNG", mode="RGB", colour=...)`` -> encoded bytes."""
    return _image_bytes
