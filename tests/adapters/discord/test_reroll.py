"""🔁 re-roll: a persistent button routed by its custom_id; the requester or an admin only; survives a restart."""

from __future__ import annotations

from tests.adapters.discord.conftest import ADMIN_ID, Bot, BotFactory, image_size, png, reroll_id
from tests.fakes.discord_api import FakeDiscord, RecordedResponse
from tests.fakes.discord_gateway import FakeInteraction
from tests.fakes.workers_ai import FakeWorkersAI


async def first_image(bot: Bot, prompt: str = "a red fox in snow", **options: object) -> RecordedResponse:
    return await bot.image(await bot.imagine(prompt, **options))


async def rerolled(bot: Bot, press: FakeInteraction) -> RecordedResponse:
    """The public follow-up that carries the re-rolled image."""
    return await bot.image(press, "followup")


async def test_requester_rerolls_with_a_new_seed_and_the_same_prompt_and_size(
    bot: Bot, dc: FakeDiscord, workers: FakeWorkersAI
) -> None:
    reference = dc.add_attachment(png(64, 64), "ref.png")
    original = await first_image(bot, "a red fox in snow", ratio="3:2", image1=reference)

    press = await dc.press_button(original, reroll_id(original))
    thinking = await dc.wait_for_response(press)
    assert thinking.callback_type == 5 and thinking.ephemeral  # only the presser sees "thinking"
    reply = await rerolled(bot, press)

    first, second = workers.calls
    assert second.seed != first.seed
    assert second.fields["prompt"] == first.fields["prompt"] == "a red fox in snow"
    assert (second.width, second.height) == (first.width, first.height)
    assert second.reference_sizes == first.reference_sizes == [(64, 64)]
    assert dc.downloads[reference["id"]] == 1  # the reference came from the database, not Discord again
    assert not reply.ephemeral
    assert image_size(reply.files[0].data) == (second.width, second.height)
    assert {f["name"]: f["value"] for f in reply.payload["embeds"][0]["fields"]}["Seed"] == str(second.seed)
    assert reroll_id(reply) not in (reroll_id(original), "")  # the new image can be re-rolled in turn
    assert [r.kind for r in dc.responses_for(press)] == ["callback", "delete", "followup"]


async def test_another_user_is_refused_privately_and_nothing_is_generated(
    bot: Bot, dc: FakeDiscord, workers: FakeWorkersAI
) -> None:
    original = await first_image(bot)
    stranger = dc.make_user(username="stranger")

    press = await dc.press_button(original, reroll_id(original), user=stranger)
    refusal = await dc.wait_for_response(press, "edit")
    assert refusal.content == "Only the person who asked for this image (or an admin) can re-roll it."
    assert dc.responses_for(press)[0].ephemeral  # the deferred message being edited is private
    assert len(workers.calls) == 1
    assert [r.kind for r in dc.responses_for(press)] == ["callback", "edit"]


async def test_an_admin_may_reroll_anyones_image(bot: Bot, dc: FakeDiscord, workers: FakeWorkersAI) -> None:
    original = await first_image(bot)
    admin = dc.make_user(ADMIN_ID, "admin")
    press = await dc.press_button(original, reroll_id(original), user=admin)
    await rerolled(bot, press)
    assert len(workers.calls) == 2


async def test_reroll_works_after_a_restart_over_the_same_database(
    start_bot: BotFactory, dc: FakeDiscord, workers: FakeWorkersAI
) -> None:
    async with start_bot() as before:
        original = await first_image(before, "a blue heron", seed=5)
    assert before.adapter.client is not None and before.adapter.client.is_closed()

    async with start_bot() as after:
        assert after.adapter is not before.adapter
        press = await dc.press_button(original, reroll_id(original))
        await rerolled(after, press)
    first, second = workers.calls
    assert first.seed == 5 and second.seed != 5
    assert second.fields["prompt"] == "a blue heron"


async def test_an_unknown_job_says_it_is_no_longer_available(bot: Bot, dc: FakeDiscord) -> None:
    original = await first_image(bot)
    message = dict(original.message or {})
    message["components"] = [
        {
            "type": 1,
            "components": [{"type": 2, "style": 2, "label": "🔁", "custom_id": "imagine:reroll:gone123"}],
        }
    ]
    press = await dc.press_button(message, "imagine:reroll:gone123")
    answer = await dc.wait_for_response(press, "edit")
    assert answer.content == "That image is no longer available for re-rolling."
