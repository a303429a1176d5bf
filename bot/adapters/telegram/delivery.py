"""Run one generation for a chat: progress while it works, then the photo with its buttons, or one error reply."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from telegram import Bot, InputFile, Message, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest, NetworkError, TelegramError

from bot.adapters.telegram.originals import OriginalStore
from bot.adapters.telegram.progress import ChatActionPulse, StatusReply
from bot.adapters.telegram.replies import result_caption, result_keyboard
from bot.core.inflight import InFlight
from bot.core.models import GenerationResult, Progress, ProgressStage, UserRef
from bot.core.service import ProgressCallback
from bot.errors import ImagineError
from bot.i18n import describe_error, translate
from bot.i18n.texts import progress_text

log = logging.getLogger(__name__)

#: attempts for the finished image on timeouts and network errors (AIORateLimiter already handles 429s)
SEND_ATTEMPTS = 3
SEND_RETRY_DELAY = 1.0

Produce = Callable[[ProgressCallback], Awaitable[GenerationResult]]


@dataclass(frozen=True)
class Origin:
    """Who asked, in which chat, and which message every answer replies to."""

    user: UserRef
    chat_id: int
    reply_to: int

    @property
    def locale(self) -> str:
        return self.user.locale


class Delivery:
    """Turns a core call into Telegram messages; the one place core errors become replies."""

    def __init__(
        self,
        bot: Bot,
        originals: OriginalStore,
        on_undelivered: Callable[[GenerationResult], Awaitable[None]] | None = None,
    ) -> None:
        self._bot = bot
        self._originals = originals
        #: an image made but never delivered is handed back to the user's limits
        self._on_undelivered = on_undelivered
        self._in_flight = InFlight()

    @property
    def bot(self) -> Bot:
        """The bot every answer goes through (rate limited)."""
        return self._bot

    async def run(
        self,
        origin: Origin,
        produce: Produce,
        *,
        on_accepted: Callable[[], Awaitable[None]] | None = None,
        on_early_error: Callable[[Exception], Awaitable[None]] | None = None,
    ) -> None:
        """Call ``produce`` with a progress callback and answer in the chat.

        ``on_accepted`` runs at the first progress event (the core let the request in); an error before that goes
        to ``on_early_error`` when given (e.g. a popup on a button press) instead of a reply.
        """
        status = StatusReply(self._bot, origin.chat_id, origin.reply_to)
        pulse = ChatActionPulse(self._bot, origin.chat_id)
        accepted = False

        async def progress(event: Progress) -> None:
            nonlocal accepted
            if not accepted:
                accepted = True
                if on_accepted is not None:
                    await on_accepted()
            if event.stage is not ProgressStage.QUEUED:
                pulse.start()
            await status.show(progress_text(event, origin.locale))

        job = asyncio.ensure_future(produce(progress))
        try:
            try:
                with self._in_flight.tracking(job):
                    result = await job
            finally:
                await pulse.stop()
        except (Exception, asyncio.CancelledError) as exc:
            if isinstance(exc, asyncio.CancelledError) and _handler_cancelled():
                raise
            await status.remove()
            if not accepted and on_early_error is not None and isinstance(exc, Exception):
                await on_early_error(exc)
            else:
                await self.reply(origin, self.error_text(exc, origin.locale))
            return
        if await self.send_result(origin, result) is None and self._on_undelivered is not None:
            await self._on_undelivered(result)
        await status.remove()

    async def drain(self, grace: float) -> int:
        """Give generations in flight ``grace`` seconds, then cut the rest short; returns how many were cut."""
        return await self._in_flight.drain(grace)

    @staticmethod
    def error_text(exc: BaseException, locale: str) -> str:
        """The sentence for a core error; anything else is logged and gets the generic apology."""
        if isinstance(exc, ImagineError):
            return describe_error(exc, locale)
        if isinstance(exc, asyncio.CancelledError):
            log.warning("a generation was cut short by shutdown")
            return translate("error.shutting_down", locale)
        else:
            log.exception("generation failed unexpectedly", exc_info=exc)
        return translate("error.generic", locale)

    async def reply(self, origin: Origin, text: str) -> None:
        """A plain-text reply to the user's message; a failure is logged, never raised."""
        try:
            await self._bot.send_message(origin.chat_id, text, reply_parameters=_reply_to(origin))
        except TelegramError as exc:
            log.warning("could not reply in chat %s: %s", origin.chat_id, exc)

    async def send_file(self, origin: Origin, document: str | InputFile, caption: str) -> Message:
        """A file (bytes or a Telegram file_id) as a reply, uncompressed."""
        return await self._bot.send_document(
            origin.chat_id, document, caption=caption, reply_parameters=_reply_to(origin)
        )

    async def send_result(self, origin: Origin, result: GenerationResult) -> Message | None:
        """The image as a captioned photo with buttons, retried on network errors; None if it could not go."""
        for attempt in range(1, SEND_ATTEMPTS + 1):
            try:
                message = await self._send_image(origin, result)
            except BadRequest as exc:
                log.error("could not deliver image %s: %s", result.job_id, exc.message)
                break
            except (
                NetworkError
            ) as exc:  # timeouts included; RetryAfter was already retried by the rate limiter
                log.warning("delivering image %s failed (attempt %d): %s", result.job_id, attempt, exc)
                if attempt < SEND_ATTEMPTS:
                    await asyncio.sleep(SEND_RETRY_DELAY * attempt)
                continue
            except TelegramError as exc:  # e.g. the user blocked the bot: nobody to tell
                log.warning("could not deliver image %s: %s", result.job_id, exc)
                return None
            self._originals.keep(result.job_id, result.image, _filename(result))
            return message
        await self.reply(origin, translate("error.generic", origin.locale))
        return None

    async def _send_image(self, origin: Origin, result: GenerationResult) -> Message:
        caption = result_caption(result, origin.locale)
        keyboard = result_keyboard(result.job_id, origin.locale)
        image = InputFile(result.image, filename=_filename(result))
        try:
            return await self._bot.send_photo(
                origin.chat_id,
                image,
                caption=caption,
                parse_mode=ParseMode.HTML,
                reply_markup=keyboard,
                reply_parameters=_reply_to(origin),
            )
        except BadRequest as exc:
            # Photos have limits files do not (10 MB, side ratio, sum of sides): still deliver, as a file.
            log.warning("sendPhoto refused (%s); sending the image as a file", exc.message)
            return await self._bot.send_document(
                origin.chat_id,
                InputFile(result.image, filename=_filename(result)),
                caption=caption,
                parse_mode=ParseMode.HTML,
                reply_markup=keyboard,
                reply_parameters=_reply_to(origin),
            )


def _filename(result: GenerationResult) -> str:
    return f"{result.job_id}.{result.file_extension}"


def _handler_cancelled() -> bool:
    """Whether the running handler itself is being cancelled (as opposed to its generation, by ``drain``)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _reply_to(origin: Origin) -> ReplyParameters:
    return ReplyParameters(origin.reply_to, allow_sending_without_reply=True)
