"""An update Telegram delivers twice (our 200 came too late, or was lost) makes one image and counts once.

The request id of an /imagine comes from its message (chat + message id), of a 🔁 from the callback query id: the
second delivery finds the first one's row in ``accepted_requests`` and is dropped before any charge, download or
upstream call, without a reply (answered 503 instead while that row is not recorded: ``test_unacknowledged``). Each POST below is answered only once its update was handled to its durable point
(``receipts``; the bound is far away), so when the repeat's answer is there, the repeat is over.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.core.models import UserRef
from tests.adapters.telegram.conftest import SettingsFactory, buttons
from tests.adapters.telegram.test_webhook import SECRET, WebhookBot, webhook_bot, webhook_settings
from tests.fakes.telegram_api import FakeTelegramBotAPI
from tests.fakes.telegram_objects import ALICE
from tests.fakes.workers_ai import FakeWorkersAI

ALICE_REF = UserRef(platform="telegram", user_id=str(ALICE.id), chat_id=str(ALICE.id))


async def used_today(bot: WebhookBot) -> int:
    return (await bot.app.service.quota(ALICE_REF)).used_today


def ignored(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "already accepted; ignored" in r.getMessage()]


async def test_an_imagine_delivered_again_after_its_image_makes_no_second_one(
    make_settings: SettingsFactory,
    tg: FakeTelegramBotAPI,
    workers: FakeWorkersAI,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    settings = webhook_settings(
        make_settings, TELEGRAM_WEBHOOK_SECRET=SECRET, TELEGRAM_WEBHOOK_WAIT_SECONDS="60"
    )
    async with webhook_bot(settings) as bot:
        tg.send_text("/imagine a lighthouse")
        update = tg.pending_updates[-1]
        assert await bot.post(update, SECRET) == 200
        await tg.wait_for("sendPhoto")
        messages_before = len(tg.calls_of("sendMessage"))
        assert await bot.post(update, SECRET) == 200  # the same update again: handled (dropped) by now
        assert await used_today(bot) == 1
        assert len(ignored(caplog)) == 1
        assert len(tg.calls_of("sendPhoto")) == 1
        assert len(tg.calls_of("sendMessage")) == messages_before  # no reply: the first delivery answered
        # a new message with the same text is a new request: a second image
        tg.send_text("/imagine a lighthouse")
        assert await bot.post(tg.pending_updates[-1], SECRET) == 200
        await tg.wait_for("sendPhoto", count=2)
        assert await used_today(bot) == 2
    assert len(workers.calls) == 2


async def test_an_imagine_delivered_twice_at_once_makes_one_image(
    make_settings: SettingsFactory,
    tg: FakeTelegramBotAPI,
    workers: FakeWorkersAI,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    settings = webhook_settings(
        make_settings, TELEGRAM_WEBHOOK_SECRET=SECRET, TELEGRAM_WEBHOOK_WAIT_SECONDS="60"
    )
    async with webhook_bot(settings) as bot:
        tg.send_text("/imagine a lighthouse")
        update = tg.pending_updates[-1]
        statuses = await asyncio.gather(bot.post(update, SECRET), bot.post(update, SECRET))
        # The one that lost the registration is over when its answer is in: 200 if the winner had recorded the
        # request by then, else 503 (Telegram sends it again later); then the winner's 200 has come: recorded.
        assert sorted(statuses) in ([200, 200], [200, 503])
        if 503 in statuses:
            assert await bot.post(update, SECRET) == 200
        assert await used_today(bot) == 1
        assert len(ignored(caplog)) == 1
        await tg.wait_for("sendPhoto")
        row = await bot.app.storage.requests.get(f"tg{ALICE.id}-{update['message']['message_id']}")
        assert row is not None and row.platform == "telegram"
    assert len(tg.calls_of("sendPhoto")) == 1 and len(workers.calls) == 1


async def test_a_reroll_press_delivered_twice_makes_one_image(
    make_settings: SettingsFactory,
    tg: FakeTelegramBotAPI,
    workers: FakeWorkersAI,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    settings = webhook_settings(
        make_settings, TELEGRAM_WEBHOOK_SECRET=SECRET, TELEGRAM_WEBHOOK_WAIT_SECONDS="60"
    )
    async with webhook_bot(settings) as bot:
        tg.send_text("/imagine a lighthouse")
        assert await bot.post(tg.pending_updates[-1], SECRET) == 200
        (first,) = await tg.wait_for("sendPhoto")
        tg.press_button(first.result, buttons(first)[0])
        press = tg.pending_updates[-1]
        assert await bot.post(press, SECRET) == 200
        await tg.wait_for("sendPhoto", count=2)
        assert await bot.post(press, SECRET) == 200
        assert await used_today(bot) == 2
        assert len(ignored(caplog)) == 1 and len(tg.calls_of("sendPhoto")) == 2
        # a second press (a new callback query) is a new request
        tg.press_button(first.result, buttons(first)[0])
        assert await bot.post(tg.pending_updates[-1], SECRET) == 200
        await tg.wait_for("sendPhoto", count=3)
    assert len(workers.calls) == 3
