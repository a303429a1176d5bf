"""Benchmark 4: the rate limiter under 1,000 concurrent checks, over a real SQLite file.

Phase 1 lets the per-minute limit bind, phase 2 (61 s later on a manual clock) the per-day limit, so both
clauses of the atomic check are exercised. Exact means every user is admitted exactly its limit, never more.
The reference is the raw rate of single INSERTs through the same aiosqlite connection: the ceiling any
check that writes a row can reach.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.common import Row
from bot.core.clock import ManualClock
from bot.core.limits import RateLimiter
from bot.errors import LimitReached
from bot.storage import SqliteDatabase, SqliteUsageLedger

NAME = "4 limiter"
# Mid-day, so the run never crosses 00:00 UTC whatever the wall clock says.
NOON = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Config:
    requests: int = 1000
    users: tuple[int, ...] = (1, 10, 100)


FULL = Config()
QUICK = Config(requests=200)


async def _burst(limiter: RateLimiter, users: int, requests: int) -> tuple[Counter[str], float]:
    """``requests`` concurrent acquire() calls spread over ``users``; returns admissions per user and seconds."""
    admitted: Counter[str] = Counter()

    async def check(i: int) -> None:
        user = f"bench:{i % users}"
        try:
            await limiter.acquire(user)
        except LimitReached:
            return
        admitted[user] += 1

    start = time.perf_counter()
    await asyncio.gather(*(check(i) for i in range(requests)))
    return admitted, time.perf_counter() - start


async def _insert_rate(db: SqliteDatabase, count: int) -> float:
    await db.execute("CREATE TABLE IF NOT EXISTS bench_probe (id INTEGER PRIMARY KEY, v REAL)")
    start = time.perf_counter()
    await asyncio.gather(*(db.execute("INSERT INTO bench_probe (v) VALUES (?)", (i,)) for i in range(count)))
    return count / (time.perf_counter() - start)


async def _one(config: Config, users: int, path: Path) -> Row:
    per_user = config.requests // users
    minute_limit = max(1, per_user // 2)
    day_limit = 2 * minute_limit  # phase 2 admits minute_limit more, then the day is full
    clock = ManualClock(NOON)
    async with SqliteDatabase(path) as db:
        limiter = RateLimiter(SqliteUsageLedger(db), clock, per_minute=minute_limit, per_day=day_limit)
        first, t1 = await _burst(limiter, users, config.requests)
        clock.advance(61)
        second, t2 = await _burst(limiter, users, config.requests)
        reference = await _insert_rate(db, config.requests)
    exact = all(
        first[f"bench:{u}"] == minute_limit and second[f"bench:{u}"] == minute_limit for u in range(users)
    )
    admitted = sum(first.values()) + sum(second.values())
    expected = 2 * users * minute_limit
    rate = 2 * config.requests / (t1 + t2)
    return Row(
        NAME,
        f"{config.requests} concurrent × 2 phases, {users} user(s)",
        f"{rate:,.0f} checks/s; admitted {admitted}/{expected} ({'exact' if exact else 'NOT exact'})",
        f"bare INSERT: {reference:,.0f}/s; limits {minute_limit}/min, {day_limit}/day per user",
        f"{rate / reference:.0%} of the INSERT ceiling",
        {
            "rate": rate,
            "reference": reference,
            "admitted": float(admitted),
            "expected": float(expected),
            "exact": float(exact),
        },
    )


async def run(config: Config) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="bench-limiter-") as tmp:
        return [await _one(config, users, Path(tmp) / f"u{users}.sqlite3") for users in config.users]
