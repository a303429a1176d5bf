"""Accepted requests: recorded before the user sees them acknowledged, ended once answered, and taken over by
another replica (here: the same app, sweeping) when their lease lapses. Real SQLite, the fake Workers AI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import App, open_app
from bot.core.clock import ManualClock, utc_day
from bot.core.models import GenerationRequest, Progress, UserRef
from bot.core.persistence import AcceptedRequest, RequestState
from bot.core.requests import GAVE_UP, MAYBE_DELIVERED, Redo
from bot.errors import ContentFiltered, TakenOver
from bot.settings import load_settings
from tests.fakes.workers_ai import CONTENT_FILTER, FakeWorkersAI

ALICE = UserRef("telegram", "1", chat_id="1", locale="de")
API_USER = UserRef("api", "client")
REPLY = {"chat_id": 1, "reply_to": 42}
LEASE = 30.0


class RecordingResumer:
    """A platform's resumer that remembers what it was asked to do."""

    def __init__(self) -> None:
        self.resumed: list[AcceptedRequest] = []
        self.told: list[tuple[str, str]] = []

    async def resume(self, request: AcceptedRequest) -> None:
        self.resumed.append(request)

    async def tell(self, request: AcceptedRequest, key: str) -> None:
        self.told.append((request.id, key))

    def answerable(self, request: AcceptedRequest) -> bool:
        return True


@pytest.fixture
async def app(tmp_path: Path, clock: ManualClock) -> AsyncIterator[App]:
    async with FakeWorkersAI() as fake:
        environ = {
            "CF_API_BASE_URL": fake.base_url,
            "DATABASE_PATH": str(tmp_path / "bot.sqlite3"),
            "CF_API_TOKEN_1": "cf-token-1-SECRETVALUE",
            "ACCOUNT_1": "acc1",
            "RATE_LIMIT_PER_MINUTE": "0",
            "RATE_LIMIT_PER_DAY": "10",
            "REQUEST_LEASE_SECONDS": str(LEASE),
            "REQUEST_MAX_TAKEOVERS": "2",
            "REPLICA_ID": "this",
        }
        async with open_app(load_settings(None, environ), clock=clock) as opened:
            opened.fake = fake  # type: ignore[attr-defined]
            yield opened


async def row(app: App, request_id: str) -> AcceptedRequest:
    await app.pool.drain()  # the ends are written behind: wait for them
    found = await app.storage.requests.get(request_id)
    assert found is not None
    return found


async def used_today(app: App, user: UserRef) -> int:
    now = app.clock.time()
    return (await app.storage.ledger.counts(user.key, now=now, day=utc_day(now))).today


async def test_a_chat_request_is_recorded_before_its_first_sign_of_life_and_ends_once_answered(
    app: App,
) -> None:
    seen: list[AcceptedRequest | None] = []

    async def progress(event: Progress) -> None:
        if not seen:
            seen.append(await app.storage.requests.get("req-1"))

    request = GenerationRequest(ALICE, "a lighthouse --n 2", request_id="req-1", reply=REPLY)
    results = await app.service.generate_all(request, progress)
    (first,) = seen
    assert first is not None and first.state is RequestState.RUNNING and first.platform == "telegram"
    assert sorted(first.usage_ids) == sorted(event for r in results for event in r.usage_ids)
    assert first.lease_until == app.clock.time() + LEASE and first.replica.startswith("this.")
    assert Redo.from_payload(first.payload) == Redo("imagine", ALICE, "a lighthouse --n 2", reply=REPLY)
    assert (await row(app, "req-1")).state is RequestState.DELIVERING  # made: the adapter sends it now
    await app.service.finish_request("req-1", delivered=True)
    assert (await row(app, "req-1")).state is RequestState.DONE


async def test_an_api_request_ends_by_itself_done_or_failed(app: App) -> None:
    await app.service.generate(GenerationRequest(API_USER, "a lighthouse", request_id="ok-1"))
    assert (await row(app, "ok-1")).state is RequestState.DONE
    app.fake.script("acc1", CONTENT_FILTER)  # type: ignore[attr-defined]
    with pytest.raises(ContentFiltered):
        await app.service.generate(GenerationRequest(API_USER, "a lighthouse", request_id="bad-1"))
    assert (await row(app, "bad-1")).state is RequestState.FAILED
    assert await used_today(app, API_USER) == 1


async def lapsed(app: App, request_id: str, user: UserRef, **fields: object) -> AcceptedRequest:
    """An open request of a replica that died: its lease ran out a second ago; one usage event charged."""
    now = app.clock.time()
    charged = await app.storage.ledger.try_consume(user.key, now=now, day=utc_day(now), per_minute=None,
                                                   per_day=None)  # fmt: skip
    assert charged is not None
    redo = Redo("imagine", user, "a lighthouse", reply=REPLY if user.platform == "telegram" else None)
    values: dict[str, object] = {
        "id": request_id, "user_key": user.key, "platform": user.platform, "replica": "dead",
        "state": RequestState.RUNNING, "accepted_at": now - 60, "lease_until": now - 1,
        "usage_ids": charged, "payload": redo.to_payload(),
    } | fields  # fmt: skip
    request = AcceptedRequest(**values)  # type: ignore[arg-type]
    await app.storage.requests.insert(request)
    return request


async def test_lapsed_requests_are_resumed_told_or_refunded_each_by_its_state(app: App) -> None:
    telegram = RecordingResumer()
    app.requests.register("telegram", telegram)
    app.requests.register("api", None)
    running = await lapsed(app, "running", ALICE)
    await lapsed(app, "delivering", ALICE, state=RequestState.DELIVERING)
    await lapsed(app, "poison", ALICE, attempts=3)  # taken over twice already
    await lapsed(app, "api", API_USER)
    await lapsed(app, "alive", ALICE, replica=app.requests.replica, lease_until=app.clock.time() + 5)
    await lapsed(app, "discord", UserRef("discord", "9"), payload={"kind": "imagine"})
    assert await used_today(app, ALICE) == 4

    assert await app.requests.sweep() == 4  # not its own live one, nor a platform nobody here runs
    assert [r.id for r in telegram.resumed] == ["running"]
    assert telegram.resumed[0].attempts == 2 and telegram.resumed[0].usage_ids == running.usage_ids
    assert sorted(telegram.told) == [("delivering", MAYBE_DELIVERED), ("poison", GAVE_UP)]
    states = {rid: (await row(app, rid)).state for rid in ("delivering", "poison", "api", "alive", "discord")}
    assert states == {
        "delivering": RequestState.DONE,  # never made twice: it may have arrived
        "poison": RequestState.FAILED,
        "api": RequestState.FAILED,
        "alive": RequestState.RUNNING,
        "discord": RequestState.RUNNING,
    }
    # refunded: the poison request and the API one; kept: the one resumed and the one maybe delivered
    assert await used_today(app, ALICE) == 3 and await used_today(app, API_USER) == 0

    # the resumer runs it again here on the stored charge: one image, the quota still counted once
    results = await app.service.resume(telegram.resumed[0])
    assert [r.usage_ids for r in results] == [running.usage_ids]
    assert await used_today(app, ALICE) == 3
    assert (await row(app, "running")).state is RequestState.DELIVERING
    await app.service.finish_request("running", delivered=True)
    assert (await row(app, "running")).state is RequestState.DONE
    assert await app.requests.sweep() == 0


async def test_a_request_taken_over_elsewhere_is_not_sent_here(app: App) -> None:
    telegram = RecordingResumer()
    app.requests.register("telegram", telegram)

    async def lose_the_lease(event: Progress) -> None:
        # this replica stalls past its lease; another one (the same store, another replica id) takes over
        app.clock.advance(LEASE + 1)
        taken = await app.storage.requests.claim_expired(
            "other",
            now=app.clock.time(),
            lease_until=app.clock.time() + LEASE,
            platforms=["telegram"],
            limit=9,
        )
        assert [r.id for r in taken] == ["lost"]

    with pytest.raises(TakenOver):
        await app.service.generate(
            GenerationRequest(ALICE, "a cat", request_id="lost", reply=REPLY), lose_the_lease
        )
    found = await row(app, "lost")
    assert found.replica == "other" and found.open  # the other replica's to finish


async def test_a_lapsed_re_roll_is_made_again_from_its_stored_job_on_the_same_charge(app: App) -> None:
    [made] = await app.service.generate_all(GenerationRequest(API_USER, "a fox --seed 5", request_id="orig"))
    await app.pool.drain()
    now = app.clock.time()
    charged = await app.storage.ledger.try_consume(API_USER.key, now=now, day=utc_day(now), per_minute=None,
                                                   per_day=None)  # fmt: skip
    assert charged is not None
    redo = Redo("reroll", API_USER, job_id=made.job_id, reply=REPLY)
    await app.storage.requests.insert(
        AcceptedRequest(
            "again",
            API_USER.key,
            "api",
            "dead",
            RequestState.RUNNING,
            now,
            now - 1,
            usage_ids=charged,
            payload=redo.to_payload(),
        )
    )
    telegram_like = RecordingResumer()
    app.requests.register("api", telegram_like)
    assert await app.requests.sweep() == 1
    [result] = await app.service.resume(telegram_like.resumed[0])
    assert (
        result.usage_ids == charged and result.final_prompt == made.final_prompt and result.seed != made.seed
    )
    assert await used_today(app, API_USER) == 2  # the original and the re-roll, each once


async def test_a_clean_stop_releases_what_is_still_open_for_another_replica(app: App) -> None:
    async with app.requests:
        await app.requests.accept("open-1", Redo("imagine", ALICE, "a cat", reply=REPLY), (1,))
        assert (await row(app, "open-1")).lease_until == app.clock.time() + LEASE
    released = await row(app, "open-1")
    assert released.lease_until == app.clock.time() and released.state is RequestState.RUNNING
    assert app.requests.held == 0
