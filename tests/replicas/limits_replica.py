"""One replica's share of a limits storm: run as ``python -m tests.replicas.limits_replica URL REQUESTS SEED``.

Fires REQUESTS concurrent admissions for 10 users through the real RateLimiter on PostgreSQL (all replicas use
the same manual time, so the day and minute windows agree), then prints ``{user: admitted}`` as JSON.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
from collections import Counter

from bot.core.clock import ManualClock
from bot.core.limits import RateLimiter
from bot.errors import LimitReached
from bot.storage.postgres import PostgresStorage
from tests.conftest import NOON

USERS = [f"telegram:{n}" for n in range(10)]
PER_DAY = 7


async def main(url: str, requests: int, seed: int) -> None:
    rng = random.Random(seed)
    admitted: Counter[str] = Counter()
    async with PostgresStorage(url, pool_size=8) as storage:
        limiter = RateLimiter(storage.ledger, ManualClock(NOON), per_minute=0, per_day=PER_DAY)

        async def one(user: str) -> None:
            try:
                await limiter.acquire(user)
            except LimitReached:
                return
            admitted[user] += 1

        print("ready", flush=True)
        sys.stdin.readline()  # the test releases every replica at once
        await asyncio.gather(*(one(rng.choice(USERS)) for _ in range(requests)))
    print(json.dumps(dict(admitted)), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
