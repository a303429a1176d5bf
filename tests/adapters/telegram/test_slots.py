"""Finding 14: commands and buttons are answered however many images are queued (by order, not by timing)."""

from __future__ import annotations

import asyncio

import pytest
from aiolimiter import AsyncLimiter

from bot.adapters.telegram import adapter as adapter_module
from bot.adapters.telegram.ratelimit import BACKGROUND, PoliteRateLimiter
from tests.adapters.telegram.conftest import SettingsFactory, buttons, running
from tests.fakes.telegram_api import FakeTelegramBotAPI
from tests.fakes.telegram_objects import ALICE, TgUser
from tests.fakes.workers_ai import FakeWorkersAI, ok

QUEUED = 1000


class UnlimitedRateLimiter(PoliteRateLimiter):
    """The adapter's limiter with Telegram's flood limits lifted, so 1,000 status lines cost no waiting here."""

    def __init__(self, *, max_retries: int) -> None:
        super().__init__(max_retries=max_retries)
        self._base_limiter = None
        self._group_max_rate = 0
        self._background = AsyncLimiter(1_000_000, 1)


# 10 s on two idle cores, ~40 s on two loaded ones: the suite-wide 120 s would be only three times that.
@pytest.mark.timeout(600)
async def test_help_and_buttons_are_answered_while_a_thousand_requests_wait(
    make_settings: SettingsFactory,
    tg: FakeTelegramBotAPI,
    workers: FakeWorkersAI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(adapter_module, "PoliteRateLimiter", UnlimitedRateLimiter)
    monkeypatch.setattr(adapter_module, "STOP_GRACE_SECONDS", 0.0)
    workers.script("acc1", ok(delay=3600))  # the first image never finishes: everyone else waits
    settings = make_settings(MAX_CONCURRENT_GENERATIONS="1")
    async with running(settings, tg, workers):
        users = [TgUser(id=100_000 + n, first_name=f"User {n}", language_code="en") for n in range(QUEUED)]
        for user in users:
            tg.send_text("/imagine a lighthouse", user=user)
        # every request but the running one waits in line and has said so (256 would have filled PTB's slots)
        statuses = await tg.wait_for("sendMessage", count=QUEUED - 1, timeout=300)
        tg.send_text("/help")
        (help_reply,) = await tg.wait_for("sendMessage", predicate=lambda c: c.params["chat_id"] == ALICE.id)
        assert help_reply.params["text"].startswith("Send /imagine")
        last = statuses[-1]
        tg.press_button(last.result, buttons(last)[0], user=users[-1])
        (cancelled,) = await tg.wait_for(
            "editMessageText", predicate=lambda c: "Cancelled" in c.params["text"]
        )
        assert cancelled.params["message_id"] == last.result["message_id"]
        assert len(workers.calls) == 1  # all of this while the first image is still being made


async def test_answers_overtake_status_lines_waiting_in_the_rate_limiter() -> None:
    limiter = PoliteRateLimiter(max_retries=0)
    await limiter.initialize()
    order: list[str] = []

    async def call(name: str) -> bool:
        order.append(name)
        return True

    statuses = [
        asyncio.create_task(
            limiter.process_request(call, ("status",), {}, "sendMessage", {"chat_id": n}, BACKGROUND)
        )
        for n in range(1, 201)
    ]
    await asyncio.sleep(0)
    await limiter.process_request(call, ("answer",), {}, "sendMessage", {"chat_id": 999}, None)
    # 200 status lines need seconds at two thirds of 30 a second; the answer did not wait for them
    assert order.count("status") < 200 and order[-1] == "answer"
    for task in statuses:
        task.cancel()
    await asyncio.gather(*statuses, return_exceptions=True)
    await limiter.shutdown()
