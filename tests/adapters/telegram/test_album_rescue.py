"""Albums whose replica died before its timer fired: another replica (or the restarted process) sweeps for them,
claims each with the same atomic claim as a timer, and answers it once.

The dead replica is played by writing its album items straight through the store, as it would have left them;
the fake Bot API never delivers them (their updates are taken off its queue).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager

import psycopg
import pytest

from bot.adapters.telegram import TelegramAdapter
from bot.app import open_app
from bot.core.persistence import AlbumClaim, AlbumItem, AlbumStore
from bot.settings import Settings
from tests.adapters.telegram.conftest import SettingsFactory, eventually, png
from tests.fakes.telegram_api import FakeTelegramBotAPI
from tests.fakes.workers_ai import FakeWorkersAI

HOOK_URL = "https://bot.example.org/tg/hook"
#: how long before the sweep the dead replica stored the items: far past ``ORPHAN_AFTER_WAITS`` waits
DIED_AGO = 60.0


def album_left_behind(tg: FakeTelegramBotAPI) -> list[AlbumItem]:
    """An /imagine album whose updates reached a replica that stored them and died (never delivered again)."""
    messages = tg.send_album([png(64, 64), png(128, 64)], caption="/imagine the two of them together")
    del tg.pending_updates[-len(messages) :]
    stored_at = time.time() - DIED_AGO
    return [
        AlbumItem(
            str(message["chat"]["id"]),
            str(message["media_group_id"]),
            int(message["message_id"]),
            stored_at,
            json.dumps(message),
        )
        for message in messages
    ]


class CountedSweeps:
    """Counts a store's orphan look-ups (each sweep makes one), passing them through to the real store."""

    def __init__(self, store: AlbumStore, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        real: Callable[..., Awaitable[list[tuple[str, str]]]] = store.unclaimed

        async def counted(*, quiet_since: float, limit: int) -> list[tuple[str, str]]:
            self.count += 1
            return await real(quiet_since=quiet_since, limit=limit)

        monkeypatch.setattr(store, "unclaimed", counted)


@asynccontextmanager
async def replica(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[AlbumStore, CountedSweeps]]:
    """One replica: its own core and database handle, the Telegram adapter in webhook mode (no updates come)."""
    async with open_app(settings) as app:
        sweeps = CountedSweeps(app.storage.albums, monkeypatch)
        adapter = TelegramAdapter(settings, app.service, albums=app.storage.albums)
        await adapter.start()
        try:
            yield app.storage.albums, sweeps
        finally:
            await adapter.stop()


async def test_an_album_left_by_a_dead_replica_is_answered_once_by_one_of_two_replicas(
    make_settings: SettingsFactory,
    tg: FakeTelegramBotAPI,
    workers: FakeWorkersAI,
    pg_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bot.adapters.telegram.albums")
    items = album_left_behind(tg)
    common = {"DATABASE_URL": pg_url, "TELEGRAM_WEBHOOK_URL": HOOK_URL}
    async with AsyncExitStack() as stack:
        one, one_sweeps = await stack.enter_async_context(
            replica(make_settings(REPLICA_ID="one", **common), monkeypatch)
        )
        _, two_sweeps = await stack.enter_async_context(
            replica(make_settings(REPLICA_ID="two", **common), monkeypatch)
        )
        for item in items:
            assert await one.add(item)
        await tg.wait_for("sendPhoto")
        # both keep sweeping the same database: let each finish a whole sweep after the claim
        seen = one_sweeps.count, two_sweeps.count
        await eventually(lambda: one_sweeps.count >= seen[0] + 2 and two_sweeps.count >= seen[1] + 2)
        claim = await one.claim(items[0].chat_id, items[0].album_id, quiet_since=time.time(), by="t", now=0)
        assert claim == AlbumClaim()  # claimed once, for good
    (photo,) = tg.calls_of("sendPhoto")
    assert photo.ok and photo.params["chat_id"] == int(items[0].chat_id)
    (generation,) = workers.calls
    assert generation.reference_sizes == [(64, 64), (128, 64)]  # album order kept
    assert "the two of them together" in generation.fields["prompt"]
    with psycopg.connect(pg_url) as conn:
        claims = conn.execute("SELECT claimed_by FROM album_claims").fetchall()
    # one claim, under the replica's REPLICA_ID (and a token of its start)
    assert len(claims) == 1 and claims[0][0].partition(".")[0] in ("one", "two")
    rescued = [record.getMessage() for record in caplog.records if "rescued album" in record.getMessage()]
    assert len(rescued) == 1 and "2 item(s)" in rescued[0]


async def test_an_album_left_by_the_previous_run_of_a_single_process_is_answered_after_the_restart(
    make_settings: SettingsFactory,
    tg: FakeTelegramBotAPI,
    workers: FakeWorkersAI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = make_settings()  # SQLite, long polling: one process
    items = album_left_behind(tg)
    async with open_app(settings) as previous_run:  # stored its items, then was killed before its timer fired
        for item in items:
            assert await previous_run.storage.albums.add(item)
    async with replica(settings, monkeypatch):
        await tg.wait_for("sendPhoto")
    (photo,) = tg.calls_of("sendPhoto")
    assert photo.ok
    (generation,) = workers.calls
    assert generation.reference_sizes == [(64, 64), (128, 64)]  # album order kept
