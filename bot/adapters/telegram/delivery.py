"""Run one generation for a chat: signs of life while it works, then the photo(s) with buttons, or one reply.

Calls per image on the common path (no queue, image within a few seconds): one chat action and the photo.
The status line with ❌ exists only for requests that wait in line or take long (see ``progress``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from telegram import InputFile, InputMediaPhoto, Message, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest, NetworkError, TelegramError
from telegram.ext import ExtBot

from bot.adapters.telegram.originals import OriginalStore
from bot.adapters.telegram.progress import CHAT_ACTION_INTERVAL, ChatActionPulse, StatusReply
from bot.adapters.telegram.receipts import hold_current, retry_current
from bot.adapters.telegram.replies import album_keyboard, cancel_keyboard, result_caption, result_keyboard
from bot.core.inflight import InFlight
from bot.core.models import GenerationResult, Progress, ProgressStage, UserRef
from bot.core.service import ProgressCallback
from bot.errors import AlreadyAccepted, Cancelled, ImagineError, TakenOver
from bot.i18n import describe_error, translate
from bot.i18n.texts import progress_text

log = logging.getLogger(__name__)

#: attempts for the finished image on timeouts and network errors (AIORateLimiter already handles 429s)
SEND_ATTEMPTS = 3
SEND_RETRY_DELAY = 1.0

Produce = Callable[[ProgressCallback], Awaitable[list[GenerationResult]]]
Spawn = Callable[[Coroutine[Any, Any, None]], object]
T = TypeVar("T")


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
        bot: ExtBot[Any],
        originals: OriginalStore,
        on_undelivered: Callable[[GenerationResult], Awaitable[None]] | None = None,
        *,
        spawn: Spawn | None = None,
        late_after: float = CHAT_ACTION_INTERVAL,
        on_finished: Callable[[str, bool], Awaitable[None]] | None = None,
        on_status: Callable[[str, int], None] | None = None,
    ) -> None:
        self._bot = bot
        self._originals = originals
        #: an image made but never delivered is handed back to the user's limits
        self._on_undelivered = on_undelivered
        #: the user has the answer (request id, whether the images arrived): the accepted request ends
        self._on_finished = on_finished
        #: a status line was posted (request id, message id): noted with the request for another replica
        self._on_status = on_status
        self._spawn = spawn
        self._late_after = late_after
        self._in_flight = InFlight()

    @property
    def bot(self) -> ExtBot[Any]:
        """The bot every answer goes through (rate limited)."""
        return self._bot

    def start(
        self,
        origin: Origin,
        produce: Produce,
        *,
        request_id: str,
        on_accepted: Callable[[], Awaitable[None]] | None = None,
        on_early_error: Callable[[Exception], Awaitable[None]] | None = None,
    ) -> None:
        """``run`` in the background: the handler returns at once, so a generation (and its wait in line)
        never holds one of PTB's update slots and commands and buttons keep being answered.

        A webhook update is answered once the request is recorded (its first progress event) or has ended
        (see ``receipts``): the hold is taken here, before the handler returns."""
        if self._spawn is None:
            raise RuntimeError("Delivery.start needs a spawn function")
        durable = hold_current()

        async def accepted() -> None:
            durable()
            if on_accepted is not None:
                await on_accepted()

        async def work() -> None:
            try:
                await self.run(
                    origin,
                    produce,
                    request_id=request_id,
                    on_accepted=accepted,
                    on_early_error=on_early_error,
                )
            finally:
                durable()

        self._spawn(work())

    async def run(
        self,
        origin: Origin,
        produce: Produce,
        *,
        request_id: str,
        on_accepted: Callable[[], Awaitable[None]] | None = None,
        on_early_error: Callable[[Exception], Awaitable[None]] | None = None,
    ) -> None:
        """Call ``produce`` with a progress callback and answer in the chat.

        ``on_accepted`` runs at the first progress event (the core let the request in); an error before that goes
        to ``on_early_error`` when given (e.g. a popup on a button press) instead of a reply.
        """
        on_status = self._on_status
        status = StatusReply(
            self._bot,
            origin.chat_id,
            origin.reply_to,
            cancel_keyboard(request_id, origin.locale),
            on_shown=None if on_status is None else lambda message_id: on_status(request_id, message_id),
        )
        latest = ""

        async def late() -> None:
            await status.show(latest)

        pulse = ChatActionPulse(self._bot, origin.chat_id, late, self._late_after)
        accepted = False

        async def progress(event: Progress) -> None:
            nonlocal accepted, latest
            if not accepted:
                accepted = True
                if on_accepted is not None:
                    await on_accepted()
            latest = progress_text(event, origin.locale)
            if event.stage is ProgressStage.QUEUED or status.requested:
                await status.show(latest)
            if event.stage is not ProgressStage.QUEUED:
                pulse.start()

        job = asyncio.ensure_future(produce(progress))
        try:
            try:
                with self._in_flight.tracking(job):
                    results = await job
            finally:
                await pulse.stop()
        except (Exception, asyncio.CancelledError) as exc:
            if isinstance(exc, asyncio.CancelledError) and _handler_cancelled():
                raise  # the request stays open: another replica, or the next start, answers it
            if isinstance(exc, TakenOver):
                await status.remove()  # another replica answers this request now
                return
            if isinstance(exc, AlreadyAccepted):
                # the same update again (Telegram redelivers what it thinks unanswered): the first delivery
                # answers and ends the request; this one must neither reply nor finish the shared row
                if exc.acknowledged:
                    log.info("update of request %s already accepted; ignored", request_id)
                else:  # the first delivery is not recorded: on its way, or dead; Telegram sends it again later
                    log.info("update of request %s registered but not recorded yet; retry later", request_id)
                    retry_current()
                return
            await self._fail(origin, status, exc, None if accepted else on_early_error)
            await self._finished(request_id, delivered=False)
            return
        undelivered = await self.send_results(origin, results)
        for result in undelivered:
            if self._on_undelivered is not None:
                await self._on_undelivered(result)
        await status.remove()
        await self._finished(request_id, delivered=not undelivered)

    async def _finished(self, request_id: str, *, delivered: bool) -> None:
        if self._on_finished is not None:
            await self._on_finished(request_id, delivered)

    async def _fail(
        self,
        origin: Origin,
        status: StatusReply,
        exc: BaseException,
        early: Callable[[Exception], Awaitable[None]] | None,
    ) -> None:
        text = self.error_text(exc, origin.locale)
        if isinstance(exc, Cancelled) and await status.finish(text):
            return  # the status line the ❌ was pressed on now says "cancelled"
        await status.remove()
        if early is not None and isinstance(exc, Exception):
            await early(exc)
        else:
            await self.reply(origin, text)

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

    async def send_results(
        self, origin: Origin, results: Sequence[GenerationResult]
    ) -> list[GenerationResult]:
        """One image as a photo with its buttons; several as one album, then one message of numbered buttons.

        Returns the images that could not be delivered.
        """
        if len(results) == 1:
            return [] if await self.send_result(origin, results[0]) is not None else [results[0]]
        label = ", ".join(result.job_id for result in results)
        try:
            sent = await self._with_retries(label, lambda: self._send_album(origin, results))
        except BadRequest as exc:  # e.g. one image a photo cannot be: each on its own, files if need be
            log.warning("sendMediaGroup refused (%s); sending the images one by one", exc.message)
            return [result for result in results if await self.send_result(origin, result) is None]
        if sent is None:
            await self.reply(origin, translate("error.generic", origin.locale))
            return list(results)
        return []

    async def _send_album(self, origin: Origin, results: Sequence[GenerationResult]) -> Message:
        media = [
            InputMediaPhoto(
                result.image,  # bytes, not an InputFile: PTB then uploads it as an attach:// part
                filename=_filename(result),
                caption=result_caption(result, origin.locale),
                parse_mode=ParseMode.HTML,
            )
            for result in results
        ]
        album = await self._bot.send_media_group(origin.chat_id, media, reply_parameters=_reply_to(origin))
        for result in results:
            self._originals.keep(result.job_id, result.image, _filename(result))
        return await self._bot.send_message(
            origin.chat_id,
            translate("album.buttons", origin.locale),
            reply_markup=album_keyboard([result.job_id for result in results]),
            reply_parameters=ReplyParameters(album[0].message_id, allow_sending_without_reply=True),
        )

    async def send_result(self, origin: Origin, result: GenerationResult) -> Message | None:
        """The image as a captioned photo with buttons, retried on network errors; None if it could not go."""
        try:
            message = await self._with_retries(result.job_id, lambda: self._send_image(origin, result))
        except BadRequest as exc:
            log.error("could not deliver image %s: %s", result.job_id, exc.message)
            message = None
        if message is None:
            await self.reply(origin, translate("error.generic", origin.locale))
            return None
        self._originals.keep(result.job_id, result.image, _filename(result))
        return message

    async def _with_retries(self, label: str, send: Callable[[], Awaitable[T]]) -> T | None:
        """``send()`` again after network errors; None when it never went (BadRequest is raised)."""
        for attempt in range(1, SEND_ATTEMPTS + 1):
            try:
                return await send()
            except BadRequest:
                raise
            except (
                NetworkError
            ) as exc:  # timeouts included; RetryAfter was already retried by the rate limiter
                log.warning("delivering image %s failed (attempt %d): %s", label, attempt, exc)
                if attempt < SEND_ATTEMPTS:
                    await asyncio.sleep(SEND_RETRY_DELAY * attempt)
            except TelegramError as exc:  # e.g. the user blocked the bot: nobody to tell
                log.warning("could not deliver image %s: %s", label, exc)
                return None
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


def reply_address(origin: Origin, **extra: Any) -> dict[str, Any]:
    """Where any replica answers a request (``GenerationRequest.reply``): the chat and the message to reply to."""
    return {"chat_id": origin.chat_id, "reply_to": origin.reply_to, **extra}


def origin_from(user: UserRef, reply: Mapping[str, Any]) -> Origin:
    """The ``Origin`` of a request from its stored address (see ``reply_address``)."""
    return Origin(user, int(reply["chat_id"]), int(reply["reply_to"]))


def _filename(result: GenerationResult) -> str:
    return f"{result.job_id}.{result.file_extension}"


def _handler_cancelled() -> bool:
    """Whether the running handler itself is being cancelled (as opposed to its generation, by ``drain``)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _reply_to(origin: Origin) -> ReplyParameters:
    return ReplyParameters(origin.reply_to, allow_sending_without_reply=True)
