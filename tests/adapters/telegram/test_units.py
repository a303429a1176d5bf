"""The adapter's pure parts: caption building and cutting, button data, the originals store, album collection."""

from __future__ import annotations

import asyncio
import html
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from telegram import Bot, Chat, Message, MessageEntity

from bot.adapters.telegram.albums import SharedAlbums
from bot.adapters.telegram.commands import command_call
from bot.adapters.telegram.originals import OriginalStore
from bot.adapters.telegram.replies import (
    CAPTION_LIMIT,
    cut_to,
    parse_button,
    result_caption,
    utf16_length,
)
from bot.core.clock import ManualClock
from bot.core.models import GenerationResult, ImageSize
from bot.core.persistence import AlbumItem
from bot.storage.sqlite import SqliteStorage


def result(final_prompt: str, **changes: Any) -> GenerationResult:
    fields: dict[str, Any] = {
        "job_id": "abcdefghijkl",
        "image": b"png",
        "mime": "image/png",
        "size": ImageSize(1360, 768),
        "seed": 123,
        "model": "@cf/black-forest-labs/flux-2-klein-4b",
        "account_index": 1,
        "original_prompt": final_prompt,
        "final_prompt": final_prompt,
    }
    return GenerationResult(**(fields | changes))


def visible(caption_html: str) -> str:
    """What Telegram shows for an HTML caption."""
    return html.unescape(re.sub(r"<[^>]+>", "", caption_html))


@settings(max_examples=300, deadline=None)  # no timing: a loaded 2-core machine must not fail it
@given(st.text(min_size=1, max_size=3000).filter(lambda text: text.strip()))
def test_any_prompt_fits_the_caption_limit_and_escapes_cleanly(prompt: str) -> None:
    caption = result_caption(result(prompt), "en")
    shown = visible(caption)
    assert utf16_length(shown) <= CAPTION_LIMIT
    assert "Seed: 123" in shown and "Size: 1360×768" in shown
    # Everything the user typed is either shown verbatim or cut with an ellipsis, never mangled.
    body = shown.split("\n", 1)[1].rsplit("\n", 1)[0]
    assert prompt.strip().startswith(body.removesuffix("…").rstrip()) or body == prompt.strip()
    assert "<" not in re.sub(r"</?[bi]>", "", caption)


def test_cut_never_splits_a_surrogate_pair() -> None:
    text = "🦊" * 600  # 1200 UTF-16 units
    cut = cut_to(text, 1001)
    assert utf16_length(cut) <= 1001 and cut.endswith("…") and set(cut[:-1]) == {"🦊"}
    assert cut_to("short", 10) == "short"


def test_caption_says_when_the_prompt_was_optimised_or_used_as_written() -> None:
    optimised = visible(
        result_caption(result("a fox, golden hour", original_prompt="fox", optimised=True), "en")
    )
    assert "Your prompt: fox" in optimised and "The bot rewrote your prompt for the model." in optimised
    fallback = visible(result_caption(result("fox", optimisation_skipped_reason="timeout"), "de"))
    assert "Prompt unverändert verwendet (der Optimierer war nicht verfügbar)." in fallback
    plain = visible(result_caption(result("fox"), "en"))
    assert "rewrote" not in plain and "as written" not in plain


def test_button_data_round_trips_and_rejects_strangers() -> None:
    assert parse_button("r:abc_DEF-123") == ("r", "abc_DEF-123")
    assert parse_button("o:x") == ("o", "x")
    assert parse_button("x:abc") == ("x", "abc")  # ❌ carries a request id
    assert parse_button("z:abc") is None and parse_button("r:") is None and parse_button(None) is None


def test_command_addressing() -> None:
    def entity(length: int) -> tuple[MessageEntity, ...]:
        return (MessageEntity(MessageEntity.BOT_COMMAND, 0, length),)

    assert command_call("/imagine a cat", entity(8), "bot").argument == "a cat"  # type: ignore[union-attr]
    call = command_call('/IMG@Bot {"scene":\n "x"}', entity(8), "bot")
    assert call is not None and call.name == "img" and call.argument == '{"scene":\n "x"}'
    assert command_call("/imagine@other_bot a cat", entity(18), "bot") is None
    assert command_call("a cat /imagine", (MessageEntity(MessageEntity.BOT_COMMAND, 6, 8),), "bot") is None


def test_originals_store_keeps_a_byte_budget_and_prefers_file_ids() -> None:
    store = OriginalStore(budget_bytes=10, max_entries=3)
    store.keep("a", b"12345", "a.png")
    store.keep("b", b"12345", "b.png")
    assert store.bytes_held == 10
    store.get("a")  # recently used: survives the next eviction
    store.keep("c", b"123", "c.png")
    assert store.get("b") is None and store.get("a") is not None and store.bytes_held == 8
    store.sent_as("a", "FILEID", "a.png")
    kept = store.get("a")
    assert kept is not None and kept.data is None and kept.file_id == "FILEID" and store.bytes_held == 3
    store.keep("d", b"1", "d.png")
    store.keep("e", b"1", "e.png")
    # At most three jobs: the least recently used one ("c") goes.
    assert store.get("c") is None and all(store.get(key) is not None for key in "ade")


def album_message(message_id: int, group: str = "g1", chat_id: int = 5) -> Message:
    chat = Chat(chat_id, Chat.PRIVATE)
    message = Message(message_id, date=datetime.now(UTC), chat=chat, media_group_id=group)
    message.set_bot(Bot("123:TEST"))
    return message


async def test_album_is_handed_over_once_in_message_order_after_the_last_item(tmp_path: Path) -> None:
    completed: list[list[int]] = []
    tasks: list[asyncio.Task[None]] = []
    clock = ManualClock(1_000_000.0)

    async def on_complete(messages: list[Message]) -> None:
        completed.append([message.message_id for message in messages])

    async with SqliteStorage(tmp_path / "db.sqlite3") as storage:
        albums = SharedAlbums(
            storage.albums,
            0.01,  # a timer wakes this often; only the manual clock decides when an album is quiet
            on_complete,
            lambda coroutine: tasks.append(asyncio.create_task(coroutine)),
            clock=clock.time,
        )
        await albums.add(album_message(12))
        await albums.add(album_message(7, group="other"))
        clock.advance(0.005)
        await albums.add(album_message(11))  # moves the end of the wait for g1
        await albums.add(album_message(10))
        assert albums.pending == 2 and len(tasks) == 2  # one timer per album
        clock.advance(0.01)
        await asyncio.gather(*tasks)
        await albums.add(album_message(13))  # too late: g1 was claimed, the item is ignored
    assert sorted(completed) == [[7], [10, 11, 12]]
    assert albums.pending == 0 and len(tasks) == 2


async def test_a_sweep_rescues_only_albums_quiet_for_several_waits_and_each_once(tmp_path: Path) -> None:
    completed: list[list[int]] = []
    clock = ManualClock(1_000_000.0)

    async def on_complete(messages: list[Message]) -> None:
        completed.append([message.message_id for message in messages])

    def left_behind(message_id: int, group: str, at: float) -> AlbumItem:
        # as a replica that died stored it: the message as JSON, no timer anywhere
        return AlbumItem("5", group, message_id, at, album_message(message_id, group).to_json())

    async with SqliteStorage(tmp_path / "db.sqlite3") as storage:
        albums = SharedAlbums(storage.albums, 1.0, on_complete, lambda c: c.close(), clock=clock.time)
        now = clock.time()
        for item in (left_behind(21, "orphan", now - 3.5), left_behind(20, "orphan", now - 4.0)):
            await storage.albums.add(item)
        await storage.albums.add(left_behind(30, "recent", now - 2.0))  # its replica's timer may still fire
        bot = Bot("123:TEST")
        assert await albums.sweep(bot) == 1
        assert completed == [[20, 21]]
        assert await albums.sweep(bot) == 0  # claimed: never twice
        clock.advance(1.5)
        assert await albums.sweep(bot) == 1
    assert completed == [[20, 21], [30]]
