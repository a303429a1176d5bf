"""/imagine end to end: real PTB and core against the fake Bot API and the fake Workers AI."""

from __future__ import annotations

import html

import pytest

from tests.adapters.telegram.conftest import (
    BOT_USERNAME,
    RunningBot,
    SettingsFactory,
    buttons,
    image_size,
    png,
    running,
    sent_image,
)
from tests.fakes.telegram_api import FakeTelegramBotAPI
from tests.fakes.telegram_objects import ALICE, BOB, TgChat
from tests.fakes.workers_ai import FakeWorkersAI

SEED_RATIOS = ["1:1", "1:2", "3:2", "3:4", "16:9", "9:16"]


@pytest.mark.parametrize("ratio", SEED_RATIOS)
async def test_each_seed_ratio_reaches_workers_ai_and_comes_back_in_that_shape(
    bot: RunningBot, ratio: str
) -> None:
    bot.tg.send_text(f"/imagine a lighthouse in a storm {ratio}")
    (photo,) = await bot.tg.wait_for("sendPhoto")
    (call,) = bot.workers.calls
    assert call.width is not None and call.height is not None
    width_term, height_term = (int(term) for term in ratio.split(":"))
    assert call.width / call.height == pytest.approx(width_term / height_term, rel=0.02)
    assert call.width * call.height == pytest.approx(1024 * 1024, rel=0.1)
    assert image_size(sent_image(photo)) == (call.width, call.height)
    largest = photo.result["photo"][-1]
    assert (largest["width"], largest["height"]) == (call.width, call.height)
    assert call.fields["prompt"] == "a lighthouse in a storm"


async def test_result_is_a_captioned_photo_replying_to_the_request_with_three_buttons(
    bot: RunningBot,
) -> None:
    request = bot.tg.send_text("/img a red fox --seed 42")
    (photo,) = await bot.tg.wait_for("sendPhoto")
    assert photo.params["reply_parameters"]["message_id"] == request["message_id"]
    assert photo.params["parse_mode"] == "HTML"
    caption = photo.result["caption"]
    assert "a red fox" in caption and "Seed: 42" in caption and "flux-2-klein-4b" in caption
    size = image_size(sent_image(photo))
    assert f"{size[0]}×{size[1]}" in caption
    job_id = buttons(photo)[0].removeprefix("r:")
    assert buttons(photo) == [f"r:{job_id}", f"v:{job_id}", f"o:{job_id}"]
    assert 0 < len(f"r:{job_id}".encode()) <= 64


async def test_a_quick_image_costs_a_chat_action_and_the_photo_and_no_status_line(bot: RunningBot) -> None:
    bot.tg.send_text("/imagine a quiet harbour")
    await bot.tg.wait_for("sendPhoto")
    per_image = [call.method for call in bot.tg.calls if call.params.get("chat_id") == ALICE.id]
    assert per_image == ["sendChatAction", "sendPhoto"]
    assert bot.tg.calls_of("sendChatAction")[0].params["action"] == "upload_photo"
    assert [message.get("photo") is not None for message in bot.tg.sent_messages(ALICE.id)] == [True]


async def test_a_late_image_gets_a_status_line_with_cancel_removed_when_the_photo_arrives(
    make_settings: SettingsFactory, tg: FakeTelegramBotAPI, workers: FakeWorkersAI
) -> None:
    async with running(make_settings(TELEGRAM_STATUS_AFTER_SECONDS="0"), tg, workers):
        tg.send_text("/imagine a quiet harbour")
        await tg.wait_for("sendPhoto")
        await tg.wait_for("deleteMessage")
    (status,) = tg.calls_of("sendMessage")
    shown = [status.params["text"], *(call.params["text"] for call in tg.calls_of("editMessageText"))]
    assert shown[-1] == "Painting your image…"
    assert set(shown) <= {"Polishing your prompt…", "Painting your image…"} and len(shown) == len(set(shown))
    (cancel,) = buttons(status)
    assert cancel.startswith("x:") and len(cancel) > 2
    deleted = tg.calls_of("deleteMessage")[0]
    assert deleted.params["message_id"] == status.result["message_id"]
    assert tg.calls.index(deleted) > tg.calls.index(tg.calls_of("sendPhoto")[0])
    assert [message.get("photo") is not None for message in tg.sent_messages(ALICE.id)] == [True]


async def test_photo_captioned_with_imagine_is_one_reference(bot: RunningBot) -> None:
    bot.tg.send_photo(png(900, 600), caption="/imagine the same scene at night")
    await bot.tg.wait_for("sendPhoto")
    (call,) = bot.workers.calls
    # The largest size Telegram stored, shrunk by the core to at most 512 px.
    assert call.reference_sizes == [(512, 341)]
    assert call.fields["prompt"] == "the same scene at night"


async def test_image_file_captioned_with_imagine_is_one_uncompressed_reference(bot: RunningBot) -> None:
    bot.tg.send_document(png(3000, 1000), "panorama.png", caption="/imagine the same hills in autumn")
    await bot.tg.wait_for("sendPhoto")
    (call,) = bot.workers.calls
    assert call.reference_sizes == [(512, 171)]  # the full-size file, shrunk by the core


async def test_imagine_replying_to_a_photo_uses_it_as_the_reference(bot: RunningBot) -> None:
    photo = bot.tg.send_photo(png(300, 200, "blue"))
    bot.tg.send_text("/imagine make it red", reply_to_message=photo)
    (result,) = await bot.tg.wait_for("sendPhoto")
    assert [call.reference_sizes for call in bot.workers.calls] == [[(300, 200)]]
    assert "References: 1" in result.result["caption"]


async def test_imagine_replying_to_an_image_file_uses_it_as_the_reference(bot: RunningBot) -> None:
    document = bot.tg.send_document(png(400, 400, "green"), "sketch.png")
    bot.tg.send_text("/imagine colour it in", reply_to_message=document)
    await bot.tg.wait_for("sendPhoto")
    assert [call.reference_sizes for call in bot.workers.calls] == [[(400, 400)]]


async def test_album_of_three_makes_one_generation_with_three_references(bot: RunningBot) -> None:
    images = [png(64 * (index + 1), 64, color) for index, color in enumerate(("red", "green", "blue"))]
    bot.tg.send_album(images, caption="/imagine these three as one family portrait")
    (photo,) = await bot.tg.wait_for("sendPhoto")
    (call,) = bot.workers.calls
    assert call.reference_sizes == [(64, 64), (128, 64), (192, 64)]  # album order kept
    assert "References: 3" in photo.result["caption"]
    assert len(bot.tg.calls_of("sendPhoto")) == 1


async def test_album_without_our_command_is_ignored(bot: RunningBot) -> None:
    bot.tg.send_album([png(64, 64), png(64, 64)], caption="holiday pictures")
    bot.tg.send_album([png(64, 64), png(64, 64)], caption="/imagine@other_bot a cat")
    bot.tg.send_album([png(64, 64), png(64, 64)], caption="/imagine a cow")
    # Albums complete in arrival order, so by the time the last one is answered the others were decided on.
    (photo,) = await bot.tg.wait_for("sendPhoto")
    assert [call.fields["prompt"] for call in bot.workers.calls] == ["a cow"]
    assert len(bot.tg.calls_of("getFile")) == 2
    assert "References: 2" in photo.result["caption"]


async def test_caption_is_escaped_for_html_and_cut_to_telegrams_limit(bot: RunningBot) -> None:
    prompt = "<b>bold & brave</b> 🦊 " + "a very long prompt " * 100
    bot.tg.send_text(f"/imagine {prompt.strip()} --raw")
    (photo,) = await bot.tg.wait_for("sendPhoto")
    assert photo.ok, photo.error
    caption: str = photo.result["caption"]  # what users see, after Telegram parsed the HTML
    assert len(caption.encode("utf-16-le")) // 2 <= 1024
    assert "<b>bold & brave</b> 🦊 a very long prompt" in caption
    assert "…" in caption and "Seed: " in caption
    assert html.escape("<b>bold") in photo.params["caption"]


async def test_group_command_for_another_bot_is_ignored_and_ours_is_answered(bot: RunningBot) -> None:
    group = TgChat.group()
    bot.tg.send_text("/imagine@other_bot a cat", user=BOB, chat=group)
    bot.tg.send_photo(png(64, 64), caption="just a photo", user=BOB, chat=group)
    bot.tg.send_photo(png(64, 64), caption="/imagine@other_bot a dog", user=BOB, chat=group)
    bot.tg.send_text(f"/imagine@{BOT_USERNAME} a cow", user=BOB, chat=group)
    (photo,) = await bot.tg.wait_for("sendPhoto")
    assert photo.params["chat_id"] == group.id
    assert [call.fields["prompt"] for call in bot.workers.calls] == ["a cow"]
    # Bob's language is German: the reply speaks it.
    assert "Größe" in photo.result["caption"]


async def test_edited_command_does_not_draw_again(bot: RunningBot) -> None:
    message = bot.tg.send_text("/imagine a kite")
    await bot.tg.wait_for("sendPhoto")
    bot.tg.queue_update({"edited_message": {**message, "text": "/imagine two kites", "edit_date": 1}})
    bot.tg.send_text("/quota")
    await bot.tg.wait_for("sendMessage", predicate=lambda call: "used" in call.params["text"])
    assert len(bot.workers.calls) == 1


async def test_imagine_without_a_prompt_explains_how(bot: RunningBot) -> None:
    bot.tg.send_text("/imagine")
    (reply,) = await bot.tg.wait_for("sendMessage")
    assert reply.params["text"].startswith("Tell me what to draw")
    assert bot.workers.calls == []
