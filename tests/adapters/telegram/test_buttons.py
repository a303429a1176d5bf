"""🔁 re-roll and 📄 original, including who may press them and what still works after a restart."""

from __future__ import annotations

from tests.adapters.telegram.conftest import (
    RunningBot,
    SettingsFactory,
    buttons,
    png,
    running,
    sent_image,
)
from tests.fakes.telegram_api import FakeTelegramBotAPI
from tests.fakes.telegram_objects import ALICE, BOB, TgChat
from tests.fakes.workers_ai import FakeWorkersAI


async def test_reroll_by_the_requester_keeps_prompt_size_and_references_with_a_new_seed(
    bot: RunningBot,
) -> None:
    source = bot.tg.send_photo(png(300, 200))
    bot.tg.send_text("/imagine a red fox in the snow --ar 16:9 --seed 42", reply_to_message=source)
    (first,) = await bot.tg.wait_for("sendPhoto")
    reroll, _, _ = buttons(first)
    bot.tg.press_button(first.result, reroll)
    second = (await bot.tg.wait_for("sendPhoto", count=2))[1]
    before, after = bot.workers.calls
    assert before.seed == 42 and after.seed != 42
    assert after.fields["prompt"] == before.fields["prompt"] == "a red fox in the snow"
    assert (after.width, after.height) == (before.width, before.height)
    assert after.reference_sizes == before.reference_sizes == [(300, 200)]
    # The new image answers the photo whose button was pressed, with buttons of its own.
    assert second.params["reply_parameters"]["message_id"] == first.result["message_id"]
    assert len(buttons(second)) == 3 and buttons(second) != buttons(first)
    (answer,) = bot.tg.calls_of("answerCallbackQuery")
    assert answer.ok and not answer.params.get("show_alert")


async def test_reroll_by_someone_else_is_refused_with_a_popup(bot: RunningBot) -> None:
    group = TgChat.group()
    bot.tg.send_text("/imagine a lighthouse", user=ALICE, chat=group)
    (photo,) = await bot.tg.wait_for("sendPhoto")
    bot.tg.press_button(photo.result, buttons(photo)[0], user=BOB)
    (answer,) = await bot.tg.wait_for("answerCallbackQuery")
    assert answer.params["show_alert"] is True
    # Bob reads German.
    assert answer.params["text"].startswith("Nur die Person, die dieses Bild angefordert hat")
    assert len(bot.workers.calls) == 1
    assert len(bot.tg.calls_of("sendPhoto")) == 1


async def test_an_admin_may_reroll_anyones_image(
    make_settings: SettingsFactory, tg: FakeTelegramBotAPI, workers: FakeWorkersAI
) -> None:
    group = TgChat.group()
    async with running(make_settings(ADMIN_IDS=str(BOB.id)), tg, workers):
        tg.send_text("/imagine a lighthouse", user=ALICE, chat=group)
        (photo,) = await tg.wait_for("sendPhoto")
        tg.press_button(photo.result, buttons(photo)[0], user=BOB)
        await tg.wait_for("sendPhoto", count=2)
    assert len(workers.calls) == 2


async def test_original_sends_the_exact_bytes_as_a_file_then_reuses_the_file_id(bot: RunningBot) -> None:
    bot.tg.send_text("/imagine a red fox")
    (photo,) = await bot.tg.wait_for("sendPhoto")
    _, _, original = buttons(photo)
    bot.tg.press_button(photo.result, original)
    (document,) = await bot.tg.wait_for("sendDocument")
    assert sent_image(document) == sent_image(photo)
    assert document.params["caption"] == "Original file, uncompressed."
    assert document.params["reply_parameters"]["message_id"] == photo.result["message_id"]
    bot.tg.press_button(photo.result, original)
    second = (await bot.tg.wait_for("sendDocument", count=2))[1]
    assert second.files == {} and second.params["document"] == document.result["document"]["file_id"]
    assert len(bot.tg.calls_of("answerCallbackQuery")) == 2


async def test_buttons_still_work_after_a_restart(
    make_settings: SettingsFactory, tg: FakeTelegramBotAPI, workers: FakeWorkersAI
) -> None:
    settings = make_settings()
    async with running(settings, tg, workers):
        tg.send_text("/imagine a red fox --seed 7")
        (photo,) = await tg.wait_for("sendPhoto")
    reroll, _, original = buttons(photo)
    async with running(settings, tg, workers):  # same database, fresh process state
        tg.press_button(photo.result, original)
        (document,) = await tg.wait_for("sendDocument")
        tg.press_button(photo.result, reroll)
        await tg.wait_for("sendPhoto", count=2)
    # The original bytes lived in memory only: the copy Telegram stored is sent, and the caption says so.
    assert document.params["caption"].startswith("The uncompressed original is no longer kept")
    assert tg.calls_of("getFile") and document.files["document"].filename.endswith("-compressed.jpg")
    first, second = workers.calls
    assert first.seed == 7 and second.seed != 7 and second.fields["prompt"] == first.fields["prompt"]


async def test_a_429_on_send_photo_is_retried_and_the_image_still_arrives(bot: RunningBot) -> None:
    bot.tg.fail_next("sendPhoto", error_code=429, retry_after=1)
    bot.tg.send_text("/imagine a red fox")
    refused, delivered = await bot.tg.wait_for("sendPhoto", count=2)
    assert refused.error is not None and refused.error.error_code == 429
    assert delivered.ok
    photos = [message for message in bot.tg.sent_messages(ALICE.id) if "photo" in message]
    assert len(photos) == 1 and len(bot.workers.calls) == 1


async def test_a_network_error_on_send_photo_is_retried(bot: RunningBot) -> None:
    bot.tg.fail_next("sendPhoto", error_code=502)
    bot.tg.send_text("/imagine a red fox")
    failed, delivered = await bot.tg.wait_for("sendPhoto", count=2)
    assert failed.error is not None and delivered.ok
    assert [message.get("text") for message in bot.tg.sent_messages(ALICE.id) if "photo" not in message] == []


async def test_a_photo_telegram_refuses_is_delivered_as_a_file(bot: RunningBot) -> None:
    bot.tg.fail_next("sendPhoto", error_code=400, description="Bad Request: PHOTO_INVALID_DIMENSIONS")
    bot.tg.send_text("/imagine a very wide banner --ar 4:1")
    (document,) = await bot.tg.wait_for("sendDocument")
    assert document.ok and len(buttons(document)) == 3
    assert "Seed: " in document.result["caption"]
