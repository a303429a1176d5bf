"""The pool at its edges (issue 10, findings 3-6): midnight, misconfiguration, slow answers, slow storage."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.accounts import AccountPool
from bot.core.clock import ManualClock
from bot.core.models import AccountHealth, AccountStatus
from bot.errors import AllAccountsUnavailable, UpstreamUnavailable
from bot.providers.base import FailureKind, UpstreamFailure
from bot.settings import AccountConfig
from bot.storage import SqliteAccountStateStore, SqliteDatabase

ACCOUNTS = [AccountConfig(index=i, account_id=f"account-{i}", token=f"token-{i}") for i in (1, 2)]
MIDNIGHT = datetime(2026, 11, 22, tzinfo=UTC)


def make_pool(
    db: SqliteDatabase, clock: ManualClock, accounts: list[AccountConfig] = ACCOUNTS, **options: float
) -> AccountPool:
    return AccountPool(accounts, SqliteAccountStateStore(db), clock, capacity_cooldown=30, **options)


def failing(kinds: dict[int, FailureKind], calls: list[int]) -> Callable[[AccountConfig], Awaitable[str]]:
    """Accounts in ``kinds`` fail that way on every call; the others answer."""

    async def call(account: AccountConfig) -> str:
        calls.append(account.index)
        if account.index in kinds:
            raise UpstreamFailure(kinds[account.index], f"scripted {kinds[account.index].value}")
        return f"image from {account.index}"

    return call


def health(statuses: list[AccountStatus], index: int) -> AccountHealth:
    return {s.index: s.health for s in statuses}[index]


async def test_spent_just_after_midnight_is_rechecked_at_growing_intervals_not_tomorrow(
    db: SqliteDatabase, clock: ManualClock
) -> None:
    """Cloudflare's day flips 10 minutes after ours: account 1 must be back soon after, not at the next midnight."""
    pool = make_pool(db, clock)
    reset = MIDNIGHT + timedelta(minutes=10)  # Cloudflare's real reset
    clock.set(MIDNIGHT + timedelta(seconds=5))
    calls: list[int] = []
    recheck_times: list[datetime] = []
    while clock.time() < (reset + timedelta(minutes=30)).timestamp():
        now = datetime.fromtimestamp(clock.time(), UTC)
        kinds = {1: FailureKind.SPENT, 2: FailureKind.SPENT} if now < reset else {}
        before = len(calls)
        try:
            served = await pool.run(failing(kinds, calls), max_transient=3)
        except AllAccountsUnavailable as error:
            assert error.retry_at is not None and error.retry_at < reset + timedelta(minutes=15)
        else:
            back = now
            break
        if len(calls) > before:
            recheck_times.append(now)
        clock.advance(10)  # a user retrying every 10 seconds
    else:
        pytest.fail("no account came back within 30 minutes of the real reset")
    assert served.account.index == 1
    assert back - reset <= timedelta(minutes=15)
    # growing intervals: a handful of re-checks, not one every 10 s
    assert 3 <= len(recheck_times) <= 8, recheck_times
    gaps = [b - a for a, b in itertools.pairwise(recheck_times)]
    assert gaps == sorted(gaps)


async def test_spent_well_after_midnight_still_means_until_the_next_one(
    db: SqliteDatabase, clock: ManualClock
) -> None:
    pool = make_pool(db, clock)
    clock.set(MIDNIGHT + timedelta(minutes=16))
    await pool.run(failing({1: FailureKind.SPENT}, []), max_transient=3)
    statuses = {s.index: s for s in await pool.statuses()}
    assert statuses[1].health is AccountHealth.SPENT
    assert statuses[1].until == MIDNIGHT + timedelta(days=1)


async def test_misconfigured_account_gets_one_trial_call_per_interval_and_comes_back(
    db: SqliteDatabase, clock: ManualClock
) -> None:
    pool = make_pool(db, clock, misconfigured_recheck=600)
    calls: list[int] = []
    broken = {1: FailureKind.MISCONFIGURED}
    await pool.run(failing(broken, calls), max_transient=3)
    for _ in range(5):  # within the interval: never called
        clock.advance(60)
        await pool.run(failing(broken, calls), max_transient=3)
    assert calls == [1, 2, 2, 2, 2, 2, 2]
    clock.advance(300)  # 600 s after: one trial call, still broken, then skipped again
    await pool.run(failing(broken, calls), max_transient=3)
    await pool.run(failing(broken, calls), max_transient=3)
    assert calls[7:] == [1, 2, 2]
    assert health(await pool.statuses(), 1) is AccountHealth.MISCONFIGURED
    clock.advance(601)  # the token was fixed meanwhile: the trial call serves, and it stays in rotation
    served = await pool.run(failing({}, calls), max_transient=3)
    assert served.account.index == 1
    assert health(await pool.statuses(), 1) is AccountHealth.HEALTHY


async def test_a_hanging_attempt_is_cut_off_and_the_request_fails_over(
    db: SqliteDatabase, clock: ManualClock
) -> None:
    pool = make_pool(db, clock, attempt_deadline=0.2)
    never = asyncio.Event()
    calls: list[int] = []

    async def call(account: AccountConfig) -> str:
        calls.append(account.index)
        if account.index == 1:
            await never.wait()  # an answer trickling forever: every read in time, never complete
        return f"image from {account.index}"

    # the outer bound only turns a hang (today's behaviour) into a failure instead of a stuck test run
    served = await asyncio.wait_for(pool.run(call, max_transient=3), timeout=30)
    assert (served.account.index, calls) == (2, [1, 2])
    statuses = {s.index: s for s in await pool.statuses()}
    assert statuses[1].health is AccountHealth.COOLING
    await pool.run(call, max_transient=3)
    assert calls[-1] == 2  # the slow account rests instead of holding up the next request


async def test_unreachable_rest_doubles_while_it_lasts_and_resets_on_success(
    db: SqliteDatabase, clock: ManualClock
) -> None:
    pool = make_pool(db, clock, accounts=ACCOUNTS[:1])
    rests = []
    for _ in range(4):
        with pytest.raises(UpstreamUnavailable):
            await pool.run(failing({1: FailureKind.UNREACHABLE}, []), max_transient=5)
        until = {s.index: s.until for s in await pool.statuses()}[1]
        assert until is not None
        rests.append(until.timestamp() - clock.time())
        clock.set(until)
    assert rests == [30, 60, 120, 240]
    await pool.run(failing({}, []), max_transient=3)
    with pytest.raises(UpstreamUnavailable):
        await pool.run(failing({1: FailureKind.UNREACHABLE}, []), max_transient=3)
    until = {s.index: s.until for s in await pool.statuses()}[1]
    assert until is not None and until.timestamp() - clock.time() == 30


class _StalledStore(SqliteAccountStateStore):
    """Writes wait until released: a database held by another process's write lock."""

    def __init__(self, db: SqliteDatabase) -> None:
        super().__init__(db)
        self.released = asyncio.Event()

    async def mark_spent(self, account_key: str, *, until: float, now: float) -> None:
        await self.released.wait()
        await super().mark_spent(account_key, until=until, now=now)

    async def record_call(
        self, account_key: str, *, day: str, image: bool, neurons: float | None = None, failed: bool = False
    ) -> None:
        await self.released.wait()
        await super().record_call(account_key, day=day, image=image, neurons=neurons, failed=failed)


async def test_spent_is_known_in_memory_before_it_is_written(db: SqliteDatabase, clock: ManualClock) -> None:
    store = _StalledStore(db)
    pool = AccountPool(ACCOUNTS, store, clock)
    calls: list[int] = []

    async def call(account: AccountConfig) -> str:
        calls.append(account.index)
        if account.index == 1:
            raise UpstreamFailure(FailureKind.SPENT, "daily free allocation")
        return "image"

    # neither request may wait for the stalled database, and the second must not call the spent account
    first = await asyncio.wait_for(pool.run(call, max_transient=3), timeout=10)
    second = await asyncio.wait_for(pool.run(call, max_transient=3), timeout=10)
    assert (first.account.index, second.account.index, calls) == (2, 2, [1, 2, 2])
    store.released.set()
    await pool.drain()
    assert set(await SqliteAccountStateStore(db).spent_accounts(now=clock.time())) == {"account-1"}
    assert (await SqliteAccountStateStore(db).usage_on("2026-11-21"))["account-2"].images == 2
