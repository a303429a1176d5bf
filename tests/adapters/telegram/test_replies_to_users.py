"""What users read besides images: /help, /quota, /accounts, limits, refusals and core errors."""

from __future__ import annotations

import logging
import os
from io import BytesIO

import pytest
from PIL import Image

from bot.core.models import GenerationRequest
from bot.core.service import ImageService, ProgressCallback
from tests.adapters.telegram.conftest import RunningBot, SettingsFactory, png, running, texts_to
from tests.fakes.telegram_api import FakeTelegramBotAPI
from tests.fakes.telegram_objects import ALICE, BOB, TgChat, TgUser
from tests.fakes.workers_ai import CONTENT_FILTER, FakeWorkersAI

CAROL = TgUser(id=1003, first_name="Carol", username="carol", language_code="ja")


def noise_png(side: int) -> bytes:
    buffer = BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(buffer, format="PNG")
    return buffer.getvalue()


async def test_quota_after_two_images(
    make_settings: SettingsFactory, tg: FakeTelegramBotAPI, workers: FakeWorkersAI
) -> None:
    async with running(make_settings(RATE_LIMIT_PER_DAY="20"), tg, workers):
        for prompt in ("a cat", "a dog"):
            tg.send_text(f"/imagine {prompt}")
        await tg.wait_for("sendPhoto", count=2)
        tg.send_text("/quota")
        reply = await tg.wait_for("sendMessage", predicate=lambda call: "used" in call.params["text"])
    text = reply[0].params["text"]
    assert text.startswith("Today you have used 2 of 20 images; 18 left. Resets at 00:00 UTC (")


async def test_daily_limit_reached_is_a_plain_reply_and_nothing_is_drawn(
    make_settings: SettingsFactory, tg: FakeTelegramBotAPI, workers: FakeWorkersAI
) -> None:
    async with running(make_settings(RATE_LIMIT_PER_DAY="1"), tg, workers):
        tg.send_text("/imagine a cat")
        await tg.wait_for("sendPhoto")
        second = tg.send_text("/imagine a dog")
        (reply,) = await tg.wait_for("sendMessage", predicate=lambda call: "used all" in call.params["text"])
    assert reply.params["text"].startswith(
        "You've used all 1 images for today. Your quota resets at 00:00 UTC"
    )
    assert reply.params["reply_parameters"]["message_id"] == second["message_id"]
    assert len(workers.calls) == 1


async def test_help_shows_examples_and_the_users_limits_in_their_language(
    make_settings: SettingsFactory, tg: FakeTelegramBotAPI, workers: FakeWorkersAI
) -> None:
    async with running(make_settings(RATE_LIMIT_PER_DAY="20", RATE_LIMIT_PER_MINUTE="3"), tg, workers):
        tg.send_text("/start")
        tg.send_text("/help", user=BOB)
        await tg.wait_for("sendMessage", count=2)
    english, german = texts_to(tg, ALICE.id)[0], texts_to(tg, BOB.id)[0]
    assert "/imagine a lighthouse in a storm 16:9" in english and "--seed 42" in english
    assert "Your limits: 20 images a day, 3 a minute." in english
    assert "20 Bilder pro Tag, 3 pro Minute" in german


async def test_accounts_is_refused_for_non_admins_and_shown_to_admins(
    make_settings: SettingsFactory, tg: FakeTelegramBotAPI, workers: FakeWorkersAI
) -> None:
    async with running(make_settings(ADMIN_IDS=f"telegram:{BOB.id}"), tg, workers):
        tg.send_text("/accounts")
        (refusal,) = await tg.wait_for("sendMessage")
        tg.send_text("/accounts", user=BOB)
        await tg.wait_for("sendMessage", count=2)
    assert refusal.params["text"] == "Only admins can use this command."
    (listing,) = texts_to(tg, BOB.id)
    assert listing.splitlines()[0] == "Konten (heute, UTC):"
    assert listing.splitlines()[1].startswith("#1 …acc1: funktioniert — 0 Bilder")


async def test_a_non_image_file_is_refused(bot: RunningBot) -> None:
    request = bot.tg.send_document(
        b"%PDF-1.4 not a picture", "notes.pdf", caption="/imagine this as a poster"
    )
    (reply,) = await bot.tg.wait_for("sendMessage")
    assert reply.params["text"].startswith("That file is not an image.")
    assert reply.params["reply_parameters"]["message_id"] == request["message_id"]
    assert bot.workers.calls == [] and bot.tg.calls_of("getFile") == []


async def test_five_photos_are_refused_before_any_download(bot: RunningBot) -> None:
    bot.tg.send_album([png(64, 64) for _ in range(5)], caption="/imagine all of them together")
    (reply,) = await bot.tg.wait_for("sendMessage")
    assert reply.params["text"] == "At most 4 reference images can be used; you sent 5."
    assert bot.workers.calls == [] and bot.tg.calls_of("getFile") == []


async def test_an_image_over_the_size_cap_is_refused(
    make_settings: SettingsFactory, tg: FakeTelegramBotAPI, workers: FakeWorkersAI
) -> None:
    image = noise_png(400)  # ~480 KB of incompressible pixels
    async with running(make_settings(MAX_REFERENCE_MB="0.25"), tg, workers):
        tg.send_photo(image, caption="/imagine the same, but calmer")
        (reply,) = await tg.wait_for("sendMessage")
    size_mb = f"{len(image) / 1024 / 1024:.1f}"
    assert reply.params["text"] == f"That image is too large ({size_mb} MB). The limit is 0.25 MB."
    assert workers.calls == []


async def test_a_content_filter_refusal_is_one_plain_reply(bot: RunningBot) -> None:
    bot.workers.script("acc1", CONTENT_FILTER)
    request = bot.tg.send_text("/imagine something the filter dislikes", user=CAROL)
    await bot.tg.wait_for("sendMessage")  # one answer: a quick failure never had a status line
    replies = [message for message in bot.tg.sent_messages(CAROL.id) if message["from"]["is_bot"]]
    assert [message["text"] for message in replies] == [
        "画像サービスの安全フィルターが、このプロンプトまたは生成結果を拒否しました。"
        "フィルターは誤判定することがあります。言い換えるとたいてい通ります。"
    ]
    assert replies[0]["reply_to_message"]["message_id"] == request["message_id"]
    assert bot.tg.calls_of("sendPhoto") == []


async def test_a_bad_flag_is_explained(bot: RunningBot) -> None:
    bot.tg.send_text("/imagine a cat --sharpness 11")
    (reply,) = await bot.tg.wait_for("sendMessage")
    assert reply.params["text"].startswith("Unknown flag --sharpness")


async def test_allowed_ids_may_name_a_group(
    make_settings: SettingsFactory, tg: FakeTelegramBotAPI, workers: FakeWorkersAI
) -> None:
    group = TgChat.group()
    async with running(make_settings(ALLOWED_IDS=str(group.id)), tg, workers):
        tg.send_text("/imagine a cat", user=BOB, chat=group)
        await tg.wait_for("sendPhoto")
        tg.send_text("/imagine a cat", user=BOB)
        (refusal,) = await tg.wait_for("sendMessage", predicate=lambda call: call.params["chat_id"] == BOB.id)
    assert refusal.params["text"].startswith("Dieser Bot steht dir hier leider nicht zur Verfügung")
    assert len(workers.calls) == 1


async def test_an_unexpected_failure_is_logged_and_answered_with_an_apology(
    make_settings: SettingsFactory,
    tg: FakeTelegramBotAPI,
    workers: FakeWorkersAI,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(
        self: ImageService, request: GenerationRequest, progress: ProgressCallback, **kwargs: object
    ) -> None:
        raise RuntimeError(f"database exploded near {tg.token}")

    monkeypatch.setattr(ImageService, "generate_all", broken)
    caplog.set_level(logging.ERROR)
    async with running(make_settings(), tg, workers):
        tg.send_text("/imagine a cat")
        (reply,) = await tg.wait_for("sendMessage")
        tg.send_text("/quota")  # the bot keeps working
        await tg.wait_for("sendMessage", count=2)
    assert reply.params["text"] == "Something went wrong while making your image. Please try again."
    assert tg.token not in reply.params["text"]
    assert any(
        record.exc_info and "database exploded" in str(record.exc_info[1]) for record in caplog.records
    )
