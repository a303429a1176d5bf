"""A clock stepped back (NTP, a VM restored, a replica's clock behind another's) must not lock users out."""

from __future__ import annotations

import pytest

from bot.core.clock import ManualClock
from bot.core.limits import RateLimiter
from bot.core.persistence import Storage
from bot.errors import LimitReached


async def test_usage_stamped_in_the_future_does_not_lock_the_user_out(
    storage: Storage, clock: ManualClock
) -> None:
    limiter = RateLimiter(storage.ledger, clock, per_minute=1, per_day=20)
    await limiter.acquire("telegram:1")
    clock.advance(-3600)  # the clock is stepped back an hour: that event now lies an hour in the future
    await limiter.acquire("telegram:1")  # admitted: the future event is not "in the last minute"
    quota = await limiter.quota("telegram:1")
    assert (quota.used_this_minute, quota.used_today) == (1, 2)
    # the minute limit binds again, with a wait of at most a minute
    with pytest.raises(LimitReached) as refused:
        await limiter.acquire("telegram:1")
    assert refused.value.retry_after <= 60
