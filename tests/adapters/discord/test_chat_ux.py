"""Round two of the chat UX on Discord: ❌ on the deferred reply, 🎨 vary, the model option, n images in one message."""

from __future__ import annotations

from bot.core.models import UserRef
from bot.providers.catalogue import FLUX2_DEV, FLUX2_KLEIN_4B, FLUX2_KLEIN_9B
from tests.adapters.discord.conftest import BotFactory, image_size
from tests.fakes.discord_api import FakeDiscord, RecordedResponse
from tests.fakes.workers_ai import FakeWorkersAI

MODELS = f"klein={FLUX2_KLEIN_4B},klein9={FLUX2_KLEIN_9B},dev={FLUX2_DEV}"


def custom_ids(response: RecordedResponse) -> list[str]:
    """Every button custom_id on the message a response created or edited."""
    message = response.message or response.payload
    return [button["custom_id"] for row in message.get("components") or [] for button in row["components"]]


async def test_cancel_on_the_thinking_reply_while_running_no_image_follows_and_nothing_is_counted(
    start_bot: BotFactory, dc: FakeDiscord
) -> None:
    async with start_bot(gate="slow", DISCORD_CANCEL_AFTER_SECONDS="0", RATE_LIMIT_PER_DAY="5") as bot:
        assert bot.gate is not None
        alice = dc.make_user(username="alice")
        interaction = await bot.imagine("a slow lighthouse", user=alice)
        await bot.gate.held()
        status = await dc.wait_for_response(interaction, "edit")
        assert status.payload["content"] == "Painting your image…"
        (cancel,) = custom_ids(status)
        assert cancel.startswith("imagine:cancel:")

        stranger = await dc.press_button(status, cancel, user=dc.make_user(username="stranger"))
        refusal = await dc.wait_for_response(stranger)
        assert refusal.ephemeral and "cancel" in (refusal.content or "")

        press = await dc.press_button(status, cancel, user=alice)
        await dc.wait_for_response(press)
        cancelled = await dc.wait_for_response(interaction, "edit", index=1)
        assert cancelled.payload["content"] == "Cancelled. It did not count against your quota."
        assert cancelled.payload["components"] == []
        user = UserRef("discord", str(alice["id"]))
        assert (await bot.app.service.quota(user)).used_today == 0
        bot.gate.release()
        done = await bot.image(await bot.imagine("a quick lighthouse", user=alice))
    assert done.files
    assert all(not response.files for response in dc.responses_for(interaction))  # no image after the cancel


async def test_vary_sends_the_shown_image_as_input_image_0_with_the_same_prompt_after_a_restart(
    start_bot: BotFactory, dc: FakeDiscord, workers: FakeWorkersAI
) -> None:
    async with start_bot() as bot:
        original = await bot.image(await bot.imagine("a harbour at dawn", ratio="16:9"))
        reroll, vary = custom_ids(original)
        assert reroll.startswith("imagine:reroll:") and vary.startswith("imagine:vary:")
    async with start_bot() as bot:  # a restart: the image is fetched back from the message
        press = await dc.press_button(original, vary)
        varied = await bot.image(press, "followup")
    first, second = workers.calls
    assert second.reference_names == ["input_image_0"]
    assert second.reference_sizes[0] is not None
    assert second.fields["prompt"] == first.fields["prompt"] == "a harbour at dawn"
    assert second.seed != first.seed
    assert image_size(varied.files[0].data) == (first.width, first.height)


async def test_model_option_reaches_workers_ai_and_an_unknown_model_in_the_prompt_is_refused(
    start_bot: BotFactory, dc: FakeDiscord, workers: FakeWorkersAI
) -> None:
    async with start_bot(FLUX_MODELS=MODELS) as bot:
        names = [
            c["value"] for o in dc.global_commands[0]["options"] if o["name"] == "model" for c in o["choices"]
        ]
        assert names == ["klein", "klein9", "dev"]
        await bot.image(await bot.imagine("a fox", model="klein9"))
        refused = await dc.wait_for_response(await bot.imagine("a fox --model sdxl"))
    assert [call.model for call in workers.calls] == [FLUX2_KLEIN_9B]
    assert refused.ephemeral
    assert refused.content == "There is no model called 'sdxl'; choose one of: klein, klein9, dev."


async def test_n_three_is_one_message_with_three_files_and_numbered_buttons(
    start_bot: BotFactory, dc: FakeDiscord, workers: FakeWorkersAI
) -> None:
    async with start_bot(RATE_LIMIT_PER_DAY="5") as bot:
        alice = dc.make_user(username="alice")
        reply = await bot.image(await bot.imagine("a fox in the snow", n=3, user=alice))
        user = UserRef("discord", str(alice["id"]))
        assert (await bot.app.service.quota(user)).used_today == 3
    assert len(workers.calls) == 3 and len(reply.files) == 3
    assert len(reply.payload["embeds"]) == 3
    labels = [button["label"] for row in reply.payload["components"] for button in row["components"]]
    assert labels == ["🔁 1", "🎨 1", "🔁 2", "🎨 2", "🔁 3", "🎨 3"]
