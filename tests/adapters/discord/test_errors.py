"""Errors are private sentences from the shared catalogue, and a deferred interaction always ends in a message."""

from __future__ import annotations

import logging

import pytest

from bot import i18n
from tests.adapters.discord.conftest import CF_TOKEN, Bot, BotFactory, png
from tests.fakes.discord_api import FakeDiscord, RecordedResponse
from tests.fakes.discord_gateway import FakeInteraction
from tests.fakes.workers_ai import CONTENT_FILTER, UNAUTHORIZED, FakeWorkersAI


async def immediate_refusal(dc: FakeDiscord, interaction: FakeInteraction) -> RecordedResponse:
    """A refusal sent instead of deferring: a private message, nothing public first."""
    answer = await dc.wait_for_response(interaction)
    assert answer.callback_type == 4 and answer.ephemeral
    return answer


async def late_refusal(bot: Bot, interaction: FakeInteraction) -> RecordedResponse:
    """A refusal after deferring: the public "thinking" message is deleted, the sentence follows privately."""
    note = await bot.private_note(interaction)
    assert [r.kind for r in bot.dc.responses_for(interaction)] == ["callback", "delete", "followup"]
    assert not note.files
    return note


async def test_a_non_image_attachment_is_refused_without_downloading_it(
    bot: Bot, dc: FakeDiscord, workers: FakeWorkersAI
) -> None:
    document = dc.add_attachment(b"%PDF-1.4 a document", "notes.pdf", "application/pdf")
    interaction = await bot.imagine("a cat", image1=document)
    answer = await immediate_refusal(dc, interaction)
    assert answer.content == "That file is not an image. Send photos or image files (JPEG, PNG, WebP)."
    assert sum(dc.downloads.values()) == 0
    assert workers.calls == []


async def test_an_image_too_large_by_its_metadata_is_refused_without_downloading_it(
    bot: Bot, dc: FakeDiscord, workers: FakeWorkersAI
) -> None:
    huge = dc.add_attachment(png(32, 32), "huge.png")
    huge["size"] = 30 * 1024 * 1024
    interaction = await bot.imagine("a cat", image1=huge)
    answer = await immediate_refusal(dc, interaction)
    assert answer.content == "That image is too large (30.0 MB). The limit is 10 MB."
    assert sum(dc.downloads.values()) == 0 and workers.calls == []


async def test_the_download_is_capped_even_when_the_metadata_understates_the_size(
    start_bot: BotFactory, dc: FakeDiscord, workers: FakeWorkersAI
) -> None:
    async with start_bot(MAX_REFERENCE_MB="0.01") as bot:  # 10 KiB
        sneaky = dc.add_attachment(b"\x89PNG" + b"\0" * 200_000, "sneaky.png")
        sneaky["size"] = 1000
        note = await late_refusal(bot, await bot.imagine("a cat", image1=sneaky))
    assert note.content == "That image is too large (0.2 MB). The limit is 0.01 MB."
    assert workers.calls == []


async def test_an_invalid_ratio_in_the_prompt_is_refused_before_deferring(
    bot: Bot, dc: FakeDiscord, workers: FakeWorkersAI
) -> None:
    answer = await immediate_refusal(dc, await bot.imagine("a very wide cat --ar 10:1"))
    assert answer.content == "The aspect ratio 10:1 is outside the supported range 1:4 to 4:1."
    assert workers.calls == []


async def test_reaching_the_daily_limit_says_when_it_resets(
    start_bot: BotFactory, workers: FakeWorkersAI
) -> None:
    async with start_bot(RATE_LIMIT_PER_DAY="1") as bot:
        await bot.image(await bot.imagine("first"))
        note = await late_refusal(bot, await bot.imagine("second"))
    assert note.content is not None
    assert note.content.startswith("You've used all 1 images for today. Your quota resets at 00:00 UTC (")
    assert len(workers.calls) == 1


async def test_a_content_filter_refusal_is_a_private_sentence(bot: Bot, workers: FakeWorkersAI) -> None:
    workers.script("acc1", CONTENT_FILTER)
    note = await late_refusal(bot, await bot.imagine("something the filter dislikes"))
    assert note.content is not None and note.content.startswith("The image service's safety filter refused")


async def test_no_usable_account_is_reported(bot: Bot, workers: FakeWorkersAI) -> None:
    workers.default("acc1", UNAUTHORIZED)
    note = await late_refusal(bot, await bot.imagine("a cat"))
    assert note.content == (
        "The bot cannot reach the image service right now: its accounts need attention from the operator."
    )


async def test_a_failure_after_deferring_still_ends_with_a_message(
    bot: Bot, dc: FakeDiscord, workers: FakeWorkersAI, caplog: pytest.LogCaptureFixture
) -> None:
    dc.fail_next(
        "PATCH", "/webhooks/*/messages/@original", 413, {"message": "Request entity too large", "code": 40005}
    )
    with caplog.at_level(logging.ERROR, logger="bot.adapters.discord"):
        note = await late_refusal(bot, await bot.imagine("a cat"))
    assert note.content == "Something went wrong while making your image. Please try again."
    assert len(workers.calls) == 1
    assert "failed after deferring" in caplog.text


async def test_secrets_never_reach_replies_or_logs(
    bot: Bot, dc: FakeDiscord, workers: FakeWorkersAI, caplog: pytest.LogCaptureFixture
) -> None:
    workers.default("acc1", UNAUTHORIZED)
    with caplog.at_level(logging.DEBUG):
        await bot.private_note(await bot.imagine("a cat"))
        await dc.wait_for_response(
            await dc.slash_command("accounts", user=dc.make_user("200000000000000099"))
        )
    said = " ".join(str(r.payload) for r in dc.responses)
    for secret in (CF_TOKEN, dc.token):
        assert secret not in said
        assert secret not in caplog.text


async def test_errors_follow_the_users_discord_locale(
    bot: Bot, dc: FakeDiscord, workers: FakeWorkersAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stand-in catalogue, so the test does not depend on any real translation's wording.
    monkeypatch.setitem(
        i18n.CATALOGUES,
        "fr",
        {"reference.not_image": "FR: pas une image", "error.content_filtered": "FR: filtre"},
    )
    document = dc.add_attachment(b"%PDF-1.4", "notes.pdf", "application/pdf")
    refused = await immediate_refusal(dc, await bot.imagine("un chat", image1=document, locale="fr"))
    assert refused.content == "FR: pas une image"

    workers.script("acc1", CONTENT_FILTER)
    note = await late_refusal(bot, await bot.imagine("un chat", locale="fr"))
    assert note.content == "FR: filtre"


async def test_stopping_with_a_generation_in_flight_still_answers_it(
    start_bot: BotFactory, dc: FakeDiscord, workers: FakeWorkersAI
) -> None:
    async with start_bot(gate="held", grace=0.1) as bot:
        assert bot.gate is not None
        interaction = await bot.imagine("a held picture")
        await bot.gate.held()
        await bot.adapter.stop()
        note = await late_refusal(bot, interaction)
    assert note.content.startswith("The bot is restarting and could not finish your image.")
    assert workers.calls == []


async def test_a_user_outside_the_allow_list_is_refused_before_deferring(
    start_bot: BotFactory, dc: FakeDiscord, workers: FakeWorkersAI
) -> None:
    async with start_bot(ALLOWED_IDS="discord:200000000000000777") as bot:
        answer = await immediate_refusal(dc, await bot.imagine("a cat"))
        allowed = await bot.image(await bot.imagine("a cat", user=dc.make_user("200000000000000777")))
    assert answer.content == "Sorry, this bot is not open to you here. Ask the bot's operator to add you."
    assert allowed.files and len(workers.calls) == 1
