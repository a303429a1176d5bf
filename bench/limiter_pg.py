"""Benchmark 4b: the limiter on PostgreSQL beside SQLite, and the ways to make its check exact.

1,000 concurrent checks from 10 users through the real ``RateLimiter`` (per-day limit binding), on a throwaway
cluster started for the run. Three ways to make check-and-record atomic are measured on the same data:
- ``advisory``: the bot's choice, ``try_consume_usage()`` (migration 1): a per-user advisory lock, one call;
- ``serializable``: the same two counts and INSERT in a SERIALIZABLE transaction, retried on 40001;
- ``plain``: one ``INSERT ... SELECT ... WHERE count < limit`` in READ COMMITTED: fastest, but two checks at the
  boundary can both see count = limit - 1 and both insert; it can be exact in a run only by luck.
The reference is the SQLite ledger (bench 4's burst) measured in the same run.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import psycopg
from psycopg import errors

from bench import limiter as sqlite_bench
from bench.common import Row
from bench.pg_cluster import PostgresCluster
from bot.core.clock import ManualClock, utc_day
from bot.core.limits import RateLimiter
from bot.errors import LimitReached
from bot.storage.postgres import PostgresDatabase, PostgresStorage

NAME = "4b limiter PostgreSQL"

_COUNTS = """
SELECT count(*) FILTER (WHERE day = %(day)s) FROM usage_events WHERE user_key = %(user)s
"""
_PLAIN = """
INSERT INTO usage_events (user_key, created_at, day)
SELECT %(user)s, %(now)s, %(day)s
WHERE (SELECT count(*) FROM usage_events WHERE user_key = %(user)s AND day = %(day)s) < %(per_day)s
RETURNING id
"""
_INSERT = (
    "INSERT INTO usage_events (user_key, created_at, day) VALUES (%(user)s, %(now)s, %(day)s) RETURNING id"
)


@dataclass(frozen=True)
class Config:
    requests: int = 1000
    users: int = 10
    per_day: int = 20
    pool_size: int = 10


FULL = Config()
QUICK = Config(requests=200, per_day=5)

Consume = Callable[[str], Awaitable[bool]]


async def _burst(consume: Consume, config: Config) -> tuple[Counter[str], float]:
    admitted: Counter[str] = Counter()

    async def one(i: int) -> None:
        user = f"bench:{i % config.users}"
        if await consume(user):
            admitted[user] += 1

    start = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(config.requests)))
    return admitted, time.perf_counter() - start


def _via_limiter(storage: PostgresStorage, config: Config, clock: ManualClock) -> Consume:
    limiter = RateLimiter(storage.ledger, clock, per_minute=0, per_day=config.per_day)

    async def consume(user: str) -> bool:
        try:
            await limiter.acquire(user)
        except LimitReached:
            return False
        return True

    return consume


def _plain(db: PostgresDatabase, config: Config, clock: ManualClock) -> Consume:
    async def consume(user: str) -> bool:
        params = {"user": user, "now": clock.time(), "day": utc_day(clock.time()), "per_day": config.per_day}
        return await db.fetch_one(_PLAIN, params) is not None

    return consume


def _serializable(db: PostgresDatabase, config: Config, clock: ManualClock, retries: Counter[str]) -> Consume:
    async def consume(user: str) -> bool:
        params = {"user": user, "now": clock.time(), "day": utc_day(clock.time())}
        while True:
            try:
                async with db.pool.connection() as conn:
                    await conn.set_isolation_level(psycopg.IsolationLevel.SERIALIZABLE)
                    async with conn.transaction():
                        row = await (await conn.execute(_COUNTS, params)).fetchone()
                        if row is None or int(row[0]) >= config.per_day:
                            return False
                        await conn.execute(_INSERT, params)
                        return True
            except errors.SerializationFailure:
                retries["retries"] += 1
            finally:
                async with db.pool.connection() as conn:
                    await conn.set_isolation_level(None)

    return consume


def _row(
    case: str, admitted: Counter[str], seconds: float, config: Config, sqlite_rate: float, note: str
) -> Row:
    expected = config.users * config.per_day
    exact = all(admitted[f"bench:{u}"] == config.per_day for u in range(config.users))
    rate = config.requests / seconds
    return Row(
        NAME,
        f"{config.requests} concurrent, {config.users} users, {case}",
        f"{rate:,.0f} checks/s; admitted {sum(admitted.values())}/{expected} ({'exact' if exact else 'NOT exact'})",
        f"SQLite ledger: {sqlite_rate:,.0f} checks/s",
        note,
        {
            "rate": rate,
            "reference": sqlite_rate,
            "exact": float(exact),
            "admitted": float(sum(admitted.values())),
        },
    )


async def run(config: Config, cluster: PostgresCluster | None = None) -> list[Row]:
    """The rows; starts a throwaway cluster unless given one (the tests share theirs)."""
    sqlite_rows = await sqlite_bench.run(sqlite_bench.Config(requests=config.requests, users=(config.users,)))
    sqlite_rate = sqlite_rows[0].metrics["rate"]
    own = cluster is None
    if cluster is None:
        cluster = PostgresCluster()
        await asyncio.to_thread(cluster.start)
    rows: list[Row] = []
    try:
        for case in ("advisory", "serializable", "plain"):
            url = await asyncio.to_thread(cluster.new_database)
            clock = ManualClock(sqlite_bench.NOON)
            retries: Counter[str] = Counter()
            async with PostgresStorage(url, pool_size=config.pool_size) as storage:
                consume: Consume
                if case == "advisory":
                    consume = _via_limiter(storage, config, clock)
                elif case == "serializable":
                    consume = _serializable(storage.db, config, clock, retries)
                else:
                    consume = _plain(storage.db, config, clock)
                admitted, seconds = await _burst(consume, config)
            note = {
                "advisory": f"the bot's choice; {rate_ratio(config.requests / seconds, sqlite_rate)} of SQLite",
                "serializable": f"{retries['retries']} serialization retries",
                "plain": (
                    "no lock: two checks at the boundary can both pass (READ COMMITTED); not used"
                    if sum(admitted.values()) == config.users * config.per_day
                    else "no lock: concurrent checks missed each other, over-admitted"
                ),
            }[case]
            rows.append(_row(case, admitted, seconds, config, sqlite_rate, note))
    finally:
        if own:
            await asyncio.to_thread(cluster.stop)
    return rows


def rate_ratio(rate: float, reference: float) -> str:
    return f"{rate / reference:.2f}×"
