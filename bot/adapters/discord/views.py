"""The 🔁 re-roll button. Its custom_id carries the job id, so it keeps working after a restart."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import discord

from bot.i18n import translate

REROLL_PREFIX = "imagine:reroll:"
#: job ids are URL-safe base64 (``secrets.token_urlsafe``); custom_ids may be up to 100 characters
REROLL_TEMPLATE = r"imagine:reroll:(?P<job_id>[A-Za-z0-9_-]{1,80})"

RerollHandler = Callable[[discord.Interaction[Any], str], Awaitable[None]]


class RerollButton(discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=REROLL_TEMPLATE):
    """Rebuilt by discord.py from any message's button whose custom_id matches, not kept in memory per message."""

    def __init__(self, job_id: str, label: str = "🔁") -> None:
        super().__init__(
            discord.ui.Button(
                label=label, style=discord.ButtonStyle.secondary, custom_id=REROLL_PREFIX + job_id
            )
        )
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> RerollButton:
        return cls(match["job_id"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        handler: RerollHandler | None = getattr(interaction.client, "reroll_handler", None)
        if handler is None:  # only ImagineClient registers this item; anything else is a wiring mistake
            raise RuntimeError("the client has no reroll_handler")
        await handler(interaction, self.job_id)


def result_view(job_id: str, locale: str) -> discord.ui.View:
    """A view holding the re-roll button, already stopped.

    A stopped view is sent but not stored by discord.py: the button is routed by ``RerollButton``'s template
    instead, so memory does not grow with every image and a stored copy cannot answer the click a second time.
    """
    view = discord.ui.View(timeout=None)
    view.add_item(RerollButton(job_id, translate("button.reroll", locale)))
    view.stop()
    return view
