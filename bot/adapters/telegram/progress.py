"""Signs of life while an image is made: the upload_photo chat action, and a status reply once it is worth one.

Most images arrive within a few seconds; for those the chat action alone says "working on it", and the image
costs two Bot API calls (action, photo). The status reply (with its ❌ button) appears only when the request
waits in line or the image is late, and is then edited per stage and deleted when the image is there.
Both go through the rate limiter's background lane: they may lag, answers never wait behind them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import InlineKeyboardMarkup, Message, ReplyParameters
from telegram.constants import ChatAction
from telegram.error import Forbidden, TelegramError
from telegram.ext import ExtBot

from bot.adapters.telegram.ratelimit import BACKGROUND

log = logging.getLogger(__name__)

#: Telegram shows a chat action for about 5 seconds; renew it a little before that
CHAT_ACTION_INTERVAL = 4.5


class StatusReply:
    """A short reply to the user's message, sent on demand, edited on later stages, removed at the end.

    Updates run in the background and coalesce: the generation never waits for Telegram (or its rate limiter),
    and stages that pass quickly cost no edits. Failures are logged and ignored: a status line is never worth
    failing a generation for.
    """

    def __init__(
        self,
        bot: ExtBot[Any],
        chat_id: int,
        reply_to: int,
        keyboard: InlineKeyboardMarkup | None = None,
        on_shown: Callable[[int], None] | None = None,
    ) -> None:
        self._bot = bot
        #: told the message id once the status line exists (so another replica can remove it after a crash)
        self._on_shown = on_shown
        self._chat_id = chat_id
        self._reply_to = reply_to
        self._keyboard = keyboard
        self._message: Message | None = None
        self._wanted = ""
        self._shown = ""
        self._task: asyncio.Task[None] | None = None

    @property
    def requested(self) -> bool:
        """Whether a status line was asked for (it may still be on its way)."""
        return bool(self._wanted)

    async def show(self, text: str) -> None:
        """Ask for ``text`` to be shown; returns at once."""
        self._wanted = text
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._catch_up(), name=f"status-{self._chat_id}")

    async def remove(self) -> None:
        """Delete the status line; one that was still waiting for its turn is simply never sent."""
        message = await self._settle()
        if message is None:
            return
        try:
            await self._bot.delete_message(self._chat_id, message.message_id)
        except TelegramError as exc:
            log.debug("status removal failed: %s", exc)

    async def finish(self, text: str) -> bool:
        """Turn the status line into ``text`` without buttons (e.g. "cancelled"); False if there was none."""
        message = await self._settle()
        if message is None:
            return False
        try:
            await self._bot.edit_message_text(text, self._chat_id, message.message_id, reply_markup=None)
        except TelegramError as exc:
            log.debug("status edit failed: %s", exc)
            return False
        return True

    async def _settle(self) -> Message | None:
        """Stop catching up; the message shown so far (if any) is handed over and forgotten here."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            if self._message is None:
                task.cancel()  # not sent yet: never send it
            with contextlib.suppress(asyncio.CancelledError):
                await task
        message, self._message = self._message, None
        self._wanted = self._shown = ""
        return message

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
                        reply_markup=self._keyboard,
                        rate_limit_args=BACKGROUND,
                    )
                    if self._on_shown is not None:
                        self._on_shown(self._message.message_id)
                else:
                    await self._bot.edit_message_text(
                        text,
                        self._chat_id,
                        self._message.message_id,
                        reply_markup=self._keyboard,
                        rate_limit_args=BACKGROUND,
                    )
            except TelegramError as exc:
                log.debug("status update failed: %s", exc)


class ChatActionPulse:
    """Keeps "sending a photo…" visible in the chat until stopped; calls ``on_late`` when the first one expires."""

    def __init__(
        self,
        bot: ExtBot[Any],
        chat_id: int,
        on_late: Callable[[], Awaitable[None]],
        late_after: float = CHAT_ACTION_INTERVAL,
    ) -> None:
        self._bot = bot
        self._chat_id = chat_id
        self._on_late = on_late
        self._late_after = late_after
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin (idempotent)."""
        if self._task is None:
            self._task = asyncio.create_task(self._pulse(), name=f"chat-action-{self._chat_id}")

    async def stop(self) -> None:
        """End and wait for the loop to finish (a chat action still waiting for its turn is not sent)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _pulse(self) -> None:
        first = True
        while True:
            try:
                await self._bot.send_chat_action(
                    self._chat_id, ChatAction.UPLOAD_PHOTO, rate_limit_args=BACKGROUND
                )
            except Forbidden:
                return  # blocked or removed from the chat: nobody to show it to
            except TelegramError as exc:
                log.debug("chat action failed: %s", exc)
            if first:
                await asyncio.sleep(self._late_after)
                first = False
                await self._on_late()
                await asyncio.sleep(max(0.0, CHAT_ACTION_INTERVAL - self._late_after))
            else:
                await asyncio.sleep(CHAT_ACTION_INTERVAL)
