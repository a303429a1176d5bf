"""The HTTP side as an adapter: uvicorn serving the app inside the bot's own event loop, beside the chats."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI

from bot.adapters.http import chat, images, models
from bot.adapters.http.app import create_app
from bot.adapters.http.context import HttpContext
from bot.adapters.http.web import web_router
from bot.adapters.http.webhook import WebhookReceiver, webhook_router
from bot.app import App
from bot.core.image_store import ImageArchive
from bot.settings import Settings

log = logging.getLogger(__name__)

#: on stop, generations in flight get this long to finish before they are cut short (answered with a 503)
STOP_GRACE_SECONDS = 8.0
_STARTUP_POLL_SECONDS = 0.01
#: when an API key is set but neither HTTP_PORT nor PORT
DEFAULT_PORT = 8080


class HttpStartError(RuntimeError):
    """The port could not be bound or the server did not come up."""


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its own signal handling: ``run`` owns SIGINT/SIGTERM for every adapter."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve_embedded(
    config: uvicorn.Config, sock: socket.socket
) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    """Serve ``config.app`` on ``sock`` in the running loop, leaving signals to the host (``run``, a benchmark);
    returns once requests are accepted. Stop it with ``server.should_exit = True`` and await the task."""
    server = _EmbeddedServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name="http-server")
    # uvicorn has no "started" event to wait on, only the flag
    while not server.started:
        if task.done():
            task.result()
            raise HttpStartError("the HTTP server stopped while starting")
        await asyncio.sleep(_STARTUP_POLL_SECONDS)
    return server, task


class HttpAdapter:
    """Serves ``app`` on ``HTTP_HOST``:``HTTP_PORT`` (or ``PORT``); started and stopped by ``run``."""

    name = "HTTP"

    def __init__(self, settings: Settings, app: FastAPI) -> None:
        self._host = settings.http_listen_host
        port = settings.http_listen_port
        self._port = DEFAULT_PORT if port is None else port  # 0: any free port (tests)
        self._settings = settings
        self.app = app
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self.port: int | None = None

    async def start(self) -> None:
        """Bind the port and serve; returns once requests are accepted."""
        try:
            sock = listen_socket(self._host, self._port)
        except OSError as exc:
            raise HttpStartError(f"cannot listen on {self._host}:{self._port}: {exc.strerror}") from None
        await self.app.state.context.archive.prune()
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_config=None,  # keep the bot's redacting log handler
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=int(STOP_GRACE_SECONDS) + 2,
            server_header=False,
            proxy_headers=True,
        )
        self._server, self._task = await serve_embedded(config, sock)
        log.info("HTTP API listening on %s:%d", self._host, self.port)

    async def stop(self) -> None:
        """Stop accepting, give generations in flight a grace period, then close."""
        if self._server is None or self._task is None:
            return
        context = self.app.state.context
        self._server.should_exit = True
        cut = await context.in_flight.drain(STOP_GRACE_SECONDS)
        if cut:
            log.warning("cut %d HTTP generation(s) short on stop", cut)
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._server = self._task = None


def listen_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket for uvicorn.

    Made with ``IPPROTO_TCP`` on purpose: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on connections
    whose socket says it is TCP, and ``socket.create_server`` leaves the protocol 0. Without it every answer
    written in two parts (headers, body) waits ~40 ms for a delayed ACK (found by ``bench/http_api.py``).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def build_http_adapter(
    app: App, adapter_states: dict[str, bool], *, webhook: WebhookReceiver | None = None
) -> HttpAdapter:
    """The HTTP adapter for ``app``; ``adapter_states`` (kept current by ``run``) feeds ``/health``; ``webhook``
    adds the Telegram webhook's route."""
    settings = app.settings
    archive = ImageArchive(
        app.storage.images,
        app.clock,
        expiration=settings.image_expiration,
        max_total_bytes=int(settings.image_store_mb * 1024 * 1024),
    )
    context = HttpContext(settings, app.service, archive, adapters=adapter_states)
    routers = [models.router, images.router, chat.router, web_router(context, app.clock.time)]
    if webhook is not None:
        routers.insert(0, webhook_router(webhook))
    return HttpAdapter(settings, create_app(context, routers=routers))
