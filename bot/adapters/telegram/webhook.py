"""Webhook mode: Telegram POSTs each update to ``TELEGRAM_WEBHOOK_URL``, served by the HTTP server's port.

Every replica behind the load balancer registers the same URL and secret at start (setWebhook is idempotent),
so any of them may receive any update. This side checks the secret and has the running PTB Application handle
the update; the HTTP side owns the route. The route answers only once the update is durable (``receipts``): a
replica killed after a 200 but before the update was recorded would lose it, since Telegram never sends an
update answered 2xx again, while one not answered is sent again (through the balancer, to a live replica).
A handler that is slow to get there does not hold the connection for ever: after ``wait`` seconds the answer is
200 anyway, and logged. An update Telegram sends again finds its request's row: recorded, it is dropped quietly
(200); registered but not recorded (the first delivery is still on its way, or its replica died), the answer is
503 and Telegram sends it again later, until the row is recorded or the sweeper has refunded and deleted the dead
replica's row, and the update runs afresh.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from telegram import Update
from telegram.ext import Application

from bot.adapters.telegram.receipts import Receipt
from bot.settings import Settings

log = logging.getLogger(__name__)

#: simultaneous connections Telegram may open to us (its default is 40; the balancer spreads them)
MAX_CONNECTIONS = 40

TelegramApp = Application[Any, Any, Any, Any, Any, Any]


class WebhookClosed(RuntimeError):
    """No running Application takes updates (starting or stopping): the sender should try again later."""


class RetryLater(RuntimeError):
    """The update's request was registered by another delivery that is not recorded (yet): send it again later."""


class TelegramWebhook:
    """The Telegram side of the webhook route: the secret check and the hand-over to PTB."""

    def __init__(self, url: str, secret: str, *, wait: float = 5.0) -> None:
        self.url = url
        #: the longest a webhook call waits for its update to become durable before it is answered anyway
        self.wait = wait
        #: the route's path on the HTTP server (the load balancer forwards the path unchanged)
        self.path = urlsplit(url).path or "/"
        self._secret = secret.encode()
        self._application: TelegramApp | None = None
        #: updates being handled (their handlers run), for ``drain``
        self._handling: set[asyncio.Task[None]] = set()

    @classmethod
    def from_settings(cls, settings: Settings) -> TelegramWebhook | None:
        """The webhook for these settings; None in polling mode."""
        if not settings.telegram_webhook_enabled or settings.telegram_webhook_url is None:
            return None
        _warn_about_deprecated_settings(settings)
        return cls(
            settings.telegram_webhook_url,
            settings.telegram_webhook_secret_token,
            wait=settings.telegram_webhook_wait_seconds,
        )

    def secret_matches(self, presented: str | None) -> bool:
        """Whether the request carries our secret (compared in constant time; never logged)."""
        return presented is not None and hmac.compare_digest(presented.encode(), self._secret)

    def open(self, application: TelegramApp) -> None:
        """Start taking updates for ``application`` (started: its update fetcher runs)."""
        self._application = application

    def close(self) -> None:
        """Stop taking updates: from now on the route answers 503 and Telegram delivers them again later."""
        self._application = None

    async def accept(self, data: dict[str, Any]) -> None:
        """Handle one update; returns once it is durable (or after ``wait`` seconds). Raises ``WebhookClosed``
        when no Application runs, ``RetryLater`` when Telegram must send it again later, ``ValueError`` for a
        body that is no update."""
        application = self._application
        if application is None or not application.running:
            raise WebhookClosed("the Telegram adapter is not running")
        try:
            update = Update.de_json(data, application.bot)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a Telegram update ({type(exc).__name__})") from None
        receipt = Receipt()
        # The handlers run in a task of their own: a call that stops waiting (the bound, a dropped connection)
        # does not cut them short.
        task = asyncio.create_task(self._handle(application, update, receipt, receipt.hold()))
        self._handling.add(task)
        task.add_done_callback(self._handling.discard)
        try:
            async with asyncio.timeout(self.wait):
                await receipt.wait()
        except TimeoutError:
            log.warning(
                "update %s is not recorded after %g s; answering Telegram anyway", update.update_id, self.wait
            )
        if receipt.retry_later:
            raise RetryLater(f"update {update.update_id}: another delivery of it is not recorded yet")

    @staticmethod
    async def _handle(
        application: TelegramApp, update: Update, receipt: Receipt, handled: Callable[[], None]
    ) -> None:
        receipt.enter()  # what the handlers start in the background takes its holds on this receipt
        try:
            # through the update processor, as PTB's own fetcher does: CONCURRENT_UPDATES still bounds handlers
            await application.update_processor.process_update(update, application.process_update(update))
        except Exception:  # PTB hands handler errors to the error handler; this is anything else
            log.exception("update %s could not be handled", update.update_id)
        finally:
            handled()

    async def register(self, application: TelegramApp, allowed: list[str]) -> None:
        """setWebhook with our URL and secret. Pending updates are kept: in a rolling deploy the replicas
        that still run take them, and after a restart they are the users' requests of the last minutes."""
        await application.bot.set_webhook(
            self.url,
            secret_token=self._secret.decode(),
            allowed_updates=allowed,
            drop_pending_updates=False,
            max_connections=MAX_CONNECTIONS,
        )

    async def drain(self, timeout: float) -> bool:  # noqa: ASYNC109
        """Wait until the handlers of every update taken returned; False if ``timeout`` passed first (those still
        running are then cancelled: the Application stops next)."""
        if not self._handling:
            return True
        _, running = await asyncio.wait(set(self._handling), timeout=timeout)
        for task in running:
            task.cancel()
        return not running


def _warn_about_deprecated_settings(settings: Settings) -> None:
    fields = settings.model_fields_set
    if "telegram_webhook_port" in fields:
        if settings.http_port is None and settings.port is None:
            log.warning(
                "TELEGRAM_WEBHOOK_PORT is deprecated: the webhook is served by the HTTP server, on HTTP_PORT; "
                "using %d as HTTP_PORT because HTTP_PORT and PORT are unset",
                settings.telegram_webhook_port,
            )
        else:
            log.warning(
                "TELEGRAM_WEBHOOK_PORT is ignored: the webhook is served by the HTTP server, on port %s",
                settings.http_listen_port,
            )
    if "telegram_webhook_listen" in fields:
        log.warning(
            "TELEGRAM_WEBHOOK_LISTEN is deprecated: the webhook listens on HTTP_HOST (%s)",
            settings.http_listen_host,
        )
