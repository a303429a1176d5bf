"""Benchmark 1, Telegram rows: from queuing an /imagine update at the fake Bot API to its sendPhoto arriving.

The real ``TelegramAdapter`` long-polls the fake (tests/fakes/telegram_api.py) and drives the real service
over an in-process provider of fixed latency L. The reference is a bare python-telegram-bot Application built
by the adapter's own ``build_application`` (same concurrency, same AIORateLimiter) whose /imagine handler
only sleeps L and replies with the same PNG: the difference is what the adapter and the core add.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from telegram import Update
from telegram.ext import CommandHandler, ContextTypes

from bench.common import FixedLatencyProvider, Row, bench_settings, tiny_png
from bench.overhead import NAME, Once, Timed, overhead, text
from bot.adapters.telegram import TelegramAdapter
from bot.adapters.telegram.adapter import build_application
from bot.app import open_app
from bot.settings import Settings
from tests.fakes.telegram_api import FakeTelegramBotAPI
from tests.fakes.telegram_objects import TgUser

TOKEN = "123456:BENCH-token-for-the-fake-bot-api"
#: a lost reply must end the run, not hang it
REPLY_TIMEOUT = 120.0


def bench_user(worker: int) -> TgUser:
    return TgUser(id=5_000_000 + worker, first_name=f"Bench {worker}", username=None)


#: the warm-up's calls are not counted per image (its status message is deleted after the count starts)
WARMUP_USER = bench_user(-1)
_NOT_PER_IMAGE = {"getupdates", "getme", "deletewebhook", "setmycommands", "logout", "close"}


@dataclass(frozen=True)
class Config:
    latencies: tuple[float, ...] = (0.0, 0.5)
    concurrencies: tuple[int, ...] = (1, 10, 100)
    samples: int = 100
    budget_seconds: float = 10.0


FULL = Config()
QUICK = Config(concurrencies=(1, 10), samples=10, budget_seconds=1.0)


class TimedBotAPI(FakeTelegramBotAPI):
    """The fake Bot API, noting when each chat's sendPhoto arrives (its own wait_for rescans every call)."""

    def __init__(self) -> None:
        super().__init__(token=TOKEN, bot_username="imagine_bench_bot")
        self.per_method: Counter[str] = Counter()
        self._photo_waiters: dict[int, asyncio.Future[float]] = {}

    def expect_photo(self, chat_id: int) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._photo_waiters[chat_id] = future
        return future

    async def _on_method(self, request: web.Request) -> web.Response:
        response = await super()._on_method(request)
        call = self.calls[-1]  # appended just before returning, with no await in between
        if call.params.get("chat_id") != WARMUP_USER.id:
            self.per_method[call.method.lower()] += 1
        if call.method.lower() == "sendphoto" and call.ok:
            waiter = self._photo_waiters.pop(int(call.params["chat_id"]), None)
            if waiter is not None and not waiter.done():
                waiter.set_result(time.perf_counter())
        self.calls.clear()  # keep the fake's own bookkeeping O(1) over thousands of calls
        return response

    def image_calls(self) -> int:
        return sum(n for method, n in self.per_method.items() if method not in _NOT_PER_IMAGE)


def imagine_loop(tg: TimedBotAPI) -> Once:
    """One /imagine from user ``worker``; the duration ends when its sendPhoto reaches the fake."""
    users: dict[int, TgUser] = {}

    async def once(worker: int, i: int) -> object:
        user = WARMUP_USER if worker < 0 else users.setdefault(worker, bench_user(worker))
        arrived = tg.expect_photo(user.id)
        tg.send_text(f"/imagine a lighthouse at dusk, take {i}", user=user)
        return await asyncio.wait_for(arrived, REPLY_TIMEOUT)

    return once


async def timed_loop(concurrency: int, rounds: int, once: Once) -> Timed:
    """Like ``closed_loop`` but each sample ends at the arrival time the fake noted, not when we woke up."""
    samples: list[float] = []

    async def worker(w: int) -> None:
        for i in range(rounds):
            start = time.perf_counter()
            arrived = await once(w, i)
            assert isinstance(arrived, float)
            samples.append(arrived - start)

    start = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    return Timed(samples, time.perf_counter() - start)


def telegram_settings(directory: Path, tg: TimedBotAPI) -> Settings:
    return bench_settings(
        directory,
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=tg.base_url,
        TELEGRAM_FILE_BASE_URL=tg.base_file_url,
    )


@asynccontextmanager
async def adapter_running(settings: Settings, latency: float) -> AsyncIterator[None]:
    async with open_app(settings, provider=FixedLatencyProvider(latency)) as app:
        adapter = TelegramAdapter(settings, app.service, albums=app.storage.albums)
        await adapter.start()
        try:
            yield
        finally:
            await adapter.stop()


@asynccontextmanager
async def bare_running(settings: Settings, latency: float) -> AsyncIterator[None]:
    """The adapter's Application settings, with a handler that does nothing but wait L and send the photo."""
    image = tiny_png()
    application = build_application(settings, TOKEN)

    async def imagine(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await asyncio.sleep(latency)
        if update.message is not None:
            await update.message.reply_photo(image)

    application.add_handler(CommandHandler("imagine", imagine))
    async with application:
        updater = application.updater
        assert updater is not None
        await updater.start_polling(poll_interval=0, timeout=30)
        await application.start()
        try:
            yield
        finally:
            await updater.stop()
            await application.stop()


async def _measure(
    kind: str, settings: Settings, tg: TimedBotAPI, latency: float, c: int, rounds: int
) -> Timed:
    running = adapter_running if kind == "adapter" else bare_running
    async with running(settings, latency):
        once = imagine_loop(tg)
        # the first update also waits for the long poll to settle
        await once(-1, 0)
        return await timed_loop(c, rounds, once)


async def run(config: Config) -> list[Row]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-telegram-") as tmp:
        for latency in config.latencies:
            for c in config.concurrencies:
                rounds = max(
                    1,
                    min(-(-config.samples // c), int(config.budget_seconds / latency) if latency else 10**9),
                )
                async with TimedBotAPI() as tg:
                    settings = telegram_settings(Path(tmp) / f"l{latency}c{c}", tg)
                    measured_timed = await _measure("adapter", settings, tg, latency, c, rounds)
                    calls = tg.image_calls() / len(measured_timed.samples)
                    calls_detail = _calls_text(tg.per_method, len(measured_timed.samples))
                async with TimedBotAPI() as tg:
                    reference = overhead(
                        await _measure(
                            "bare", telegram_settings(Path(tmp) / "bare", tg), tg, latency, c, rounds
                        ),
                        latency,
                    )
                measured = overhead(measured_timed, latency)
                rows.append(
                    Row(
                        NAME,
                        f"Telegram, L={latency * 1000:.0f} ms, c={c}; ref: bare PTB handler",
                        text(measured),
                        text(reference),
                        f"n={measured['n']:.0f}; {measured['per_second']:,.1f} images/s; {calls:.1f} Bot API calls/image "
                        f"({calls_detail}); p50 {_ratio(measured['p50'], reference['p50'])} the bare handler's",
                        {
                            **measured,
                            "ref_p50": reference["p50"],
                            "ref_p99": reference["p99"],
                            "calls_per_image": calls,
                        },
                    )
                )
    return rows


def _calls_text(per_method: Counter[str], images: int) -> str:
    return ", ".join(
        f"{method} {count / images:.1f}"
        for method, count in per_method.most_common()
        if method not in _NOT_PER_IMAGE
    )


def _ratio(measured: float, reference: float) -> str:
    return f"{measured / reference:.1f}×" if reference > 0 else "n/a"
