"""Update handlers: each turns a Telegram update into a core call and the outcome into a reply."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from telegram import CallbackQuery, Chat, InputFile, Message, Update, User
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.adapters.telegram.commands import IMAGINE, message_command
from bot.adapters.telegram.delivery import Delivery, Origin
from bot.adapters.telegram.originals import OriginalStore
from bot.adapters.telegram.references import (
    AlbumCollector,
    Media,
    Spawn,
    check_media,
    download_references,
    media_of,
)
from bot.adapters.telegram.replies import (
    ALERT_LIMIT,
    REROLL,
    cut_to,
    help_text,
    parse_button,
)
from bot.core.models import GenerationRequest, GenerationResult, UserRef
from bot.core.service import ImageService, ProgressCallback
from bot.errors import InvalidReference, NotPermitted
from bot.i18n import describe_error, resolve_locale, translate
from bot.i18n.texts import accounts_text, quota_text

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE


def user_ref(user: User, chat: Chat) -> UserRef:
    """The core's view of a Telegram user in a chat (the chat id lets ALLOWED_IDS name groups)."""
    return UserRef(
        platform="telegram",
        user_id=str(user.id),
        chat_id=str(chat.id),
        locale=resolve_locale(user.language_code),
        display_name=user.full_name,
    )


def origin_of(message: Message) -> Origin | None:
    """Who sent ``message`` and where to answer; None for messages without a person (channel posts)."""
    if message.from_user is None:
        return None
    return Origin(user_ref(message.from_user, message.chat), message.chat_id, message.message_id)


class TelegramHandlers:
    """Every handler of the bot, bound to the core service; wired up in ``adapter.add_handlers``."""

    def __init__(self, service: ImageService, delivery: Delivery, originals: OriginalStore) -> None:
        self._service = service
        self._delivery = delivery
        self._originals = originals
        self._albums: AlbumCollector | None = None
        self._max_bytes = service.config.max_reference_bytes

    def collect_albums(self, wait: float, spawn: Spawn) -> None:
        """Start collecting album items; ``spawn`` runs each album's timer as a background task."""
        self._albums = AlbumCollector(wait, self._on_album, spawn)

    # ---- /imagine -----------------------------------------------------------------------------

    async def imagine(self, update: Update, context: Context) -> None:
        """``/imagine <prompt>`` as text; a replied-to photo or image file becomes the reference."""
        message = update.effective_message
        if message is None or (origin := origin_of(message)) is None:
            return
        call = message_command(message, context.bot.username)
        source = message.reply_to_message
        media = [found] if source is not None and (found := media_of(source)) else []
        await self._generate(origin, call.argument if call else "", media)

    async def imagine_with_media(self, update: Update, context: Context) -> None:
        """A photo or file captioned ``/imagine <prompt>``: the attachment is the reference."""
        message = update.effective_message
        if message is None or (origin := origin_of(message)) is None:
            return
        call = message_command(message, context.bot.username)
        found = media_of(message)
        if call is None or call.name not in IMAGINE or found is None:
            return  # addressed to another bot
        await self._generate(origin, call.argument, [found])

    async def album_item(self, update: Update, context: Context) -> None:
        """One item of an album; the album is handled once complete (see ``_on_album``)."""
        message = update.effective_message
        if message is not None and self._albums is not None:
            self._albums.add(message)

    async def _on_album(self, messages: list[Message]) -> None:
        # Only an album captioned with our command is a request; any other album is none of our business.
        for message in messages:
            call = message_command(message, message.get_bot().username)
            if call is not None and call.name in IMAGINE and (origin := origin_of(message)) is not None:
                media = [found for item in messages if (found := media_of(item)) is not None]
                await self._generate(origin, call.argument, media)
                return

    async def _generate(self, origin: Origin, prompt: str, media: Sequence[Media]) -> None:
        if not prompt:
            await self._delivery.reply(origin, translate("prompt.missing", origin.locale))
            return
        try:
            check_media(media, self._max_bytes)  # from the message alone: nothing is fetched
        except InvalidReference as rejected:
            await self._delivery.reply(origin, describe_error(rejected, origin.locale))
            return

        async def produce(progress: ProgressCallback) -> GenerationResult:
            # Admitted (allow-list, limits, queue room) before anything is downloaded. The request is built
            # inline, with no local name: once the core has shrunk the photos, nothing here holds the originals.
            async with self._service.admission(origin.user) as admission:
                return await self._service.generate(
                    GenerationRequest(user=origin.user, text=prompt, references=await self._download(media)),
                    progress,
                    admission=admission,
                )

        await self._delivery.run(origin, produce)

    async def _download(self, media: Sequence[Media]) -> tuple[bytes, ...]:
        try:
            return await download_references(self._delivery.bot, media, self._max_bytes)
        except TelegramError as exc:
            log.warning("reference download failed: %s", exc)
            raise InvalidReference("An image could not be downloaded.", code="download_failed") from None

    # ---- /help, /quota, /accounts -------------------------------------------------------------

    async def help(self, update: Update, context: Context) -> None:
        """Usage, examples and the user's limits."""
        await self._answer(update, lambda origin: self._help(origin))

    async def quota(self, update: Update, context: Context) -> None:
        """Images used and left today, and when the quota resets."""
        await self._answer(update, lambda origin: self._quota(origin))

    async def accounts(self, update: Update, context: Context) -> None:
        """Admins only: each Cloudflare account's state."""
        await self._answer(update, lambda origin: self._accounts(origin))

    async def _help(self, origin: Origin) -> str:
        return help_text(await self._service.quota(origin.user), origin.locale)

    async def _quota(self, origin: Origin) -> str:
        return quota_text(await self._service.quota(origin.user), origin.locale)

    async def _accounts(self, origin: Origin) -> str:
        try:
            statuses = await self._service.account_statuses(origin.user)
        except NotPermitted:
            return translate("error.admin_only", origin.locale)
        return accounts_text(statuses, origin.locale)

    async def _answer(self, update: Update, compose: Callable[[Origin], Awaitable[str]]) -> None:
        message = update.effective_message
        if message is None or (origin := origin_of(message)) is None:
            return
        try:
            text = await compose(origin)
        except Exception as exc:
            text = self._delivery.error_text(exc, origin.locale)
        await self._delivery.reply(origin, text)

    # ---- buttons ------------------------------------------------------------------------------

    async def button(self, update: Update, context: Context) -> None:
        """🔁 re-roll or 📄 original, pressed on one of our results."""
        query = update.callback_query
        if query is None:
            return
        parsed = parse_button(query.data)
        message = query.message
        if parsed is None or not isinstance(message, Message):  # too old to be accessible, or not ours
            await _answer_query(
                query, translate("error.job_not_found", resolve_locale(query.from_user.language_code))
            )
            return
        action, job_id = parsed
        origin = Origin(user_ref(query.from_user, message.chat), message.chat_id, message.message_id)
        if action == REROLL:
            await self._reroll(query, origin, job_id)
        else:
            await self._send_original(query, origin, job_id, message)

    async def _reroll(self, query: CallbackQuery, origin: Origin, job_id: str) -> None:
        async def refused(exc: Exception) -> None:
            if isinstance(exc, NotPermitted):
                text = translate("reroll.refused", origin.locale)
            else:
                text = self._delivery.error_text(exc, origin.locale)
            await _answer_query(query, text, alert=True)

        await self._delivery.run(
            origin,
            lambda progress: self._service.reroll(job_id, origin.user, progress),
            on_accepted=lambda: _answer_query(query),
            on_early_error=refused,
        )

    async def _send_original(
        self, query: CallbackQuery, origin: Origin, job_id: str, message: Message
    ) -> None:
        await _answer_query(query)
        try:
            found = await self._original_of(job_id, message)
            if found is None:
                await self._delivery.reply(origin, translate("original.unavailable", origin.locale))
                return
            document, caption_key = found
            sent = await self._delivery.send_file(origin, document, translate(caption_key, origin.locale))
        except TelegramError as exc:
            log.warning("could not send the original of %s: %s", job_id, exc)
            await self._delivery.reply(origin, translate("error.generic", origin.locale))
            return
        kept = self._originals.get(job_id)
        if kept is not None and kept.data is not None and sent.document is not None:
            self._originals.sent_as(job_id, sent.document.file_id, kept.filename)

    async def _original_of(self, job_id: str, message: Message) -> tuple[str | InputFile, str] | None:
        """The file to send for 📄 and the catalogue key of its caption."""
        kept = self._originals.get(job_id)
        if kept is not None:
            return kept.file_id or InputFile(kept.data or b"", filename=kept.filename), "original.caption"
        if message.document is not None:  # delivered as a file in the first place: that is the original
            return message.document.file_id, "original.caption"
        if message.photo:
            # The bytes are gone (restart or evicted): Telegram's recompressed copy is the best there is.
            file = await message.photo[-1].get_file()
            data = bytes(await file.download_as_bytearray())
            return InputFile(data, filename=f"{job_id}-compressed.jpg"), "original.compressed_copy"
        return None

    # ---- errors -------------------------------------------------------------------------------

    async def on_error(self, update: object, context: Context) -> None:
        """Last resort for anything a handler did not catch: log it (the log formatter redacts secrets)."""
        update_id = update.update_id if isinstance(update, Update) else None
        log.error("update %s failed", update_id, exc_info=context.error)


async def _answer_query(query: CallbackQuery, text: str | None = None, *, alert: bool = False) -> None:
    """Answer a button press (stops the client's spinner); a late or repeated answer is only logged."""
    try:
        await query.answer(cut_to(text, ALERT_LIMIT) if text else None, show_alert=alert)
    except TelegramError as exc:
        log.debug("answerCallbackQuery failed: %s", exc)
