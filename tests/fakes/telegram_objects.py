"""Bot API objects for the fake Telegram server: users, chats, messages, stored files, photo sizes, text rules."""

from __future__ import annotations

import hashlib
import io
import itertools
import mimetypes
import re
import time
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, UnidentifiedImageError

JSONDict = dict[str, Any]

# Telegram keeps a photo's longest side at these steps (s, m, x, y, w) and never upscales.
PHOTO_SIDE_LIMITS = (90, 320, 800, 1280, 2560)
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024


class ApiError(Exception):
    """An error answer of the Bot API: HTTP status, description and optional retry_after."""

    def __init__(self, error_code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after

    def to_api(self) -> JSONDict:
        """The JSON body Telegram answers with."""
        body: JSONDict = {"ok": False, "error_code": self.error_code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(detail: str) -> ApiError:
    """A 400 answer worded like Telegram's."""
    return ApiError(400, f"Bad Request: {detail}")


@dataclass(frozen=True)
class TgUser:
    """A Telegram user as it appears in `from`."""

    id: int = 1001
    first_name: str = "Alice"
    username: str | None = "alice"
    language_code: str | None = "en"
    is_bot: bool = False

    def to_api(self) -> JSONDict:
        """The Bot API User object."""
        user: JSONDict = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user


ALICE = TgUser()
BOB = TgUser(id=1002, first_name="Bob", username="bob", language_code="de")
#: Telegram's stand-in sender for every anonymous group admin (the real group is in ``sender_chat``)
ANONYMOUS_ADMIN = TgUser(
    id=1087968824, first_name="Group", username="GroupAnonymousBot", language_code=None, is_bot=True
)


@dataclass(frozen=True)
class TgChat:
    """A Telegram chat; build with `TgChat.private(user)` or `TgChat.group()`."""

    id: int
    type: str = "private"
    title: str | None = None
    first_name: str | None = None
    username: str | None = None

    @classmethod
    def private(cls, user: TgUser) -> TgChat:
        """The one-to-one chat between `user` and the bot (its id is the user's id)."""
        return cls(id=user.id, type="private", first_name=user.first_name, username=user.username)

    @classmethod
    def group(cls, title: str = "Imagine testers", chat_id: int = -1001234567890) -> TgChat:
        """A supergroup, which is what Telegram groups become nowadays."""
        return cls(id=chat_id, type="supergroup", title=title)

    def to_api(self) -> JSONDict:
        """The Bot API Chat object."""
        chat: JSONDict = {"id": self.id, "type": self.type}
        for key in ("title", "first_name", "username"):
            if getattr(self, key):
                chat[key] = getattr(self, key)
        return chat


@dataclass(frozen=True)
class StoredFile:
    """Bytes the fake can serve under /file/bot{token}/{file_path}."""

    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes

    def to_api(self) -> JSONDict:
        """The Bot API File object answered by getFile."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            "file_path": self.file_path,
        }


@dataclass
class FileStore:
    """Every file the fake knows, by file_id and by download path."""

    _by_id: dict[str, StoredFile] = field(default_factory=dict)
    _by_path: dict[str, StoredFile] = field(default_factory=dict)
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def add(self, data: bytes, folder: str, extension: str) -> StoredFile:
        """Store `data` under a fresh file_id; identical bytes share a file_unique_id, as on Telegram."""
        number = next(self._numbers)
        digest = hashlib.sha256(data).hexdigest()
        stored = StoredFile(
            file_id=f"AgACAgIAAxkB{number:06d}{digest[:24]}",
            file_unique_id=f"AQAD{digest[:12]}",
            file_path=f"{folder}/file_{number}.{extension}",
            data=data,
        )
        self._by_id[stored.file_id] = stored
        self._by_path[stored.file_path] = stored
        return stored

    def get(self, file_id: str) -> StoredFile | None:
        """The file with this file_id, if any."""
        return self._by_id.get(file_id)

    def at_path(self, file_path: str) -> StoredFile | None:
        """The file served under this download path, if any."""
        return self._by_path.get(file_path)


def image_size(data: bytes) -> tuple[int, int]:
    """Width and height of an encoded image; ValueError if the bytes are not an image."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except (UnidentifiedImageError, OSError) as exc:
        raise ValueError("not an image") from exc


def check_photo(data: bytes) -> None:
    """Reject what Telegram rejects in sendPhoto."""
    if len(data) > MAX_PHOTO_BYTES:
        raise bad_request("PHOTO_SAVE_FILE_INVALID")
    try:
        width, height = image_size(data)
    except ValueError:
        raise bad_request("IMAGE_PROCESS_FAILED") from None
    if width + height > 10_000 or max(width, height) > 20 * min(width, height):
        raise bad_request("PHOTO_INVALID_DIMENSIONS")


def photo_sizes(data: bytes, store: FileStore) -> list[JSONDict]:
    """Store a photo the way Telegram does: downscaled JPEG copies, smallest first, then the original."""
    with Image.open(io.BytesIO(data)) as image:
        longest = max(image.size)
        sizes = [
            _stored_size(_downscaled_jpeg(image, side), store) for side in PHOTO_SIDE_LIMITS if side < longest
        ]
    # Small enough photos keep their exact bytes as the largest size, so a bot can round-trip them.
    if longest <= PHOTO_SIDE_LIMITS[-1]:
        sizes.append(_stored_size(data, store))
    return sizes


def _downscaled_jpeg(image: Image.Image, side: int) -> bytes:
    copy = image.convert("RGB")
    copy.thumbnail((side, side))
    buffer = io.BytesIO()
    copy.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def _stored_size(data: bytes, store: FileStore) -> JSONDict:
    width, height = image_size(data)
    stored = store.add(data, "photos", "jpg")
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "width": width,
        "height": height,
        "file_size": len(data),
    }


def document_object(stored: StoredFile, file_name: str, mime_type: str | None) -> JSONDict:
    """The Bot API Document object for a stored file."""
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_name": file_name,
        "mime_type": mime_type or mimetypes.guess_type(file_name)[0] or "application/octet-stream",
        "file_size": len(stored.data),
    }


def message_object(message_id: int, chat: JSONDict, sender: JSONDict, content: JSONDict) -> JSONDict:
    """A Bot API Message; `content` holds text/caption/photo/document and friends."""
    return {"message_id": message_id, "date": int(time.time()), "chat": chat, "from": sender, **content}


_LEADING_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]{3,32})?")


def command_entities(text: str) -> list[JSONDict]:
    """The bot_command entity Telegram attaches to a leading /command[@bot]."""
    match = _LEADING_COMMAND.match(text)
    if not match:
        return []
    return [{"type": "bot_command", "offset": 0, "length": utf16_length(match.group())}]


def utf16_length(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def visible_text(text: str, parse_mode: str | None, limit: int, what: str) -> str:
    """The text users see after Telegram parses `parse_mode`; raise its 400s for bad markup or length."""
    if parse_mode and parse_mode.lower() == "html":
        text = _strip_html(text)
    elif parse_mode and parse_mode.lower() in ("markdown", "markdownv2"):
        text = _strip_markdown(text, v2=parse_mode.lower() == "markdownv2")
    if what == "text" and not text.strip():
        raise bad_request("message text is empty")
    if utf16_length(text) > limit:
        raise bad_request("message is too long" if what == "text" else "message caption is too long")
    return text


_HTML_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a", "code", "pre",
    "blockquote", "tg-emoji",
}  # fmt: skip
_HTML_TAG = re.compile(r"<(/?)([a-zA-Z][\w-]*)[^<>]*>")
_HTML_ENTITIES = {"&lt;": "<", "&gt;": ">", "&amp;": "&", "&quot;": '"'}


def _entity_error(text: str, index: int, detail: str) -> ApiError:
    offset = len(text[:index].encode())
    return bad_request(f"can't parse entities: {detail} at byte offset {offset}")


def _strip_html(text: str) -> str:
    pieces: list[str] = []
    open_tags: list[str] = []
    position = 0
    for match in [*_HTML_TAG.finditer(text), None]:
        end = match.start() if match else len(text)
        if "<" in text[position:end]:
            raise _entity_error(
                text, position + text[position:end].index("<"), "Unexpected end of name token"
            )
        pieces.append(text[position:end])
        if match is None:
            break
        closing, name = match.group(1) == "/", match.group(2).lower()
        if name not in _HTML_TAGS:
            raise _entity_error(text, match.start(), f'Unsupported start tag "{name}"')
        if closing and (not open_tags or open_tags.pop() != name):
            raise _entity_error(text, match.start(), f'Unmatched end tag "{name}"')
        if not closing:
            open_tags.append(name)
        position = match.end()
    if open_tags:
        raise _entity_error(
            text, len(text), f'Can\'t find end tag corresponding to start tag "{open_tags[-1]}"'
        )
    visible = "".join(pieces)
    for entity, char in _HTML_ENTITIES.items():
        visible = visible.replace(entity, char)
    return visible


_MARKDOWN_V2_RESERVED = set("_*[]()~`>#+-=|{}.!")


def _strip_markdown(text: str, v2: bool) -> str:
    """A small Markdown reader: enough to catch unbalanced marks and (V2) unescaped reserved characters."""
    marks = ("```", "`", "__", "||", "*", "_", "~") if v2 else ("```", "`", "*", "_")
    pieces: list[str] = []
    open_marks: list[tuple[str, int]] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and (v2 or text[index + 1 : index + 2] in ("*", "_", "`", "[")):
            pieces.append(text[index + 1 : index + 2])
            index += 2
            continue
        mark = next((m for m in marks if text.startswith(m, index)), None)
        if mark in ("```", "`"):
            end = text.find(mark, index + len(mark))
            if end < 0:
                raise _entity_error(text, index, "Can't find end of the entity starting")
            pieces.append(text[index + len(mark) : end])
            index = end + len(mark)
        elif mark and (v2 or not open_marks or open_marks[-1][0] == mark):
            if open_marks and open_marks[-1][0] == mark:
                open_marks.pop()
            else:
                open_marks.append((mark, index))
            index += len(mark)
        elif char == "[" or (char == "]" and open_marks and open_marks[-1][0] == "["):
            index = _link_mark(text, index, open_marks)
        elif v2 and char == ">" and (index == 0 or text[index - 1] == "\n"):
            index += 1  # a blockquote line
        elif v2 and char in _MARKDOWN_V2_RESERVED:
            raise bad_request(
                f"can't parse entities: Character '{char}' is reserved and must be escaped "
                "with the preceding '\\'"
            )
        else:
            pieces.append(char)
            index += 1
    if open_marks:
        raise _entity_error(text, open_marks[-1][1], "Can't find end of the entity starting")
    return "".join(pieces)


def _link_mark(text: str, index: int, open_marks: list[tuple[str, int]]) -> int:
    if text[index] == "[":
        open_marks.append(("[", index))
        return index + 1
    open_marks.pop()
    if not text.startswith("(", index + 1):
        return index + 1
    end = text.find(")", index + 2)
    if end < 0:
        raise _entity_error(text, index, "Can't find end of a url")
    return end + 1
