"""The accepted-requests table on both backends: insert, lease renewal, state moves, takeover, release, prune."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from bot.core.persistence import AcceptedRequest, RequestState, Storage
from tests.conftest import OpenStorage


def accepted(
    request_id: str, *, replica: str = "r1", lease_until: float = 1030.0, **fields: object
) -> AcceptedRequest:
    base = AcceptedRequest(
        id=request_id,
        user_key="telegram:1",
        platform="telegram",
        replica=replica,
        state=RequestState.RUNNING,
        accepted_at=1000.0,
        lease_until=lease_until,
        usage_ids=(7, 8),
        payload={"text": "a cat ✨", "reply": {"chat_id": -100123, "reply_to": 5}},
    )
    return replace(base, **fields)  # type: ignore[arg-type]


async def test_a_request_comes_back_as_inserted(storage: Storage) -> None:
    request = accepted("a")
    await storage.requests.insert(request)
    assert await storage.requests.get("a") == request
    assert await storage.requests.get("missing") is None


async def test_renewal_extends_only_the_open_requests_of_that_replica(storage: Storage) -> None:
    await storage.requests.insert(accepted("mine"))
    await storage.requests.insert(accepted("mine-ended", state=RequestState.DONE))
    await storage.requests.insert(accepted("theirs", replica="r2"))
    assert await storage.requests.renew("r1", lease_until=2000.0) == 1
    leases = {rid: (await storage.requests.get(rid)) for rid in ("mine", "mine-ended", "theirs")}
    assert {rid: r.lease_until for rid, r in leases.items() if r is not None} == {
        "mine": 2000.0,
        "mine-ended": 1030.0,
        "theirs": 1030.0,
    }


async def test_only_the_holder_moves_an_open_request_and_an_ended_one_stays_ended(storage: Storage) -> None:
    await storage.requests.insert(accepted("a"))
    assert not await storage.requests.set_state("a", RequestState.DELIVERING, replica="r2")
    assert await storage.requests.set_state("a", RequestState.DELIVERING, replica="r1")
    assert await storage.requests.set_state("a", RequestState.DONE, replica="r1")
    assert not await storage.requests.set_state("a", RequestState.FAILED, replica="r1")
    found = await storage.requests.get("a")
    assert found is not None and found.state is RequestState.DONE and not found.open


async def test_a_lapsed_lease_is_taken_over_once_with_its_charge_and_attempts_counted(
    storage: Storage,
) -> None:
    await storage.requests.insert(accepted("lapsed", lease_until=1010.0))
    await storage.requests.insert(accepted("alive", lease_until=1100.0))
    await storage.requests.insert(accepted("other-platform", lease_until=1010.0, platform="discord"))
    await storage.requests.insert(accepted("ended", lease_until=1010.0, state=RequestState.FAILED))
    claims = await asyncio.gather(
        *(
            storage.requests.claim_expired(
                f"sweeper{n}", now=1020.0, lease_until=1050.0, platforms=["telegram"], limit=10
            )
            for n in range(4)
        )
    )
    taken = [request for claim in claims for request in claim]
    assert [request.id for request in taken] == ["lapsed"]
    (request,) = taken
    assert request.replica.startswith("sweeper") and request.lease_until == 1050.0
    assert (request.attempts, request.usage_ids, request.state) == (2, (7, 8), RequestState.RUNNING)
    assert request.payload == accepted("x").payload
    # taken over: the old holder can neither renew nor end it any more
    assert await storage.requests.renew("r1", lease_until=5000.0) == 2  # "alive" and "other-platform"
    assert not await storage.requests.set_state("lapsed", RequestState.DONE, replica="r1")
    assert await storage.requests.set_state("lapsed", RequestState.DONE, replica=request.replica)


async def test_a_restarting_single_process_takes_over_every_request_of_its_previous_run(
    storage: Storage,
) -> None:
    await storage.requests.insert(accepted("previous-run", lease_until=9999.0))
    await storage.requests.insert(accepted("own", replica="now", lease_until=9999.0))
    assert (
        await storage.requests.claim_expired(
            "now", now=1000.0, lease_until=1030.0, platforms=["telegram"], limit=10
        )
        == []
    )
    taken = await storage.requests.claim_expired(
        "now", now=1000.0, lease_until=1030.0, platforms=["telegram"], limit=10, foreign_too=True
    )
    assert [request.id for request in taken] == ["previous-run"]


async def test_released_requests_can_be_taken_over_at_once_and_ended_ones_are_pruned(
    storage_factory: OpenStorage,
) -> None:
    async with storage_factory() as storage:
        await storage.requests.insert(accepted("a", lease_until=5000.0))
        await storage.requests.insert(accepted("b", lease_until=5000.0, accepted_at=1500.0))
        await storage.requests.insert(accepted("old-done", state=RequestState.DONE, accepted_at=10.0))
        assert await storage.requests.release("r1", now=1001.0) == 2
    async with storage_factory() as again:  # the state survives a restart
        taken = await again.requests.claim_expired(
            "r2", now=1001.0, lease_until=1031.0, platforms=["telegram"], limit=1
        )
        assert [request.id for request in taken] == ["a"]  # the longest lapsed first, up to the limit
        assert await again.requests.prune(accepted_before=2000.0) == 1  # open ones are kept
        assert await again.requests.get("old-done") is None and await again.requests.get("b") is not None


async def test_a_note_joins_the_reply_address_of_the_holders_open_request_only(storage: Storage) -> None:
    await storage.requests.insert(accepted("a"))
    await storage.requests.insert(accepted("no-reply", payload={"kind": "imagine", "reply": None}))
    await storage.requests.note_reply("a", "status_message_id", 77, replica="r1")
    await storage.requests.note_reply("a", "status_message_id", 99, replica="r2")  # not its request
    await storage.requests.note_reply("no-reply", "status_message_id", 5, replica="r1")
    found = await storage.requests.get("a")
    assert found is not None
    assert found.payload == {
        "text": "a cat ✨",
        "reply": {"chat_id": -100123, "reply_to": 5, "status_message_id": 77},
    }
    unchanged = await storage.requests.get("no-reply")
    assert unchanged is not None and unchanged.payload == {"kind": "imagine", "reply": None}
