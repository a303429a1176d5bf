"""Webhook mode on the HTTP server's port: the real PTB Application behind the real FastAPI app and uvicorn.

Telegram's side is played by the fake Bot API (setWebhook is recorded there) and by posting its updates to the
route as Telegram does, with the secret header.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest

from bot.adapters.http import HttpAdapter, build_http_adapter
from bot.adapters.telegram import TelegramAdapter
from bot.adapters.telegram.webhook import TelegramWebhook
from bot.app import App, open_app
from bot.i18n import translate
from bot.logs import RedactingFormatter, Redactor
from bot.settings import Settings
from tests.adapters.telegram.conftest import SettingsFactory, png, running, texts_to
from tests.fakes.telegram_api import FakeTelegramBotAPI
from tests.fakes.telegram_objects import ALICE
from tests.fakes.workers_ai import FakeWorkersAI

HOOK_URL = "https://bot.example.org/tg/hook"
SECRET = "webhook-secret_0123456789"
HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass
class WebhookBot:
    app: App
    telegram: TelegramAdapter
    http: HttpAdapter
    client: httpx.AsyncClient

    async def post(self, update: dict[str, object], secret: str | None) -> int:
        headers = {HEADER: secret} if secret is not None else {}
        response = await self.client.post("/tg/hook", json=update, headers=headers)
        return response.status_code


@asynccontextmanager
async def webhook_bot(settings: Settings) -> AsyncIterator[WebhookBot]:
    """Both adapters as ``run`` wires them: Telegram first, the HTTP server (with the route) after it; stopped
    in reverse, so webhook updates stop coming before Telegram drains."""
    async with open_app(settings) as app:
        telegram = TelegramAdapter(settings, app.service, albums=app.storage.albums)
        http = build_http_adapter(app, {}, webhook=telegram.webhook)
        await telegram.start()
        await http.start()
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{http.port}", trust_env=False) as client:
                yield WebhookBot(app, telegram, http, client)
        finally:
            await http.stop()
            await telegram.stop()


def webhook_settings(make_settings: SettingsFactory, **overrides: str) -> Settings:
    env = {"TELEGRAM_WEBHOOK_URL": HOOK_URL, "HTTP_HOST": "127.0.0.1", "HTTP_PORT": "0", **overrides}
    return make_settings(**env)


async def test_updates_posted_with_the_secret_are_handled_and_others_refused(
    make_settings: SettingsFactory, tg: FakeTelegramBotAPI, workers: FakeWorkersAI
) -> None:
    settings = webhook_settings(make_settings, TELEGRAM_WEBHOOK_SECRET=SECRET)
    async with webhook_bot(settings) as bot:
        (registered,) = tg.calls_of("setWebhook")
        assert registered.params["url"] == HOOK_URL and registered.params["secret_token"] == SECRET
        # a rolling deploy must not throw away the updates queued at Telegram
        assert registered.params.get("drop_pending_updates") in (None, False)
        assert set(registered.params["allowed_updates"]) == {"message", "callback_query"}
        tg.send_text("/quota")  # builds the update; in webhook mode it is POSTed, never polled
        update = tg.pending_updates[-1]
        refused = [await bot.post(update, "guess"), await bot.post(update, None), await bot.post(update, "")]
        assert refused == [403, 403, 403]
        not_json = await bot.client.post("/tg/hook", content=b"{oops", headers={HEADER: SECRET})
        assert not_json.status_code == 400
        assert await bot.post(update, SECRET) == 200
        await tg.wait_for("sendMessage")
        # the API routes stay closed without keys, on the same port
        assert (await bot.client.get("/v1/models")).status_code == 401
    assert tg.calls_of("getUpdates") == [] and tg.calls_of("deleteWebhook") == []
    (answer,) = texts_to(tg, ALICE.id)
    assert answer.startswith("Today you have used 0 of 20 images")


async def test_without_a_configured_secret_every_replica_derives_the_same_one_and_never_logs_it(
    make_settings: SettingsFactory,
    tg: FakeTelegramBotAPI,
    workers: FakeWorkersAI,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = webhook_settings(make_settings)
    derived = settings.telegram_webhook_secret_token
    assert derived == webhook_settings(make_settings).telegram_webhook_secret_token  # another replica
    assert re.fullmatch(r"[A-Za-z0-9_-]{32,256}", derived)
    assert (
        derived
        != webhook_settings(make_settings, TELEGRAM_BOT_TOKEN="654321:other").telegram_webhook_secret_token
    )
    assert derived in settings.secrets  # the log redactor knows it
    async with webhook_bot(settings) as bot:
        assert tg.calls_of("setWebhook")[0].params["secret_token"] == derived
        tg.send_text("/quota")
        assert await bot.post(tg.pending_updates[-1], None) == 403
        assert await bot.post(tg.pending_updates[-1], derived) == 200
        await tg.wait_for("sendMessage")
    # PTB logs setWebhook's parameters at DEBUG: what the bot's log handler writes has the secret redacted
    formatter = RedactingFormatter(Redactor(settings.secrets), "%(name)s: %(message)s")
    written = "\n".join(formatter.format(record) for record in caplog.records)
    assert derived in caplog.text and derived not in written and tg.token not in written


async def test_an_update_answered_200_is_handled_even_when_the_bot_stops_right_after(
    make_settings: SettingsFactory, tg: FakeTelegramBotAPI, workers: FakeWorkersAI
) -> None:
    settings = webhook_settings(make_settings, TELEGRAM_WEBHOOK_SECRET=SECRET)
    async with webhook_bot(settings) as bot:
        tg.send_text("/imagine a lighthouse")
        assert await bot.post(tg.pending_updates[-1], SECRET) == 200
        # stopping now (leaving the block) must still answer it: the queue is drained before PTB stops
    (photo,) = tg.calls_of("sendPhoto")
    assert photo.ok and len(workers.calls) == 1


async def test_once_telegram_stops_taking_updates_the_route_answers_503_for_a_retry(
    make_settings: SettingsFactory, tg: FakeTelegramBotAPI, workers: FakeWorkersAI
) -> None:
    settings = webhook_settings(make_settings, TELEGRAM_WEBHOOK_SECRET=SECRET)
    async with webhook_bot(settings) as bot:
        assert bot.telegram.webhook is not None
        bot.telegram.webhook.close()  # the first step of Telegram's stop
        tg.send_text("/quota")
        response = await bot.client.post("/tg/hook", json=tg.pending_updates[-1], headers={HEADER: SECRET})
    assert response.status_code == 503 and response.headers["retry-after"] == "1"
    assert tg.calls_of("sendMessage") == []


async def test_an_album_posted_item_by_item_is_one_generation(
    make_settings: SettingsFactory, tg: FakeTelegramBotAPI, workers: FakeWorkersAI
) -> None:
    settings = webhook_settings(make_settings, TELEGRAM_WEBHOOK_SECRET=SECRET)
    async with webhook_bot(settings) as bot:
        tg.send_album([png(64, 64), png(128, 64)], caption="/imagine the two of them")
        statuses = await asyncio.gather(*(bot.post(update, SECRET) for update in tg.pending_updates[-2:]))
        assert statuses == [200, 200]
        await tg.wait_for("sendPhoto")
    (call,) = workers.calls
    assert sorted(call.reference_sizes) == [(64, 64), (128, 64)]


def test_the_old_webhook_port_is_the_http_port_when_none_is_set(make_settings: SettingsFactory) -> None:
    old = make_settings(
        TELEGRAM_WEBHOOK_URL=HOOK_URL, TELEGRAM_WEBHOOK_PORT="8443", TELEGRAM_WEBHOOK_LISTEN="::"
    )
    assert old.http_enabled and (old.http_listen_port, old.http_listen_host) == (8443, "::")
    default = make_settings(TELEGRAM_WEBHOOK_URL=HOOK_URL)
    assert default.http_enabled and default.http_listen_port == 8443  # where the webhook was served before
    paas = make_settings(TELEGRAM_WEBHOOK_URL=HOOK_URL, PORT="10000", TELEGRAM_WEBHOOK_PORT="8443")
    assert (
        paas.http_listen_port == 10000
    )  # the PaaS's port wins; the deprecated one is ignored (with a warning)
    assert not make_settings().http_enabled  # polling without API keys: no HTTP server
    with pytest.raises(Exception, match="TELEGRAM_WEBHOOK_SECRET"):
        make_settings(TELEGRAM_WEBHOOK_SECRET="has spaces")


async def test_an_album_answered_200_is_still_made_when_the_bot_stops_before_it_was_quiet(
    make_settings: SettingsFactory, tg: FakeTelegramBotAPI, workers: FakeWorkersAI
) -> None:
    settings = webhook_settings(make_settings, TELEGRAM_WEBHOOK_SECRET=SECRET)
    async with webhook_bot(settings) as bot:
        tg.send_album([png(64, 64), png(128, 64)], caption="/imagine the two of them")
        for update in tg.pending_updates[-2:]:
            assert await bot.post(update, SECRET) == 200
        # stop at once: the album's wait has not passed; the stop waits for it, then for the image
    (photo,) = tg.calls_of("sendPhoto")
    assert photo.ok and len(workers.calls) == 1 and len(workers.calls[0].reference_sizes) == 2


async def test_an_album_that_cannot_be_stored_is_answered_with_a_sentence_once(
    make_settings: SettingsFactory,
    tg: FakeTelegramBotAPI,
    workers: FakeWorkersAI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def database_down(item: object) -> bool:
        raise OSError("connection refused")

    settings = webhook_settings(make_settings, TELEGRAM_WEBHOOK_SECRET=SECRET)
    async with webhook_bot(settings) as bot:
        monkeypatch.setattr(bot.app.storage.albums, "add", database_down)
        tg.send_album([png(64, 64), png(64, 64), png(64, 64)], caption="/imagine the three of them")
        for update in tg.pending_updates[-3:]:
            assert await bot.post(update, SECRET) == 200
        await tg.wait_for("sendMessage")
    (apology,) = texts_to(tg, ALICE.id)
    assert apology == translate("error.generic", "en") and workers.calls == []


def test_the_deprecated_webhook_settings_and_polling_beside_a_shared_database_are_named_in_the_log(
    make_settings: SettingsFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    TelegramWebhook.from_settings(
        make_settings(
            TELEGRAM_WEBHOOK_URL=HOOK_URL, TELEGRAM_WEBHOOK_PORT="8443", TELEGRAM_WEBHOOK_LISTEN="::"
        )
    )
    TelegramWebhook.from_settings(
        make_settings(TELEGRAM_WEBHOOK_URL=HOOK_URL, HTTP_PORT="9000", TELEGRAM_WEBHOOK_PORT="8443")
    )
    assert TelegramWebhook.from_settings(make_settings()) is None  # polling
    warnings = [record.getMessage() for record in caplog.records]
    assert warnings == [
        "TELEGRAM_WEBHOOK_PORT is deprecated: the webhook is served by the HTTP server, on HTTP_PORT; using 8443 "
        "as HTTP_PORT because HTTP_PORT and PORT are unset",
        "TELEGRAM_WEBHOOK_LISTEN is deprecated: the webhook listens on HTTP_HOST (::)",
        "TELEGRAM_WEBHOOK_PORT is ignored: the webhook is served by the HTTP server, on port 9000",
    ]


async def test_polling_beside_a_shared_database_warns_that_only_one_replica_may_poll(
    make_settings: SettingsFactory,
    tg: FakeTelegramBotAPI,
    workers: FakeWorkersAI,
    pg_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    async with running(make_settings(DATABASE_URL=pg_url), tg, workers):
        pass
    assert any("set TELEGRAM_WEBHOOK_URL so several replicas share" in r.getMessage() for r in caplog.records)
