"""❌ pressed on a replica that does not run the request: two replicas on one PostgreSQL, Telegram webhook mode.

Each update is POSTed to the replica the test picks, as a load balancer might: the /imagine to A, the ❌ to B.
B finds the request in the shared ``accepted_requests`` table and passes it on (NOTIFY); A cancels it as if the
press had landed there. The image is held at the fake Workers AI until the test releases it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import psycopg

from bot.core.models import UserRef
from bot.i18n import translate
from tests.adapters.telegram.conftest import SettingsFactory, buttons, eventually, release_sleeping_calls
from tests.adapters.telegram.test_webhook import SECRET, WebhookBot, webhook_bot, webhook_settings
from tests.fakes.telegram_api import ApiCall, FakeTelegramBotAPI
from tests.fakes.telegram_objects import ALICE, BOB
from tests.fakes.workers_ai import FakeWorkersAI, ok

HOLD = ok(delay=3600)  # answers only once release_sleeping_calls() is called
ALICE_REF = UserRef("telegram", str(ALICE.id))


@asynccontextmanager
async def two_replicas(
    make_settings: SettingsFactory, pg_url: str
) -> AsyncIterator[tuple[WebhookBot, WebhookBot]]:
    common = {
        "DATABASE_URL": pg_url,
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "TELEGRAM_STATUS_AFTER_SECONDS": "0",  # a status line (with its ❌) at once
        "RATE_LIMIT_PER_DAY": "5",
    }
    async with AsyncExitStack() as stack:
        a = await stack.enter_async_context(
            webhook_bot(webhook_settings(make_settings, REPLICA_ID="a", **common))
        )
        b = await stack.enter_async_context(
            webhook_bot(webhook_settings(make_settings, REPLICA_ID="b", **common))
        )
        yield a, b


async def imagine_on(
    replica: WebhookBot, tg: FakeTelegramBotAPI, workers: FakeWorkersAI, text: str
) -> ApiCall:
    """Send ``/imagine`` to ``replica``; returns its status line once the image is held upstream."""
    tg.send_text(f"/imagine {text}")
    assert await replica.post(tg.pending_updates[-1], SECRET) == 200
    (status,) = await tg.wait_for("sendMessage")
    await workers.wait_for_calls(1)
    return status


def cancel_button(status: ApiCall) -> str:
    return next(data for data in buttons(status) if data.startswith("x:"))


def state_of(pg_url: str, request_id: str) -> str:
    with psycopg.connect(pg_url) as conn:
        row = conn.execute("SELECT state FROM accepted_requests WHERE id = %s", (request_id,)).fetchone()
    assert row is not None
    return str(row[0])


def usage_events(pg_url: str) -> int:
    with psycopg.connect(pg_url) as conn:
        row = conn.execute("SELECT count(*) FROM usage_events").fetchone()
    assert row is not None
    return int(row[0])


async def test_a_cancel_pressed_on_another_replica_stops_the_request_where_it_runs_and_refunds_it(
    make_settings: SettingsFactory, tg: FakeTelegramBotAPI, workers: FakeWorkersAI, pg_url: str
) -> None:
    workers.script("acc1", HOLD)
    async with two_replicas(make_settings, pg_url) as (a, b):
        status = await imagine_on(a, tg, workers, "a slow lighthouse")
        data = cancel_button(status)
        request_id = data.removeprefix("x:")
        assert state_of(pg_url, request_id) == "running" and usage_events(pg_url) == 1

        tg.press_button(status.result, data)
        assert await b.post(tg.pending_updates[-1], SECRET) == 200  # the press lands on B
        (answer,) = await tg.wait_for("answerCallbackQuery")
        # A, which runs it, turns its status line into "cancelled", exactly as for a press on A
        (cancelled,) = await tg.wait_for(
            "editMessageText", predicate=lambda c: "Cancelled" in c.params["text"]
        )
        assert cancelled.params["message_id"] == status.result["message_id"]
        assert "reply_markup" not in cancelled.result  # the ❌ is gone with it
        # B answered the press without a popup: the status line says it all
        assert answer.ok and answer.params.get("text") is None
        assert usage_events(pg_url) == 0  # refunded in the shared ledger
        assert (await b.app.service.quota(ALICE_REF)).used_today == 0
        await eventually(lambda: state_of(pg_url, request_id) == "failed")  # its end is written behind

        release_sleeping_calls(workers)  # the abandoned upstream call may finish: its image goes nowhere
        tg.send_text("/imagine a quick lighthouse")
        assert await a.post(tg.pending_updates[-1], SECRET) == 200
        (photo,) = await tg.wait_for("sendPhoto")
    assert "a quick lighthouse" in photo.params["caption"]
    assert len(tg.calls_of("sendPhoto")) == 1


async def test_a_strangers_press_elsewhere_is_refused_and_an_ended_request_is_too_late(
    make_settings: SettingsFactory, tg: FakeTelegramBotAPI, workers: FakeWorkersAI, pg_url: str
) -> None:
    workers.script("acc1", HOLD)
    async with two_replicas(make_settings, pg_url) as (a, b):
        status = await imagine_on(a, tg, workers, "alice's lighthouse")
        data = cancel_button(status)
        request_id = data.removeprefix("x:")

        tg.press_button(status.result, data, user=BOB)  # not his to cancel
        assert await b.post(tg.pending_updates[-1], SECRET) == 200
        (refused,) = await tg.wait_for("answerCallbackQuery")
        assert refused.params["show_alert"] is True
        assert refused.params["text"] == translate("cancel.refused", "de")  # Bob writes in German

        release_sleeping_calls(workers)  # so the request goes on, untouched, to its image
        (photo,) = await tg.wait_for("sendPhoto")
        assert photo.params["chat_id"] == ALICE.id
        # its end is written behind the image
        await eventually(lambda: state_of(pg_url, request_id) == "done")
        assert usage_events(pg_url) == 1
        # ended, and unknown: too late, on either replica
        assert not await b.app.service.cancel(request_id, ALICE_REF)
        assert not await a.app.service.cancel(request_id, ALICE_REF)
        assert not await b.app.service.cancel("no-such-request", ALICE_REF)
