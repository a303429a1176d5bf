"""Finishing, on this replica, a Discord request another one accepted and could not finish (it died).

A deferred interaction is answered through its webhook: with the application id and the interaction token any
process may edit the original "thinking" reply and send follow-ups, for 15 minutes after the interaction. The
token is a credential for that one interaction: it is stored with the request (owner-only database, rows pruned
after a day, long expired by then) and never logged.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, cast

import discord

from bot.adapters.discord.responses import PrivateThinking, PublicThinking, ThinkingResponse
from bot.core.models import GenerationResult
from bot.core.persistence import AcceptedRequest
from bot.core.requests import Redo
from bot.core.service import ImageService, ProgressCallback
from bot.errors import InvalidReference
from bot.i18n import translate

#: Discord keeps an interaction's token valid this long; a little is kept back for the answer to go out
TOKEN_LIFETIME = 15 * 60 - 30

#: ``Webhook.edit_message``/``delete_message`` take a message id; this one names the deferred reply
_ORIGINAL = cast(int, "@original")


def reply_address(interaction: discord.Interaction[Any], shape: str, **extra: Any) -> dict[str, Any]:
    """Where any replica answers this interaction (``GenerationRequest.reply``); ``shape``: public or private."""
    return {
        "application_id": str(interaction.application_id),
        "token": interaction.token,
        "created_at": interaction.created_at.timestamp(),
        "shape": shape,
        **extra,
    }


class InteractionWebhook:
    """The parts of a deferred interaction a ``ThinkingResponse`` uses, from its application id and token."""

    def __init__(self, state: Any, reply: Mapping[str, Any], request_id: str) -> None:
        payload = {"id": int(reply["application_id"]), "type": 3, "token": str(reply["token"])}
        # type 3 (application) as discord.py's own Interaction.followup: ephemeral follow-ups and views allowed
        self._webhook = discord.Webhook.from_state(data=payload, state=state)  # type: ignore[arg-type]
        self._request_id = request_id

    @property
    def id(self) -> int:  # only ever logged
        return int(self._request_id, 16) if self._request_id.isalnum() else 0

    @property
    def followup(self) -> discord.Webhook:
        return self._webhook

    async def edit_original_response(self, **fields: Any) -> object:
        return await self._webhook.edit_message(_ORIGINAL, **fields)

    async def delete_original_response(self) -> None:
        await self._webhook.delete_message(_ORIGINAL)


def answerable(reply: Mapping[str, Any] | None, now: float) -> bool:
    """Whether the interaction's token still works (15 minutes from the interaction)."""
    return reply is not None and now < float(reply.get("created_at", 0)) + TOKEN_LIFETIME


class DiscordResumer:
    """The ``bot.core.requests.Resumer`` of Discord: the same response shapes, over the interaction's webhook."""

    def __init__(self, service: ImageService, client: discord.Client, run: Any, cancel_after: float) -> None:
        self._service = service
        self._client = client
        #: ``ImagineFlow.start``: runs a response and its production as work in flight of this adapter
        self._run = run
        self._cancel_after = cancel_after

    def answerable(self, request: AcceptedRequest) -> bool:
        return answerable(Redo.from_payload(request.payload).reply, time.time())

    async def resume(self, request: AcceptedRequest) -> None:
        """Generate again here and answer in the original interaction, in the background."""
        redo = Redo.from_payload(request.payload)
        reply = redo.reply or {}

        async def produce(progress: ProgressCallback) -> list[GenerationResult]:
            if reply.get("attachments"):  # Discord's attachment links are not kept: say so, refunded
                raise InvalidReference("The image is no longer available.", code="download_failed")
            return await self._service.resume(request, progress)

        self._run(self._response(request, redo), produce)

    async def tell(self, request: AcceptedRequest, key: str) -> None:
        """Put the catalogue text ``key`` where the "thinking" reply was."""
        redo = Redo.from_payload(request.payload)
        await self._response(request, redo).cancelled(translate(key, redo.user.locale))

    def _response(self, request: AcceptedRequest, redo: Redo) -> ThinkingResponse:
        reply = redo.reply or {}
        hook = InteractionWebhook(self._client._connection, reply, request.id)
        shape = PublicThinking if reply.get("shape") == "public" else PrivateThinking
        refused = "vary.refused" if redo.kind == "vary" else "reroll.refused"
        return shape(hook, redo.user.locale, request.id, refused, self._cancel_after)
