"""Benchmark 4c: what the shared per-user line costs a request, on PostgreSQL and SQLite.

Each request goes through its user's line once: register (the cap checked in the insert), try_start (the running
cap and the place), leave. ``requests`` of them at once from ``users`` users, with caps high enough that nobody
waits, so the figure is the bookkeeping alone. The reference on the same backend in the same run is the limits
check every request already makes (one ``try_consume``); the in-memory line (one process, no database) is the
floor.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from bench.common import Row, percentile
from bench.pg_cluster import PostgresCluster
from bot.core.lines import LineTicket, MemoryUserLines, UserLines
from bot.core.persistence import AcceptedRequest, RequestState, Storage
from bot.storage.postgres import PostgresStorage
from bot.storage.sqlite import SqliteStorage

NAME = "4c per-user line"


@dataclass(frozen=True)
class Config:
    requests: int = 1000
    users: int = 10
    pool_size: int = 10


FULL = Config()
QUICK = Config(requests=100)

Step = Callable[[int], Awaitable[None]]


async def _burst(step: Step, requests: int) -> tuple[float, list[float]]:
    """Requests per second and each one's milliseconds, all started at once."""
    latencies: list[float] = []

    async def one(i: int) -> None:
        start = time.perf_counter()
        await step(i)
        latencies.append((time.perf_counter() - start) * 1000)

    start = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(requests)))
    return requests / (time.perf_counter() - start), latencies


def _through_the_line(lines: UserLines, config: Config, prefix: str) -> Step:
    async def step(i: int) -> None:
        user = f"bench:{i % config.users}"
        request_id = f"{prefix}-{i}"
        request = AcceptedRequest(
            id=request_id, user_key=user, platform="bench", replica="bench", state=RequestState.WAITING,
            accepted_at=float(i), lease_until=float(i) + 60,
        )  # fmt: skip
        if await lines.register(request, cap=config.requests) is not None:
            raise AssertionError("refused under a cap nobody reaches")
        ticket = LineTicket(request_id, user)
        if await lines.try_start(ticket, running_cap=config.requests) != 0:
            raise AssertionError("waited under a cap nobody reaches")
        await lines.leave(ticket)

    return step


def _limits_check(storage: Storage, config: Config) -> Step:
    async def step(i: int) -> None:
        await storage.ledger.try_consume(
            f"bench:{i % config.users}", now=1000.0 + i, day="2026-11-21", per_minute=None, per_day=None
        )

    return step


async def _backend(label: str, storage: Storage, config: Config, floor: float) -> Row:
    rate, latencies = await _burst(_through_the_line(storage.lines, config, label), config.requests)
    reference, _ = await _burst(_limits_check(storage, config), config.requests)
    return Row(
        NAME,
        f"{config.requests} concurrent, {config.users} users, {label}: register + start + leave",
        f"{rate:,.0f} requests/s (p50 {percentile(latencies, 50):.1f} ms, p99 {percentile(latencies, 99):.1f} ms)",
        f"the limits check on {label}: {reference:,.0f} checks/s",
        f"{rate / reference:.2f}× the limits check's rate; in-memory line (one process): {floor:,.0f}/s",
        {"rate": rate, "reference": reference, "floor": floor, "p50": percentile(latencies, 50)},
    )


async def run(config: Config, cluster: PostgresCluster | None = None) -> list[Row]:
    """The rows; starts a throwaway cluster unless given one (the tests share theirs)."""
    floor, _ = await _burst(_through_the_line(MemoryUserLines(), config, "memory"), config.requests)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        async with SqliteStorage(Path(tmp) / "bench.sqlite3") as sqlite:
            rows.append(await _backend("SQLite", sqlite, config, floor))
    own = cluster is None
    if cluster is None:
        cluster = PostgresCluster()
        await asyncio.to_thread(cluster.start)
    try:
        url = await asyncio.to_thread(cluster.new_database)
        async with PostgresStorage(url, pool_size=config.pool_size) as postgres:
            rows.append(await _backend("PostgreSQL", postgres, config, floor))
    finally:
        if own:
            await asyncio.to_thread(cluster.stop)
    return rows
