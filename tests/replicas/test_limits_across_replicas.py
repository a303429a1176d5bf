"""Three replica processes on one PostgreSQL database admit exactly the limit, never one more."""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from pathlib import Path

from bot.core.clock import utc_day
from bot.storage.postgres import PostgresStorage
from tests.conftest import NOON
from tests.replicas.limits_replica import PER_DAY, USERS

ROOT = Path(__file__).resolve().parents[2]


async def run_storm(replicas: list[asyncio.subprocess.Process]) -> tuple[Counter[str], Counter[str]]:
    """Wait until every replica is connected, release them together; what they admitted in all, and for each
    user how many replicas admitted some of its requests."""
    for replica in replicas:
        assert replica.stdout is not None
        assert (await asyncio.wait_for(replica.stdout.readline(), timeout=60)).strip() == b"ready"
    for replica in replicas:
        assert replica.stdin is not None
        replica.stdin.write(b"go\n")
        await replica.stdin.drain()
    admitted: Counter[str] = Counter()
    asked: Counter[str] = Counter()
    sharing: Counter[str] = Counter()
    for replica in replicas:
        out, _ = await asyncio.wait_for(replica.communicate(), timeout=90)
        assert replica.returncode == 0
        share = json.loads(out.decode().strip().splitlines()[-1])
        # no replica can reach a user's limit alone, whether it runs first, last or beside the others
        assert max(share["asked"].values()) < PER_DAY, share["asked"]
        asked.update(share["asked"])
        admitted.update(share["admitted"])
        sharing.update(user for user, count in share["admitted"].items() if count)
    assert min(asked[user] for user in USERS) > PER_DAY, asked  # ... and together they ask for more
    return admitted, sharing


async def test_1000_concurrent_requests_over_three_replicas_admit_exactly_the_limit(pg_url: str) -> None:
    async with PostgresStorage(pg_url, pool_size=1):
        pass  # migrate once up front, so the replicas' start-up is not what is measured
    replicas = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.replicas.limits_replica",
            pg_url,
            str(count),
            str(seed),
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        for seed, count in enumerate((334, 333, 333))
    ]
    try:
        admitted, sharing = await run_storm(replicas)
    finally:
        for replica in replicas:
            if replica.returncode is None:
                replica.kill()
                await replica.wait()
    assert admitted == Counter({user: PER_DAY for user in USERS})
    assert all(sharing[user] >= 2 for user in USERS), sharing  # each limit was reached across replicas
    async with PostgresStorage(pg_url, pool_size=1) as storage:
        for user in USERS:
            counts = await storage.ledger.counts(user, now=NOON.timestamp(), day=utc_day(NOON.timestamp()))
            assert counts.today == PER_DAY
