"""Cheap checks before downloads: a refused request fetches nothing, and an undelivered image is not counted."""

from __future__ import annotations

import asyncio

from bot.core.models import UserRef
from tests.adapters.telegram.conftest import SettingsFactory, png, running
from tests.fakes.telegram_api import FakeTelegramBotAPI
from tests.fakes.telegram_objects import ALICE, BOB
from tests.fakes.workers_ai import FakeWorkersAI


async def test_a_user_outside_the_allow_list_makes_the_bot_download_nothing(
    make_settings: SettingsFactory, tg: FakeTelegramBotAPI, workers: FakeWorkersAI
) -> None:
    async with running(make_settings(ALLOWED_IDS=str(ALICE.id)), tg, workers):
        tg.send_photo(png(900, 600), caption="/imagine the same scene at night", user=BOB)
        (refusal,) = await tg.wait_for("sendMessage", predicate=lambda call: call.params["chat_id"] == BOB.id)
    assert refusal.params["text"].startswith("Dieser Bot steht dir hier leider nicht zur Verfügung")
    assert tg.calls_of("getFile") == [] and workers.calls == []


async def test_a_user_at_the_daily_limit_makes_the_bot_download_nothing(
    make_settings: SettingsFactory, tg: FakeTelegramBotAPI, workers: FakeWorkersAI
) -> None:
    async with running(make_settings(RATE_LIMIT_PER_DAY="1"), tg, workers):
        tg.send_text("/imagine a cat")
        await tg.wait_for("sendPhoto")
        tg.send_album([png(64, 64), png(64, 64)], caption="/imagine the same cat twice")
        (refusal,) = await tg.wait_for(
            "sendMessage", predicate=lambda call: "used all" in call.params["text"]
        )
    assert refusal.params["text"].startswith("You've used all 1 images for today.")
    assert tg.calls_of("getFile") == [] and len(workers.calls) == 1


async def test_an_image_that_could_not_be_delivered_is_not_counted(
    make_settings: SettingsFactory, tg: FakeTelegramBotAPI, workers: FakeWorkersAI
) -> None:
    async with running(make_settings(RATE_LIMIT_PER_DAY="1"), tg, workers) as bot:
        tg.fail_next("sendPhoto", 403)  # the user blocked the bot meanwhile: nobody got the image
        tg.send_text("/imagine a cat")
        await tg.wait_for("sendPhoto")
        alice = UserRef("telegram", str(ALICE.id))
        async with asyncio.timeout(10):
            while (await bot.app.service.quota(alice)).used_today:  # noqa: ASYNC110 - refunded after the reply
                await asyncio.sleep(0.02)
        tg.send_text("/imagine a cat, delivered this time")
        await tg.wait_for("sendPhoto", count=2)
    assert len(workers.calls) == 2
