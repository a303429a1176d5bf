"""Each Discord interaction as a core call: who asks, what they asked, and the reply to what came back."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any

import discord

from bot.adapters.discord.attachments import ReferenceDownloader, check_attachments, images_in_message
from bot.adapters.discord.replies import accounts_text, error_text
from bot.adapters.discord.responses import (
    CANCEL_AFTER_SECONDS,
    PrivateThinking,
    PublicThinking,
    ThinkingResponse,
)
from bot.adapters.discord.resume import reply_address
from bot.adapters.discord.views import VARY_PREFIX
from bot.core.inflight import InFlight
from bot.core.models import GenerationRequest, GenerationResult, PromptOptions, UserRef
from bot.core.parsing import parse_prompt
from bot.core.service import ImageService, ProgressCallback, new_request_id
from bot.errors import Cancelled, ImagineError, InvalidReference, NotPermitted, TakenOver
from bot.i18n import translate
from bot.i18n.texts import model_caps_text, quota_text

log = logging.getLogger(__name__)

Interaction = discord.Interaction[Any]
Produce = Callable[[ProgressCallback], Awaitable[list[GenerationResult]]]
ShowModal = Callable[[Interaction, list[discord.Attachment], str], Awaitable[None]]


def user_ref(interaction: Interaction) -> UserRef:
    """The core's view of who is asking, where, and in which language."""
    channel, guild = interaction.channel_id, interaction.guild_id
    return UserRef(
        platform="discord",
        user_id=str(interaction.user.id),
        chat_id=str(channel) if channel else None,
        locale=str(interaction.locale),
        display_name=interaction.user.display_name,
        group_id=str(guild) if guild else None,
    )


async def send_ephemeral(interaction: Interaction, text: str) -> None:
    """Answer with a message only the user sees (a follow-up if the interaction was already answered)."""
    if interaction.response.is_done():
        await interaction.followup.send(text, ephemeral=True)
    else:
        await interaction.response.send_message(text, ephemeral=True)


class ImagineFlow:
    """What the commands, the modal and the re-roll button do; keeps track of work in flight for shutdown."""

    def __init__(
        self,
        service: ImageService,
        downloader: ReferenceDownloader,
        *,
        cancel_after: float = CANCEL_AFTER_SECONDS,
    ) -> None:
        self._service = service
        self._downloader = downloader
        self._cancel_after = cancel_after
        self._in_flight = InFlight()
        self._resumed: set[asyncio.Task[None]] = set()

    @property
    def model_aliases(self) -> list[str]:
        """The names users may pick a model by, the default first."""
        return [choice.alias for choice in self._service.models.choices]

    async def imagine(
        self,
        interaction: Interaction,
        text: str,
        options: PromptOptions,
        attachments: Sequence[discord.Attachment],
    ) -> None:
        """``/imagine`` and the modal: refuse cheap mistakes at once, else defer publicly and generate."""
        user = user_ref(interaction)
        try:
            # Checked before deferring so these errors are a private reply, with no public "thinking" first.
            self._service.access.check(user)
            check_attachments(attachments, self._downloader.max_bytes)
            self._service.models.resolve(
                parse_prompt(text, options).model
            )  # an unknown model lists the choices
            request = GenerationRequest(
                user=user,
                text=text,
                options=options,
                request_id=new_request_id(),
                reply=reply_address(interaction, "public", attachments=len(attachments)),
            )
            count = self._service.images_asked(request)  # over MAX_IMAGES_PER_REQUEST: refused right here
        except ImagineError as error:
            await send_ephemeral(interaction, error_text(error, user.locale))
            return

        async def produce(progress: ProgressCallback) -> list[GenerationResult]:
            # Admitted (limits for all the images, queue room) before anything is downloaded. The references
            # are passed inline: once the core has shrunk the photos, nothing here keeps the originals alive.
            async with self._service.admission(user, count=count, request_id=request.request_id) as admission:
                return await self._service.generate_all(
                    replace(request, references=await self._downloader.fetch_all(attachments)),
                    progress,
                    admission=admission,
                )

        if await _defer(interaction, ephemeral=False):
            await self._run(
                PublicThinking(interaction, user.locale, request.request_id, cancel_after=self._cancel_after),
                produce,
            )

    async def imagine_from_message(
        self, interaction: Interaction, message: discord.Message, show_modal: ShowModal
    ) -> None:
        """The context menu: check the message's images, then ask for the prompt in a modal."""
        user = user_ref(interaction)
        try:
            self._service.access.check(user)
            images = images_in_message(message, self._downloader.max_bytes)
        except ImagineError as error:
            await send_ephemeral(interaction, error_text(error, user.locale))
            return
        await show_modal(interaction, images, user.locale)

    async def reroll(self, interaction: Interaction, job_id: str) -> None:
        """🔁: the same job with a new seed, for the requester or an admin."""
        user = user_ref(interaction)
        request_id = new_request_id()

        reply = reply_address(interaction, "private")

        async def produce(progress: ProgressCallback) -> list[GenerationResult]:
            return [await self._service.reroll(job_id, user, progress, request_id, reply=reply)]

        if await _defer(interaction, ephemeral=True):
            await self._run(
                PrivateThinking(interaction, user.locale, request_id, cancel_after=self._cancel_after),
                produce,
            )

    async def vary(self, interaction: Interaction, job_id: str) -> None:
        """🎨: the image under the pressed button as the reference, same prompt, new seed (requester or admin)."""
        user = user_ref(interaction)
        request_id = new_request_id()
        message = interaction.message

        async def fetch() -> bytes:
            attachment = _attachment_of(message, job_id)
            if attachment is None:
                raise InvalidReference("The image is no longer available.", code="download_failed")
            return await self._downloader.fetch(attachment)

        reply = reply_address(interaction, "private")

        async def produce(progress: ProgressCallback) -> list[GenerationResult]:
            return [await self._service.vary(job_id, user, fetch, progress, request_id, reply=reply)]

        if await _defer(interaction, ephemeral=True):
            await self._run(
                PrivateThinking(interaction, user.locale, request_id, "vary.refused", self._cancel_after),
                produce,
            )

    async def cancel(self, interaction: Interaction, request_id: str) -> None:
        """❌ on a "thinking" reply: the request ends as "cancelled" (its own reply says so)."""
        user = user_ref(interaction)
        try:
            cancelled = await self._service.cancel(request_id, user)
        except NotPermitted:
            await send_ephemeral(interaction, translate("cancel.refused", user.locale))
            return
        except Exception:  # the shared table could not be read: say so rather than leave the click hanging
            log.exception("cancelling request %s failed", request_id)
            await send_ephemeral(interaction, translate("error.generic", user.locale))
            return
        if not cancelled:
            await send_ephemeral(interaction, translate("cancel.too_late", user.locale))
            return
        with contextlib.suppress(discord.HTTPException):  # the click only needs acknowledging
            await interaction.response.defer()

    async def quota(self, interaction: Interaction) -> None:
        """``/quota``: today's usage, privately."""
        user = user_ref(interaction)
        await self._answer(interaction, user, lambda: self._quota_text(user))

    async def accounts(self, interaction: Interaction) -> None:
        """``/accounts``: every account's state, for admins only, privately."""
        user = user_ref(interaction)
        await self._answer(interaction, user, lambda: self._accounts_text(user))

    async def shutdown(self, grace_seconds: float) -> None:
        """Let generations in flight finish for ``grace_seconds``, then cancel them (each still says so)."""
        await self._in_flight.drain(grace_seconds)

    async def _quota_text(self, user: UserRef) -> str:
        text = quota_text(await self._service.quota(user), user.locale)
        caps = model_caps_text(await self._service.models_left_today(), user.locale)
        return f"{text}\n{caps}" if caps else text

    async def _accounts_text(self, user: UserRef) -> str:
        try:
            statuses = await self._service.account_statuses(user)
        except NotPermitted:
            return translate("error.admin_only", user.locale)
        return accounts_text(statuses, user.locale)

    async def _answer(
        self, interaction: Interaction, user: UserRef, text: Callable[[], Awaitable[str]]
    ) -> None:
        try:
            reply = await text()
        except ImagineError as error:
            reply = error_text(error, user.locale)
        except Exception:
            log.exception(
                "discord command %s failed", interaction.command.name if interaction.command else "?"
            )
            reply = translate("error.generic", user.locale)
        await send_ephemeral(interaction, reply)

    def start(self, response: ThinkingResponse, produce: Produce) -> None:
        """Run ``produce`` and answer through ``response`` in the background (a request taken over from a
        replica that died), as work in flight that a stop drains."""
        task = asyncio.create_task(
            self._run(response, produce), name=f"discord-resumed-{response.request_id}"
        )
        self._resumed.add(task)
        task.add_done_callback(self._resumed.discard)

    async def _run(self, response: ThinkingResponse, produce: Produce) -> None:
        """Generate and deliver; whatever goes wrong, the "thinking" message ends in a sentence."""
        task = asyncio.current_task()
        if task is None:  # only outside a task, where there is nothing a stop could cancel
            await self._deliver(response, produce)
            return
        with self._in_flight.tracking(task):
            await self._deliver(response, produce)

    async def _deliver(self, response: ThinkingResponse, produce: Produce) -> None:
        delivered: bool | None = False
        try:
            delivered = await self._produce_and_answer(response, produce)
        finally:
            if response.request_id and delivered is not None:  # the user has the answer: the request ends
                await self._service.finish_request(response.request_id, delivered=delivered)

    async def _produce_and_answer(self, response: ThinkingResponse, produce: Produce) -> bool | None:
        """Generate and deliver: True when the images went out, False when the user got a sentence instead,
        None when another replica took the request over (it answers)."""
        """Generate and deliver; True when the images went out, False when the user got a sentence instead."""
        try:
            try:
                results = await produce(response.progress)
            finally:
                await response.settle()
            try:
                await response.deliver(results)
            except Exception:
                for result in results:  # made, but the user never got them
                    await self._service.refund_undelivered(result)
                raise
            return True
        except TakenOver:
            return None
        except Cancelled as error:
            await response.cancelled(error_text(error, response.locale))
        except ImagineError as error:
            await response.fail(self._error_sentence(error, response.locale, response))
        except asyncio.CancelledError:
            # Shutting down: say so briefly, never hang on it, and let the cancellation go on.
            with contextlib.suppress(Exception, asyncio.CancelledError):
                async with asyncio.timeout(3):
                    await response.fail(translate("error.shutting_down", response.locale))
            raise
        except Exception:
            log.exception("discord interaction %s failed after deferring", response.interaction.id)
            await response.fail(translate("error.generic", response.locale))
        return False

    @staticmethod
    def _error_sentence(error: ImagineError, locale: str, response: ThinkingResponse) -> str:
        if isinstance(error, NotPermitted) and isinstance(response, PrivateThinking):
            return translate(response.refused_key, locale)
        return error_text(error, locale)


async def _defer(interaction: Interaction, *, ephemeral: bool) -> bool:
    """Acknowledge within Discord's 3 s; False when the interaction is already gone (nothing more can be sent)."""
    try:
        await interaction.response.defer(thinking=True, ephemeral=ephemeral)
    except discord.HTTPException:
        log.warning("could not defer interaction %s (expired or already answered)", interaction.id)
        return False
    return True


def _attachment_of(message: discord.Message | None, job_id: str) -> discord.Attachment | None:
    """The attachment shown for ``job_id``: its 🎨 button's place among the message's 🎨 buttons."""
    if message is None:
        return None
    vary_ids = [
        child.custom_id
        for row in message.components
        if isinstance(row, discord.ActionRow)
        for child in row.children
        if isinstance(child, discord.Button) and (child.custom_id or "").startswith(VARY_PREFIX)
    ]
    wanted = VARY_PREFIX + job_id
    if wanted not in vary_ids or vary_ids.index(wanted) >= len(message.attachments):
        return None
    return message.attachments[vary_ids.index(wanted)]
