"""Cheap checks before downloads: a refused request fetches nothing, and an undelivered image is not counted."""

from __future__ import annotations

from tests.adapters.discord.conftest import BotFactory, png
from tests.adapters.discord.test_errors import immediate_refusal, late_refusal
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.workers_ai import FakeWorkersAI


async def test_a_user_outside_the_allow_list_makes_the_bot_download_nothing(
    start_bot: BotFactory, dc: FakeDiscord, workers: FakeWorkersAI
) -> None:
    async with start_bot(ALLOWED_IDS="discord:200000000000000777") as bot:
        image = dc.add_attachment(png(64, 64), "a.png")
        await immediate_refusal(dc, await bot.imagine("a cat", image1=image))
    assert sum(dc.downloads.values()) == 0 and workers.calls == []


async def test_a_user_at_the_daily_limit_makes_the_bot_download_nothing(
    start_bot: BotFactory, dc: FakeDiscord, workers: FakeWorkersAI
) -> None:
    async with start_bot(RATE_LIMIT_PER_DAY="1") as bot:
        await bot.image(await bot.imagine("first"))
        images = [dc.add_attachment(png(64, 64), f"{n}.png") for n in range(2)]
        note = await late_refusal(bot, await bot.imagine("second", image1=images[0], image2=images[1]))
    assert note.content is not None and note.content.startswith("You've used all 1 images for today.")
    assert sum(dc.downloads.values()) == 0 and len(workers.calls) == 1


async def test_an_image_that_could_not_be_delivered_is_not_counted(
    start_bot: BotFactory, dc: FakeDiscord, workers: FakeWorkersAI
) -> None:
    async with start_bot(RATE_LIMIT_PER_DAY="1") as bot:
        dc.fail_next(
            "PATCH",
            "/webhooks/*/messages/@original",
            413,
            {"message": "Request entity too large", "code": 40005},
        )
        await late_refusal(bot, await bot.imagine("a cat"))
        delivered = await bot.image(await bot.imagine("a cat, delivered this time"))
    assert delivered.files and len(workers.calls) == 2
