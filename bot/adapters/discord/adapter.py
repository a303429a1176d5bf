"""The Discord connection: log in, sync the commands, connect in the caller's event loop, and close cleanly."""

from __future__ import annotations

import asyncio
import logging
from asyncio import FIRST_COMPLETED
from collections.abc import Sequence
from typing import Any

import discord
from discord import app_commands

from bot.adapters.discord.attachments import ReferenceDownloader
from bot.adapters.discord.commands import register_commands
from bot.adapters.discord.flow import ImagineFlow
from bot.adapters.discord.resume import DiscordResumer
from bot.adapters.discord.views import CancelButton, RerollButton, VaryButton
from bot.core.service import ImageService
from bot.errors import ConfigurationError
from bot.settings import Settings

log = logging.getLogger(__name__)

#: ``UserRef.platform`` of Discord users, and the name its resumer is registered under
PLATFORM = "discord"


def bot_intents() -> discord.Intents:
    """Only what slash commands need: guild events, no privileged intents (members, presences, message content)."""
    intents = discord.Intents.none()
    intents.guilds = True
    return intents


class ImagineClient(discord.Client):
    """A ``discord.Client`` with the command tree and the persistent re-roll button."""

    def __init__(self, flow: ImagineFlow, guild_ids: Sequence[str], **options: Any) -> None:
        super().__init__(
            intents=bot_intents(),
            member_cache_flags=discord.MemberCacheFlags.none(),
            chunk_guilds_at_startup=False,
            max_messages=None,
            **options,
        )
        self.flow = flow
        self.guild_ids = [int(guild_id) for guild_id in guild_ids]
        self.reroll_handler = flow.reroll
        self.vary_handler = flow.vary
        self.cancel_handler = flow.cancel
        self.tree: app_commands.CommandTree[ImagineClient] = app_commands.CommandTree(self)
        register_commands(self.tree, flow)

    #: False on a sharded replica that does not run shard 0 (that one registers the commands)
    sync_on_start = True

    async def setup_hook(self) -> None:
        self.add_dynamic_items(RerollButton, VaryButton, CancelButton)
        if self.sync_on_start:
            await sync_commands(self.tree, self.guild_ids)


class ShardedImagineClient(ImagineClient, discord.AutoShardedClient):
    """The same client over several gateway shards (``DISCORD_SHARD_COUNT``); this replica runs ``shard_ids``."""


async def sync_commands(tree: app_commands.CommandTree[Any], guild_ids: Sequence[int]) -> None:
    """Guild ids given: register in those guilds (instant) and nowhere else; otherwise register globally."""
    if not guild_ids:
        synced = await tree.sync()
        log.info("discord: %d commands registered globally", len(synced))
        return
    for guild_id in guild_ids:
        guild = discord.Object(id=guild_id)
        tree.copy_global_to(guild=guild)
        synced = await tree.sync(guild=guild)
        log.info("discord: %d commands registered in guild %s", len(synced), guild_id)
    # Global commands left from an earlier run without DISCORD_GUILD_IDS would show up twice in those guilds.
    tree.clear_commands(guild=None)
    await tree.sync()


class DiscordAdapter:
    """``imagine-bot run`` starts this when ``DISCORD_BOT_TOKEN`` is set."""

    name = "Discord"

    def __init__(
        self,
        settings: Settings,
        service: ImageService,
        *,
        guild_ready_timeout: float = 2.0,
        ready_timeout: float = 60.0,
        shutdown_grace_seconds: float = 5.0,
    ) -> None:
        if settings.discord_bot_token is None:
            raise ConfigurationError("DISCORD_BOT_TOKEN", "missing: the Discord adapter needs a bot token")
        self._token = settings.discord_bot_token
        self._guild_ids = list(settings.discord_guild_ids)
        self._shard_count = settings.discord_shard_count
        self._shard_ids = [int(shard) for shard in settings.discord_shard_ids] or None
        self._proxy = settings.effective_proxy
        self._downloader = ReferenceDownloader(service.config.max_reference_bytes, proxy=self._proxy)
        self.flow = ImagineFlow(service, self._downloader, cancel_after=settings.discord_cancel_after_seconds)
        self._service = service
        self._cancel_after = settings.discord_cancel_after_seconds
        self._guild_ready_timeout = guild_ready_timeout
        self._ready_timeout = ready_timeout
        self._grace = shutdown_grace_seconds
        self.client: ImagineClient | None = None
        self._connection: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Log in, sync the commands, and return once the gateway session is ready (in this event loop)."""
        await self._downloader.open()
        self.client = self._new_client()
        try:
            await self.client.login(self._token.get_secret_value())
            self._connection = asyncio.create_task(self.client.connect(), name="discord-gateway")
            await self._wait_ready(self.client, self._connection)
        except BaseException:
            await self.stop()
            raise
        requests = self._service.requests
        if requests is not None:  # take over Discord requests of replicas that died
            requests.register(
                PLATFORM, DiscordResumer(self._service, self.client, self.flow.start, self._cancel_after)
            )
        log.info("discord: connected as %s", self.client.user)

    def _new_client(self) -> ImagineClient:
        options: dict[str, Any] = {"proxy": self._proxy, "guild_ready_timeout": self._guild_ready_timeout}
        if self._shard_count is None:
            return ImagineClient(self.flow, self._guild_ids, **options)
        shards = self._shard_ids or list(range(self._shard_count))
        log.info("discord: shards %s of %d", shards, self._shard_count)
        client = ShardedImagineClient(
            self.flow, self._guild_ids, shard_count=self._shard_count, shard_ids=shards, **options
        )
        client.sync_on_start = 0 in shards  # the replica running shard 0 registers the commands for all
        return client

    async def stop(self) -> None:
        """Finish (or, after a grace period, cancel) work in flight, then close the gateway and HTTP sessions."""
        if self._service.requests is not None:
            self._service.requests.unregister(PLATFORM)
        await self.flow.shutdown(self._grace)
        if self.client is not None and not self.client.is_closed():
            await self.client.close()
        if self._connection is not None:
            await asyncio.wait([self._connection])
            if not self._connection.cancelled() and self._connection.exception() is not None:
                log.warning("discord: the gateway connection ended with %r", self._connection.exception())
            self._connection = None
        await self._downloader.close()

    async def _wait_ready(self, client: discord.Client, connection: asyncio.Task[None]) -> None:
        ready = asyncio.create_task(client.wait_until_ready())
        try:
            await asyncio.wait([ready, connection], timeout=self._ready_timeout, return_when=FIRST_COMPLETED)
        finally:
            ready.cancel()
        if connection.done():
            connection.result()  # raise why connect() ended (bad token, intents, network)
            raise ConnectionError("the Discord gateway connection ended before it was ready")
        if not client.is_ready():
            raise TimeoutError(f"Discord was not ready within {self._ready_timeout:.0f} s")
