"""DISCORD_SHARD_COUNT / DISCORD_SHARD_IDS: each replica identifies as its own shards of the same bot."""

from __future__ import annotations

import pytest

from bot.errors import ConfigurationError
from bot.settings import load_settings
from tests.adapters.discord.conftest import BotFactory
from tests.fakes.discord_api import FakeDiscord


async def test_a_replica_runs_the_shard_it_is_given_and_leaves_the_commands_to_shard_0(
    start_bot: BotFactory, dc: FakeDiscord
) -> None:
    async with start_bot(DISCORD_SHARD_COUNT="2", DISCORD_SHARD_IDS="1"):
        identify = dc.gateway.active.identify
        assert identify is not None and identify["shard"] == [1, 2]
        assert dc.global_commands == []  # registering is shard 0's job
        interaction = await dc.slash_command("quota")
        answer = await dc.wait_for_response(interaction)
        assert "Today you have used 0 of 20 images" in (answer.content or "")


async def test_the_replica_running_shard_0_registers_the_commands(
    start_bot: BotFactory, dc: FakeDiscord
) -> None:
    async with start_bot(DISCORD_SHARD_COUNT="3", DISCORD_SHARD_IDS="0"):
        identify = dc.gateway.active.identify
        assert identify is not None and identify["shard"] == [0, 3]
        assert {command["name"] for command in dc.global_commands} >= {"imagine", "quota"}


@pytest.mark.parametrize(
    "environ", [{"DISCORD_SHARD_IDS": "0"}, {"DISCORD_SHARD_COUNT": "2", "DISCORD_SHARD_IDS": "2"}]
)
def test_shard_ids_need_a_count_above_them(environ: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(None, environ)
    assert caught.value.variable == "DISCORD_SHARD_IDS"
