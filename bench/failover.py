"""Benchmark 3: upstream calls per delivered image when k of n accounts are spent, over the fake Workers AI.

The bot learns a spent account from one failed call and persists it until 00:00 UTC. The baseline is the seed
worker's strategy (cf-flux2): every request starts again at account 1 and moves on while the error looks like a
quota or rate limit, so it pays k wasted calls on every image. Both use the real ``WorkersAIClient``.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.common import Row, bench_settings
from bot.app import open_app
from bot.core.models import GenerationRequest, ImageSize, ProviderImage, ProviderJob, UserRef
from bot.providers.base import UpstreamFailure
from bot.providers.catalogue import model_spec
from bot.providers.workers_ai import WorkersAIClient
from bot.settings import AccountConfig, Settings
from tests.fakes.workers_ai import OK, SPENT, FakeWorkersAI

NAME = "3 failover"
# cf-flux2 fails over when the error text contains one of these; anything else ends the request.
_SEED_RETRY_WORDS = ("429", "quota", "rate limit", "too many requests")


@dataclass(frozen=True)
class Config:
    accounts: int = 10
    #: images per phase (steady state, after restart, seed baseline)
    images: int = 20
    #: first requests arriving together before anything is learnt
    herd: int = 10


FULL = Config()
QUICK = Config(images=3, herd=5)


class SeedFailover:
    """cf-flux2's loop: accounts in order from the first on every request, no memory between requests."""

    def __init__(self, client: WorkersAIClient, accounts: list[AccountConfig]) -> None:
        self._client = client
        self._accounts = accounts

    async def generate(self, job: ProviderJob) -> ProviderImage:
        last: UpstreamFailure | None = None
        for account in self._accounts:
            try:
                return await self._client.generate(account, job)
            except UpstreamFailure as failure:
                text = f"{failure.status} {failure.detail}".lower()
                if not any(word in text for word in _SEED_RETRY_WORDS):
                    raise
                last = failure
        raise RuntimeError(f"All {len(self._accounts)} accounts exhausted. Last error: {last}")


def _request(i: int) -> GenerationRequest:
    return GenerationRequest(UserRef("bench", str(i)), f"a paper boat on a pond {i}")


async def _bot_calls(fake: FakeWorkersAI, settings: Settings, images: int, first: int = 0) -> int:
    """Upstream calls the bot makes for ``images`` images, one after another, in a freshly opened app."""
    before = len(fake.calls)
    async with open_app(settings) as app:
        for i in range(images):
            await app.service.generate(_request(first + i))
    return len(fake.calls) - before


async def _herd_calls(fake: FakeWorkersAI, settings: Settings, herd: int) -> int:
    before = len(fake.calls)
    async with open_app(settings) as app:
        await asyncio.gather(*(app.service.generate(_request(i)) for i in range(herd)))
    return len(fake.calls) - before


async def _seed_calls(fake: FakeWorkersAI, settings: Settings, images: int) -> int:
    before = len(fake.calls)
    async with open_app(settings) as app:
        seed = SeedFailover(WorkersAIClient(app.http, fake.base_url), settings.accounts)
        job = ProviderJob(model_spec(settings.flux_model), "a paper boat", ImageSize(1024, 1024), seed=1)
        for _ in range(images):
            await seed.generate(job)
    return len(fake.calls) - before


async def _one_k(fake: FakeWorkersAI, config: Config, spent: int, directory: Path) -> Row:
    for n in range(1, config.accounts + 1):
        fake.default(f"acc{n}", SPENT if n <= spent else OK)
    settings = bench_settings(
        directory / f"k{spent}", accounts=config.accounts, CF_API_BASE_URL=fake.base_url
    )
    learning = await _bot_calls(fake, settings, 1)
    steady = await _bot_calls(fake, settings, config.images, first=1) / config.images
    restarted = await _bot_calls(fake, settings, config.images, first=1000) / config.images  # same database
    herd_settings = bench_settings(
        directory / f"herd{spent}", accounts=config.accounts, CF_API_BASE_URL=fake.base_url
    )
    herd = await _herd_calls(fake, herd_settings, config.herd)
    seed = await _seed_calls(fake, settings, config.images) / config.images
    return Row(
        NAME,
        f"k={spent} of {config.accounts} spent",
        f"{steady:.2f} calls/image (learning {learning} once; after restart {restarted:.2f})",
        f"seed cf-flux2: {seed:.2f} calls/image",
        f"{config.herd} simultaneous first requests: {herd} calls",
        {
            "steady": steady,
            "learning": float(learning),
            "restarted": restarted,
            "seed": seed,
            "herd": float(herd),
        },
    )


async def run(config: Config) -> list[Row]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-failover-") as tmp:
        async with FakeWorkersAI() as fake:
            for spent in range(config.accounts):
                rows.append(await _one_k(fake, config, spent, Path(tmp)))
    return rows
