"""ProbeGate: one call at a time on an account whose state is unknown; waiters learn its outcome."""

from __future__ import annotations

import asyncio

from bot.core.clock import ManualClock
from bot.core.persistence import AccountChange, AccountEvent
from bot.core.probes import ProbeGate


async def test_one_probe_per_unproven_account_and_waiters_wake_on_its_outcome(clock: ManualClock) -> None:
    gate = ProbeGate(clock, patience=60.0)
    assert await gate.try_start("a")  # the probe
    assert not await gate.try_start("a")  # everyone else looks elsewhere meanwhile
    assert await gate.try_start("b")  # another unknown account has its own probe
    waiter = asyncio.create_task(gate.wait_any(["a"]))
    await asyncio.sleep(0)
    assert not waiter.done()
    gate.finish("a", ok=False)  # spent, say: the waiter wakes to pick again, "a" is still unproven
    await waiter
    assert not gate.is_proven("a")
    gate.finish("b", ok=True)
    assert gate.is_proven("b")
    assert all(await asyncio.gather(*(gate.try_start("b") for _ in range(5))))  # proven: no single-flight


async def test_a_probe_running_on_another_replica_is_waited_for_until_it_reports_or_its_lease_ends(
    clock: ManualClock,
) -> None:
    class Claims:
        """The feed's claim: another replica holds it."""

        async def claim_probe(self, account_key: str, *, now: float, lease: float) -> bool:
            return False

    gate = ProbeGate(clock, Claims(), lease=60.0, patience=60.0)  # type: ignore[arg-type]  # only claim_probe is used here
    assert not await gate.try_start("a")
    waiter = asyncio.create_task(gate.wait_any(["a"]))
    await asyncio.sleep(0)
    assert not waiter.done()
    gate.heard(AccountChange("a", AccountEvent.SERVING, origin="other"))
    await waiter
    assert gate.is_proven("a") and await gate.try_start("a")
    gate.heard(AccountChange("a", AccountEvent.SPENT, until=1.0, origin="other"))
    assert not gate.is_proven("a")
    assert not await gate.try_start("a")  # claimed elsewhere again
    clock.advance(61)  # that replica died mid-call: its lease is over, this one may probe (if it claims)
    assert not await gate.try_start("a")  # ... and here the claim is still refused, so it keeps looking


async def test_after_its_patience_a_long_probe_no_longer_holds_the_others_back(clock: ManualClock) -> None:
    """Refusals come back fast; a probe still running is most likely drawing, so the others may go ahead."""
    gate = ProbeGate(clock, patience=0.0)
    assert await gate.try_start("a")
    await gate.wait_any(["a"])  # returns at once: patience is over
    assert await gate.try_start("a")
    assert not gate.is_proven("a")
