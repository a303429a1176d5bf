"""Benchmark 2: N users each ask for one image at once from a provider with latency L (1 s).

Wall time ÷ L is 1.0 for a bot that overlaps every request and N for one that handles them one at a time.
``MAX_CONCURRENT_GENERATIONS`` (default 200) caps generations in flight, so N above it takes ⌈N/cap⌉ rounds:
N=500 runs with the default and again with the cap raised to N.
"""

from __future__ import annotations

import asyncio
import math
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.common import FixedLatencyProvider, Row, bench_settings
from bot.app import open_app
from bot.core.models import GenerationRequest, UserRef

NAME = "2 scaling"
DEFAULT_CAP = 200  # Settings.max_concurrent_generations


@dataclass(frozen=True)
class Config:
    users: tuple[int, ...] = (1, 10, 100, 500)
    latency: float = 1.0
    #: N values also run with MAX_CONCURRENT_GENERATIONS raised to N (when N is above the default)
    raised_for: tuple[int, ...] = (500,)


FULL = Config()
QUICK = Config(latency=0.25)


async def wall_time(directory: Path, users: int, latency: float, cap: int | None) -> tuple[float, int]:
    """Seconds from the first request to the last image, and the most provider calls seen in flight."""
    settings = bench_settings(directory)
    if cap is not None:
        settings = bench_settings(directory, MAX_CONCURRENT_GENERATIONS=str(cap))
    provider = FixedLatencyProvider(latency)
    async with open_app(settings, provider=provider) as app:
        requests = [
            GenerationRequest(UserRef("bench", str(i)), f"a red fox in snow {i}") for i in range(users)
        ]
        start = time.perf_counter()
        results = await asyncio.gather(*(app.service.generate(r) for r in requests))
        elapsed = time.perf_counter() - start
    assert len(results) == users
    return elapsed, provider.peak_in_flight


async def run(config: Config) -> list[Row]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-scaling-") as tmp:
        cases = [(n, None) for n in config.users] + [(n, n) for n in config.raised_for if n > DEFAULT_CAP]
        for index, (users, cap) in enumerate(cases):
            elapsed, peak = await wall_time(Path(tmp) / str(index), users, config.latency, cap)
            ratio = elapsed / config.latency
            limit = cap or DEFAULT_CAP
            ideal = math.ceil(users / limit)
            cap_text = f"cap raised to {cap}" if cap else f"default cap {DEFAULT_CAP}"
            rows.append(
                Row(
                    NAME,
                    f"N={users}, L={config.latency:g} s, {cap_text}",
                    f"{ratio:.2f}× L",
                    f"ideal {ideal:.1f}× · one-at-a-time {users}×",
                    f"peak {peak} in flight; wall {elapsed:.2f} s",
                    {"ratio": ratio, "ideal": float(ideal), "peak": float(peak), "users": float(users)},
                )
            )
    return rows
