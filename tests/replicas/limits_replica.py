"""One replica's share of a limits storm: run as ``python -m tests.replicas.limits_replica URL REQUESTS SEED``.

Fires REQUESTS concurrent admissions for 10 users through the real RateLimiter on PostgreSQL (all replicas use
the same manual time, so the day and minute windows agree), then prints what it asked and admitted per user as
JSON: ``{"asked": {user: requests}, "admitted": {user: admitted}}``.

PER_DAY is above what any one replica asks for a user (~33 on average, 41 at most) and below what the three ask
together (at least 91): every user's limit can only be reached with admissions from more than one replica,
however the replicas happen to be scheduled.
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
PER_DAY = 50


async def main(url: str, requests: int, seed: int) -> None:
    rng = random.Random(seed)
    users = [rng.choice(USERS) for _ in range(requests)]
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
        await asyncio.gather(*(one(user) for user in users))
    print(json.dumps({"asked": Counter(users), "admitted": admitted}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
