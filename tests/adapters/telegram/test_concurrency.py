"""One user's slow generation never holds up another user's reply; the core's per-user caps still apply."""

from __future__ import annotations

from tests.adapters.telegram.conftest import RunningBot, eventually, release_sleeping_calls, texts_to
from tests.fakes.telegram_objects import ALICE, BOB
from tests.fakes.workers_ai import ok


async def test_a_slow_generation_for_alice_does_not_delay_bobs_image(bot: RunningBot) -> None:
    bot.workers.script("acc1", ok(delay=120))  # Alice's call hangs until released
    bot.tg.send_text("/imagine a slow cathedral", user=ALICE)
    await eventually(lambda: len(bot.workers.calls) == 1)
    bot.tg.send_text("/imagine a quick sketch", user=BOB)
    (bobs,) = await bot.tg.wait_for("sendPhoto")
    # Bob's photo went out while Alice's Workers AI call was still sleeping.
    assert bobs.params["chat_id"] == BOB.id
    assert bot.workers.images_served == 1
    assert [call.fields["prompt"] for call in bot.workers.calls] == ["a slow cathedral", "a quick sketch"]
    release_sleeping_calls(bot.workers)
    alices = (await bot.tg.wait_for("sendPhoto", count=2))[1]
    assert alices.params["chat_id"] == ALICE.id


async def test_a_users_second_request_waits_its_turn_and_is_told_its_position(bot: RunningBot) -> None:
    bot.workers.script("acc1", ok(delay=120))
    bot.tg.send_text("/imagine first")
    await eventually(lambda: len(bot.workers.calls) == 1)
    bot.tg.send_text("/imagine second")
    await bot.tg.wait_for("sendMessage", predicate=lambda call: "in line" in call.params["text"])
    # MAX_JOBS_PER_USER=1: the second request does not reach Workers AI while the first runs.
    assert len(bot.workers.calls) == 1
    release_sleeping_calls(bot.workers)
    first, second = await bot.tg.wait_for("sendPhoto", count=2)
    assert [call.fields["prompt"] for call in bot.workers.calls] == ["first", "second"]
    assert "first" in first.result["caption"] and "second" in second.result["caption"]
    assert "You're number 1 in line…" in texts_to(bot.tg, ALICE.id)
