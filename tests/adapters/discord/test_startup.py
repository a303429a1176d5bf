"""Start-up: which commands are registered where, which intents are asked for, and a bad token."""

from __future__ import annotations

import asyncio
import warnings
from pathlib import Path

import pytest

from bot.adapters.discord import DiscordAdapter
from bot.app import open_app
from bot.settings import load_settings
from tests.adapters.discord.conftest import Bot, BotFactory
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.workers_ai import FakeWorkersAI

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
    import discord

GUILDS = ("900000000000000001", "900000000000000002")
STRING, INTEGER, BOOLEAN, ATTACHMENT = 3, 4, 5, 11
PRIVILEGED_INTENTS = (1 << 1) | (1 << 8) | (1 << 15)  # members, presences, message content


def by_name(commands: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    return {str(c["name"]): c for c in commands}


async def test_commands_are_registered_globally_with_their_options(bot: Bot, dc: FakeDiscord) -> None:
    commands = by_name(dc.global_commands)
    assert set(commands) == {"imagine", "quota", "accounts", "Imagine from this image"}
    assert dc.guild_commands == {}
    assert commands["Imagine from this image"]["type"] == 3
    options = {o["name"]: o for o in commands["imagine"]["options"]}  # type: ignore[attr-defined]
    assert [(name, o["type"], o.get("required", False)) for name, o in options.items()] == [
        ("prompt", STRING, True),
        ("ratio", STRING, False),
        ("image1", ATTACHMENT, False),
        ("image2", ATTACHMENT, False),
        ("image3", ATTACHMENT, False),
        ("image4", ATTACHMENT, False),
        ("seed", INTEGER, False),
        ("raw", BOOLEAN, False),
        ("model", STRING, False),
        ("n", INTEGER, False),
    ]
    assert [choice["value"] for choice in options["model"]["choices"]] == ["flux-2-klein-4b"]
    assert (options["n"]["min_value"], options["n"]["max_value"]) == (1, 10)
    ratios = [choice["value"] for choice in options["ratio"]["choices"]]
    assert {"1:1", "1:2", "3:2", "3:4", "16:9", "9:16"} <= set(ratios)
    assert {"2:3", "4:3", "21:9"} <= set(ratios)
    assert (options["seed"]["min_value"], options["seed"]["max_value"]) == (0, 2**32 - 1)


async def test_guild_ids_register_the_commands_in_each_guild_and_not_globally(
    start_bot: BotFactory, dc: FakeDiscord
) -> None:
    async with start_bot(DISCORD_GUILD_IDS=",".join(GUILDS)) as running:
        assert set(dc.guild_commands) == set(GUILDS)
        for guild in GUILDS:
            commands = by_name(dc.guild_commands[guild])
            assert set(commands) == {"imagine", "quota", "accounts", "Imagine from this image"}
            assert all(c["guild_id"] == guild for c in commands.values())
        assert dc.global_commands == []
        # A guild command reaches the handler: /quota answers in the guild.
        interaction = await dc.slash_command("quota", guild_id=GUILDS[0])
        answer = await dc.wait_for_response(interaction)
        assert answer.ephemeral and "Today you have used 0 of 20 images" in (answer.content or "")
        assert running.adapter.client is not None


async def test_only_unprivileged_intents_are_requested(bot: Bot, dc: FakeDiscord) -> None:
    identify = dc.gateway.active.identify
    assert identify is not None
    assert identify["intents"] & PRIVILEGED_INTENTS == 0
    assert identify["intents"] == discord.Intents(guilds=True).value


async def test_start_returns_once_ready_and_stop_closes_everything(
    dc: FakeDiscord, workers: FakeWorkersAI, tmp_path: Path
) -> None:
    settings = load_settings(
        None,
        {
            "CF_API_TOKEN_1": "t1",
            "ACCOUNT_1": "acc1",
            "CF_API_BASE_URL": workers.base_url,
            "DATABASE_PATH": str(tmp_path / "db.sqlite3"),
            "DISCORD_BOT_TOKEN": dc.token,
        },
    )
    async with open_app(settings) as app:
        adapter = DiscordAdapter(settings, app.service, guild_ready_timeout=0.05)
        await adapter.start()
        client = adapter.client
        assert client is not None and client.is_ready()
        assert client.user is not None and str(client.user.id) == dc.app_id
        await adapter.stop()
        assert client.is_closed()
        assert dc.gateway.connections[0].ws.closed
        assert [t for t in asyncio.all_tasks() if t.get_name() == "discord-gateway"] == []


async def test_a_wrong_token_fails_start_without_leaking_it(
    dc: FakeDiscord, workers: FakeWorkersAI, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "wrong-discord-token-SECRET"
    settings = load_settings(
        None,
        {
            "CF_API_TOKEN_1": "t1",
            "ACCOUNT_1": "acc1",
            "CF_API_BASE_URL": workers.base_url,
            "DATABASE_PATH": str(tmp_path / "db.sqlite3"),
            "DISCORD_BOT_TOKEN": secret,
        },
    )
    async with open_app(settings) as app:
        adapter = DiscordAdapter(settings, app.service, guild_ready_timeout=0.05)
        with pytest.raises(discord.LoginFailure) as failure:
            await adapter.start()
        assert secret not in str(failure.value)
        assert adapter.client is not None and adapter.client.is_closed()
    assert secret not in caplog.text
