"""Update handlers: each turns a Telegram update into a core call and the outcome into a reply."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace

from telegram import Bot, CallbackQuery, Chat, InputFile, Message, Update, User
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.adapters.telegram.albums import SharedAlbums, Spawn
from bot.adapters.telegram.commands import IMAGINE, message_command
from bot.adapters.telegram.delivery import Delivery, Origin, Produce, reply_address
from bot.adapters.telegram.originals import OriginalStore
from bot.adapters.telegram.references import (
    Media,
    check_media,
    fetch_references,
    media_of,
    media_payload,
)
from bot.adapters.telegram.replies import (
    ALERT_LIMIT,
    CANCEL,
    REROLL,
    VARY,
    carries_button,
    cut_to,
    help_text,
    parse_button,
)
from bot.core.models import GenerationRequest, GenerationResult, UserRef
from bot.core.persistence import AlbumStore
from bot.core.service import ImageService, ProgressCallback
from bot.errors import InvalidReference, NotPermitted
from bot.i18n import describe_error, resolve_locale, translate
from bot.i18n.texts import accounts_text, model_caps_text, models_text, quota_text

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE


def user_ref(user: User | None, chat: Chat, sender_chat: Chat | None = None) -> UserRef:
    """The core's view of who asks in a chat (the chat id lets ALLOWED_IDS name groups).

    A message sent on behalf of a chat (an anonymous group admin, whose user is always GroupAnonymousBot, or
    someone posting as a channel) is that chat asking: limits and ownership follow ``sender_chat``, so the
    anonymous admins of different groups are not one user.
    """
    if sender_chat is not None:
        return UserRef(
            platform="telegram",
            user_id=str(sender_chat.id),
            chat_id=str(chat.id),
            locale=resolve_locale(user.language_code if user is not None else None),
            display_name=sender_chat.title or sender_chat.full_name or "",
        )
    if user is None:
        raise ValueError("a Telegram request needs a user or a sender chat")
    return UserRef(
        platform="telegram",
        user_id=str(user.id),
        chat_id=str(chat.id),
        locale=resolve_locale(user.language_code),
        display_name=user.full_name,
    )


def message_request_id(message: Message) -> str:
    """The request id of an /imagine: the same for the same message, so an update Telegram delivers again (our
    200 came too late or was lost) finds the first delivery's row and is dropped (``AlreadyAccepted``), or sent
    again later while that row is not recorded (see ``webhook``)."""
    return f"tg{message.chat_id}-{message.message_id}"


def query_request_id(query: CallbackQuery) -> str:
    """The request id of a 🔁 / 🎨 press: a redelivered press carries the same callback query id."""
    return f"tq{query.id}"


def origin_of(message: Message) -> Origin | None:
    """Who sent ``message`` and where to answer; None for messages with neither a person nor a sender chat."""
    if message.from_user is None and message.sender_chat is None:
        return None
    user = user_ref(message.from_user, message.chat, message.sender_chat)
    return Origin(user, message.chat_id, message.message_id)


class TelegramHandlers:
    """Every handler of the bot, bound to the core service; wired up in ``adapter.add_handlers``."""

    def __init__(self, service: ImageService, delivery: Delivery, originals: OriginalStore) -> None:
        self._service = service
        self._delivery = delivery
        self._originals = originals
        self._albums: SharedAlbums | None = None
        self._max_bytes = service.config.max_reference_bytes

    def collect_albums(
        self, store: AlbumStore, wait: float, spawn: Spawn, *, replica: str | None = None
    ) -> None:
        """Start gathering album items in ``store``; ``spawn`` runs each album's timer as a background task;
        ``replica`` names this replica in the claims (default hostname-pid)."""
        self._albums = SharedAlbums(store, wait, self._on_album, spawn, replica=replica)

    # ---- /imagine -----------------------------------------------------------------------------

    async def imagine(self, update: Update, context: Context) -> None:
        """``/imagine <prompt>`` as text; a replied-to photo or image file becomes the reference."""
        message = update.effective_message
        if message is None or (origin := origin_of(message)) is None:
            return
        call = message_command(message, context.bot.username)
        source = message.reply_to_message
        media = [found] if source is not None and (found := media_of(source)) else []
        await self._generate(origin, call.argument if call else "", media, message_request_id(message))

    async def imagine_with_media(self, update: Update, context: Context) -> None:
        """A photo or file captioned ``/imagine <prompt>``: the attachment is the reference."""
        message = update.effective_message
        if message is None or (origin := origin_of(message)) is None:
            return
        call = message_command(message, context.bot.username)
        found = media_of(message)
        if call is None or call.name not in IMAGINE or found is None:
            return  # addressed to another bot
        await self._generate(origin, call.argument, [found], message_request_id(message))

    async def album_item(self, update: Update, context: Context) -> None:
        """One item of an album; the album is handled once complete (see ``_on_album``)."""
        message = update.effective_message
        if message is None or self._albums is None:
            return
        try:
            await self._albums.add(message)
        except Exception as exc:  # the shared database: the album cannot be gathered
            call = message_command(message, context.bot.username)
            if call is not None and call.name in IMAGINE and (origin := origin_of(message)) is not None:
                # the captioned item is the request: its sender hears it once, in a sentence
                await self._delivery.reply(origin, self._delivery.error_text(exc, origin.locale))
            else:
                log.warning("an album item could not be stored: %s", exc)

    def sweep_albums(self, bot: Bot) -> None:
        """Also rescue albums whose replica died before claiming them (see ``SharedAlbums.sweep``)."""
        if self._albums is not None:
            self._albums.start_sweeping(bot)

    async def settle_albums(self, timeout: float) -> bool:  # noqa: ASYNC109
        """Wait (up to ``timeout``) until the albums this process waits on were handed over (see ``SharedAlbums``)."""
        return self._albums is None or await self._albums.settle(timeout)

    async def _on_album(self, messages: list[Message]) -> None:
        # Only an album captioned with our command is a request; any other album is none of our business.
        for message in messages:
            call = message_command(message, message.get_bot().username)
            if call is not None and call.name in IMAGINE and (origin := origin_of(message)) is not None:
                media = [found for item in messages if (found := media_of(item)) is not None]
                await self._generate(origin, call.argument, media, message_request_id(message))
                return

    async def _generate(self, origin: Origin, prompt: str, media: Sequence[Media], request_id: str) -> None:
        if not prompt:
            await self._delivery.reply(origin, translate("prompt.missing", origin.locale))
            return
        try:
            check_media(media, self._max_bytes)  # from the message alone: nothing is fetched
        except InvalidReference as rejected:
            await self._delivery.reply(origin, describe_error(rejected, origin.locale))
            return
        request = GenerationRequest(
            user=origin.user,
            text=prompt,
            request_id=request_id,
            reply=reply_address(origin, media=media_payload(media)),
        )

        async def produce(progress: ProgressCallback) -> list[GenerationResult]:
            # Admitted (allow-list, limits for all --n images, queue room) before anything is downloaded. The
            # references are passed inline: once the core has shrunk them, nothing here holds the originals.
            count = self._service.images_asked(request)
            async with self._service.admission(
                origin.user, count=count, request_id=request.request_id
            ) as admission:
                return await self._service.generate_all(
                    replace(request, references=await self._download(media)), progress, admission=admission
                )

        self._delivery.start(origin, produce, request_id=request.request_id)

    async def _download(self, media: Sequence[Media]) -> tuple[bytes, ...]:
        return await fetch_references(self._delivery.bot, media, self._max_bytes)

    # ---- /help, /quota, /accounts -------------------------------------------------------------

    async def help(self, update: Update, context: Context) -> None:
        """Usage, examples and the user's limits."""
        await self._answer(update, lambda origin: self._help(origin))

    async def quota(self, update: Update, context: Context) -> None:
        """Images used and left today, and when the quota resets."""
        await self._answer(update, lambda origin: self._quota(origin))

    async def accounts(self, update: Update, context: Context) -> None:
        """Admins only, in a private chat: each Cloudflare account's state (never shown to a whole group)."""
        chat = update.effective_chat
        if chat is not None and chat.type != Chat.PRIVATE:
            await self._answer(
                update, lambda origin: _constant(translate("accounts.private_only", origin.locale))
            )
            return
        await self._answer(update, lambda origin: self._accounts(origin))

    async def _help(self, origin: Origin) -> str:
        usage = help_text(await self._service.quota(origin.user), origin.locale)
        models = models_text(
            await self._service.models_left_today(), self._service.config.max_images, origin.locale
        )
        return f"{usage}\n\n{models}"

    async def _quota(self, origin: Origin) -> str:
        text = quota_text(await self._service.quota(origin.user), origin.locale)
        caps = model_caps_text(await self._service.models_left_today(), origin.locale)
        return f"{text}\n{caps}" if caps else text

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
        """🔁 re-roll, 🎨 vary, 📄 original (on one of our results) or ❌ cancel (on a status line)."""
        query = update.callback_query
        if query is None:
            return
        parsed = parse_button(query.data)
        message = query.message
        # Only a button the pressed message really carries counts: a job id from elsewhere is not let through.
        if (
            parsed is None
            or not isinstance(message, Message)
            or not carries_button(message.reply_markup, query.data or "")
        ):
            await _answer_query(
                query, translate("error.job_not_found", resolve_locale(query.from_user.language_code))
            )
            return
        action, key = parsed
        presser = await self._presser(query, message)
        origin = Origin(presser, message.chat_id, message.message_id)
        if action == CANCEL:
            await self._cancel(query, origin, key)
        elif action == REROLL:
            self._again(query, origin, "reroll.refused", self._reroll_of(key, origin))
        elif action == VARY:
            self._again(query, origin, "vary.refused", self._vary_of(key, origin, message))
        else:
            await self._send_original(query, origin, key, message)

    async def _presser(self, query: CallbackQuery, message: Message) -> UserRef:
        """Who pressed, as the core should see them: an admin of a group acts for its anonymous requests."""
        request = message.reply_to_message
        if (
            request is not None
            and request.sender_chat is not None
            and request.sender_chat.id == message.chat_id
        ):
            # The image was asked for by an anonymous admin (as the group): any admin of the group may act.
            try:
                member = await message.get_bot().get_chat_member(message.chat_id, query.from_user.id)
            except TelegramError as exc:
                log.warning("could not check the presser's rights in chat %s: %s", message.chat_id, exc)
            else:
                if member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER):
                    return user_ref(query.from_user, message.chat, request.sender_chat)
        return user_ref(query.from_user, message.chat)

    async def _cancel(self, query: CallbackQuery, origin: Origin, request_id: str) -> None:
        try:
            cancelled = await self._service.cancel(request_id, origin.user)
        except NotPermitted:
            await _answer_query(query, translate("cancel.refused", origin.locale), alert=True)
            return
        except Exception as exc:  # the shared table could not be read: say so rather than spin
            await _answer_query(query, self._delivery.error_text(exc, origin.locale), alert=True)
            return
        # Cancelled: the status line itself turns into "cancelled" (edited by whichever replica runs the
        # request, so a press that landed elsewhere reads the same); too late: say so in a popup.
        await _answer_query(query, None if cancelled else translate("cancel.too_late", origin.locale))

    def _reroll_of(self, job_id: str, origin: Origin) -> Callable[[str], Produce]:
        def produce(request_id: str) -> Produce:
            async def run(progress: ProgressCallback) -> list[GenerationResult]:
                reply = reply_address(origin)
                return [await self._service.reroll(job_id, origin.user, progress, request_id, reply=reply)]

            return run

        return produce

    def _vary_of(self, job_id: str, origin: Origin, message: Message) -> Callable[[str], Produce]:
        async def fetch() -> bytes:
            return await self._image_of(job_id, message)

        def produce(request_id: str) -> Produce:
            async def run(progress: ProgressCallback) -> list[GenerationResult]:
                # another replica fetches the image by its file id (the bytes kept here die with this one)
                reply = reply_address(origin, image=self._file_id_of(job_id, message))
                return [
                    await self._service.vary(job_id, origin.user, fetch, progress, request_id, reply=reply)
                ]

            return run

        return produce

    def _again(
        self, query: CallbackQuery, origin: Origin, refused_key: str, produce: Callable[[str], Produce]
    ) -> None:
        """🔁 or 🎨: a new request in the background; a refusal before it starts is a popup, not a message."""

        async def refused(exc: Exception) -> None:
            if isinstance(exc, NotPermitted):
                text = translate(refused_key, origin.locale)
            else:
                text = self._delivery.error_text(exc, origin.locale)
            await _answer_query(query, text, alert=True)

        request_id = query_request_id(query)
        self._delivery.start(
            origin,
            produce(request_id),
            request_id=request_id,
            on_accepted=lambda: _answer_query(query),
            on_early_error=refused,
        )

    def _file_id_of(self, job_id: str, message: Message) -> str | None:
        """The Telegram file of the image shown for ``job_id``: kept, else the message's document or photo."""
        kept = self._originals.get(job_id)
        file_id = kept.file_id if kept is not None else None
        if file_id is None and message.document is not None:
            file_id = message.document.file_id
        if file_id is None and message.photo:
            file_id = message.photo[-1].file_id
        return file_id

    async def _image_of(self, job_id: str, message: Message) -> bytes:
        """The image a 🎨 starts from: kept bytes, else the file or photo stored in the chat."""
        kept = self._originals.get(job_id)
        if kept is not None and kept.data is not None:
            return kept.data
        file_id = self._file_id_of(job_id, message)
        if (
            file_id is None
        ):  # e.g. the buttons under an album after a restart: the image is not on this message
            raise InvalidReference("The image is no longer available.", code="download_failed")
        try:
            file = await message.get_bot().get_file(file_id)
            return bytes(await file.download_as_bytearray())
        except TelegramError as exc:
            log.warning("could not fetch the image of %s back from Telegram: %s", job_id, exc)
            raise InvalidReference("The image could not be downloaded.", code="download_failed") from None

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


async def _constant(text: str) -> str:
    return text
