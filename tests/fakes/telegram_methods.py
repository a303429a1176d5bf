"""The Bot API methods of the fake Telegram server, over in-memory chats, messages, files and updates."""

from __future__ import annotations

import asyncio
import copy
import inspect
import itertools
import json
import re
import time
from collections.abc import Callable
from typing import Any

from tests.fakes.telegram_objects import (
    MAX_CAPTION_LENGTH,
    MAX_DOWNLOAD_BYTES,
    MAX_TEXT_LENGTH,
    ApiError,
    FileStore,
    JSONDict,
    bad_request,
    check_photo,
    document_object,
    message_object,
    photo_sizes,
    visible_text,
)

Handler = Callable[[dict[str, Any], dict[str, Any]], Any]
MessageKey = tuple[int, int]

_CHAT_ACTIONS = {
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note",
}  # fmt: skip
# Telegram leaves these out unless allowed_updates names them.
_OPT_IN_UPDATES = {"chat_member", "message_reaction", "message_reaction_count"}
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same "
    "as a current content and reply markup of the message"
)


class Signal:
    """Wakes every current waiter each time it fires (asyncio.Condition would need its lock in sync code)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        """Wake everyone waiting now."""
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self) -> None:
        """Return at the next fire()."""
        await self._event.wait()


class BotApiMethods:
    """State and method handlers; FakeTelegramBotAPI adds the HTTP server and the test-side API."""

    def __init__(self, token: str, bot_username: str, files: FileStore) -> None:
        self.token = token
        self.files = files
        bot_id = token.partition(":")[0]
        self.bot_user: JSONDict = {
            "id": int(bot_id) if bot_id.isdigit() else 123,
            "is_bot": True,
            "first_name": "Imagine Test Bot",
            "username": bot_username,
        }
        self.chats: dict[int, JSONDict] = {}
        self.messages: dict[MessageKey, JSONDict] = {}
        self.bot_message_keys: list[MessageKey] = []
        self.open_queries: set[str] = set()
        #: chat id -> user ids that own the chat (getChatMember answers "creator" for them, else "member")
        self.chat_owners: dict[int, set[int]] = {}
        self.pending_updates: list[JSONDict] = []
        self.updates_changed = Signal()
        self.closing = False
        self.webhook_url = ""
        #: the secret_token of the last setWebhook (sent back in X-Telegram-Bot-Api-Secret-Token)
        self.webhook_secret = ""
        self.commands: dict[str, list[JSONDict]] = {}
        self._message_ids = itertools.count(1)
        self._poll_generation = 0
        self._allowed_updates: list[str] | None = None
        self._handlers: dict[str, Handler] = {
            "getme": self._get_me, "logout": _answer_true, "close": _answer_true,
            "setwebhook": self._set_webhook, "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info, "getupdates": self._get_updates,
            "sendmessage": self._send_message, "sendphoto": self._send_photo,
            "senddocument": self._send_document, "sendmediagroup": self._send_media_group,
            "sendchataction": self._send_chat_action, "getchat": self._get_chat,
            "editmessagetext": self._edit_text, "editmessagecaption": self._edit_caption,
            "editmessagereplymarkup": self._edit_reply_markup, "editmessagemedia": self._edit_media,
            "deletemessage": self._delete_message, "getfile": self._get_file,
            "answercallbackquery": self._answer_callback_query, "getchatmember": self._get_chat_member,
            "setmycommands": self._set_my_commands, "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands, "setmydescription": _answer_true,
            "setmyshortdescription": _answer_true, "setmyname": _answer_true, "setchatmenubutton": _answer_true,
        }  # fmt: skip

    async def dispatch(self, method: str, params: dict[str, Any], files: dict[str, Any]) -> Any:
        """Run one Bot API method; raises ApiError for what Telegram would refuse."""
        handler = self._handlers.get(method.lower())
        if handler is None:
            raise bad_request("method not found")
        result = handler(params, files)
        return await result if inspect.isawaitable(result) else result

    def next_message_id(self) -> int:
        """A fresh message_id."""
        return next(self._message_ids)

    # ---- bot, webhook, updates ----------------------------------------------------------------

    def _get_me(self, params: JSONDict, files: JSONDict) -> JSONDict:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _set_webhook(self, params: JSONDict, files: JSONDict) -> bool:
        url = str(params.get("url", ""))
        if url and not url.startswith("https://"):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook_url = url
        self.webhook_secret = str(params.get("secret_token", ""))
        if "allowed_updates" in params:
            self._allowed_updates = params["allowed_updates"] or None
        return self._delete_webhook(params, files) if not url else self._drop_if_asked(params)

    def _delete_webhook(self, params: JSONDict, files: JSONDict) -> bool:
        self.webhook_url = ""
        return self._drop_if_asked(params)

    def _drop_if_asked(self, params: JSONDict) -> bool:
        if params.get("drop_pending_updates") is True:
            self.pending_updates.clear()
        return True

    def _get_webhook_info(self, params: JSONDict, files: JSONDict) -> JSONDict:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self.pending_updates),
        }

    async def _get_updates(self, params: JSONDict, files: JSONDict) -> list[JSONDict]:
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        self._confirm(params.get("offset"))
        if "allowed_updates" in params:
            self._allowed_updates = params["allowed_updates"] or None
        self._poll_generation += 1
        generation = self._poll_generation
        self.updates_changed.fire()  # a newer poll ends older ones, as on Telegram
        ready: list[JSONDict] = []
        try:
            async with asyncio.timeout(float(params.get("timeout") or 0)):
                while (
                    not (ready := self._ready(generation, int(params.get("limit") or 100)))
                    and not self.closing
                ):
                    await self.updates_changed.wait()
        except TimeoutError:
            pass  # an empty answer is how a long poll ends
        return copy.deepcopy(ready)

    def _ready(self, generation: int, limit: int) -> list[JSONDict]:
        if generation != self._poll_generation:
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; "
                "make sure that only one bot instance is running",
            )
        return self._deliverable()[:limit]

    def _confirm(self, offset: Any) -> None:
        # An update is confirmed (and forgotten) once getUpdates asks for a higher offset.
        if isinstance(offset, int) and offset > 0:
            self.pending_updates = [
                update for update in self.pending_updates if update["update_id"] >= offset
            ]
        elif isinstance(offset, int) and offset < 0:
            self.pending_updates = self.pending_updates[offset:]

    def _deliverable(self) -> list[JSONDict]:
        def wanted(update: JSONDict) -> bool:
            kind = next(key for key in update if key != "update_id")
            return kind in self._allowed_updates if self._allowed_updates else kind not in _OPT_IN_UPDATES

        return [update for update in self.pending_updates if wanted(update)]

    # ---- sending ------------------------------------------------------------------------------

    def _send_message(self, params: JSONDict, files: JSONDict) -> JSONDict:
        return self._send(params, _text_content(params))

    def _send_photo(self, params: JSONDict, files: JSONDict) -> JSONDict:
        caption = _caption_content(params)
        return self._send(params, {**self._photo_content(params.get("photo"), files, "photo"), **caption})

    def _send_document(self, params: JSONDict, files: JSONDict) -> JSONDict:
        caption = _caption_content(params)
        return self._send(
            params, {**self._document_content(params.get("document"), files, "document"), **caption}
        )

    def _send_media_group(self, params: JSONDict, files: JSONDict) -> list[JSONDict]:
        media = params.get("media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise bad_request("media group must have 2-10 items")
        contents = [self._media_content(item, files) for item in media]
        group_id = str(13_000_000_000_000_000 + next(self._message_ids))
        return [self._send(params, {**content, "media_group_id": group_id}) for content in contents]

    def _send_chat_action(self, params: JSONDict, files: JSONDict) -> bool:
        self._chat(params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    def _get_chat(self, params: JSONDict, files: JSONDict) -> JSONDict:
        return {**self._chat(params), "accent_color_id": 0, "max_reaction_count": 11}

    def _send(self, params: JSONDict, content: JSONDict) -> JSONDict:
        chat = self._chat(params)
        message = message_object(self.next_message_id(), chat, self.bot_user, content)
        if reply_to := self._reply_target(chat["id"], params):
            message["reply_to_message"] = reply_to
        if markup := _inline_markup(params):
            message["reply_markup"] = markup
        key = (chat["id"], message["message_id"])
        self.messages[key] = message
        self.bot_message_keys.append(key)
        return copy.deepcopy(message)

    def _chat(self, params: JSONDict) -> JSONDict:
        chat = self.chats.get(params.get("chat_id"))  # type: ignore[arg-type]
        if chat is None:
            raise bad_request("chat not found")
        return chat

    def _reply_target(self, chat_id: int, params: JSONDict) -> JSONDict | None:
        reply = params.get("reply_parameters")
        if not isinstance(reply, dict):
            return None
        target = self.messages.get((reply.get("chat_id", chat_id), reply.get("message_id")))  # type: ignore[arg-type]
        if target is None:
            if reply.get("allow_sending_without_reply"):
                return None
            raise bad_request("message to be replied not found")
        return {key: value for key, value in copy.deepcopy(target).items() if key != "reply_to_message"}

    def _input_bytes(self, value: Any, files: JSONDict, part: str) -> tuple[bytes, str, str | None]:
        """Bytes of an upload, an attach:// part or a known file_id, with a file name and content type."""
        if isinstance(value, str) and value.startswith("attach://"):
            part = value.removeprefix("attach://")
        if part in files:
            upload = files[part]
            return upload.data, upload.filename, upload.content_type
        stored = self.files.get(value) if isinstance(value, str) else None
        if stored is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        return stored.data, stored.file_path.rpartition("/")[2], None

    def _photo_content(self, value: Any, files: JSONDict, part: str) -> JSONDict:
        data, _, _ = self._input_bytes(value, files, part)
        check_photo(data)
        return {"photo": photo_sizes(data, self.files)}

    def _document_content(self, value: Any, files: JSONDict, part: str) -> JSONDict:
        data, file_name, content_type = self._input_bytes(value, files, part)
        stored = self.files.add(data, "documents", file_name.rpartition(".")[2] or "bin")
        mime_type = None if content_type in (None, "application/octet-stream") else content_type
        return {"document": document_object(stored, file_name, mime_type)}

    def _media_content(self, item: JSONDict, files: JSONDict) -> JSONDict:
        """Content of one InputMedia (sendMediaGroup, editMessageMedia)."""
        caption = _caption_content(item)
        if item.get("type") == "photo":
            return {**self._photo_content(item.get("media"), files, ""), **caption}
        if item.get("type") == "document":
            return {**self._document_content(item.get("media"), files, ""), **caption}
        raise bad_request(f"unsupported media type {item.get('type')!r} in this fake")

    # ---- editing and deleting -----------------------------------------------------------------

    def _edit_text(self, params: JSONDict, files: JSONDict) -> JSONDict | bool:
        return self._edit(params, _text_content(params), needs="text")

    def _edit_caption(self, params: JSONDict, files: JSONDict) -> JSONDict | bool:
        return self._edit(params, _caption_content(params), needs="media")

    def _edit_reply_markup(self, params: JSONDict, files: JSONDict) -> JSONDict | bool:
        return self._edit(params, None, needs=None)

    def _edit_media(self, params: JSONDict, files: JSONDict) -> JSONDict | bool:
        media = params.get("media")
        if not isinstance(media, dict):
            raise bad_request("media is empty")
        return self._edit(params, self._media_content(media, files), needs="media")

    def _edit(self, params: JSONDict, content: JSONDict | None, needs: str | None) -> JSONDict | bool:
        """Replace text or media+caption and the inline keyboard (dropped unless sent again, as on Telegram)."""
        if "inline_message_id" in params:
            return True
        key = (params.get("chat_id"), params.get("message_id"))
        message = self.messages.get(key)  # type: ignore[arg-type]
        if message is None:
            raise bad_request("message to edit not found")
        if message["from"]["id"] != self.bot_user["id"]:
            raise bad_request("message can't be edited")
        edited = copy.deepcopy(message)
        if needs == "text" and "text" not in message:
            raise bad_request("there is no text in the message to edit")
        if needs == "media" and not {"photo", "document"} & message.keys():
            raise bad_request("there is no media in the message to edit")
        if content is not None:
            edited_keys = {"text", "entities"} if needs == "text" else {"caption", "caption_entities"}
            if "photo" in content or "document" in content:
                edited_keys |= {"photo", "document"}
            edited = {k: v for k, v in edited.items() if k not in edited_keys} | content
        edited.pop("reply_markup", None)
        if markup := _inline_markup(params):
            edited["reply_markup"] = markup
        if edited == message:
            raise bad_request(_NOT_MODIFIED)
        edited["edit_date"] = int(time.time())
        self.messages[key] = edited  # type: ignore[index]
        return copy.deepcopy(edited)

    def _delete_message(self, params: JSONDict, files: JSONDict) -> bool:
        if self.messages.pop((params.get("chat_id"), params.get("message_id")), None) is None:  # type: ignore[arg-type]
            raise bad_request("message to delete not found")
        return True

    # ---- files, callbacks, commands -----------------------------------------------------------

    def _get_file(self, params: JSONDict, files: JSONDict) -> JSONDict:
        stored = self.files.get(str(params.get("file_id", "")))
        if stored is None:
            raise bad_request("invalid file_id")
        if len(stored.data) > MAX_DOWNLOAD_BYTES:
            raise bad_request("file is too big")
        return stored.to_api()

    def _get_chat_member(self, params: JSONDict, files: JSONDict) -> JSONDict:
        chat = self._chat(params)
        user_id = int(params.get("user_id", 0))
        user = {"id": user_id, "is_bot": False, "first_name": f"User {user_id}"}
        if user_id in self.chat_owners.get(chat["id"], set()):
            return {"status": "creator", "user": user, "is_anonymous": True}
        return {"status": "member", "user": user}

    def _answer_callback_query(self, params: JSONDict, files: JSONDict) -> bool:
        query_id = params.get("callback_query_id")
        if query_id not in self.open_queries:
            raise bad_request("query is too old and response timeout expired or query ID is invalid")
        self.open_queries.discard(query_id)
        return True

    def _set_my_commands(self, params: JSONDict, files: JSONDict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise bad_request("commands must be a list")
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
        self.commands[_commands_key(params)] = commands
        return True

    def _get_my_commands(self, params: JSONDict, files: JSONDict) -> list[JSONDict]:
        return copy.deepcopy(self.commands.get(_commands_key(params), []))

    def _delete_my_commands(self, params: JSONDict, files: JSONDict) -> bool:
        self.commands.pop(_commands_key(params), None)
        return True


def _answer_true(params: JSONDict, files: JSONDict) -> bool:
    return True


def _commands_key(params: JSONDict) -> str:
    return json.dumps([params.get("scope") or {"type": "default"}, params.get("language_code", "")])


def _text_content(params: JSONDict) -> JSONDict:
    text = visible_text(str(params.get("text", "")), params.get("parse_mode"), MAX_TEXT_LENGTH, "text")
    content: JSONDict = {"text": text}
    if params.get("entities"):
        content["entities"] = params["entities"]
    return content


def _caption_content(params: JSONDict) -> JSONDict:
    if not params.get("caption"):
        return {}
    caption = visible_text(str(params["caption"]), params.get("parse_mode"), MAX_CAPTION_LENGTH, "caption")
    content: JSONDict = {"caption": caption}
    if params.get("caption_entities"):
        content["caption_entities"] = params["caption_entities"]
    return content


def _inline_markup(params: JSONDict) -> JSONDict | None:
    """The inline keyboard of a call, checked like Telegram does; other keyboards never show in a Message."""
    markup = params.get("reply_markup")
    if not isinstance(markup, dict) or not markup.get("inline_keyboard"):
        return None
    for row in markup["inline_keyboard"]:
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= 64:
                raise bad_request("BUTTON_DATA_INVALID")
            if not button.get("text"):
                raise bad_request(
                    "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
                )
    return markup
