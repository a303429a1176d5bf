"""The shared account state on PostgreSQL: what one replica publishes, the others hear and can read."""

from __future__ import annotations

import asyncio

from bot.core.persistence import AccountChange, AccountEvent
from bot.storage.postgres import PostgresStorage


async def test_a_change_published_by_one_replica_reaches_the_other_and_is_readable(pg_url: str) -> None:
    async with PostgresStorage(pg_url, pool_size=2) as one, PostgresStorage(pg_url, pool_size=2) as two:
        heard: asyncio.Queue[AccountChange] = asyncio.Queue()
        mine: list[AccountChange] = []

        async def nothing() -> None:
            return None

        async with two.feed.listen(heard.put_nowait, nothing), one.feed.listen(mine.append, nothing):
            await one.feed.publish(AccountChange("acc-1", AccountEvent.SPENT, until=5000.0))
            await one.feed.publish(
                AccountChange("acc-2", AccountEvent.MISCONFIGURED, until=4000.0, reason="bad")
            )
            await one.feed.publish(AccountChange("acc-3", AccountEvent.COOLING, until=1030.0))
            got = [await asyncio.wait_for(heard.get(), timeout=30) for _ in range(3)]
        assert [(c.account_key, c.event, c.until) for c in got] == [
            ("acc-1", AccountEvent.SPENT, 5000.0),
            ("acc-2", AccountEvent.MISCONFIGURED, 4000.0),
            ("acc-3", AccountEvent.COOLING, 1030.0),
        ]
        assert {c.origin for c in got} == {one.feed.origin} and not mine  # a replica skips its own changes
        state = {(c.account_key, c.event): c for c in await two.feed.current(now=1000.0)}
        assert set(state) == {
            ("acc-1", AccountEvent.SPENT),
            ("acc-2", AccountEvent.MISCONFIGURED),
            ("acc-3", AccountEvent.COOLING),
        }
        assert state["acc-2", AccountEvent.MISCONFIGURED].reason == "bad"
        assert await two.accounts.spent_accounts(now=1000.0) == {"acc-1": 5000.0}
        # the cooldown is over by 1031; "serving" clears the misconfiguration and keeps the spent mark
        await two.feed.publish(AccountChange("acc-2", AccountEvent.SERVING))
        assert {(c.account_key, c.event) for c in await one.feed.current(now=1031.0)} == {
            ("acc-1", AccountEvent.SPENT)
        }


async def test_one_replica_at_a_time_claims_a_probe_until_it_publishes_or_the_lease_ends(pg_url: str) -> None:
    async with PostgresStorage(pg_url, pool_size=2) as one, PostgresStorage(pg_url, pool_size=2) as two:
        claims = await asyncio.gather(
            *(store.feed.claim_probe("acc-1", now=1000.0, lease=60.0) for store in (one, two, one, two))
        )
        assert sorted(claims) == [False, False, False, True]
        assert not await two.feed.claim_probe("acc-1", now=1059.0, lease=60.0)
        assert await two.feed.claim_probe("acc-1", now=1060.0, lease=60.0)  # the holder died: lease over
        await two.feed.publish(AccountChange("acc-1", AccountEvent.SERVING))  # an outcome ends the claim
        assert await one.feed.claim_probe("acc-1", now=1061.0, lease=60.0)


async def test_an_account_just_found_spent_cannot_be_claimed_even_before_the_news_arrives(
    pg_url: str,
) -> None:
    async with PostgresStorage(pg_url, pool_size=2) as one, PostgresStorage(pg_url, pool_size=2) as two:
        assert await one.feed.claim_probe("acc-1", now=1000.0, lease=60.0)
        await one.feed.publish(AccountChange("acc-1", AccountEvent.SPENT, until=5000.0))
        assert not await two.feed.claim_probe("acc-1", now=1001.0, lease=60.0)
        await one.feed.publish(AccountChange("acc-2", AccountEvent.MISCONFIGURED, until=2000.0, reason="401"))
        assert not await two.feed.claim_probe("acc-2", now=1001.0, lease=60.0)
        assert await two.feed.claim_probe("acc-2", now=2000.0, lease=60.0)  # its trial call is due
