"""The web UI against the running app: the real service and HTTP stack on loopback, the fake Workers AI behind
it, in a thread of its own so the (blocking) Selenium calls in the tests never stall the server."""

from __future__ import annotations

import asyncio
import http.server
import threading
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import Future
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from selenium import webdriver

from bot.adapters.http import build_http_adapter
from bot.app import App, open_app
from bot.core.models import ProviderImage, ProviderJob
from bot.providers.base import ImageProvider, TokenCheck
from bot.providers.workers_ai import WorkersAIClient
from bot.settings import AccountConfig, load_settings
from tests.fakes.workers_ai import FakeWorkersAI
from tests.web.browser import fresh_profile, start_chromium

KEYS = {"demo": "sk-web-demo-7f3a9c2e41", "admin": "sk-web-admin-0b8d5e6f19"}
CF_TOKEN = "cf-token-SECRET-web-1234567890"

T = TypeVar("T")


class HeldProvider:
    """Wraps the real client; while holding, each generation waits for one ``release()``."""

    def __init__(self, inner: ImageProvider) -> None:
        self._inner = inner
        self._permits: asyncio.Semaphore | None = None
        self.waiting = 0

    def hold(self) -> None:
        self._permits = asyncio.Semaphore(0)

    def release(self, count: int = 1) -> None:
        if self._permits is not None:
            for _ in range(count):
                self._permits.release()

    def open(self) -> None:
        permits, self._permits = self._permits, None
        if permits is not None:
            for _ in range(self.waiting):
                permits.release()

    async def generate(self, account: AccountConfig, job: ProviderJob) -> ProviderImage:
        if self._permits is not None:
            self.waiting += 1
            try:
                await self._permits.acquire()
            finally:
                self.waiting -= 1
        return await self._inner.generate(account, job)

    async def verify_token(self, account: AccountConfig) -> TokenCheck:
        return await self._inner.verify_token(account)


@dataclass
class LiveApp:
    """The app serving on ``base_url``; ``call`` runs a coroutine on the app's loop from a test."""

    base_url: str
    loop: asyncio.AbstractEventLoop
    app: App
    workers: FakeWorkersAI
    provider: HeldProvider
    keys: dict[str, str] = field(default_factory=lambda: dict(KEYS))

    def call(self, factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
        return asyncio.run_coroutine_threadsafe(factory(), self.loop).result(timeout=30)

    def start(self, factory: Callable[[], Coroutine[Any, Any, T]]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(factory(), self.loop)

    def on_loop(self, action: Callable[[], None]) -> None:
        self.loop.call_soon_threadsafe(action)


def _serve(tmp: Path, ready: Future[LiveApp], stop: threading.Event, env: dict[str, str]) -> None:
    async def main() -> None:
        async with AsyncExitStack() as stack:
            workers = await stack.enter_async_context(FakeWorkersAI())
            environ = {
                "CF_API_TOKEN_1": CF_TOKEN,
                "ACCOUNT_1": "acc1",
                "CF_API_BASE_URL": workers.base_url,
                "DATABASE_PATH": str(tmp / "db.sqlite3"),
                "API_KEYS": ",".join(f"{name}={key}" for name, key in KEYS.items()),
                "ADMIN_IDS": "api:admin",
                "HTTP_HOST": "127.0.0.1",
                "HTTP_PORT": "0",
                "RATE_LIMIT_PER_MINUTE": "0",
                "PROMPT_OPTIMIZATION": "true",
                "FLUX_MODELS": "klein=@cf/black-forest-labs/flux-2-klein-4b,dev=@cf/black-forest-labs/flux-2-dev",
            } | env
            settings = load_settings(None, environ)
            http = await stack.enter_async_context(httpx.AsyncClient(timeout=30, trust_env=False))
            provider = HeldProvider(WorkersAIClient(http, workers.base_url))
            app = await stack.enter_async_context(open_app(settings, provider=provider))
            adapter = build_http_adapter(app, {})
            await adapter.start()
            loop = asyncio.get_running_loop()
            base_url = f"http://127.0.0.1:{adapter.port}"
            ready.set_result(LiveApp(base_url, loop, app, workers, provider))
            await asyncio.to_thread(stop.wait)
            provider.open()
            await adapter.stop()

    try:
        asyncio.run(main())
    except BaseException as error:
        if not ready.done():
            ready.set_exception(error)
        raise


@contextmanager
def serving(tmp: Path, **env: str) -> Iterator[LiveApp]:
    """The app in a thread of its own; ``env`` overrides settings (e.g. ``API_KEYS=""``)."""
    ready: Future[LiveApp] = Future()
    stop = threading.Event()
    thread = threading.Thread(target=_serve, args=(tmp, ready, stop, env), daemon=True)
    thread.start()
    try:
        yield ready.result(timeout=30)
    finally:
        stop.set()
        thread.join(timeout=30)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    with serving(tmp_path_factory.mktemp("web")) as app:
        yield app


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    driver = start_chromium(fresh_profile())
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def evil_site(live: LiveApp) -> Iterator[str]:
    """A page on another site (``localhost`` is not ``127.0.0.1``) whose form posts to our generate route."""
    page = f"""<!doctype html><title>win a prize</title>
<form method="post" enctype="multipart/form-data" action="{live.base_url}/web/api/generate">
<input name="prompt" value="free money"></form><script>document.forms[0].submit()</script>""".encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
