"""Webhook mode: Telegram POSTs each update to ``TELEGRAM_WEBHOOK_URL``, served by the HTTP server's port.

Every replica behind the load balancer registers the same URL and secret at start (setWebhook is idempotent),
so any of them may receive any update. This side checks the secret and hands the update to the running PTB
Application through its update queue, as PTB's custom-webhook examples do; the HTTP side owns the route.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from typing import Any
from urllib.parse import urlsplit

from telegram import Update
from telegram.ext import Application

from bot.settings import Settings

log = logging.getLogger(__name__)

#: simultaneous connections Telegram may open to us (its default is 40; the balancer spreads them)
MAX_CONNECTIONS = 40


class WebhookClosed(RuntimeError):
    """No running Application takes updates (starting or stopping): the sender should try again later."""


class TelegramWebhook:
    """The Telegram side of the webhook route: the secret check and the hand-over to PTB."""

    def __init__(self, url: str, secret: str) -> None:
        self.url = url
        #: the route's path on the HTTP server (the load balancer forwards the path unchanged)
        self.path = urlsplit(url).path or "/"
        self._secret = secret.encode()
        self._application: Application[Any, Any, Any, Any, Any, Any] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> TelegramWebhook | None:
        """The webhook for these settings; None in polling mode."""
        if not settings.telegram_webhook_enabled or settings.telegram_webhook_url is None:
            return None
        _warn_about_deprecated_settings(settings)
        return cls(settings.telegram_webhook_url, settings.telegram_webhook_secret_token)

    def secret_matches(self, presented: str | None) -> bool:
        """Whether the request carries our secret (compared in constant time; never logged)."""
        return presented is not None and hmac.compare_digest(presented.encode(), self._secret)

    def open(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """Start taking updates for ``application`` (started: its update fetcher runs)."""
        self._application = application

    def close(self) -> None:
        """Stop taking updates: from now on the route answers 503 and Telegram delivers them again later."""
        self._application = None

    async def accept(self, data: dict[str, Any]) -> None:
        """Queue one update for the handlers; raises ``WebhookClosed`` when none runs, ``ValueError`` for a body
        that is no update."""
        application = self._application
        if application is None or not application.running:
            raise WebhookClosed("the Telegram adapter is not running")
        try:
            update = Update.de_json(data, application.bot)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a Telegram update ({type(exc).__name__})") from None
        await application.update_queue.put(update)

    async def register(
        self, application: Application[Any, Any, Any, Any, Any, Any], allowed: list[str]
    ) -> None:
        """setWebhook with our URL and secret. Pending updates are kept: in a rolling deploy the replicas
        that still run take them, and after a restart they are the users' requests of the last minutes."""
        await application.bot.set_webhook(
            self.url,
            secret_token=self._secret.decode(),
            allowed_updates=allowed,
            drop_pending_updates=False,
            max_connections=MAX_CONNECTIONS,
        )

    async def drain(self, application: Application[Any, Any, Any, Any, Any, Any], timeout: float) -> bool:  # noqa: ASYNC109
        """Wait until every update already answered with 200 was handled; False if ``timeout`` passed first."""
        try:
            async with asyncio.timeout(timeout):
                await application.update_queue.join()
        except TimeoutError:
            return False
        return True


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
