"""Benchmark 5: what several replicas on one PostgreSQL database cost and save.

- propagation: the time from one replica publishing an account's new state to another one applying it (LISTEN/
  NOTIFY through the real ``PostgresAccountFeed``), beside a bare ``SELECT 1`` round trip on the same server;
- the learning burst: 10 simultaneous first requests with 9 of 10 accounts spent, through the real service and
  ``WorkersAIClient`` against the fake Workers AI, in 1 process on SQLite and spread over 3 replicas (three apps,
  each with its own connection pool and listener) on PostgreSQL. The floor is 9 refused calls + 10 images = 19;
  before the single-flight gate one process made 71-77;
- end-to-end images/s through the HTTP API with 1 and with 3 replica processes (``python -m bot run``) on one
  PostgreSQL database, the fake Workers AI answering at once (L = 0): the bot's own cost. These machines have 2
  cores for everything (the replicas, PostgreSQL, the fake and the client), so 3 replicas cannot be 3× here.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.common import Row, bench_settings, percentile
from bench.pg_cluster import PostgresCluster
from bench.replica_procs import replica_env, run_replicas
from bot.app import open_app
from bot.core.models import GenerationRequest, UserRef
from bot.core.persistence import AccountChange, AccountEvent
from bot.storage.postgres import PostgresStorage
from tests.fakes.workers_ai import OK, SPENT, FakeWorkersAI

NAME = "5 replicas"


@dataclass(frozen=True)
class Config:
    samples: int = 200
    #: images through the HTTP API per replica count, and requests in flight at once
    images: int = 300
    concurrency: int = 30
    accounts: int = 10
    spent: int = 9
    herd: int = 10
    replicas: int = 3


FULL = Config()
QUICK = Config(samples=30, images=20, concurrency=5)


async def _nothing() -> None:
    return None


async def _propagation(url: str, samples: int) -> Row:
    delays: list[float] = []
    round_trips: list[float] = []
    async with PostgresStorage(url, pool_size=2) as one, PostgresStorage(url, pool_size=2) as two:
        heard: asyncio.Queue[AccountChange] = asyncio.Queue()
        async with two.feed.listen(heard.put_nowait, _nothing):
            for i in range(samples):
                start = time.perf_counter()
                await one.feed.publish(AccountChange(f"acc{i % 10}", AccountEvent.COOLING, until=1e10 + i))
                await heard.get()
                delays.append(time.perf_counter() - start)
                start = time.perf_counter()
                await one.db.fetch_one("SELECT 1")
                round_trips.append(time.perf_counter() - start)
    p50, p99 = percentile(delays, 50), percentile(delays, 99)
    return Row(
        NAME,
        f"account state, publish on one replica → applied on another ({samples} changes)",
        f"p50 {p50 * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms",
        f"SELECT 1 round trip: p50 {percentile(round_trips, 50) * 1000:.2f} ms",
        "the requirement is within 1 s",
        {"p50": p50, "p99": p99, "reference": percentile(round_trips, 50)},
    )


def _request(i: int) -> GenerationRequest:
    return GenerationRequest(UserRef("bench", f"burst{i}"), f"a kite over the dunes {i}")


async def _burst(fake: FakeWorkersAI, config: Config, directory: Path, url: str | None, replicas: int) -> int:
    for n in range(1, config.accounts + 1):
        fake.default(f"acc{n}", SPENT if n <= config.spent else OK)
    overrides = {"CF_API_BASE_URL": fake.base_url}
    if url is not None:
        overrides["DATABASE_URL"] = url
    settings = bench_settings(directory, accounts=config.accounts, **overrides)
    async with AsyncExitStack() as stack:
        apps = [await stack.enter_async_context(open_app(settings)) for _ in range(replicas)]
        before = len(fake.calls)
        await asyncio.gather(*(apps[i % replicas].service.generate(_request(i)) for i in range(config.herd)))
        return len(fake.calls) - before


async def _images_per_second(
    cluster: PostgresCluster, config: Config, replicas: int, directory: Path
) -> float:
    url = await asyncio.to_thread(cluster.new_database)
    keys = {"bench": "sk-bench-0123456789abcdef"}
    async with FakeWorkersAI() as fake:
        env = replica_env(
            fake.base_url, url, keys, accounts=1, RATE_LIMIT_PER_MINUTE="0", RATE_LIMIT_PER_DAY="0",
            MAX_JOBS_PER_USER="1000", MAX_QUEUED_PER_USER="1000",
        )  # fmt: skip
        async with (
            run_replicas(replicas, env, directory) as nodes,
            httpx.AsyncClient(timeout=120, headers={"authorization": f"Bearer {keys['bench']}"}) as client,
        ):
            gate = asyncio.Semaphore(config.concurrency)

            async def one(i: int) -> None:
                async with gate:
                    response = await client.post(
                        f"{nodes[i % replicas].url}/v1/images/generations",
                        json={"prompt": f"a lantern {i}", "size": "512x512"},
                    )
                    response.raise_for_status()

            await asyncio.gather(*(one(i) for i in range(config.concurrency)))  # warm up every replica
            start = time.perf_counter()
            await asyncio.gather(*(one(i) for i in range(config.images)))
            return config.images / (time.perf_counter() - start)


async def run(config: Config, cluster: PostgresCluster | None = None) -> list[Row]:
    own = cluster is None
    if cluster is None:
        cluster = PostgresCluster()
        await asyncio.to_thread(cluster.start)
    try:
        rows = [await _propagation(await asyncio.to_thread(cluster.new_database), config.samples)]
        floor = config.spent + config.herd
        with tempfile.TemporaryDirectory(prefix="bench-replicas-") as tmp:
            async with FakeWorkersAI() as fake:
                alone = await _burst(fake, config, Path(tmp) / "one", None, 1)
                url = await asyncio.to_thread(cluster.new_database)
                spread = await _burst(fake, config, Path(tmp) / "three", url, config.replicas)
        for case, calls in (
            ("1 process, SQLite", alone),
            (f"{config.replicas} replicas, PostgreSQL", spread),
        ):
            rows.append(
                Row(
                    NAME,
                    f"learning burst: {config.herd} simultaneous first requests, {config.spent} of "
                    f"{config.accounts} accounts spent, {case}",
                    f"{calls} upstream calls ({calls - config.herd} refused, {config.herd} images)",
                    f"floor: {floor} ({config.spent} refused + {config.herd} images); before single-flight: 71-77 (1 process), 97-99 (3 replicas)",
                    "each spent account is called once for the whole deployment",
                    {"calls": float(calls), "floor": float(floor)},
                )
            )
        if not config.images:  # the smoke test: replica processes are covered by tests/replicas
            return rows
        with tempfile.TemporaryDirectory(prefix="bench-replicas-") as tmp:
            one = await _images_per_second(cluster, config, 1, Path(tmp))
            three = await _images_per_second(cluster, config, config.replicas, Path(tmp))
        rows.append(
            Row(
                NAME,
                f"images/s through the HTTP API, L = 0, {config.images} images, {config.concurrency} in flight",
                f"{config.replicas} replicas: {three:,.1f} images/s ({three / one:.2f}× of 1)",
                f"1 replica: {one:,.1f} images/s",
                "2 cores shared by the replicas, PostgreSQL, the fake upstream and the client",
                {"one": one, "three": three, "ratio": three / one},
            )
        )
        return rows
    finally:
        if own:
            await asyncio.to_thread(cluster.stop)
