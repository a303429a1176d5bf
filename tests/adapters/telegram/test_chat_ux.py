"""Round two of the chat UX on Telegram: ❌ cancel, 🎨 vary, --model, --n albums, over real PTB and the fakes."""

from __future__ import annotations

from typing import Any

import pytest

from bot.core.models import UserRef
from bot.providers.catalogue import FLUX2_DEV, FLUX2_KLEIN_4B, FLUX2_KLEIN_9B
from tests.adapters.telegram.conftest import (
    SettingsFactory,
    buttons,
    release_sleeping_calls,
    running,
)
from tests.fakes.telegram_api import ApiCall, FakeTelegramBotAPI
from tests.fakes.telegram_objects import ALICE, BOB, TgChat, TgUser
from tests.fakes.workers_ai import FakeWorkersAI, ok

CAROL = TgUser(id=1003, first_name="Carol", username="carol", language_code="en")
MODELS = f"klein={FLUX2_KLEIN_4B},klein9={FLUX2_KLEIN_9B},dev={FLUX2_DEV}"
HOLD = ok(delay=3600)  # answers only once release_sleeping_calls() is called


def to(user: TgUser) -> Any:
    return lambda call: call.params.get("chat_id") == user.id


def user_ref(user: TgUser) -> UserRef:
    return UserRef("telegram", str(user.id))


def button_of(call: ApiCall, prefix: str) -> str:
    return next(data for data in buttons(call) if data.startswith(prefix))


# ---- ❌ cancel --------------------------------------------------------------------------------------


async def test_cancel_while_queued_the_next_moves_up_and_is_told_and_nothing_is_counted(
    make_settings: SettingsFactory, tg: FakeTelegramBotAPI, workers: FakeWorkersAI
) -> None:
    workers.script("acc1", HOLD)
    settings = make_settings(MAX_CONCURRENT_GENERATIONS="1", RATE_LIMIT_PER_DAY="5")
    async with running(settings, tg, workers) as bot:
        tg.send_text("/imagine alice's lighthouse")
        await tg.wait_for("sendChatAction")  # Alice's image is being made
        tg.send_text("/imagine bob's lighthouse", user=BOB)
        (bob_status,) = await tg.wait_for("sendMessage", predicate=to(BOB))
        tg.send_text("/imagine carol's lighthouse", user=CAROL)
        (carol_status,) = await tg.wait_for("sendMessage", predicate=to(CAROL))
        assert carol_status.params["text"] == "You're number 2 in line…"
        cancel = button_of(bob_status, "x:")

        tg.press_button(bob_status.result, cancel, user=CAROL)  # not hers to cancel
        await tg.wait_for("answerCallbackQuery")
        tg.press_button(bob_status.result, cancel, user=BOB)
        (cancelled,) = await tg.wait_for("editMessageText", predicate=to(BOB))
        assert cancelled.params["text"] == "Abgebrochen. Es wurde nicht auf dein Kontingent angerechnet."
        assert "reply_markup" not in cancelled.result  # the ❌ is gone with it
        (moved,) = await tg.wait_for("editMessageText", predicate=to(CAROL))
        assert moved.params["text"] == "You're number 1 in line…"
        assert (await bot.app.service.quota(user_ref(BOB))).used_today == 0

        release_sleeping_calls(workers)
        await tg.wait_for("sendPhoto", count=2)
    answers = tg.calls_of("answerCallbackQuery")
    assert answers[0].params["show_alert"] is True and "cancel" in answers[0].params["text"]
    assert sorted(call.params["chat_id"] for call in tg.calls_of("sendPhoto")) == [ALICE.id, CAROL.id]
    assert len(workers.calls) == 2


async def test_cancel_while_running_no_photo_follows_and_the_quota_is_refunded(
    make_settings: SettingsFactory, tg: FakeTelegramBotAPI, workers: FakeWorkersAI
) -> None:
    workers.script("acc1", HOLD)
    settings = make_settings(TELEGRAM_STATUS_AFTER_SECONDS="0", RATE_LIMIT_PER_DAY="5")
    async with running(settings, tg, workers) as bot:
        tg.send_text("/imagine a slow lighthouse")
        (status,) = await tg.wait_for("sendMessage")
        assert status.params["text"] == "Painting your image…"
        tg.press_button(status.result, button_of(status, "x:"))
        (cancelled,) = await tg.wait_for(
            "editMessageText", predicate=lambda c: "Cancelled" in c.params["text"]
        )
        assert cancelled.params["message_id"] == status.result["message_id"]
        assert (await bot.app.service.quota(user_ref(ALICE))).used_today == 0
        release_sleeping_calls(workers)  # the abandoned upstream call may finish: its image goes nowhere
        tg.send_text("/imagine a quick lighthouse")
        (photo,) = await tg.wait_for("sendPhoto")
    assert "a quick lighthouse" in photo.params["caption"]
    assert len(tg.calls_of("sendPhoto")) == 1


# ---- 🎨 vary ---------------------------------------------------------------------------------------


async def test_vary_sends_the_shown_image_as_input_image_0_with_the_same_prompt_also_after_a_restart(
    make_settings: SettingsFactory, tg: FakeTelegramBotAPI, workers: FakeWorkersAI
) -> None:
    settings = make_settings()
    async with running(settings, tg, workers):
        tg.send_text("/imagine a lighthouse at dusk 16:9")
        (first,) = await tg.wait_for("sendPhoto")
        tg.press_button(first.result, button_of(first, "v:"))
        _, varied = await tg.wait_for("sendPhoto", count=2)
    original, vary = workers.calls
    assert vary.reference_names == ["input_image_0"] and vary.reference_sizes[0] is not None
    assert vary.fields["prompt"] == original.fields["prompt"] == "a lighthouse at dusk"
    assert vary.seed != original.seed
    assert (vary.width, vary.height) == (original.width, original.height)
    assert buttons(varied) != buttons(first) and len(buttons(varied)) == 3

    async with running(settings, tg, workers):  # a restart: the bytes are gone, the chat still has the photo
        tg.press_button(first.result, button_of(first, "v:"))
        await tg.wait_for("sendPhoto", count=3)
        (fetched,) = await tg.wait_for("getFile")
    again = workers.calls[-1]
    assert again.reference_names == ["input_image_0"] and again.fields["prompt"] == "a lighthouse at dusk"
    assert fetched.params["file_id"] == first.result["photo"][-1]["file_id"]


async def test_only_the_requester_may_vary(bot: Any) -> None:
    bot.tg.send_text("/imagine a lighthouse")
    (photo,) = await bot.tg.wait_for("sendPhoto")
    bot.tg.press_button(photo.result, button_of(photo, "v:"), user=BOB)
    (answer,) = await bot.tg.wait_for("answerCallbackQuery")
    assert answer.params["show_alert"] is True and "variieren" in answer.params["text"]
    assert len(bot.workers.calls) == 1


# ---- --model and --n -----------------------------------------------------------------------------


async def test_model_by_alias_reaches_workers_ai_and_an_unknown_one_is_refused_without_a_call(
    make_settings: SettingsFactory, tg: FakeTelegramBotAPI, workers: FakeWorkersAI
) -> None:
    async with running(make_settings(FLUX_MODELS=MODELS), tg, workers):
        tg.send_text("/imagine a fox --model sdxl")
        (refusal,) = await tg.wait_for("sendMessage")
        assert workers.calls == []
        tg.send_text("/imagine a fox --model klein9")
        (photo,) = await tg.wait_for("sendPhoto")
    assert refusal.params["text"] == "There is no model called 'sdxl'; choose one of: klein, klein9, dev."
    assert [call.model for call in workers.calls] == [FLUX2_KLEIN_9B]
    assert "flux-2-klein-9b" in photo.params["caption"]


async def test_n_three_is_one_album_of_three_with_numbered_buttons_counted_as_three(
    make_settings: SettingsFactory, tg: FakeTelegramBotAPI, workers: FakeWorkersAI
) -> None:
    async with running(make_settings(RATE_LIMIT_PER_DAY="5"), tg, workers) as bot:
        tg.send_text("/imagine a fox in the snow --n 3")
        (album,) = await tg.wait_for("sendMediaGroup")
        (keyboard,) = await tg.wait_for("sendMessage")
        assert len(workers.calls) == 3 and len(album.result) == 3
        rows = keyboard.params["reply_markup"]["inline_keyboard"]
        assert [[button["text"] for button in row] for row in rows] == [
            [f"{symbol} {number}" for symbol in ("🔁", "🎨", "📄")] for number in (1, 2, 3)
        ]
        assert keyboard.result["reply_to_message"]["message_id"] == album.result[0]["message_id"]
        assert (await bot.app.service.quota(user_ref(ALICE))).used_today == 3
        tg.press_button(keyboard.result, rows[1][0]["callback_data"])  # 🔁 2
        await tg.wait_for("sendPhoto")
        tg.send_text("/imagine a fox --n 3")  # 3 more do not fit in the 2 left: all or nothing
        _, refusal = await tg.wait_for("sendMessage", count=2)
    assert len(workers.calls) == 4
    assert refusal.params["text"].startswith("You have 1 of your 5 images left today, fewer than the 3")
    seeds = [call.seed for call in workers.calls[:3]]
    assert len(set(seeds)) == 3


async def test_help_lists_models_with_their_cost_and_quota_shows_a_models_cap(
    make_settings: SettingsFactory, tg: FakeTelegramBotAPI, workers: FakeWorkersAI
) -> None:
    async with running(make_settings(FLUX_MODELS=MODELS, MODEL_DAILY_LIMITS="dev=5"), tg, workers):
        tg.send_text("/help")
        (help_reply,) = await tg.wait_for("sendMessage")
        tg.send_text("/quota")
        _, quota_reply = await tg.wait_for("sendMessage", count=2)
    text = help_reply.params["text"]
    assert "klein: about 104 neurons per 1024² image, about 96 images a day per account" in text
    assert "dev: about 3,700 neurons per 1024² image, about 2 images a day per account" in text
    assert "dev: at most 5 images a day for the whole bot" in text and "--n 2 to 4" in text
    assert "dev: 5 of 5 images left today for the whole bot." in quota_reply.params["text"]


@pytest.mark.parametrize("count", ["5"])
async def test_n_over_the_cap_is_refused_before_any_call(
    make_settings: SettingsFactory, tg: FakeTelegramBotAPI, workers: FakeWorkersAI, count: str
) -> None:
    async with running(make_settings(), tg, workers):
        tg.send_text(f"/imagine a fox --n {count}")
        (refusal,) = await tg.wait_for("sendMessage")
    assert refusal.params["text"] == "At most 4 images per request; you asked for 5."
    assert workers.calls == []


# ---- findings 13 and 15 ---------------------------------------------------------------------------


async def test_anonymous_admins_of_two_groups_are_two_requesters_and_an_admin_may_use_the_buttons(
    make_settings: SettingsFactory, tg: FakeTelegramBotAPI, workers: FakeWorkersAI
) -> None:
    group_a = TgChat.group("Group A", chat_id=-1001000000001)
    group_b = TgChat.group("Group B", chat_id=-1001000000002)
    tg.chat_owners[group_a.id] = {ALICE.id}
    async with running(make_settings(RATE_LIMIT_PER_DAY="1"), tg, workers) as bot:
        tg.send_as_chat("/imagine a lighthouse", group_a)
        (photo_a,) = await tg.wait_for("sendPhoto")
        tg.send_as_chat("/imagine a harbour", group_b)  # group B's first image of the day
        await tg.wait_for("sendPhoto", count=2)
        assert (await bot.app.service.quota(UserRef("telegram", str(group_a.id)))).used_today == 1
        assert (await bot.app.service.quota(UserRef("telegram", str(group_b.id)))).used_today == 1

        tg.press_button(photo_a.result, button_of(photo_a, "v:"), user=BOB)  # not an admin of group A
        (refused,) = await tg.wait_for("answerCallbackQuery")
        tg.press_button(photo_a.result, button_of(photo_a, "v:"), user=ALICE)  # group A's owner
        (_, limit) = await tg.wait_for("answerCallbackQuery", count=2)
    assert refused.params["show_alert"] is True and "variieren" in refused.params["text"]
    # Alice acts for group A, so group A's limit applies (its one image is used): proof she was let in as its owner
    assert limit.params["text"].startswith("You've used all 1 images for today")
    assert len(workers.calls) == 2


async def test_accounts_is_not_answered_in_a_group_even_for_an_admin(
    make_settings: SettingsFactory, tg: FakeTelegramBotAPI, workers: FakeWorkersAI
) -> None:
    group = TgChat.group()
    async with running(make_settings(ADMIN_IDS=f"telegram:{ALICE.id}"), tg, workers):
        tg.send_text("/accounts", chat=group)
        (in_group,) = await tg.wait_for("sendMessage")
        tg.send_text("/accounts")
        _, in_private = await tg.wait_for("sendMessage", count=2)
    assert in_group.params["text"] == "In groups /accounts is not answered: send it to me in a private chat."
    assert in_private.params["text"].startswith("Accounts (today, UTC):")


async def test_the_original_button_only_sends_the_job_of_the_pressed_message(bot: Any) -> None:
    group = TgChat.group()
    bot.tg.send_text("/imagine alice's secret", chat=group)
    (alice_photo,) = await bot.tg.wait_for("sendPhoto")
    bot.tg.send_text("/imagine bob's picture", user=BOB, chat=group)
    _, bob_photo = await bot.tg.wait_for("sendPhoto", count=2)
    bot.tg.forge_button(bob_photo.result, button_of(alice_photo, "o:"), user=BOB)
    (answer,) = await bot.tg.wait_for("answerCallbackQuery")
    assert answer.params["text"] == "Dieses Bild kann nicht mehr neu erzeugt werden."
    assert bot.tg.calls_of("sendDocument") == []
