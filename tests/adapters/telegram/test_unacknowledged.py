"""An update whose replica died between taking its place in line and recording it is not lost, and counted once.

The dead replica is played through the store: the row it registered (waiting, no payload) under the update's
request id, another replica id, and the charge its admission put on the row. The update delivered again must be
answered non-2xx without a word to the user (Telegram sends it again later); once the sweeper found the dead
replica's lease lapsed, it refunds that charge and deletes the row, and the next delivery makes the image.
Each POST is answered only once its update reached its durable point (``receipts``; the bound is far away).
"""

from __future__ import annotations

import logging

import pytest

from bot.core.clock import utc_day
from bot.core.models import UserRef
from bot.core.persistence import AcceptedRequest, RequestState
from tests.adapters.telegram.conftest import SettingsFactory
from tests.adapters.telegram.test_webhook import SECRET, WebhookBot, webhook_bot, webhook_settings
from tests.fakes.telegram_api import FakeTelegramBotAPI
from tests.fakes.telegram_objects import ALICE
from tests.fakes.workers_ai import FakeWorkersAI

ALICE_REF = UserRef(platform="telegram", user_id=str(ALICE.id), chat_id=str(ALICE.id))
DEAD = "dead-replica.abc123"


async def used_today(bot: WebhookBot) -> int:
    return (await bot.app.service.quota(ALICE_REF)).used_today


async def die_after_admission(bot: WebhookBot, request_id: str) -> None:
    """What a replica killed during the photo downloads leaves: its place in line, charged, never recorded."""
    now = bot.app.clock.time()
    storage = bot.app.storage
    row = AcceptedRequest(
        id=request_id,
        user_key=ALICE_REF.key,
        platform="telegram",
        replica=DEAD,
        state=RequestState.WAITING,
        accepted_at=now,
        lease_until=now + 3600,  # not lapsed yet: nobody can tell it from a replica still downloading
    )
    assert await storage.lines.register(row, cap=10) is None
    charged = await storage.ledger.try_consume(
        ALICE_REF.key, now=now, day=utc_day(now), per_minute=None, per_day=None
    )
    assert charged is not None
    await storage.requests.charge(request_id, charged)


async def test_an_update_whose_replica_died_before_recording_it_runs_once_it_is_swept(
    make_settings: SettingsFactory,
    tg: FakeTelegramBotAPI,
    workers: FakeWorkersAI,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    settings = webhook_settings(
        make_settings, TELEGRAM_WEBHOOK_SECRET=SECRET, TELEGRAM_WEBHOOK_WAIT_SECONDS="60"
    )
    async with webhook_bot(settings) as bot:
        tg.send_text("/imagine a lighthouse")
        update = tg.pending_updates[-1]
        request_id = f"tg{ALICE.id}-{update['message']['message_id']}"
        await die_after_admission(bot, request_id)
        assert await used_today(bot) == 1
        sent_before = len(tg.calls)

        # Telegram sends it again (no 200 came): not recorded, so not taken, and Telegram must try again
        assert await bot.post(update, SECRET) == 503
        assert await bot.post(update, SECRET) == 503
        assert len(tg.calls) == sent_before  # not a word to the user, nothing generated, nothing charged
        assert workers.calls == [] and await used_today(bot) == 1
        assert not [r for r in caplog.records if "already accepted; ignored" in r.getMessage()]

        # the dead replica's lease lapses; a sweep refunds its charge and deletes its row
        assert await bot.app.storage.requests.release(DEAD, now=bot.app.clock.time()) == 1
        assert await bot.app.requests.sweep() == 1
        assert await bot.app.storage.requests.get(request_id) is None
        assert await used_today(bot) == 0
        assert len(tg.calls) == sent_before  # the sweep tells nobody: the update is still coming

        # the next delivery registers afresh and runs normally
        assert await bot.post(update, SECRET) == 200
        await tg.wait_for("sendPhoto")
        assert await used_today(bot) == 1  # counted once
        row = await bot.app.storage.requests.get(request_id)
        assert row is not None and row.replica == bot.app.requests.replica and row.payload
        # and once recorded, a repeat is dropped quietly with a 200
        assert await bot.post(update, SECRET) == 200
        assert await used_today(bot) == 1
    assert len(tg.calls_of("sendPhoto")) == 1 and len(workers.calls) == 1


async def test_the_admission_puts_its_charge_on_the_row_at_once(
    make_settings: SettingsFactory, tg: FakeTelegramBotAPI
) -> None:
    settings = webhook_settings(make_settings, TELEGRAM_WEBHOOK_SECRET=SECRET)
    async with webhook_bot(settings) as bot:
        async with bot.app.service.admission(ALICE_REF, request_id="tg-probe", count=2) as admitted:
            row = await bot.app.storage.requests.get("tg-probe")
            assert row is not None and not row.payload  # registered and charged, not recorded
            assert len(row.usage_ids) == 2 and await used_today(bot) == 2
            assert admitted.user == ALICE_REF
        assert await used_today(bot) == 0  # unused: handed back when the block ended
