"""The HTTP side as ``run`` starts it: the real app under uvicorn on 127.0.0.1, the fake Workers AI behind it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bot.adapters.http import HttpAdapter, build_http_adapter
from bot.app import App, open_app
from bot.settings import load_settings
from tests.fakes.workers_ai import FakeWorkersAI

API_KEY = "sk-test-0123456789abcdef"
OTHER_KEY = "sk-other-abcdef0123456789"
CF_TOKEN = "cf-token-http-side-0123456789"
ACCOUNT = "acc1"


@dataclass
class RunningApi:
    """A served app: ``base_url`` (no trailing slash), the fake upstream, the core's ``App``."""

    base_url: str
    fake: FakeWorkersAI
    app: App
    adapter: HttpAdapter
    states: dict[str, bool]

    def client(self, key: str | None = API_KEY) -> httpx.AsyncClient:
        headers = {"authorization": f"Bearer {key}"} if key else {}
        return httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=30)


ApiFactory = Callable[..., AbstractAsyncContextManager[RunningApi]]


@pytest.fixture
async def fake() -> AsyncIterator[FakeWorkersAI]:
    async with FakeWorkersAI() as server:
        yield server


@pytest.fixture
def serve_api(fake: FakeWorkersAI, tmp_path: Path) -> ApiFactory:
    """``async with serve_api(RATE_LIMIT_PER_DAY="1") as api:`` — settings as environment variables."""

    @asynccontextmanager
    async def serve(**env: str) -> AsyncIterator[RunningApi]:
        values = {
            "CF_API_BASE_URL": fake.base_url,
            "CF_API_TOKEN_1": CF_TOKEN,
            "ACCOUNT_1": ACCOUNT,
            "DATABASE_PATH": str(tmp_path / "bot.sqlite3"),
            "API_KEYS": f"demo={API_KEY},other={OTHER_KEY}",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": "0",
            "RATE_LIMIT_PER_MINUTE": "0",
            "RATE_LIMIT_PER_DAY": "0",
            **env,
        }
        settings = load_settings(None, {k: v for k, v in values.items() if v is not None})
        async with open_app(settings) as app:
            states: dict[str, bool] = {}
            adapter = build_http_adapter(app, states)
            await adapter.start()
            states[adapter.name] = True
            try:
                yield RunningApi(f"http://127.0.0.1:{adapter.port}", fake, app, adapter, states)
            finally:
                await adapter.stop()

    return serve


@pytest.fixture
async def api(serve_api: ApiFactory) -> AsyncIterator[RunningApi]:
    async with serve_api() as running:
        yield running
