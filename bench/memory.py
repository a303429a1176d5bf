"""Benchmark 5: resident memory with many jobs in flight, each carrying 4 reference photos (1600×1200 JPEG),
and with users sending small files that decode into hundreds of MB (``run_hostile``).

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

from bench import hostile
from bench.common import FixedLatencyProvider, Row, bench_settings
from bot.app import open_app
from bot.core.models import GenerationRequest, ProviderImage, ProviderJob, UserRef
from bot.errors import ImagineError
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


@dataclass(frozen=True)
class HostileConfig:
    """``users`` at once, each sending ``per_user`` copies of one of the four hostile files (in turn)."""

    users: int = 20
    per_user: int = 4
    #: the hostile files at the issue's sizes; QUICK shrinks them to keep CI fast
    scale: float = 1.0
    #: the comparison run: the same decoder with no memory budget (``REFERENCE_DECODE_MEMORY_MB`` huge)
    unbudgeted: bool = True
    #: ``REFERENCE_DECODE_MEMORY_MB`` for the budgeted run (None: the default); QUICK's files need a smaller one
    budget_mb: float | None = None


HOSTILE_FULL = HostileConfig()
HOSTILE_QUICK = HostileConfig(users=4, scale=0.25, unbudgeted=False, budget_mb=16)
UNBUDGETED_MB = 100_000


def _hostile_files(scale: float) -> dict[str, bytes]:
    side, long_width = int(7000 * scale), int(65000 * scale)
    return {
        "progressive CMYK JPEG": hostile.progressive_cmyk_jpeg(side),
        "progressive JPEG": hostile.progressive_jpeg(side),
        "long JPEG": hostile.long_jpeg(long_width, 760),
        "PNG": hostile.big_png(int(6000 * scale), int(4000 * scale)),
    }


def _make_hostile_files(scale: float) -> dict[str, bytes]:
    """Made in a child process: building a 7000² CMYK image would leave this process's heap grown."""
    import concurrent.futures
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(_hostile_files, scale).result()


async def run_hostile(config: HostileConfig) -> list[Row]:
    # Full size is made in a child process; the QUICK files are small enough to make here.
    files = _make_hostile_files(config.scale) if config.scale >= 1 else _hostile_files(config.scale)
    rows = [await _hostile_row(config, files, config.budget_mb)]
    if config.unbudgeted:
        rows.append(await _hostile_row(config, files, UNBUDGETED_MB, reference=True))
    return rows


async def _hostile_row(
    config: HostileConfig, files: dict[str, bytes], budget_mb: float | None, *, reference: bool = False
) -> Row:
    kinds = list(files)
    sampler = RssSampler()
    outcomes: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="bench-hostile-") as tmp:
        if budget_mb is None:
            settings = bench_settings(Path(tmp))
        else:
            settings = bench_settings(Path(tmp), REFERENCE_DECODE_MEMORY_MB=str(budget_mb))
        async with open_app(settings, provider=FixedLatencyProvider(0.0)) as app:
            await app.service.generate(
                GenerationRequest(UserRef("bench", "warm"), "warm", (photo(1, 640, 480),))
            )
            baseline = sampler.rss()

            async def one(i: int) -> None:
                data = files[kinds[i % len(kinds)]]
                user = UserRef("bench", f"hostile{i}")
                try:
                    async with app.service.admission(user) as admission:
                        # fresh copies, as each user's own download would be
                        references = tuple(bytes(bytearray(data)) for _ in range(config.per_user))
                        await app.service.generate(
                            GenerationRequest(user, "a cat", references), admission=admission
                        )
                    outcome = "image"
                except ImagineError as error:
                    outcome = getattr(error, "code", type(error).__name__)
                outcomes[outcome] = outcomes.get(outcome, 0) + 1

            with sampler:
                start = time.perf_counter()
                await asyncio.gather(*(one(i) for i in range(config.users)))
                elapsed = time.perf_counter() - start
    peak = max(sampler.peak, baseline)
    label = "no budget (reference)" if reference else f"budget {settings.reference_decode_memory_mb:g} MB"
    sizes = ", ".join(f"{name} {len(data) / MB:.2f} MB" for name, data in files.items())
    ends = ", ".join(f"{count}× {name}" for name, count in sorted(outcomes.items()))
    return Row(
        NAME,
        f"{config.users} users at once × {config.per_user} hostile files, {label}",
        f"peak {peak / MB:.0f} MB (+{(peak - baseline) / MB:.0f} MB); ends: {ends}",
        f"baseline {baseline / MB:.0f} MB; goal peak < 400 MB; files: {sizes}",
        f"{elapsed:.1f} s",
        {
            "baseline": float(baseline),
            "peak": float(peak),
            "requests": float(sum(outcomes.values())),
            "images": float(outcomes.get("image", 0)),
        },
    )
