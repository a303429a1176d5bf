"""The webhook answers Telegram only once the update is ours for good: Telegram never sends an update answered 2xx
again, so a replica killed between a 200 and the update's record would lose it.

The record is held back by a gate in front of the real store (``accepted_requests`` on SQLite): while it is
closed, the webhook call has no answer; once it opens, the answer comes with the row written. A handler slower
than the bound still gets its 200 (the bound is set in the settings; nothing here races a clock).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import pytest

from bot.core.persistence import AcceptedRequest, AlbumItem
from tests.adapters.telegram.conftest import SettingsFactory, png
from tests.adapters.telegram.test_webhook import SECRET, WebhookBot, webhook_bot, webhook_settings
from tests.fakes.telegram_api import FakeTelegramBotAPI
from tests.fakes.workers_ai import FakeWorkersAI


class GatedRecord:
    """Stands in front of the store's insert: says when a row is about to be written, writes it when let."""

    def __init__(self, insert: Callable[[AcceptedRequest], Awaitable[None]]) -> None:
        self._insert = insert
        self.reached = asyncio.Event()
        self.gate = asyncio.Event()
        self.recorded: list[str] = []

    async def __call__(self, request: AcceptedRequest) -> None:
        self.reached.set()
        await self.gate.wait()
        await self._insert(request)
        self.recorded.append(request.id)


def gate_records(bot: WebhookBot, monkeypatch: pytest.MonkeyPatch) -> GatedRecord:
    store = bot.app.storage.requests
    gated = GatedRecord(store.insert)
    monkeypatch.setattr(store, "insert", gated)
    return gated


async def test_an_imagine_is_answered_200_only_once_its_request_row_is_written(
    make_settings: SettingsFactory,
    tg: FakeTelegramBotAPI,
    workers: FakeWorkersAI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a bound far beyond what the gate is held for: the answer must wait for the row, not for the bound
    settings = webhook_settings(
        make_settings, TELEGRAM_WEBHOOK_SECRET=SECRET, TELEGRAM_WEBHOOK_WAIT_SECONDS="60"
    )
    async with webhook_bot(settings) as bot:
        gated = gate_records(bot, monkeypatch)
        tg.send_text("/imagine a lighthouse")
        update = tg.pending_updates[-1]

        async def post() -> tuple[int, list[str]]:
            status = await bot.post(update, SECRET)
            return status, list(gated.recorded)  # what was written when the answer arrived

        call = asyncio.create_task(post())
        await gated.reached.wait()  # the handler ran up to the record: Telegram still has no answer
        assert not call.done()
        gated.gate.set()
        status, recorded_at_answer = await call
        assert status == 200 and len(recorded_at_answer) == 1
        row = await bot.app.storage.requests.get(recorded_at_answer[0])
        assert row is not None and row.platform == "telegram"
        await tg.wait_for("sendPhoto")
    assert len(workers.calls) == 1


async def test_an_album_item_is_answered_200_only_once_it_is_stored(
    make_settings: SettingsFactory,
    tg: FakeTelegramBotAPI,
    workers: FakeWorkersAI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = webhook_settings(
        make_settings, TELEGRAM_WEBHOOK_SECRET=SECRET, TELEGRAM_WEBHOOK_WAIT_SECONDS="60"
    )
    async with webhook_bot(settings) as bot:
        store = bot.app.storage.albums
        add, reached, gate, stored = store.add, asyncio.Event(), asyncio.Event(), []

        async def gated_add(item: AlbumItem) -> bool:
            reached.set()
            await gate.wait()
            kept = await add(item)
            stored.append(item)
            return kept

        monkeypatch.setattr(store, "add", gated_add)
        tg.send_album([png(64, 64), png(128, 64)], caption="/imagine the two of them")
        first, second = tg.pending_updates[-2:]

        async def post(update: dict[str, object]) -> tuple[int, int]:
            return await bot.post(update, SECRET), len(stored)

        call = asyncio.create_task(post(first))
        await reached.wait()  # the item is on its way to the store: Telegram still has no answer
        assert not call.done()
        gate.set()
        assert await call == (200, 1)
        assert await post(second) == (200, 2)
        await tg.wait_for("sendPhoto")
    (generation,) = workers.calls
    assert sorted(generation.reference_sizes) == [(64, 64), (128, 64)]


async def test_a_refused_imagine_and_a_command_are_answered_once_handled(
    make_settings: SettingsFactory, tg: FakeTelegramBotAPI, workers: FakeWorkersAI
) -> None:
    settings = webhook_settings(
        make_settings, TELEGRAM_WEBHOOK_SECRET=SECRET, TELEGRAM_WEBHOOK_WAIT_SECONDS="60"
    )
    async with webhook_bot(settings) as bot:
        tg.send_text("/imagine")  # no prompt: refused with a reply, nothing to record or send again
        assert await bot.post(tg.pending_updates[-1], SECRET) == 200
        tg.send_text("/quota")
        assert await bot.post(tg.pending_updates[-1], SECRET) == 200
        # both replies were sent before the answers: the handlers ran to the end first
        assert len(tg.calls_of("sendMessage")) == 2
    assert workers.calls == []


async def test_a_handler_slower_than_the_bound_still_gets_its_200_and_the_request_goes_on(
    make_settings: SettingsFactory,
    tg: FakeTelegramBotAPI,
    workers: FakeWorkersAI,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    settings = webhook_settings(
        make_settings, TELEGRAM_WEBHOOK_SECRET=SECRET, TELEGRAM_WEBHOOK_WAIT_SECONDS="0.05"
    )
    async with webhook_bot(settings) as bot:
        gated = gate_records(bot, monkeypatch)
        tg.send_text("/imagine a lighthouse")
        update = tg.pending_updates[-1]
        # the gate stays closed until the call was answered: only the bound can have answered it
        assert await bot.post(update, SECRET) == 200
        await gated.reached.wait()
        assert gated.recorded == []  # answered, not recorded: the bound answered it
        gated.gate.set()
        await tg.wait_for("sendPhoto")
    assert len(gated.recorded) == 1 and len(workers.calls) == 1
    assert any(
        f"update {update['update_id']} is not recorded after 0.05 s" in record.getMessage()
        for record in caplog.records
    )
