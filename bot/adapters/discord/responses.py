"""How one deferred interaction ends: progress edits, then the image or an ephemeral error.

Discord makes the first follow-up after a defer *replace* the "thinking" message and keep its visibility, so an
error can't simply be sent ephemerally after a public defer. Two shapes solve that:

* ``PublicThinking`` (``/imagine``, the modal): everyone sees "thinking" and then the image in its place. Cheap
  problems are refused before deferring; a late error deletes the "thinking" message and then sends the sentence
  as an ephemeral follow-up (with nothing loading any more, a follow-up is a new message with its own flags).
* ``PrivateThinking`` (🔁 re-roll): only the presser sees "thinking", so refusing someone else's click never shows
  in the channel; the error is an edit of that private message, the new image a public follow-up sent after the
  private message is deleted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any, Protocol

import discord

from bot.adapters.discord.replies import result_embed, result_file
from bot.adapters.discord.views import cancel_view, result_view
from bot.core.models import GenerationResult, Progress, ProgressStage
from bot.i18n.texts import progress_text

log = logging.getLogger(__name__)

#: a running image gets its status line and ❌ after this long (waiting in line: at once)
CANCEL_AFTER_SECONDS = 4.5


class DeferredInteraction(Protocol):
    """What a response uses of a deferred interaction: a ``discord.Interaction``, or ``resume.InteractionWebhook``
    (the same interaction rebuilt from its token by another replica)."""

    @property
    def id(self) -> int: ...

    @property
    def followup(self) -> discord.Webhook: ...

    async def edit_original_response(
        self,
        *,
        content: str | None = ...,
        embeds: Sequence[discord.Embed] = ...,
        attachments: Sequence[discord.Attachment | discord.File] = ...,
        view: discord.ui.View | None = ...,
    ) -> object: ...

    async def delete_original_response(self) -> None: ...


class ThinkingResponse:
    """A deferred interaction: shows progress (with a ❌ to cancel) by editing the "thinking" message."""

    def __init__(
        self,
        interaction: DeferredInteraction,
        locale: str,
        request_id: str = "",
        refused_key: str = "reroll.refused",
        cancel_after: float = CANCEL_AFTER_SECONDS,
    ) -> None:
        self.interaction = interaction
        self.locale = locale
        self.request_id = request_id
        #: what a button press by someone else is told (🔁 and 🎨 differ)
        self.refused_key = refused_key
        self._cancel_after = cancel_after
        self._shown: str | None = None
        self._late: asyncio.Task[None] | None = None

    async def progress(self, event: Progress) -> None:
        """Edit the status line when it changes (with the ❌ from the first edit on).

        The first "generating" adds nothing to "thinking…": a quick image costs no edit; one that is still being
        made after ``cancel_after`` seconds gets the line and its ❌ then.
        """
        text = progress_text(event, self.locale)
        if event.stage is ProgressStage.GENERATING and self._shown is None:
            if self._late is None and self.request_id:
                self._late = asyncio.create_task(self._show_late(text), name="discord-late-status")
            return
        await self._show(text)

    async def _show_late(self, text: str) -> None:
        await asyncio.sleep(self._cancel_after)
        with contextlib.suppress(discord.HTTPException):
            await self._show(text)

    async def _show(self, text: str) -> None:
        if text == self._shown:
            return
        first, self._shown = self._shown is None, text
        if first and self.request_id:
            await self.interaction.edit_original_response(
                content=text, view=cancel_view(self.request_id, self.locale)
            )
        else:
            await self.interaction.edit_original_response(content=text)

    async def settle(self) -> None:
        """Stop the late-status timer (an edit it already started is let finish) before the final edit."""
        late, self._late = self._late, None
        if late is not None and not late.done():
            late.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await late

    async def deliver(self, results: Sequence[GenerationResult]) -> None:
        """Show the images with their embeds and buttons, in one message."""
        raise NotImplementedError

    async def fail(self, text: str) -> None:
        """End with ``text`` shown only to the user."""
        raise NotImplementedError

    async def cancelled(self, text: str) -> None:
        """The ❌ was pressed: the "thinking" message says so, without its button."""
        try:
            await self.interaction.edit_original_response(content=text, view=None)
        except discord.HTTPException:
            await self._ephemeral_followup(text)

    def _result_message(self, results: Sequence[GenerationResult]) -> dict[str, Any]:
        return {
            "embeds": [result_embed(result, self.locale) for result in results],
            "view": result_view([result.job_id for result in results], self.locale),
        }

    async def _delete_thinking(self) -> None:
        # Already gone (deleted by hand, token expired): the follow-up still has to go out.
        with contextlib.suppress(discord.HTTPException):
            await self.interaction.delete_original_response()

    async def _ephemeral_followup(self, text: str) -> None:
        try:
            await self.interaction.followup.send(text, ephemeral=True)
        except discord.HTTPException:
            log.warning("could not tell the user about a failed interaction %s", self.interaction.id)


class PublicThinking(ThinkingResponse):
    """``defer(thinking=True)``: the images replace the public "thinking" message."""

    async def deliver(self, results: Sequence[GenerationResult]) -> None:
        await self.interaction.edit_original_response(
            content=None,
            attachments=[result_file(result) for result in results],
            **self._result_message(results),
        )

    async def fail(self, text: str) -> None:
        await self._delete_thinking()
        await self._ephemeral_followup(text)


class PrivateThinking(ThinkingResponse):
    """``defer(thinking=True, ephemeral=True)``: progress and errors stay private, the image goes public."""

    async def deliver(self, results: Sequence[GenerationResult]) -> None:
        await self._delete_thinking()
        await self.interaction.followup.send(
            files=[result_file(result) for result in results], **self._result_message(results)
        )

    async def fail(self, text: str) -> None:
        try:
            await self.interaction.edit_original_response(content=text, view=None)
        except discord.HTTPException:
            await self._ephemeral_followup(text)
