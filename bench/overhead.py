"""Benchmark 1: what the bot adds to a provider call, end to end through ``ImageService.generate``.

A closed loop of ``c`` workers (one user each) asks for images back to back from a provider with a fixed
latency L; overhead = total − L per request. The reference is the same loop calling the bare provider, which
shows what asyncio's timers alone cost at that concurrency.
"""

from __future__ import annotations

import asyncio
import math
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from bench.common import FixedLatencyProvider, Row, bench_settings, ms, percentile
from bot.app import open_app
from bot.core.models import GenerationRequest, ImageSize, ProviderJob, UserRef
from bot.core.service import ImageService
from bot.providers.base import ImageProvider
from bot.providers.catalogue import model_spec
from bot.providers.workers_ai import WorkersAIClient
from bot.settings import AccountConfig
from tests.fakes.workers_ai import FakeWorkersAI

NAME = "1 overhead"
Once = Callable[[int, int], Awaitable[object]]


@dataclass(frozen=True)
class Config:
    latencies: tuple[float, ...] = (0.0, 0.5)
    concurrencies: tuple[int, ...] = (1, 10, 100)
    #: samples wanted per cell, and the most seconds a cell may spend sleeping in the provider
    samples: int = 1000
    budget_seconds: float = 20.0
    warmup: int = 20
    http_concurrency: int = 10
    http_samples: int = 300


FULL = Config()
QUICK = Config(samples=60, budget_seconds=1.5, warmup=5, http_samples=30)


def rounds_per_worker(config: Config, latency: float, concurrency: int) -> int:
    wanted = math.ceil(config.samples / concurrency)
    if latency > 0:
        wanted = min(wanted, int(config.budget_seconds / latency))
    return max(1, wanted)


@dataclass(frozen=True)
class Timed:
    samples: list[float]
    wall: float


async def closed_loop(concurrency: int, rounds: int, once: Once) -> Timed:
    """``concurrency`` workers each run ``once`` ``rounds`` times back to back; every duration and the wall."""
    samples: list[float] = []

    async def worker(w: int) -> None:
        for i in range(rounds):
            start = time.perf_counter()
            await once(w, i)
            samples.append(time.perf_counter() - start)

    start = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    return Timed(samples, time.perf_counter() - start)


def request(worker: int, i: int) -> GenerationRequest:
    return GenerationRequest(user=UserRef("bench", str(worker)), text=f"a lighthouse at dusk, take {i}")


def through_service(service: ImageService) -> Once:
    async def once(worker: int, i: int) -> object:
        return await service.generate(request(worker, i))

    return once


def bare_provider(provider: ImageProvider, account: AccountConfig, job: ProviderJob) -> Once:
    async def once(worker: int, i: int) -> object:
        return await provider.generate(account, job)

    return once


def overhead(timed: Timed, latency: float) -> dict[str, float]:
    extra = [s - latency for s in timed.samples]
    return {
        "p50": percentile(extra, 50),
        "p99": percentile(extra, 99),
        "n": float(len(extra)),
        "per_second": len(extra) / timed.wall,
    }


def text(figures: dict[str, float]) -> str:
    return f"p50 {ms(figures['p50'])} · p99 {ms(figures['p99'])}"


async def compare(case: str, concurrency: int, rounds: int, latency: float, bot: Once, bare: Once) -> Row:
    """Run the bot's loop, then the reference loop, at the same concurrency and count."""
    measured = overhead(await closed_loop(concurrency, rounds, bot), latency)
    reference = overhead(await closed_loop(concurrency, rounds, bare), latency)
    return Row(
        NAME,
        case,
        text(measured),
        text(reference),
        f"n={measured['n']:.0f}; {measured['per_second']:,.0f} images/s",
        {**measured, "ref_p50": reference["p50"], "ref_p99": reference["p99"]},
    )


def job_for(model: str) -> ProviderJob:
    return ProviderJob(model=model_spec(model), prompt="a lighthouse", size=ImageSize(1024, 1024), seed=1)


async def _service_rows(config: Config, directory: Path) -> list[Row]:
    rows = []
    for latency in config.latencies:
        provider = FixedLatencyProvider(latency)
        settings = bench_settings(directory / f"l{latency}")
        async with open_app(settings, provider=provider) as app:
            bot = through_service(app.service)
            bare = bare_provider(provider, settings.accounts[0], job_for(settings.flux_model))
            await closed_loop(1, config.warmup, bot)
            for c in config.concurrencies:
                case = f"service, L={latency * 1000:.0f} ms, c={c}; ref: bare provider"
                rows.append(await compare(case, c, rounds_per_worker(config, latency, c), latency, bot, bare))
    return rows


async def _http_row(config: Config, directory: Path) -> Row:
    """The real WorkersAIClient against the fake server (same process, so its CPU is in both columns)."""
    async with FakeWorkersAI() as fake:
        settings = bench_settings(directory / "http", CF_API_BASE_URL=fake.base_url)
        async with open_app(settings) as app:
            bot = through_service(app.service)
            client = WorkersAIClient(app.http, fake.base_url)
            bare = bare_provider(client, settings.accounts[0], job_for(settings.flux_model))
            c = config.http_concurrency
            await closed_loop(1, config.warmup, bot)
            case = f"service over HTTP (fake Workers AI, L=0), c={c}; ref: bare WorkersAIClient"
            return await compare(case, c, max(1, config.http_samples // c), 0.0, bot, bare)


async def run(config: Config) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="bench-overhead-") as tmp:
        rows = await _service_rows(config, Path(tmp))
        rows.append(await _http_row(config, Path(tmp)))
    return rows
