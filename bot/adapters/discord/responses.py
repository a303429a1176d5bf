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

import contextlib
import logging
from typing import Any

import discord

from bot.adapters.discord.replies import result_embed, result_file
from bot.adapters.discord.views import result_view
from bot.core.models import GenerationResult, Progress, ProgressStage
from bot.i18n.texts import progress_text

log = logging.getLogger(__name__)


class ThinkingResponse:
    """A deferred interaction: shows progress by editing the "thinking" message."""

    def __init__(self, interaction: discord.Interaction[Any], locale: str) -> None:
        self.interaction = interaction
        self.locale = locale
        self._shown: str | None = None

    async def progress(self, event: Progress) -> None:
        """Edit the status line when it changes; the first "generating" adds nothing to "thinking…", so skip it."""
        if event.stage is ProgressStage.GENERATING and self._shown is None:
            return
        text = progress_text(event, self.locale)
        if text == self._shown:
            return
        self._shown = text
        await self.interaction.edit_original_response(content=text)

    async def deliver(self, result: GenerationResult) -> None:
        """Show the image with its embed and re-roll button."""
        raise NotImplementedError

    async def fail(self, text: str) -> None:
        """End with ``text`` shown only to the user."""
        raise NotImplementedError

    def _result_message(self, result: GenerationResult) -> dict[str, Any]:
        return {
            "embed": result_embed(result, self.locale),
            "view": result_view(result.job_id, self.locale),
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
    """``defer(thinking=True)``: the image replaces the public "thinking" message."""

    async def deliver(self, result: GenerationResult) -> None:
        await self.interaction.edit_original_response(
            content=None, attachments=[result_file(result)], **self._result_message(result)
        )

    async def fail(self, text: str) -> None:
        await self._delete_thinking()
        await self._ephemeral_followup(text)


class PrivateThinking(ThinkingResponse):
    """``defer(thinking=True, ephemeral=True)``: progress and errors stay private, the image goes public."""

    async def deliver(self, result: GenerationResult) -> None:
        await self._delete_thinking()
        await self.interaction.followup.send(file=result_file(result), **self._result_message(result))

    async def fail(self, text: str) -> None:
        try:
            await self.interaction.edit_original_response(content=text)
        except discord.HTTPException:
            await self._ephemeral_followup(text)
