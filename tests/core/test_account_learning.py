"""Learning what the accounts can do costs one call per account: not one per concurrent request, nor per replica.

Ten simultaneous first requests with 9 of 10 accounts spent used to make 71-77 upstream calls (each request
walked the spent accounts itself); the floor is 9 failed calls (one per spent account) + 10 images = 19.
The replica half runs three pools on one PostgreSQL database, each with its own connections and listener.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import pytest

from bot.core.accounts import AccountPool
from bot.core.clock import ManualClock
from bot.core.models import AccountHealth
from bot.core.persistence import Storage
from bot.providers.base import FailureKind, UpstreamFailure
from bot.settings import AccountConfig
from bot.storage.postgres import PostgresStorage

ACCOUNTS = [AccountConfig(index=i, account_id=f"acc{i}", token=f"token-{i}") for i in range(1, 11)]
SPENT = {f"acc{i}" for i in range(1, 10)}


class Upstream:
    """Accounts 1-9 answer "spent", account 10 serves; every call yields to the loop like a real one."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    async def __call__(self, account: AccountConfig) -> str:
        self.calls[account.key] += 1
        await asyncio.sleep(0)
        if account.key in SPENT:
            raise UpstreamFailure(FailureKind.SPENT, "daily free allocation used up", status=429, code=3036)
        return "image"


def new_pool(storage: Storage, clock: ManualClock) -> AccountPool:
    # Patience far above any answer's delay on a loaded machine: the counts below are then exact.
    return AccountPool(ACCOUNTS, storage.accounts, clock, feed=storage.feed, probe_patience=60.0)


async def test_ten_simultaneous_first_requests_learn_each_spent_account_once(
    storage: Storage, clock: ManualClock
) -> None:
    pool = new_pool(storage, clock)
    await pool.load()
    upstream = Upstream()
    async with pool.shared():
        served = await asyncio.gather(*(pool.run(upstream, max_transient=3) for _ in range(10)))
    assert all(result.account.key == "acc10" for result in served)
    assert upstream.calls == Counter({**{key: 1 for key in SPENT}, "acc10": 10})
    assert sum(upstream.calls.values()) == 19


@pytest.fixture
async def replicas(pg_url: str, clock: ManualClock) -> AsyncIterator[list[AccountPool]]:
    """Three pools on one database, each with its own connection pool and listener (as three processes have)."""
    async with AsyncExitStack() as stack:
        pools = []
        for _ in range(3):
            storage = await stack.enter_async_context(PostgresStorage(pg_url, pool_size=3))
            pool = new_pool(storage, clock)
            await pool.load()
            await stack.enter_async_context(pool.shared())
            pools.append(pool)
        yield pools
        for pool in pools:
            await pool.drain()


async def test_the_learning_burst_spread_over_three_replicas_still_costs_one_call_per_account(
    replicas: list[AccountPool],
) -> None:
    upstream = Upstream()
    served = await asyncio.gather(*(replicas[i % 3].run(upstream, max_transient=3) for i in range(10)))
    assert all(result.account.key == "acc10" for result in served)
    assert upstream.calls == Counter({**{key: 1 for key in SPENT}, "acc10": 10})


async def test_a_spent_account_learnt_by_one_replica_is_never_called_by_the_others(
    replicas: list[AccountPool],
) -> None:
    first, *others = replicas
    upstream = Upstream()
    await first.run(upstream, max_transient=3)  # learns acc1..acc9, one call each
    await first.drain()  # its news is published; the others apply it when they hear it
    for pool in others:
        await wait_until_spent(pool, SPENT)
    before = sum(upstream.calls.values())
    await asyncio.gather(*(pool.run(upstream, max_transient=3) for pool in others for _ in range(5)))
    assert sum(upstream.calls.values()) - before == 10  # one call per image: nothing spent was called again
    assert all(upstream.calls[key] == 1 for key in SPENT)


async def wait_until_spent(pool: AccountPool, keys: set[str]) -> None:
    """Until ``pool`` reports every account in ``keys`` as spent (the notification's arrival, not a timer)."""
    labels = {f"#{key.removeprefix('acc')}" for key in keys}
    for _ in range(3000):
        statuses = await pool.statuses()
        spent = {s.label.split()[0] for s in statuses if s.health is AccountHealth.SPENT}
        if labels <= spent:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the other replica never heard: {labels - spent}")
