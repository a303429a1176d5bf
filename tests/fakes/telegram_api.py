"""A fake Telegram Bot API server on 127.0.0.1 that python-telegram-bot can talk to, for offline tests.

    async with FakeTelegramBotAPI(token="123:TEST", bot_username="imagine_test_bot") as tg:
        app = ApplicationBuilder().token(tg.token).base_url(tg.base_url).base_file_url(tg.base_file_url).build()
        tg.send_text("/imagine a cat")
        (reply,) = await tg.wait_for("sendPhoto")

The test side queues updates (send_text, send_photo, send_album, send_document, press_button) and reads what
the bot did (calls, sent_messages, wait_for). fail_next() makes the next call of a method fail.

Webhook mode: once the bot called setWebhook, ``deliver_webhook()`` POSTs the queued updates to the registered URL
with the secret header, as Telegram does, and records each answer in ``deliveries``.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import ssl
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Self

from aiohttp import ClientSession, ClientTimeout, web

from tests.fakes.loopback import serve_on_loopback
from tests.fakes.telegram_methods import BotApiMethods, Signal
from tests.fakes.telegram_objects import (
    ALICE,
    ANONYMOUS_ADMIN,
    ApiError,
    FileStore,
    JSONDict,
    TgChat,
    TgUser,
    command_entities,
    document_object,
    image_size,
    message_object,
    photo_sizes,
)

# Parameters that PTB sends JSON-encoded (objects, lists, numbers, booleans); everything else stays a string.
_DECODED_PARAMS = {
    "chat_id", "message_id", "offset", "limit", "timeout", "reply_markup", "reply_parameters", "entities",
    "caption_entities", "media", "commands", "scope", "allowed_updates", "link_preview_options",
    "drop_pending_updates", "show_alert", "cache_time", "disable_notification", "has_spoiler",
    "message_thread_id", "max_connections", "protect_content",
}  # fmt: skip
# What Telegram usually says with each status, for fail_next() without a description.
_TYPICAL_ERRORS = {
    400: "Bad Request: injected failure",
    403: "Forbidden: bot was blocked by the user",
    409: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
    429: "Too Many Requests: retry after {retry_after}",
    502: "Bad Gateway",
}


@dataclass(frozen=True)
class UploadedFile:
    """One multipart file part of a call."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class WebhookDelivery:
    """One POST of an update to the bot's webhook, and how it was answered."""

    update_id: int
    status: int
    #: who answered, when a load balancer says so in an ``X-Replica`` response header
    replica: str | None = None
    #: from sending the POST to its answer
    seconds: float = 0.0


@dataclass
class ApiCall:
    """One Bot API call as the fake saw it, with what it answered."""

    method: str
    params: dict[str, Any]
    files: dict[str, UploadedFile] = field(default_factory=dict)
    result: Any = None
    error: ApiError | None = None

    @property
    def ok(self) -> bool:
        """Whether the fake answered ok:true."""
        return self.error is None


class FakeTelegramBotAPI(BotApiMethods):
    """The Bot API as python-telegram-bot sees it, served from 127.0.0.1 on an ephemeral port."""

    def __init__(self, token: str = "123:TEST", bot_username: str = "imagine_test_bot") -> None:
        super().__init__(token, bot_username, FileStore())
        self.calls: list[ApiCall] = []
        self._failures: defaultdict[str, deque[ApiError]] = defaultdict(deque)
        self._call_recorded = Signal()
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._update_ids = itertools.count(800_000_001)
        self._callback_ids = itertools.count(4_300_000_000_000_000_001)
        self._media_group_ids = itertools.count(13_900_000_000_000_001)
        #: every webhook POST so far, in order
        self.deliveries: list[WebhookDelivery] = []
        #: how to trust the webhook's HTTPS certificate (e.g. a local CA's root); None: the system's
        self.webhook_ssl: ssl.SSLContext | None = None

    async def __aenter__(self) -> Self:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/bot{token}/{method}", self._on_method)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._on_file)
        self._runner, self._port = await serve_on_loopback(app, shutdown_timeout=1.0)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.closing = True
        self.updates_changed.fire()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        """Pass to ApplicationBuilder().base_url(); PTB appends the token."""
        return f"http://127.0.0.1:{self._port}/bot"

    @property
    def base_file_url(self) -> str:
        """Pass to ApplicationBuilder().base_file_url(); PTB appends the token."""
        return f"http://127.0.0.1:{self._port}/file/bot"

    # ---- test side: what users do -------------------------------------------------------------

    def send_text(
        self,
        text: str,
        user: TgUser = ALICE,
        chat: TgChat | None = None,
        reply_to_message: JSONDict | None = None,
    ) -> JSONDict:
        """Queue a text message from `user` (private chat by default); returns the Message."""
        content: JSONDict = {"text": text}
        if entities := command_entities(text):
            content["entities"] = entities
        return self._queue_message(user, chat, content, reply_to_message)

    def send_photo(
        self,
        image: bytes,
        caption: str | None = None,
        user: TgUser = ALICE,
        chat: TgChat | None = None,
        media_group_id: str | None = None,
        reply_to_message: JSONDict | None = None,
    ) -> JSONDict:
        """Queue a photo (several sizes, smallest first); returns the Message."""
        image_size(image)  # fail loudly in the test, not later in the bot
        content: JSONDict = {"photo": photo_sizes(image, self.files), **_caption(caption)}
        if media_group_id:
            content["media_group_id"] = media_group_id
        return self._queue_message(user, chat, content, reply_to_message)

    def send_album(
        self,
        images: Iterable[bytes],
        caption: str | None = None,
        user: TgUser = ALICE,
        chat: TgChat | None = None,
    ) -> list[JSONDict]:
        """Queue one update per image sharing a media_group_id, the caption on the first only."""
        group_id = str(next(self._media_group_ids))
        return [
            self.send_photo(image, caption if index == 0 else None, user, chat, media_group_id=group_id)
            for index, image in enumerate(images)
        ]

    def send_document(
        self,
        data: bytes,
        file_name: str,
        mime_type: str | None = None,
        caption: str | None = None,
        user: TgUser = ALICE,
        chat: TgChat | None = None,
    ) -> JSONDict:
        """Queue a file sent as a document (uncompressed); returns the Message."""
        stored = self.files.add(data, "documents", file_name.rpartition(".")[2] or "bin")
        content = {"document": document_object(stored, file_name, mime_type), **_caption(caption)}
        return self._queue_message(user, chat, content, None)

    def press_button(self, message: JSONDict, callback_data: str, user: TgUser = ALICE) -> JSONDict:
        """Queue a callback query for an inline button the bot really shows on `message` now."""
        current = self.messages.get((message["chat"]["id"], message["message_id"]))
        if current is None:
            raise ValueError("that message does not exist (deleted?)")
        buttons = current.get("reply_markup", {}).get("inline_keyboard", [])
        if not any(button.get("callback_data") == callback_data for row in buttons for button in row):
            raise ValueError(f"no button with callback_data {callback_data!r} on that message: {buttons}")
        query_id = str(next(self._callback_ids))
        self.open_queries.add(query_id)
        query = {
            "id": query_id,
            "from": user.to_api(),
            "message": copy.deepcopy(current),
            "chat_instance": str(abs(message["chat"]["id"]) * 31),
            "data": callback_data,
        }
        self.queue_update({"callback_query": query})
        return query

    def send_as_chat(self, text: str, chat: TgChat) -> JSONDict:
        """Queue a message an anonymous group admin sends: from GroupAnonymousBot, ``sender_chat`` the group."""
        self.chats[chat.id] = chat.to_api()
        content: JSONDict = {"text": text, "sender_chat": chat.to_api()}
        if entities := command_entities(text):
            content["entities"] = entities
        return self._queue_message(ANONYMOUS_ADMIN, chat, content, None)

    def forge_button(self, message: JSONDict, callback_data: str, user: TgUser = ALICE) -> JSONDict:
        """A callback query with data the message does not carry (as a modified client could send)."""
        query_id = str(next(self._callback_ids))
        self.open_queries.add(query_id)
        current = self.messages[(message["chat"]["id"], message["message_id"])]
        query = {
            "id": query_id,
            "from": user.to_api(),
            "message": copy.deepcopy(current),
            "chat_instance": "1",
            "data": callback_data,
        }
        self.queue_update({"callback_query": query})
        return query

    def queue_update(self, update: JSONDict) -> JSONDict:
        """Queue any raw update (without update_id) for getUpdates; returns it with its update_id."""
        update = {"update_id": next(self._update_ids), **update}
        self.pending_updates.append(update)
        self.updates_changed.fire()
        return update

    def add_chat(self, chat: TgChat) -> None:
        """Let the bot write to a chat no update came from yet (Telegram answers 'chat not found' otherwise)."""
        self.chats[chat.id] = chat.to_api()

    def add_file(self, data: bytes, file_name: str = "image.png") -> str:
        """Register bytes the bot may fetch with getFile / send by file_id; returns the file_id."""
        return self.files.add(data, "documents", file_name.rpartition(".")[2] or "bin").file_id

    async def deliver_webhook(self, *, secret: str | None = None) -> list[WebhookDelivery]:
        """POST each queued update to the registered webhook, one at a time in order, with the secret the bot
        registered (or ``secret``, to play someone who does not know it). A 2xx answer confirms the update; any
        other leaves it queued for the next round, as Telegram retries. Returns this round's deliveries."""
        if not self.webhook_url:
            raise RuntimeError("no webhook is set (the bot has not called setWebhook)")
        headers = {"X-Telegram-Bot-Api-Secret-Token": self.webhook_secret if secret is None else secret}
        delivered: list[WebhookDelivery] = []
        async with ClientSession(timeout=ClientTimeout(total=60)) as session:
            for update in list(self._deliverable()):
                start = time.perf_counter()
                async with session.post(
                    self.webhook_url, json=update, headers=headers, ssl=self.webhook_ssl or True
                ) as answer:
                    await answer.read()
                    delivery = WebhookDelivery(
                        update["update_id"],
                        answer.status,
                        answer.headers.get("X-Replica"),
                        time.perf_counter() - start,
                    )
                if 200 <= answer.status < 300:
                    self.pending_updates.remove(update)
                delivered.append(delivery)
        self.deliveries += delivered
        return delivered

    # ---- test side: what the bot did ----------------------------------------------------------

    def fail_next(
        self, method: str, error_code: int = 429, retry_after: int = 1, description: str | None = None
    ) -> None:
        """Answer the next call of `method` with an error; 429s carry parameters.retry_after."""
        if description is None:
            description = _TYPICAL_ERRORS.get(error_code, "Internal Server Error")
            description = description.format(retry_after=retry_after)
        injected = ApiError(error_code, description, retry_after if error_code == 429 else None)
        self._failures[method.lower()].append(injected)

    def calls_of(self, method: str) -> list[ApiCall]:
        """Calls of one method so far (method names are case-insensitive, as on Telegram)."""
        return [call for call in self.calls if call.method.lower() == method.lower()]

    def sent_messages(self, chat_id: int | None = None) -> list[JSONDict]:
        """Messages the bot sent that still exist, in sending order, with edits applied."""
        keys = [key for key in self.bot_message_keys if chat_id is None or key[0] == chat_id]
        return [copy.deepcopy(self.messages[key]) for key in keys if key in self.messages]

    async def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 10.0,  # noqa: ASYNC109 - the one knob tests want; asyncio.timeout is used inside
        predicate: Callable[[ApiCall], bool] | None = None,
    ) -> list[ApiCall]:
        """Wait until `count` matching calls were answered; returns all matching calls so far."""
        matches: list[ApiCall] = []
        try:
            async with asyncio.timeout(timeout):
                while len(matches := self._matching(method, predicate)) < count:
                    await self._call_recorded.wait()
        except TimeoutError:
            seen = sorted({call.method for call in self.calls})
            raise AssertionError(
                f"wanted {count} {method} call(s), got {len(matches)}; seen: {seen}"
            ) from None
        return matches

    def _matching(self, method: str, predicate: Callable[[ApiCall], bool] | None) -> list[ApiCall]:
        return [call for call in self.calls_of(method) if predicate is None or predicate(call)]

    # ---- HTTP side ----------------------------------------------------------------------------

    async def _on_method(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params, files = await _read_params(request)
        call = ApiCall(method, params, files)
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            if self._failures[method.lower()]:
                raise self._failures[method.lower()].popleft()
            call.result = await self.dispatch(method, params, files)
            body: JSONDict = {"ok": True, "result": call.result}
        except ApiError as error:
            call.error = error
            body = error.to_api()
        self.calls.append(call)
        self._call_recorded.fire()
        return web.json_response(body, status=call.error.error_code if call.error else 200)

    async def _on_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").to_api(), status=401)
        stored = self.files.at_path(request.match_info["file_path"])
        if stored is None:
            return web.json_response(ApiError(404, "Not Found").to_api(), status=404)
        return web.Response(body=stored.data, content_type="application/octet-stream")

    def _queue_message(
        self, user: TgUser, chat: TgChat | None, content: JSONDict, reply_to: JSONDict | None
    ) -> JSONDict:
        chat_object = (chat or TgChat.private(user)).to_api()
        self.chats[chat_object["id"]] = chat_object
        message = message_object(self.next_message_id(), chat_object, user.to_api(), content)
        if reply_to is not None:
            # Telegram nests one level only: the quoted message comes without its own reply_to_message.
            message["reply_to_message"] = {
                k: v for k, v in copy.deepcopy(reply_to).items() if k != "reply_to_message"
            }
        self.messages[(chat_object["id"], message["message_id"])] = message
        self.queue_update({"message": copy.deepcopy(message)})
        return copy.deepcopy(message)


async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    params: dict[str, Any] = {}
    files: dict[str, UploadedFile] = {}
    form = await request.post()  # urlencoded, multipart and empty bodies alike
    for name, value in form.items():
        if isinstance(value, web.FileField):
            files[name] = UploadedFile(value.filename, value.content_type, value.file.read())
        else:
            params[name] = _decode(name, str(value))
    return params, files


def _decode(name: str, value: str) -> Any:
    if name not in _DECODED_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value  # e.g. chat_id="@channelname"


def _caption(caption: str | None) -> JSONDict:
    if caption is None:
        return {}
    content: JSONDict = {"caption": caption}
    if entities := command_entities(caption):
        content["caption_entities"] = entities
    return content
