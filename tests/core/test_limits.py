from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from bot.core.clock import ManualClock
from bot.core.limits import AccessPolicy, RateLimiter
from bot.core.models import UserRef
from bot.errors import AccessDenied, LimitReached
from bot.storage import SqliteDatabase, SqliteUsageLedger


def limiter(db: SqliteDatabase, clock: ManualClock, per_minute: int = 0, per_day: int = 0) -> RateLimiter:
    return RateLimiter(SqliteUsageLedger(db), clock, per_minute=per_minute, per_day=per_day)


async def test_concurrent_requests_from_one_user_admit_exactly_the_limit(
    db: SqliteDatabase, clock: ManualClock
) -> None:
    limits = limiter(db, clock, per_minute=5)

    async def attempt() -> bool:
        try:
            await limits.acquire("telegram:1")
        except LimitReached:
            return False
        return True

    outcomes = await asyncio.gather(*(attempt() for _ in range(100)))
    assert outcomes.count(True) == 5


async def test_minute_limit_says_when_to_retry_and_frees_after_a_minute(
    db: SqliteDatabase, clock: ManualClock
) -> None:
    limits = limiter(db, clock, per_minute=2)
    await limits.acquire("u")
    clock.advance(20)
    await limits.acquire("u")
    with pytest.raises(LimitReached) as caught:
        await limits.acquire("u")
    assert caught.value.scope == "minute"
    assert caught.value.retry_after == pytest.approx(40.0)
    clock.advance(41)
    await limits.acquire("u")  # the first event left the window


async def test_daily_limit_resets_at_utc_midnight_and_refunds_give_back(
    db: SqliteDatabase, clock: ManualClock
) -> None:
    limits = limiter(db, clock, per_day=2)
    first = await limits.acquire("u")
    await limits.acquire("u")
    with pytest.raises(LimitReached) as caught:
        await limits.acquire("u")
    assert caught.value.scope == "day"
    assert caught.value.resets_at == datetime(2026, 11, 22, tzinfo=UTC)
    assert caught.value.retry_after == pytest.approx(12 * 3600)
    await limits.refund(first)  # a failed generation is given back
    await limits.acquire("u")
    clock.set(datetime(2026, 11, 22, 0, 0, 1, tzinfo=UTC))
    await limits.acquire("u")
    quota = await limits.quota("u")
    assert (quota.used_today, quota.daily_limit, quota.remaining_today) == (1, 2, 1)


async def test_a_count_is_admitted_all_or_none_and_concurrent_counts_never_overshoot(
    db: SqliteDatabase, clock: ManualClock
) -> None:
    limits = limiter(db, clock, per_day=10)

    async def attempt() -> int:
        try:
            return len((await limits.acquire("u", count=4)).event_ids)
        except LimitReached:
            return 0

    granted = await asyncio.gather(*(attempt() for _ in range(20)))
    assert sorted(granted, reverse=True)[:3] == [4, 4, 0] and sum(granted) == 8
    with pytest.raises(LimitReached) as caught:
        await limits.acquire("u", count=3)  # 8 used: 3 more would be 11
    # not "all used": two are left, fewer than asked for
    assert (caught.value.scope, caught.value.left, caught.value.requested) == ("day_short", 2, 3)
    two = await limits.acquire("u", count=2)
    assert len(two.split()) == 2
    await limits.refund(two.split()[0])
    assert (await limits.quota("u")).used_today == 9


async def test_limits_are_per_user(db: SqliteDatabase, clock: ManualClock) -> None:
    limits = limiter(db, clock, per_day=1)
    await limits.acquire("telegram:1")
    await limits.acquire("discord:1")
    with pytest.raises(LimitReached):
        await limits.acquire("telegram:1")


def test_access_policy_matches_prefixed_bare_and_chat_ids() -> None:
    policy = AccessPolicy.from_lists(admins=["telegram:1"], allowed=["discord:7", "42", "telegram:-100"])
    alice = UserRef("telegram", "1")
    assert policy.is_admin(alice) and policy.is_allowed(alice)
    assert not policy.is_admin(UserRef("discord", "1"))  # the prefix pins the platform
    assert policy.is_allowed(UserRef("discord", "7"))
    assert policy.is_allowed(UserRef("telegram", "42")) and policy.is_allowed(UserRef("discord", "42"))
    assert policy.is_allowed(UserRef("telegram", "5", chat_id="-100"))  # a whole allowed group
    assert not policy.is_admin(UserRef("telegram", "5", chat_id="1"))  # admin rights never come from a chat
    with pytest.raises(AccessDenied):
        policy.check(UserRef("telegram", "5"))
    assert AccessPolicy().is_allowed(UserRef("telegram", "5"))  # empty allow-list: everyone


def test_allow_list_may_name_a_whole_discord_server() -> None:
    policy = AccessPolicy.from_lists(admins=[], allowed=["discord:900"])
    assert policy.is_allowed(UserRef("discord", "5", chat_id="77", group_id="900"))
    assert not policy.is_allowed(UserRef("discord", "5", chat_id="77", group_id="901"))
