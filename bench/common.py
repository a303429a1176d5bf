"""Shared pieces: the result row, percentiles, a fixed-latency provider, and settings over a temp database."""

from __future__ import annotations

import asyncio
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from bot.core.models import ProviderImage, ProviderJob
from bot.providers.base import TokenCheck, TokenState
from bot.settings import AccountConfig, Settings, load_settings

# Nothing answers here: the in-process provider replaces the HTTP client, and HTTP rows override it.
UNUSED_BASE_URL = "http://127.0.0.1:9/client/v4"


@dataclass(frozen=True)
class Row:
    """One line of the table. ``metrics`` keeps the raw numbers for tests and for other rows' ratios."""

    bench: str
    case: str
    measured: str
    reference: str
    note: str = ""
    metrics: Mapping[str, float] = field(default_factory=dict)


def percentile(samples: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); with few samples p99 is simply the maximum."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def ms(seconds: float) -> str:
    """Milliseconds with the precision that matters at that size."""
    value = seconds * 1000
    return f"{value:.2f} ms" if value < 10 else f"{value:.0f} ms"


def tiny_png() -> bytes:
    """A small encoded image, built once: the fake provider's answer must cost nothing to produce."""
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (40, 120, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


class FixedLatencyProvider:
    """An ``ImageProvider`` that answers the same PNG after ``latency`` seconds and counts calls in flight."""

    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.calls = 0
        self.in_flight = 0
        self.peak_in_flight = 0
        self._image = tiny_png()

    async def generate(self, account: AccountConfig, job: ProviderJob) -> ProviderImage:
        self.calls += 1
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            # sleep(0) still yields to the loop, as any real network call would
            await asyncio.sleep(self.latency)
        finally:
            self.in_flight -= 1
        return ProviderImage(self._image, "image/png")

    async def verify_token(self, account: AccountConfig) -> TokenCheck:
        return TokenCheck(TokenState.ACTIVE)


def bench_settings(directory: Path, accounts: int = 1, **overrides: str) -> Settings:
    """Settings over a fresh SQLite file in ``directory``; limits off unless overridden."""
    environ = {
        "CF_API_BASE_URL": UNUSED_BASE_URL,
        "DATABASE_PATH": str(directory / "bench.sqlite3"),
        "RATE_LIMIT_PER_MINUTE": "0",
        "RATE_LIMIT_PER_DAY": "0",
    }
    for n in range(1, accounts + 1):
        environ |= {f"CF_API_TOKEN_{n}": f"bench-token-{n}-0123456789", f"ACCOUNT_{n}": f"acc{n}"}
    return load_settings(None, environ | overrides)
