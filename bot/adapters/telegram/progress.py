"""Signs of life while an image is made: a status reply edited per stage, and the upload_photo chat action."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from telegram import Bot, Message, ReplyParameters
from telegram.constants import ChatAction
from telegram.error import Forbidden, TelegramError

log = logging.getLogger(__name__)

#: Telegram shows a chat action for about 5 seconds; renew it a little before that
CHAT_ACTION_INTERVAL = 4.5


class StatusReply:
    """A short reply to the user's message, sent on the first stage, edited on later ones, removed at the end.

    Updates run in the background and coalesce: the generation never waits for Telegram (or its rate limiter),
    and stages that pass quickly cost no edits. Failures are logged and ignored: a status line is never worth
    failing a generation for.
    """

    def __init__(self, bot: Bot, chat_id: int, reply_to: int) -> None:
        self._bot = bot
        self._chat_id = chat_id
        self._reply_to = reply_to
        self._message: Message | None = None
        self._wanted = ""
        self._shown = ""
        self._task: asyncio.Task[None] | None = None

    async def show(self, text: str) -> None:
        """Ask for ``text`` to be shown; returns at once."""
        self._wanted = text
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._catch_up(), name=f"status-{self._chat_id}")

    async def remove(self) -> None:
        """Let a pending update land (so its message can be found), then delete the status line."""
        if self._task is not None:
            await self._task
        if self._message is None:
            return
        message, self._message = self._message, None
        try:
            await self._bot.delete_message(self._chat_id, message.message_id)
        except TelegramError as exc:
            log.debug("status removal failed: %s", exc)

    async def _catch_up(self) -> None:
        while self._shown != self._wanted:
            text = self._shown = self._wanted
            try:
                if self._message is None:
                    self._message = await self._bot.send_message(
                        self._chat_id,
                        text,
                        reply_parameters=ReplyParameters(self._reply_to, allow_sending_without_reply=True),
                        disable_notification=True,
                    )
                else:
                    await self._bot.edit_message_text(text, self._chat_id, self._message.message_id)
            except TelegramError as exc:
                log.debug("status update failed: %s", exc)


class ChatActionPulse:
    """Keeps "sending a photo…" visible in the chat until stopped."""

    def __init__(self, bot: Bot, chat_id: int) -> None:
        self._bot = bot
        self._chat_id = chat_id
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin (idempotent)."""
        if self._task is None:
            self._task = asyncio.create_task(self._pulse(), name=f"chat-action-{self._chat_id}")

    async def stop(self) -> None:
        """End and wait for the loop to finish."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _pulse(self) -> None:
        while True:
            try:
                await self._bot.send_chat_action(self._chat_id, ChatAction.UPLOAD_PHOTO)
            except Forbidden:
                return  # blocked or removed from the chat: nobody to show it to
            except TelegramError as exc:
                log.debug("chat action failed: %s", exc)
            await asyncio.sleep(CHAT_ACTION_INTERVAL)
