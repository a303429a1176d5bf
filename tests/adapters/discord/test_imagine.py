"""/imagine and the "Imagine from this image" menu, end to end: defer, generate, file + embed + button."""

from __future__ import annotations

from tests.adapters.discord.conftest import Bot, BotFactory, image_size, png, reroll_id
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.workers_ai import FakeWorkersAI

MENU = "Imagine from this image"


async def test_ratio_option_gives_a_16_9_file_with_embed_and_reroll_button(
    bot: Bot, dc: FakeDiscord, workers: FakeWorkersAI
) -> None:
    interaction = await bot.imagine("a lighthouse in a storm", ratio="16:9")

    deferred = await dc.wait_for_response(interaction)
    assert deferred.callback_type == 5 and not deferred.ephemeral  # everyone sees "thinking"
    reply = await bot.image(interaction)
    [call] = workers.calls
    assert call.width is not None and call.height is not None
    assert abs(call.width / call.height - 16 / 9) < 0.02
    [upload] = reply.files
    assert image_size(upload.data) == (call.width, call.height)
    assert upload.filename == f"imagine-{call.seed}.png"

    [embed] = reply.payload["embeds"]
    assert embed["description"] == "a lighthouse in a storm" == call.fields["prompt"]
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields == {
        "Size": f"{call.width}x{call.height}",
        "Seed": str(call.seed),
        "Model": "flux-2-klein-4b",
    }
    assert embed["footer"]["text"] == "Prompt used as written."
    assert embed["image"]["url"] == f"attachment://{upload.filename}"
    assert reroll_id(reply).startswith("imagine:reroll:")
    assert reply.payload["content"] is None  # the "thinking" text is gone
    assert [r.kind for r in dc.responses_for(interaction)] == ["callback", "edit"]  # no progress edit needed


async def test_ratio_and_flags_in_the_prompt_go_through_the_core_parser(
    bot: Bot, workers: FakeWorkersAI
) -> None:
    interaction = await bot.imagine("a tall tower --ar 9:16 --seed 42")
    reply = await bot.image(interaction)
    [call] = workers.calls
    assert call.seed == 42 and call.fields["prompt"] == "a tall tower"
    assert call.width is not None and call.height is not None
    assert abs(call.width / call.height - 9 / 16) < 0.02
    assert image_size(reply.files[0].data) == (call.width, call.height)


async def test_seed_and_ratio_options_win_over_the_text(bot: Bot, workers: FakeWorkersAI) -> None:
    await bot.image(await bot.imagine("a fox 9:16 --seed 1", ratio="1:1", seed=7, raw=True))
    [call] = workers.calls
    assert (call.seed, call.width, call.height) == (7, 1024, 1024)


async def test_two_attachments_make_one_generation_with_two_references(
    bot: Bot, dc: FakeDiscord, workers: FakeWorkersAI
) -> None:
    first = dc.add_attachment(png(640, 480, "red"), "a.png")
    second = dc.add_attachment(png(300, 300, "blue"), "b.png")
    interaction = await bot.imagine("the two of them on a beach", image1=first, image2=second)
    reply = await bot.image(interaction)
    [call] = workers.calls
    assert len(call.reference_sizes) == 2
    assert call.reference_sizes[0] == (512, 384)  # shrunk to fit 512², aspect kept
    assert call.reference_sizes[1] == (300, 300)
    assert dc.downloads == {first["id"]: 1, second["id"]: 1}
    fields = {f["name"]: f["value"] for f in reply.payload["embeds"][0]["fields"]}
    assert fields["References"] == "2"


async def test_context_menu_opens_a_modal_and_uses_the_message_images(
    bot: Bot, dc: FakeDiscord, workers: FakeWorkersAI
) -> None:
    images = [dc.add_attachment(png(200, 100), "one.png"), dc.add_attachment(png(100, 200), "two.jpg", None)]
    document = dc.add_attachment(b"%PDF-1.4 not an image", "notes.pdf", "application/pdf")
    target = dc.make_message("look at these", attachments=[images[0], document, images[1]])

    menu = await dc.message_command(MENU, target_message=target)
    modal = await dc.wait_for_response(menu)
    assert modal.callback_type == 9
    assert modal.body["title"] == "Imagine from this image"
    assert modal.body["components"][0]["components"][0]["custom_id"] == "prompt"
    assert workers.calls == [] and not dc.downloads

    submit = await dc.modal_submit(modal.body["custom_id"], {"prompt": "the same cat as a statue 3:2"})
    reply = await bot.image(submit)
    [call] = workers.calls
    assert call.reference_sizes == [(200, 100), (100, 200)]
    assert call.fields["prompt"] == "the same cat as a statue"
    assert call.width is not None and call.height is not None
    assert abs(call.width / call.height - 3 / 2) < 0.02
    assert dc.downloads == {images[0]["id"]: 1, images[1]["id"]: 1}  # the PDF was never fetched
    assert reply.files and reroll_id(reply).startswith("imagine:reroll:")


async def test_context_menu_on_a_message_without_images_refuses_privately(bot: Bot, dc: FakeDiscord) -> None:
    target = dc.make_message("just words", attachments=[dc.add_attachment(b"x", "a.txt", "text/plain")])
    menu = await dc.message_command(MENU, target_message=target)
    answer = await dc.wait_for_response(menu)
    assert answer.callback_type == 4 and answer.ephemeral
    assert answer.content == "That message has no images to use as references."
    assert not dc.downloads


async def test_a_slow_generation_does_not_block_another_user(start_bot: BotFactory, dc: FakeDiscord) -> None:
    async with start_bot(gate="slow") as bot:
        assert bot.gate is not None
        alice, bob = dc.make_user(username="alice"), dc.make_user(username="bob")
        slow = await bot.imagine("a slow painting", user=alice)
        await bot.gate.held()

        fast = await bot.imagine("a quick sketch", user=bob)
        fast_reply = await bot.image(fast)
        assert fast_reply.files
        assert dc.responses_for(slow, "edit") == []  # Alice's image is still being made
        assert bot.workers.calls[0].fields["prompt"] == "a quick sketch"

        bot.gate.release()
        slow_reply = await bot.image(slow)
        assert dc.responses.index(fast_reply) < dc.responses.index(slow_reply)


async def test_a_queued_job_shows_its_position_then_its_image(start_bot: BotFactory, dc: FakeDiscord) -> None:
    async with start_bot(gate="first") as bot:
        assert bot.gate is not None
        first = await bot.imagine("first picture")
        await bot.gate.held()
        second = await bot.imagine("second picture")  # same user: waits for the first (one job at a time)

        status = await dc.wait_for_response(second, "edit")
        assert status.content == "You're number 1 in line…" and not status.files
        bot.gate.release()
        await bot.image(first)
        second_reply = await bot.image(second)
        assert second_reply.payload["content"] is None and second_reply.files
        edits = [(r.content, bool(r.files)) for r in dc.responses_for(second, "edit")]
        assert edits == [("You're number 1 in line…", False), ("Painting your image…", False), (None, True)]


async def test_imagine_in_a_guild_channel(bot: Bot, dc: FakeDiscord, workers: FakeWorkersAI) -> None:
    interaction = await bot.imagine("a castle", guild_id=dc.add_guild())
    assert "member" in interaction.payload  # the user arrives as a guild Member, not a User
    reply = await bot.image(interaction)
    assert reply.files and not reply.ephemeral and len(workers.calls) == 1
