"""Account pool state transitions, with an in-process provider (the HTTP path is covered in test_failover)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest

from bot.core.accounts import AccountPool
from bot.core.clock import ManualClock
from bot.core.models import AccountHealth
from bot.errors import AllAccountsUnavailable, UpstreamUnavailable
from bot.providers.base import FailureKind, UpstreamFailure
from bot.settings import AccountConfig
from bot.storage import SqliteAccountStateStore, SqliteDatabase

ACCOUNTS = [AccountConfig(index=i, account_id=f"account-{i}", token=f"token-{i}") for i in (1, 2, 3)]


def scripted(
    outcomes: dict[int, list[FailureKind | None]], calls: list[int]
) -> Callable[[AccountConfig], Awaitable[str]]:
    """A call that fails per account as scripted (None = success), recording which account was called."""

    async def call(account: AccountConfig) -> str:
        calls.append(account.index)
        script = outcomes.get(account.index, [])
        kind = script.pop(0) if script else None
        if kind is None:
            return f"image from {account.index}"
        raise UpstreamFailure(
            kind, f"scripted {kind.value}", retry_after=5.0 if kind is FailureKind.BUSY else None
        )

    return call


async def make_pool(db: SqliteDatabase, clock: ManualClock, strategy: str = "fill-first") -> AccountPool:
    pool = AccountPool(ACCOUNTS, SqliteAccountStateStore(db), clock, strategy=strategy, capacity_cooldown=30)
    await pool.load()
    return pool


async def test_spent_account_is_skipped_until_utc_midnight_even_after_restart(
    db: SqliteDatabase, clock: ManualClock
) -> None:
    calls: list[int] = []
    pool = await make_pool(db, clock)
    served = await pool.run(scripted({1: [FailureKind.SPENT]}, calls), max_transient=3)
    assert (served.account.index, served.calls, calls) == (2, 2, [1, 2])
    await pool.drain()  # an orderly stop finishes the bookkeeping
    restarted = await make_pool(db, clock)
    await restarted.run(scripted({}, calls), max_transient=3)
    assert calls[-1] == 2  # account 1 is not called again today
    statuses = {s.index: s for s in await restarted.statuses()}
    assert statuses[1].health is AccountHealth.SPENT
    assert statuses[1].until == datetime(2026, 11, 22, tzinfo=UTC)
    clock.set(datetime(2026, 11, 22, 0, 0, 1, tzinfo=UTC))
    await restarted.run(scripted({}, calls), max_transient=3)
    assert calls[-1] == 1


async def test_busy_cools_down_and_misconfigured_leaves_rotation(
    db: SqliteDatabase, clock: ManualClock
) -> None:
    calls: list[int] = []
    pool = await make_pool(db, clock)
    await pool.run(scripted({1: [FailureKind.BUSY], 2: [FailureKind.MISCONFIGURED]}, calls), max_transient=3)
    assert calls == [1, 2, 3]
    await pool.run(scripted({}, calls), max_transient=3)
    assert calls[-1] == 3  # 1 cools down (Retry-After 5 s), 2 is out until restart
    clock.advance(6)
    await pool.run(scripted({}, calls), max_transient=3)
    assert calls[-1] == 1
    assert {s.index: s.health for s in await pool.statuses()}[2] is AccountHealth.MISCONFIGURED


async def test_no_failover_for_content_filter(db: SqliteDatabase, clock: ManualClock) -> None:
    calls: list[int] = []
    pool = await make_pool(db, clock)
    with pytest.raises(UpstreamFailure) as caught:
        await pool.run(scripted({1: [FailureKind.CONTENT_FILTER]}, calls), max_transient=3)
    assert caught.value.kind is FailureKind.CONTENT_FILTER
    assert calls == [1]


async def test_transient_failures_are_bounded(db: SqliteDatabase, clock: ManualClock) -> None:
    calls: list[int] = []
    pool = await make_pool(db, clock)
    failing = {i: [FailureKind.TRANSIENT] * 5 for i in (1, 2, 3)}
    with pytest.raises(UpstreamUnavailable):
        await pool.run(scripted(failing, calls), max_transient=2)
    assert calls == [1, 2]


async def test_all_spent_says_when_the_soonest_returns(db: SqliteDatabase, clock: ManualClock) -> None:
    calls: list[int] = []
    pool = await make_pool(db, clock)
    outcomes = {1: [FailureKind.SPENT], 2: [FailureKind.BUSY], 3: [FailureKind.SPENT]}
    with pytest.raises(AllAccountsUnavailable) as caught:
        await pool.run(scripted(outcomes, calls), max_transient=3)
    assert caught.value.retry_at == datetime(2026, 11, 21, 12, 0, 5, tzinfo=UTC)  # account 2's Retry-After
    calls.clear()
    with pytest.raises(AllAccountsUnavailable):
        await pool.run(scripted({}, calls), max_transient=3)
    assert calls == []  # nothing known to be unavailable is called


async def test_round_robin_spreads_requests(db: SqliteDatabase, clock: ManualClock) -> None:
    calls: list[int] = []
    pool = await make_pool(db, clock, strategy="round-robin")
    for _ in range(6):
        await pool.run(scripted({}, calls), max_transient=3)
    assert calls == [1, 2, 3, 1, 2, 3]
