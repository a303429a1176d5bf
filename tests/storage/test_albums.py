"""Album items in the shared database, on both backends: gathered from any process, claimed by exactly one."""

from __future__ import annotations

import asyncio

from bot.core.persistence import AlbumClaim, AlbumItem, Storage
from tests.conftest import OpenStorage

CHAT, ALBUM = "-100", "13900000000000001"


def item(item_id: int, received_at: float, album: str = ALBUM) -> AlbumItem:
    return AlbumItem(CHAT, album, item_id, received_at, f'{{"message_id": {item_id}}}')


async def test_an_album_is_claimed_once_quiet_with_its_items_in_order(storage: Storage) -> None:
    albums = storage.albums
    assert await albums.add(item(12, 100.0))
    assert await albums.add(item(10, 100.5))
    assert await albums.add(item(10, 100.5))  # Telegram delivered it again: kept once
    assert await albums.add(item(11, 101.0))
    # not quiet yet: the newest item came after the cut-off; the answer says when it came
    assert await albums.claim(CHAT, ALBUM, quiet_since=100.9, by="a", now=102.4) == AlbumClaim(
        last_arrival=101.0
    )
    won = await albums.claim(CHAT, ALBUM, quiet_since=101.0, by="a", now=102.5)
    assert [found.item_id for found in won.items] == [10, 11, 12]
    assert won.items[0].payload == '{"message_id": 10}'
    # claimed: a second claim gets nothing, a late item is refused
    assert await albums.claim(CHAT, ALBUM, quiet_since=200.0, by="b", now=202.0) == AlbumClaim()
    assert not await albums.add(item(13, 103.0))
    # an album nobody stored anything for has nothing to claim
    assert await albums.claim(CHAT, "other", quiet_since=200.0, by="a", now=202.0) == AlbumClaim()


async def test_replicas_claiming_at_once_get_the_album_exactly_once(storage_factory: OpenStorage) -> None:
    async with storage_factory() as one, storage_factory() as two:
        for n, store in enumerate((one, two, one)):
            assert await store.albums.add(item(n + 1, 100.0 + n))
        claims = await asyncio.gather(
            *(
                store.albums.claim(CHAT, ALBUM, quiet_since=150.0, by=f"r{n}", now=151.0)
                for n, store in enumerate([one, two] * 5)
            )
        )
    winners = [claim for claim in claims if claim.items]
    assert len(winners) == 1
    assert [found.item_id for found in winners[0].items] == [1, 2, 3]
    assert all(claim == AlbumClaim() for claim in claims if not claim.items)


async def test_old_items_and_claims_are_pruned(storage: Storage) -> None:
    albums = storage.albums
    await albums.add(item(1, 100.0, album="old"))
    assert await albums.claim(CHAT, "old", quiet_since=110.0, by="a", now=110.0) != AlbumClaim()
    await albums.add(item(2, 500.0, album="new"))
    assert await albums.prune(older_than=400.0) == 1
    # the claim went with it (a late item of a pruned album starts afresh); the recent album is intact
    assert await albums.add(item(3, 600.0, album="old"))
    claimed = await albums.claim(CHAT, "new", quiet_since=600.0, by="a", now=600.0)
    assert [found.item_id for found in claimed.items] == [2]


async def test_unclaimed_albums_quiet_since_the_cut_off_are_listed_oldest_first(
    storage_factory: OpenStorage,
) -> None:
    async with storage_factory() as dead, storage_factory() as alive:
        # a replica that died left two albums; one more is still gathering, one was claimed
        await dead.albums.add(item(1, 100.0, album="orphan-late"))
        await dead.albums.add(item(2, 130.0, album="orphan-late"))
        await dead.albums.add(item(3, 110.0, album="orphan-early"))
        await dead.albums.add(item(4, 150.0, album="gathering"))
        await dead.albums.add(item(5, 120.0, album="gathering"))  # its newest item (150) counts, not this one
        await dead.albums.add(item(6, 100.0, album="claimed"))
        assert (await dead.albums.claim(CHAT, "claimed", quiet_since=140.0, by="dead", now=140.0)).items
        orphans = await alive.albums.unclaimed(quiet_since=140.0, limit=10)
        assert orphans == [(CHAT, "orphan-early"), (CHAT, "orphan-late")]
        assert await alive.albums.unclaimed(quiet_since=140.0, limit=1) == [(CHAT, "orphan-early")]
        assert await alive.albums.unclaimed(quiet_since=99.0, limit=10) == []
        # once claimed (by the same atomic claim a timer uses), an album is no orphan any more
        rescued = await alive.albums.claim(CHAT, "orphan-early", quiet_since=140.0, by="alive", now=141.0)
        assert [found.item_id for found in rescued.items] == [3]
        assert await alive.albums.unclaimed(quiet_since=200.0, limit=10) == [
            (CHAT, "orphan-late"),
            (CHAT, "gathering"),
        ]
