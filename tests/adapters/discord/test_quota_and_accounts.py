"""/quota for everyone, /accounts for bot admins only; both answer privately."""

from __future__ import annotations

from tests.adapters.discord.conftest import ADMIN_ID, Bot, BotFactory
from tests.fakes.discord_api import FakeDiscord, RecordedResponse
from tests.fakes.workers_ai import SPENT


async def private_answer(dc: FakeDiscord, command: str, user_id: str | None = None) -> RecordedResponse:
    user = dc.make_user(user_id) if user_id else None
    answer = await dc.wait_for_response(await dc.slash_command(command, user=user))
    assert answer.callback_type == 4 and answer.ephemeral
    return answer


async def test_quota_counts_todays_images(bot: Bot, dc: FakeDiscord) -> None:
    before = await private_answer(dc, "quota")
    await bot.image(await bot.imagine("a cat"))
    after = await private_answer(dc, "quota")
    assert before.content is not None and before.content.startswith(
        "Today you have used 0 of 20 images; 20 left."
    )
    assert after.content is not None and after.content.startswith(
        "Today you have used 1 of 20 images; 19 left."
    )
    assert "Resets at 00:00 UTC" in after.content


async def test_quota_without_a_daily_limit(start_bot: BotFactory, dc: FakeDiscord) -> None:
    async with start_bot(RATE_LIMIT_PER_DAY="0"):
        answer = await private_answer(dc, "quota")
    assert answer.content == "Today you have used 0 images; there is no daily limit."


async def test_quota_for_an_admin(bot: Bot, dc: FakeDiscord) -> None:
    assert (await private_answer(dc, "quota", ADMIN_ID)).content == "You have no limits (admin)."


async def test_accounts_is_refused_for_a_non_admin(bot: Bot, dc: FakeDiscord) -> None:
    answer = await private_answer(dc, "accounts")
    assert answer.content == "Only admins can use this command."


async def test_accounts_lists_each_account_for_an_admin(bot: Bot, dc: FakeDiscord) -> None:
    bot.workers.script("acc1", SPENT)
    await bot.private_note(await bot.imagine("a cat"))  # the only account is spent for today
    answer = await private_answer(dc, "accounts", ADMIN_ID)
    assert answer.content is not None
    header, row = answer.content.splitlines()
    assert header == "Accounts (today, UTC):"
    assert row.startswith("#1 …acc1: daily allowance used up until 00:00 UTC — 0 images, ")
