"""Benchmark 5: resident memory with many jobs in flight, each carrying 4 reference photos (1600×1200 JPEG).

Each job gets its own copies of the photos, handed over in the request as an adapter's fresh downloads
would be; the bench keeps only weak references to them. The provider holds every call until all jobs are at
the provider, then takes the figures at that moment: RSS, and how many original photos are still alive
(the service only needs their normalised ≤512 px copies once planning is done). RSS is also sampled by a
thread every few milliseconds (psutil) for the peak. The reference is the RSS just before the photos
arrive, and the size of the photos themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import random
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil
from PIL import Image, ImageFilter

from bench.common import FixedLatencyProvider, Row, bench_settings
from bot.app import open_app
from bot.core.models import GenerationRequest, ProviderImage, ProviderJob, UserRef
from bot.settings import AccountConfig

NAME = "5 memory"
MB = 1024 * 1024


@dataclass(frozen=True)
class Config:
    jobs: int = 200
    references: int = 4
    width: int = 1600
    height: int = 1200
    #: seconds between two users' arrivals: 200 photo sets arrive over a few seconds, as chats deliver them
    arrival_spacing: float = 0.02
    #: longest the provider waits for every job to arrive before it lets them go anyway
    gather_timeout: float = 120.0


FULL = Config()
QUICK = Config(jobs=20, arrival_spacing=0.005)


def photo(seed: int, width: int, height: int) -> bytes:
    """A JPEG that compresses like a photo (smooth shapes plus grain), not like a flat colour."""
    rng = random.Random(seed)
    small = Image.new("RGB", (width // 40, height // 40))
    small.putdata(
        [
            (rng.randrange(256), rng.randrange(256), rng.randrange(256))
            for _ in range(small.width * small.height)
        ]
    )
    image = small.resize((width, height), Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(3))
    grain = Image.effect_noise((width, height), 24).convert("RGB")
    image = Image.blend(image, grain, 0.15)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


class Photo(bytes):
    """Downloaded photo bytes that count how many of them are alive (bytes cannot be weakly referenced)."""

    alive = 0

    def __new__(cls, data: bytes) -> Photo:
        cls.alive += 1
        return super().__new__(cls, data)

    def __del__(self) -> None:
        Photo.alive -= 1


class GatedProvider(FixedLatencyProvider):
    """Once armed, holds every call until ``expected`` are in flight (or the timeout), calling ``on_all_in``."""

    def __init__(self, expected: int, timeout: float, on_all_in: Callable[[], None]) -> None:
        super().__init__(0.0)
        self.armed = False
        self.reference_bytes = 0
        self.reached = 0
        self._expected = expected
        self._timeout = timeout
        self._on_all_in = on_all_in
        self._all_in = asyncio.Event()

    async def generate(self, account: AccountConfig, job: ProviderJob) -> ProviderImage:
        if self.armed:
            self.reference_bytes += sum(len(data) for data in job.references)
            self.reached += 1
            if self.reached == self._expected:
                self._on_all_in()
                self._all_in.set()
            # bounded: a job that never arrives must not hang the benchmark
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._all_in.wait(), self._timeout)
        return await super().generate(account, job)


class RssSampler:
    """Samples this process's RSS from a thread, so the peak is seen even while the event loop is busy."""

    def __init__(self, interval: float = 0.005) -> None:
        self._process = psutil.Process()
        self._interval = interval
        self._stop = threading.Event()
        self.peak = 0
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def rss(self) -> int:
        return int(self._process.memory_info().rss)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            time.sleep(self._interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class _Snapshot:
    rss: int = 0
    originals_alive: int = 0


async def run(config: Config) -> list[Row]:
    originals = [photo(seed, config.width, config.height) for seed in range(8)]
    sampler = RssSampler()
    snapshot = _Snapshot()
    alive_before = Photo.alive

    def on_all_in() -> None:
        snapshot.rss = sampler.rss()
        snapshot.originals_alive = Photo.alive - alive_before

    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        provider = GatedProvider(config.jobs, config.gather_timeout, on_all_in)
        settings = bench_settings(Path(tmp), MAX_CONCURRENT_GENERATIONS=str(max(200, config.jobs)))
        async with open_app(settings, provider=provider) as app:
            # Warm the pipeline (thread pool, Pillow's decoders, SQLite pages) so the baseline includes them.
            await app.service.generate(GenerationRequest(UserRef("bench", "warm"), "warm", (originals[0],)))
            provider.armed = True
            baseline = sampler.rss()
            inputs = sum(
                len(originals[(i + r) % 8]) for i in range(config.jobs) for r in range(config.references)
            )

            async def one(i: int) -> None:
                await asyncio.sleep(i * config.arrival_spacing)
                # built inline and handed over: nothing but the service holds the request or its photos
                await app.service.generate(
                    GenerationRequest(
                        UserRef("bench", str(i)),
                        f"a cat knight {i}",
                        tuple(Photo(originals[(i + r) % 8]) for r in range(config.references)),
                    )
                )

            with sampler:
                start = time.perf_counter()
                await asyncio.gather(*(one(i) for i in range(config.jobs)))
                elapsed = time.perf_counter() - start
            database = settings.database_path.stat().st_size
    peak = max(sampler.peak, snapshot.rss)
    growth = snapshot.rss - baseline
    total_refs = config.jobs * config.references
    return [
        Row(
            NAME,
            f"{config.jobs} jobs in flight × {config.references} refs {config.width}×{config.height} JPEG",
            f"RSS all-in {snapshot.rss / MB:.0f} MB (+{growth / MB:.0f} MB, {growth / config.jobs / 1024:.0f} KB/job); "
            f"peak {peak / MB:.0f} MB",
            f"baseline {baseline / MB:.0f} MB; photos {inputs / config.jobs / 1024:.0f} KB/job, "
            f"normalised {provider.reference_bytes / config.jobs / 1024:.0f} KB/job",
            f"original photos alive at the provider: {snapshot.originals_alive}/{total_refs}; "
            f"SQLite {database / MB:.0f} MB; {elapsed:.1f} s",
            {
                "baseline": float(baseline),
                "all_in": float(snapshot.rss),
                "peak": float(peak),
                "growth_per_job": growth / config.jobs,
                "photos_per_job": inputs / config.jobs,
                "normalised_per_job": provider.reference_bytes / config.jobs,
                "originals_alive": float(snapshot.originals_alive),
                "references": float(total_refs),
                "reached": float(provider.reached),
            },
        )
    ]
