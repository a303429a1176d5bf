"""The buttons: 🔁 re-roll and 🎨 vary under results, ❌ cancel on a "thinking" reply.

Each custom_id carries its job id (or request id), so the buttons are routed by template, keep working after a
restart, and nothing is kept in memory per message.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Self

import discord

from bot.i18n import translate

REROLL_PREFIX = "imagine:reroll:"
VARY_PREFIX = "imagine:vary:"
CANCEL_PREFIX = "imagine:cancel:"
#: job ids are URL-safe base64 (``secrets.token_urlsafe``), request ids hex; custom_ids may be up to 100 characters
_ID = r"(?P<key>[A-Za-z0-9_-]{1,80})"
REROLL_TEMPLATE = r"imagine:reroll:" + _ID
VARY_TEMPLATE = r"imagine:vary:" + _ID
CANCEL_TEMPLATE = r"imagine:cancel:" + _ID

ButtonHandler = Callable[[discord.Interaction[Any], str], Awaitable[None]]
Button = discord.ui.Button[discord.ui.View]


class _KeyedButton(discord.ui.DynamicItem[Button], template=r"(?!)"):  # never routed itself
    """A button whose custom_id is ``prefix + key``; a click calls the client's handler named ``handler``."""

    prefix = ""
    handler = ""

    def __init__(self, key: str, label: str = "") -> None:
        super().__init__(
            discord.ui.Button(label=label, style=discord.ButtonStyle.secondary, custom_id=self.prefix + key)
        )
        self.key = key

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> Self:
        return cls(match["key"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        handler: ButtonHandler | None = getattr(interaction.client, self.handler, None)
        if handler is None:  # only ImagineClient registers these items; anything else is a wiring mistake
            raise RuntimeError(f"the client has no {self.handler}")
        await handler(interaction, self.key)


class RerollButton(_KeyedButton, template=REROLL_TEMPLATE):
    """🔁: the job again with a new seed."""

    prefix, handler = REROLL_PREFIX, "reroll_handler"

    @property
    def job_id(self) -> str:
        return self.key


class VaryButton(_KeyedButton, template=VARY_TEMPLATE):
    """🎨: the job's image as the reference, a new seed."""

    prefix, handler = VARY_PREFIX, "vary_handler"


class CancelButton(_KeyedButton, template=CANCEL_TEMPLATE):
    """❌ on the "thinking" reply: cancel the request while it waits or works."""

    prefix, handler = CANCEL_PREFIX, "cancel_handler"


def _stopped(view: discord.ui.View) -> discord.ui.View:
    # A stopped view is sent but not stored by discord.py: buttons are routed by their templates instead, so
    # memory does not grow with every image and a stored copy cannot answer a click a second time.
    view.stop()
    return view


def result_view(job_ids: Sequence[str], locale: str) -> discord.ui.View:
    """🔁 and 🎨 under one image; numbered (🔁 1 🎨 1 …) under several."""
    view = discord.ui.View(timeout=None)
    if len(job_ids) == 1:
        view.add_item(RerollButton(job_ids[0], translate("button.reroll", locale)))
        view.add_item(VaryButton(job_ids[0], translate("button.vary", locale)))
        return _stopped(view)
    for number, job_id in enumerate(job_ids, start=1):
        view.add_item(RerollButton(job_id, f"🔁 {number}"))
        view.add_item(VaryButton(job_id, f"🎨 {number}"))
    return _stopped(view)


def cancel_view(request_id: str, locale: str) -> discord.ui.View:
    """❌ Cancel, for the "thinking" reply."""
    view = discord.ui.View(timeout=None)
    view.add_item(CancelButton(request_id, translate("button.cancel", locale)))
    return _stopped(view)
