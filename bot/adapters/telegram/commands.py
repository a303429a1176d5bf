"""The bot's commands: names, the menu Telegram shows, and reading a command from a text or a caption."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from telegram import BotCommand, Message, MessageEntity
from telegram.ext import filters

from bot.i18n import translate

IMAGINE = ("imagine", "img")
HELP = ("start", "help")
QUOTA = "quota"
ACCOUNTS = "accounts"

#: what setMyCommands lists for everyone; /img, /start and the admin-only /accounts stay out of the menu
_MENU = (("imagine", "command.imagine"), ("help", "command.help"), ("quota", "command.quota"))
_ADMIN_MENU = ((ACCOUNTS, "command.accounts"),)


def menu(locale: str, *, admin: bool = False) -> list[BotCommand]:
    """The command menu in one language (admins also see /accounts)."""
    entries = _MENU + (_ADMIN_MENU if admin else ())
    return [BotCommand(name, translate(key, locale)) for name, key in entries]


@dataclass(frozen=True)
class CommandCall:
    """A command addressed to this bot: its name (lower case, no slash or @bot) and everything after it."""

    name: str
    argument: str


def command_call(
    text: str | None, entities: Sequence[MessageEntity], bot_username: str
) -> CommandCall | None:
    """The leading ``/command[@bot]`` of a text or caption, if addressed to ``bot_username`` (or to no one)."""
    if not text or not entities:
        return None
    first = entities[0]
    if first.type != MessageEntity.BOT_COMMAND or first.offset != 0:
        return None
    # Commands are ASCII, so the entity's UTF-16 length is also the str length.
    name, _, addressee = text[1 : first.length].partition("@")
    if addressee and addressee.lower() != bot_username.lower():
        return None
    # The argument keeps its line breaks: a JSON prompt may span lines.
    return CommandCall(name.lower(), text[first.length :].strip())


def message_command(message: Message, bot_username: str) -> CommandCall | None:
    """The command of a message's text, or else of its caption."""
    if message.text is not None:
        return command_call(message.text, message.entities, bot_username)
    return command_call(message.caption, message.caption_entities, bot_username)


class _InAlbum(filters.MessageFilter):
    """Messages that are one item of an album (media group)."""

    __slots__ = ()

    def filter(self, message: Message) -> bool:
        return message.media_group_id is not None


IN_ALBUM = _InAlbum(name="IN_ALBUM")
#: a photo or file whose caption starts with /imagine or /img (the handler checks the @bot part exactly)
IMAGINE_CAPTION = filters.CaptionRegex(r"(?i)^/(?:imagine|img)(?:@\w+)?(?:\s|$)")
MEDIA = filters.PHOTO | filters.Document.ALL
