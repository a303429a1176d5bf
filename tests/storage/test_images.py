"""The image store: ids, real content types, expiry, and the total-size cap (oldest evicted first)."""

from __future__ import annotations

from bot.core.clock import ManualClock
from bot.core.image_store import ImageArchive
from bot.core.persistence import Storage


def archive(
    storage: Storage, clock: ManualClock, *, expiration: float = 3600, cap: int = 1000
) -> ImageArchive:
    """Each test runs on both backends (the ``storage`` fixture: SQLite, then PostgreSQL)."""
    return ImageArchive(storage.images, clock, expiration=expiration, max_total_bytes=cap)


async def test_an_image_comes_back_with_its_bytes_and_type_under_an_unguessable_id(
    storage: Storage, clock: ManualClock
) -> None:
    store = archive(storage, clock)
    first = await store.keep(b"\xff\xd8\xff jpeg", "image/jpeg", job_id="job1")
    second = await store.keep(b"\xff\xd8\xff jpeg", "image/jpeg")
    assert first.id != second.id and len(first.id) >= 40
    fetched = await store.fetch(first.id)
    assert fetched is not None
    assert (fetched.data, fetched.mime, fetched.job_id) == (b"\xff\xd8\xff jpeg", "image/jpeg", "job1")
    assert await store.fetch("nope") is None


async def test_an_image_is_gone_once_it_expires(storage: Storage, clock: ManualClock) -> None:
    store = archive(storage, clock, expiration=60)
    kept = await store.keep(b"png", "image/png")
    clock.advance(59)
    assert await store.fetch(kept.id) is not None
    assert store.seconds_left(kept) == 1
    clock.advance(1)
    assert await store.fetch(kept.id) is None
    assert await store.prune() == 1


async def test_the_oldest_images_go_first_when_the_total_passes_the_cap(
    storage: Storage, clock: ManualClock
) -> None:
    store = archive(storage, clock, cap=250)
    ids = []
    for _ in range(3):
        ids.append((await store.keep(b"x" * 100, "image/png")).id)
        clock.advance(1)
    # 300 bytes over a 250-byte cap: the first (oldest) went, the two newest stay
    assert await store.fetch(ids[0]) is None
    assert await store.fetch(ids[1]) is not None and await store.fetch(ids[2]) is not None


async def test_an_image_larger_than_the_whole_cap_is_still_kept_alone(
    storage: Storage, clock: ManualClock
) -> None:
    store = archive(storage, clock, cap=50)
    old = await store.keep(b"y" * 10, "image/png")
    clock.advance(1)
    big = await store.keep(b"x" * 100, "image/png")
    assert await store.fetch(big.id) is not None
    assert await store.fetch(old.id) is None


async def test_the_history_finds_each_jobs_kept_image_until_it_expires(
    storage: Storage, clock: ManualClock
) -> None:
    store = archive(storage, clock, expiration=60)
    jpeg = await store.keep(b"\xff\xd8\xff a", "image/jpeg", job_id="job1")
    clock.advance(30)
    png = await store.keep(b"\x89PNG b", "image/png", job_id="job2")
    await store.keep(b"\x89PNG c", "image/png")  # made outside a job
    links = await store.links_for_jobs(["job1", "job2", "job3"])
    assert {job: (link.id, link.mime) for job, link in links.items()} == {
        "job1": (jpeg.id, "image/jpeg"),
        "job2": (png.id, "image/png"),
    }
    clock.advance(30)
    assert list(await store.links_for_jobs(["job1", "job2"])) == ["job2"]
    assert await store.links_for_jobs([]) == {}
