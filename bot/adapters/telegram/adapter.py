"""The Telegram adapter's lifecycle: build PTB's Application, wire the handlers, poll or serve a webhook."""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from typing import Any

from telegram import BotCommandScopeChat, Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ExtBot,
    MessageHandler,
    filters,
)

from bot.adapters.telegram.commands import (
    ACCOUNTS,
    HELP,
    IMAGINE,
    IMAGINE_CAPTION,
    IN_ALBUM,
    MEDIA,
    QUOTA,
    menu,
)
from bot.adapters.telegram.delivery import Delivery
from bot.adapters.telegram.handlers import TelegramHandlers
from bot.adapters.telegram.originals import OriginalStore
from bot.adapters.telegram.ratelimit import PoliteRateLimiter
from bot.adapters.telegram.resume import STATUS_MESSAGE, TelegramResumer
from bot.adapters.telegram.webhook import TelegramWebhook
from bot.core.persistence import AlbumStore
from bot.core.service import ImageService
from bot.errors import ConfigurationError
from bot.i18n import CATALOGUES
from bot.logs import Redactor
from bot.settings import Settings

log = logging.getLogger(__name__)

TelegramApp = Application[Any, Any, Any, Any, Any, Any]

#: ``UserRef.platform`` of Telegram users, and the name its resumer is registered under
PLATFORM = "telegram"

ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]
#: how many updates are handled at once; generations run in tasks of their own, so none holds a slot for long
CONCURRENT_UPDATES = 256
#: retries after a 429 (RetryAfter); the rate limiter also keeps us under Telegram's flood limits
RATE_LIMIT_RETRIES = 3
LONG_POLL_SECONDS = 30
#: on stop, generations in flight get this long to finish before they are cut short (and the user told)
STOP_GRACE_SECONDS = 8.0
BOOTSTRAP_RETRIES = 3


class TelegramStartError(RuntimeError):
    """Telegram could not be reached or refused us at start-up (the message never contains the token)."""


def build_application(settings: Settings, token: str, *, polling: bool = True) -> TelegramApp:
    """PTB's Application for these settings: API and file URLs, proxy, timeouts, concurrency, rate limiter.
    Without ``polling`` it has no updater: the webhook route hands it each update (``TelegramWebhook.accept``)."""
    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(settings.telegram_api_base_url)
        .base_file_url(settings.telegram_file_base_url)
        .concurrent_updates(CONCURRENT_UPDATES)
        .rate_limiter(PoliteRateLimiter(max_retries=RATE_LIMIT_RETRIES))
        .connect_timeout(settings.http_connect_timeout_seconds)
        .read_timeout(settings.http_timeout_seconds)
        .write_timeout(settings.http_timeout_seconds)
        .media_write_timeout(settings.http_timeout_seconds)
        .get_updates_read_timeout(LONG_POLL_SECONDS + 10)
    )
    # PROXY_URL is passed explicitly. Without it httpx reads HTTPS_PROXY/ALL_PROXY itself and, unlike an explicit
    # proxy, honours NO_PROXY: that is what settings.effective_proxy means, plus exceptions for local API servers.
    if settings.proxy_url:
        builder = builder.proxy(settings.proxy_url).get_updates_proxy(settings.proxy_url)
    if not polling:
        builder = builder.updater(None)
    return builder.build()


def add_handlers(application: TelegramApp, handlers: TelegramHandlers) -> None:
    """Every handler in one place. Only new messages count: an edited /imagine does not draw again."""
    new_messages = filters.UpdateType.MESSAGE
    application.add_handlers(
        [
            # Album items first: an album is one request, however many updates it arrives in.
            MessageHandler(new_messages & MEDIA & IN_ALBUM, handlers.album_item),
            MessageHandler(new_messages & MEDIA & IMAGINE_CAPTION, handlers.imagine_with_media),
            CommandHandler(list(IMAGINE), handlers.imagine, filters=new_messages),
            CommandHandler(list(HELP), handlers.help, filters=new_messages),
            CommandHandler(QUOTA, handlers.quota, filters=new_messages),
            CommandHandler(ACCOUNTS, handlers.accounts, filters=new_messages),
            CallbackQueryHandler(handlers.button),
        ]
    )
    application.add_error_handler(handlers.on_error)


class TelegramAdapter:
    """Runs the Telegram bot inside the caller's event loop, beside other adapters."""

    name = "Telegram"

    def __init__(self, settings: Settings, service: ImageService, *, albums: AlbumStore) -> None:
        if settings.telegram_bot_token is None:
            raise ConfigurationError("TELEGRAM_BOT_TOKEN", "not set")
        self._settings = settings
        self._service = service
        self._albums = albums
        self._token = settings.telegram_bot_token.get_secret_value()
        self._redact = Redactor([self._token, *settings.secrets])
        #: webhook mode: the HTTP server's route feeds this adapter (None: long polling)
        self.webhook = TelegramWebhook.from_settings(settings)
        self._application: TelegramApp | None = None
        self._delivery: Delivery | None = None
        self._handlers: TelegramHandlers | None = None

    @property
    def application(self) -> TelegramApp | None:
        """The running PTB Application (None before start and after stop)."""
        return self._application

    async def start(self) -> None:
        """Connect, publish the command menus, start polling or the webhook; returns once updates flow."""
        application = build_application(self._settings, self._token, polling=self.webhook is None)
        originals = OriginalStore()
        self._delivery = Delivery(
            application.bot,
            originals,
            self._service.refund_undelivered,
            spawn=self._spawn,
            late_after=self._settings.telegram_status_after_seconds,
            on_finished=self._finished,
            on_status=self._status_shown,
        )
        handlers = self._handlers = TelegramHandlers(self._service, self._delivery, originals)
        # claims name the replica as its accepted requests do (REPLICA_ID), so one id finds its work in both
        replica = self._service.requests.replica if self._service.requests is not None else None
        handlers.collect_albums(
            self._albums, self._settings.telegram_album_wait_seconds, self._spawn, replica=replica
        )
        add_handlers(application, handlers)
        self._application = application
        try:
            await application.initialize()
        except InvalidToken:
            await self._abandon()
            raise ConfigurationError("TELEGRAM_BOT_TOKEN", "Telegram refused the token") from None
        except TelegramError as exc:
            await self._abandon()
            raise TelegramStartError(f"cannot reach Telegram: {self._redact(str(exc))}") from None
        await self._publish_menus(application.bot)
        try:
            if self.webhook is None:
                await self._start_polling(application)
            else:
                # every replica registers the same URL and secret: idempotent, so none locks the others out
                await self.webhook.register(application, ALLOWED_UPDATES)
        except (TelegramError, OSError) as exc:
            await self._abandon()
            raise TelegramStartError(f"cannot receive Telegram updates: {self._redact(str(exc))}") from None
        await application.start()
        if self.webhook is not None:
            self.webhook.open(application)
        handlers.sweep_albums(application.bot)  # albums left unclaimed by a replica that died
        if self._service.requests is not None:  # take over Telegram requests of replicas that died
            self._service.requests.register(PLATFORM, TelegramResumer(self._service, self._delivery))
        log.info(
            "Telegram bot @%s is running (%s)",
            application.bot.username,
            "long polling" if self.webhook is None else "webhook on the HTTP server",
        )

    def _status_shown(self, request_id: str, message_id: int) -> None:
        if self._service.requests is not None:
            self._service.requests.note(request_id, STATUS_MESSAGE, message_id)

    async def _finished(self, request_id: str, delivered: bool) -> None:
        await self._service.finish_request(request_id, delivered=delivered)

    async def stop(self) -> None:
        """Stop receiving, give generations in flight a bounded time to finish, close connections."""
        application = self._application
        if application is None:
            return
        if self._service.requests is not None:
            self._service.requests.unregister(PLATFORM)
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        if self.webhook is not None:
            # no new updates (503: Telegram delivers them again, to another replica); those answered 200 are handled
            self.webhook.close()
            if not await self.webhook.drain(STOP_GRACE_SECONDS):
                log.warning("webhook updates still being handled at shutdown were cut short")
        # albums still gathering here start their request while requests can still start (then drained below)
        album_wait = self._settings.telegram_album_wait_seconds + STOP_GRACE_SECONDS
        if self._handlers is not None and not await self._handlers.settle_albums(album_wait):
            log.warning("an album still gathering at shutdown was dropped")
        # Until here updates already taken were still handled; from now on new work is dropped (see _spawn).
        self._application = None
        if self._delivery is not None and (cut := await self._delivery.drain(STOP_GRACE_SECONDS)):
            log.warning("%d generation(s) were cut short by the shutdown", cut)
        if application.running:
            await application.stop()
        await application.shutdown()

    async def _start_polling(self, application: TelegramApp) -> None:
        updater = application.updater
        if updater is None:
            raise TelegramStartError("the application has no updater")
        if self._settings.database_url is not None:
            # Telegram serves getUpdates to one consumer: a second replica polling makes both fail with 409s
            log.warning(
                "Telegram uses long polling with a shared database: run one replica only, or set "
                "TELEGRAM_WEBHOOK_URL so several replicas share the updates"
            )
        await updater.start_polling(
            poll_interval=0,
            timeout=LONG_POLL_SECONDS,
            bootstrap_retries=BOOTSTRAP_RETRIES,
            allowed_updates=ALLOWED_UPDATES,
        )

    async def _publish_menus(self, bot: ExtBot[Any]) -> None:
        """setMyCommands for everyone, per language, and with /accounts for admins; failures are not fatal."""
        try:
            await bot.set_my_commands(menu("en"))
            for language, locale in _menu_languages():
                await bot.set_my_commands(menu(locale), language_code=language)
        except TelegramError as exc:
            log.warning("could not publish the command menu: %s", exc)
        for chat_id in _telegram_admin_chats(self._settings.admin_ids):
            try:
                await bot.set_my_commands(menu("en", admin=True), scope=BotCommandScopeChat(chat_id))
            except TelegramError as exc:  # e.g. the admin never opened a chat with the bot
                log.info("no admin command menu for chat %s: %s", chat_id, exc)

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        application = self._application
        if application is None or not application.running:
            coroutine.close()  # shutting down: an album or a request that arrives now is dropped
            return
        # PTB keeps a reference, reports a failure to the error handler and awaits the task on stop().
        application.create_task(coroutine, name="telegram-work")

    async def _abandon(self) -> None:
        application, self._application = self._application, None
        if application is None:
            return
        try:
            await application.shutdown()
            await application.bot.shutdown()
        except Exception:  # already failing: closing must not hide the original problem
            log.debug("shutdown after a failed start failed", exc_info=True)


def _menu_languages() -> list[tuple[str, str]]:
    """(Telegram language code, catalogue) pairs; Telegram takes two-letter codes, so Chinese gets zh-Hans."""
    pairs = [(code, code) for code in CATALOGUES if len(code) == 2 and code != "en"]
    if "zh-Hans" in CATALOGUES:
        pairs.append(("zh", "zh-Hans"))
    return pairs


def _telegram_admin_chats(admin_ids: list[str]) -> list[int]:
    chats = []
    for entry in admin_ids:
        platform, _, number = entry.rpartition(":")
        if platform in ("", "telegram") and number.isdigit():
            chats.append(int(number))
    return chats
