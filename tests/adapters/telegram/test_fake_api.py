"""The fake Bot API against the real python-telegram-bot stack: if PTB is happy here, adapter tests can trust it."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from PIL import Image
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto, Update
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.fakes.telegram_api import FakeTelegramBotAPI
from tests.fakes.telegram_objects import ALICE, BOB, TgChat

TOKEN = "123:TEST"
Context = ContextTypes.DEFAULT_TYPE
App = Application[Any, Any, Any, Any, Any, Any]


@pytest.fixture(autouse=True)
def _timedelta_periods(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without it PTB 22 warns (PTBDeprecationWarning) while building RetryAfter, and warnings are errors here.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegramBotAPI]:
    async with FakeTelegramBotAPI(token=TOKEN, bot_username="imagine_test_bot") as fake:
        yield fake


@pytest.fixture
async def bot(tg: FakeTelegramBotAPI) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=tg.base_url, base_file_url=tg.base_file_url) as real_bot:
        yield real_bot


def png(width: int, height: int, color: str = "orange") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="PNG")
    return buffer.getvalue()


def build_app(tg: FakeTelegramBotAPI, token: str = TOKEN, rate_limiter: AIORateLimiter | None = None) -> App:
    builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = (
        ApplicationBuilder().token(token).base_url(tg.base_url).base_file_url(tg.base_file_url)
    )
    if rate_limiter is not None:
        builder = builder.rate_limiter(rate_limiter)
    app = builder.build()
    app.bot_data["errors"] = []

    async def record_error(update: object, context: Context) -> None:
        context.bot_data["errors"].append(context.error)

    app.add_error_handler(record_error)
    return app


@asynccontextmanager
async def polling(app: App) -> AsyncIterator[App]:
    async with app:
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0)
        await app.start()
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()
    assert app.bot_data["errors"] == []


async def echo(update: Update, context: Context) -> None:
    assert update.message is not None
    await update.message.reply_text(" ".join(context.args or []))


async def test_echo_command_gets_a_text_reply(tg: FakeTelegramBotAPI) -> None:
    app = build_app(tg)
    app.add_handler(CommandHandler("echo", echo))
    async with polling(app):
        tg.send_text("/echo hi")
        (reply,) = await tg.wait_for("sendMessage")
    assert reply.params["chat_id"] == ALICE.id
    assert reply.params["text"] == "hi"
    assert [message["text"] for message in tg.sent_messages(ALICE.id)] == ["hi"]
    assert reply.result["from"]["username"] == "imagine_test_bot"


async def test_group_command_addressed_to_the_bot_is_answered_in_the_group(tg: FakeTelegramBotAPI) -> None:
    app = build_app(tg)
    app.add_handler(CommandHandler("echo", echo))
    group = TgChat.group()
    async with polling(app):
        tg.send_text("/echo@imagine_test_bot hello all", user=BOB, chat=group)
        (reply,) = await tg.wait_for("sendMessage")
    assert reply.params["chat_id"] == group.id
    assert reply.result["text"] == "hello all"
    # PTB quotes in groups by default; the fake resolves the quoted message.
    assert reply.result["reply_to_message"]["from"]["id"] == BOB.id


async def test_photo_round_trips_through_get_file_and_send_photo(tg: FakeTelegramBotAPI) -> None:
    seen_sizes: list[tuple[int, int]] = []

    async def send_back(update: Update, context: Context) -> None:
        assert update.message is not None
        seen_sizes.extend((size.width, size.height) for size in update.message.photo)
        largest = await update.message.photo[-1].get_file()
        await update.message.reply_photo(bytes(await largest.download_as_bytearray()))

    app = build_app(tg)
    app.add_handler(MessageHandler(filters.PHOTO, send_back))
    image = png(1000, 600)
    async with polling(app):
        tg.send_photo(image, caption="look")
        (sent,) = await tg.wait_for("sendPhoto")
        thumbnail = await (await app.bot.get_file(sent.result["photo"][0]["file_id"])).download_as_bytearray()
    assert seen_sizes == [(90, 54), (320, 192), (800, 480), (1000, 600)]
    assert sent.files["photo"].data == image
    largest = sent.result["photo"][-1]
    assert (largest["width"], largest["height"], largest["file_size"]) == (1000, 600, len(image))
    assert Image.open(io.BytesIO(thumbnail)).size == (90, 54)


async def test_callback_query_is_answered_and_the_message_edited(tg: FakeTelegramBotAPI) -> None:
    async def menu(update: Update, context: Context) -> None:
        assert update.message is not None
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("🎲 Reroll", callback_data="reroll:1")]])
        await update.message.reply_text("pick", reply_markup=keyboard)

    async def on_button(update: Update, context: Context) -> None:
        assert update.callback_query is not None
        await update.callback_query.answer("rolling")
        await update.callback_query.edit_message_text(f"got {update.callback_query.data}")

    app = build_app(tg)
    app.add_handlers([CommandHandler("menu", menu), CallbackQueryHandler(on_button)])
    async with polling(app):
        tg.send_text("/menu")
        (menu_call,) = await tg.wait_for("sendMessage")
        with pytest.raises(ValueError, match="no button"):
            tg.press_button(menu_call.result, "delete:1")
        tg.press_button(menu_call.result, "reroll:1", user=BOB)
        (answer,) = await tg.wait_for("answerCallbackQuery")
        await tg.wait_for("editMessageText")
    assert answer.ok and answer.params["text"] == "rolling"
    (edited,) = tg.sent_messages(ALICE.id)
    assert edited["text"] == "got reroll:1"
    assert "reply_markup" not in edited  # Telegram drops the keyboard unless the edit sends it again


async def test_reply_to_a_photo_reaches_the_handler_with_the_photo(tg: FakeTelegramBotAPI) -> None:
    async def describe_source(update: Update, context: Context) -> None:
        assert update.message is not None and update.message.reply_to_message is not None
        source = update.message.reply_to_message.photo[-1]
        await update.message.reply_text(f"editing {source.width}x{source.height}")

    app = build_app(tg)
    app.add_handler(CommandHandler("imagine", describe_source))
    async with polling(app):
        photo = tg.send_photo(png(300, 200))
        tg.send_text("/imagine make it blue", reply_to_message=photo)
        (reply,) = await tg.wait_for("sendMessage")
    assert reply.result["text"] == "editing 300x200"


async def test_rate_limiter_retries_once_after_an_injected_429(tg: FakeTelegramBotAPI) -> None:
    app = build_app(tg, rate_limiter=AIORateLimiter(max_retries=1))
    app.add_handler(CommandHandler("echo", echo))
    tg.fail_next("sendMessage", error_code=429, retry_after=1)
    async with polling(app):
        tg.send_text("/echo again")
        first, second = await tg.wait_for("sendMessage", count=2)
    assert first.error is not None and first.error.to_api()["parameters"] == {"retry_after": 1}
    assert second.ok
    assert [message["text"] for message in tg.sent_messages()] == ["again"]


async def test_wrong_token_raises_invalid_token_at_initialize(tg: FakeTelegramBotAPI) -> None:
    app = build_app(tg, token="123:WRONG")
    with pytest.raises(InvalidToken) as raised:
        await app.initialize()
    await app.bot.shutdown()
    assert tg.calls_of("getMe")[0].error is not None
    # PTB puts the rejected token in the message: adapters must never log this exception's text as is.
    assert "123:WRONG" in str(raised.value)


async def test_long_poll_waits_while_idle_and_wakes_for_a_new_update(tg: FakeTelegramBotAPI) -> None:
    app = build_app(tg)
    app.add_handler(CommandHandler("echo", echo))
    async with polling(app):
        await asyncio.sleep(1.0)  # idle: a fake that answered at once would see hundreds of polls here
        idle_polls = len(tg.calls_of("getUpdates"))
        tg.send_text("/echo awake")
        await tg.wait_for("sendMessage")
    assert idle_polls <= 1
    assert tg.sent_messages()[0]["text"] == "awake"


async def test_album_arrives_as_one_update_per_photo_with_one_caption(tg: FakeTelegramBotAPI) -> None:
    received: list[Any] = []

    async def collect(update: Update, context: Context) -> None:
        received.append(update.message)
        if len(received) == 3:
            await context.bot.send_message(ALICE.id, "got album")

    app = build_app(tg)
    app.add_handler(MessageHandler(filters.PHOTO, collect))
    async with polling(app):
        tg.send_album([png(64, 64, color) for color in ("red", "green", "blue")], caption="/imagine a cat")
        await tg.wait_for("sendMessage")
    assert len({message.media_group_id for message in received}) == 1
    assert [message.caption for message in received] == ["/imagine a cat", None, None]
    assert received[0].caption_entities[0].type == "bot_command"


async def test_document_and_preregistered_file_download(tg: FakeTelegramBotAPI, bot: Bot) -> None:
    document = tg.send_document(png(40, 30), "sketch.png", caption="img2img")["document"]
    assert document["mime_type"] == "image/png"
    downloaded = await (await bot.get_file(document["file_id"])).download_as_bytearray()
    assert Image.open(io.BytesIO(downloaded)).size == (40, 30)
    file_id = tg.add_file(b"raw bytes", "notes.txt")
    assert await (await bot.get_file(file_id)).download_as_bytearray() == b"raw bytes"
    with pytest.raises(BadRequest, match=r"(?i)Invalid file_id"):
        await bot.get_file("nope")


async def test_media_group_and_edit_media_use_attach_parts(tg: FakeTelegramBotAPI, bot: Bot) -> None:
    tg.add_chat(TgChat.private(ALICE))
    album = await bot.send_media_group(ALICE.id, [InputMediaPhoto(png(30, 20)), InputMediaPhoto(png(20, 30))])
    assert album[0].media_group_id == album[1].media_group_id is not None
    assert album[1].photo[-1].width == 20
    edited = await bot.edit_message_media(
        InputMediaPhoto(png(50, 40), caption="v2"), ALICE.id, album[0].message_id
    )
    assert isinstance(edited, object) and tg.sent_messages(ALICE.id)[0]["caption"] == "v2"
    assert tg.sent_messages(ALICE.id)[0]["photo"][-1]["width"] == 50


async def test_telegram_refusals_the_bot_must_handle(tg: FakeTelegramBotAPI, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)Chat not found"):
        await bot.send_message(ALICE.id, "hello stranger")
    tg.add_chat(TgChat.private(ALICE))
    with pytest.raises(BadRequest, match=r'(?i)Unsupported start tag "cat"'):
        await bot.send_message(ALICE.id, "a <cat>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)reserved"):
        await bot.send_message(ALICE.id, "seed 1.5", parse_mode="MarkdownV2")
    with pytest.raises(BadRequest, match=r"(?i)Message caption is too long"):
        await bot.send_photo(ALICE.id, png(10, 10), caption="x" * 1025)
    with pytest.raises(BadRequest, match=r"(?i)PHOTO_INVALID_DIMENSIONS"):
        await bot.send_photo(ALICE.id, png(2100, 100))
    message = await bot.send_message(ALICE.id, "<b>bold</b> &amp; fine", parse_mode="HTML")
    assert message.text == "bold & fine"
    with pytest.raises(BadRequest, match=r"(?i)Message is not modified"):
        await bot.edit_message_text("bold & fine", ALICE.id, message.message_id)
    tg.fail_next("sendMessage", error_code=403)
    with pytest.raises(Forbidden, match=r"(?i)blocked by the user"):
        await bot.send_message(ALICE.id, "anyone there?")
    with pytest.raises(BadRequest, match=r"(?i)Method not found"):
        await bot.do_api_request("noSuchMethod")


async def test_webhook_blocks_polling_until_deleted(tg: FakeTelegramBotAPI, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)HTTPS"):
        await bot.set_webhook("http://127.0.0.1:8443/hook")
    assert await bot.set_webhook("https://bot.example.org/hook", secret_token="s3cret")
    assert (await bot.get_webhook_info()).url == "https://bot.example.org/hook"
    with pytest.raises(Conflict, match=r"(?i)webhook is active"):
        await bot.get_updates(timeout=0)
    assert await bot.delete_webhook()
    assert await bot.get_updates(timeout=0) == ()


async def test_commands_round_trip(tg: FakeTelegramBotAPI, bot: Bot) -> None:
    assert await bot.set_my_commands([("imagine", "Draw a picture"), ("quota", "Images left today")])
    assert [command.command for command in await bot.get_my_commands()] == ["imagine", "quota"]
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([("Imagine", "capitals are refused")])


async def test_raw_http_answers_have_the_bot_api_shape(tg: FakeTelegramBotAPI) -> None:
    async with httpx.AsyncClient() as client:
        wrong = await client.post(f"{tg.base_url}999:NOPE/getMe")
        unknown = await client.post(f"{tg.base_url}{TOKEN}/fooBar", data={"x": "1"})
        me = await client.post(f"{tg.base_url}{TOKEN}/getMe")
    assert (wrong.status_code, wrong.json()["error_code"], wrong.json()["ok"]) == (401, 401, False)
    assert (unknown.status_code, unknown.json()["error_code"]) == (400, 400)
    assert me.json()["result"]["username"] == "imagine_test_bot"
    assert "999:NOPE" not in wrong.text


async def test_wait_for_gives_up_with_a_readable_assertion(tg: FakeTelegramBotAPI) -> None:
    with pytest.raises(AssertionError, match="wanted 1 sendPhoto"):
        await tg.wait_for("sendPhoto", timeout=0.1)
