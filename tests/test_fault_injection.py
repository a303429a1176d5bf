"""Fault injection: a seeded random mix of upstream failures across 5 accounts, 200 requests.

Every request must end in an image or a clear domain error, within its deadline; no account is called after it
answered "spent" that UTC day; and the per-account usage in SQLite matches what the fake server saw.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from pathlib import Path

import pytest

from bot.app import open_app
from bot.core.clock import ManualClock, utc_day
from bot.core.models import GenerationRequest, UserRef
from bot.errors import ImagineError
from bot.i18n import describe_error
from bot.settings import load_settings
from tests.fakes.workers_ai import (
    CAPACITY,
    HTML_500,
    MALFORMED_JSON,
    OK,
    SPENT,
    Behaviour,
    FakeWorkersAI,
    rate_limited,
    timeout,
)

ACCOUNTS = [f"acc{n}" for n in range(1, 6)]
REQUESTS = 200
DEADLINE = 4.0
# Weighted mix per call; "spent" is sticky, as on the real API.
MIX: list[tuple[Behaviour, int]] = [
    (OK, 55),
    (CAPACITY, 8),
    (rate_limited(3), 5),
    (HTML_500, 10),
    (timeout(2.0), 4),
    (MALFORMED_JSON, 10),
    (SPENT, 1),
]


def scripted_behaviours(rng: random.Random, calls: int) -> list[Behaviour]:
    behaviours, weights = zip(*MIX, strict=True)
    script = rng.choices(behaviours, weights=weights, k=calls)
    if SPENT in script:
        script = script[: script.index(SPENT) + 1]
    return script


@pytest.mark.parametrize("seed", [7, 2026])
async def test_random_faults_end_in_an_image_or_a_clear_error(
    tmp_path: Path, clock: ManualClock, seed: int
) -> None:
    rng = random.Random(seed)
    async with FakeWorkersAI() as fake:
        spent_scripted: set[str] = set()
        for account in ACCOUNTS:
            script = scripted_behaviours(rng, 400)
            fake.script(account, *script)
            if script[-1] is SPENT:
                fake.default(account, SPENT)  # once spent, always spent that day
                spent_scripted.add(account)
        environ = {
            "CF_API_BASE_URL": fake.base_url,
            "DATABASE_PATH": str(tmp_path / "bot.sqlite3"),
            "HTTP_TIMEOUT_SECONDS": "0.3",
            "GENERATION_DEADLINE_SECONDS": str(DEADLINE),
            "CAPACITY_COOLDOWN_SECONDS": "2",
            "RATE_LIMIT_PER_MINUTE": "0",
            "RATE_LIMIT_PER_DAY": "0",
        }
        for n, account in enumerate(ACCOUNTS, start=1):
            environ |= {f"CF_API_TOKEN_{n}": f"token-{n}", f"ACCOUNT_{n}": account}
        outcomes: Counter[str] = Counter()
        served_by: Counter[int] = Counter()
        async with open_app(load_settings(None, environ), clock=clock) as app:
            for i in range(REQUESTS):
                clock.advance(1.0)  # cooldowns expire as time goes by
                request = GenerationRequest(user=UserRef("telegram", str(i % 17)), text=f"scene number {i}")
                try:
                    # The service's own deadline must fire first; this outer bound only catches a hang.
                    result = await asyncio.wait_for(app.service.generate(request), timeout=DEADLINE + 10)
                except ImagineError as error:
                    message = describe_error(error)
                    assert message and "Traceback" not in message and "token-" not in message
                    outcomes[type(error).__name__] += 1
                else:
                    assert result.image and result.size.width > 0
                    outcomes["image"] += 1
                    served_by[result.account_index] += 1
            await app.pool.drain()
            usage = await app.storage.accounts.usage_on(utc_day(clock.time()))

    assert outcomes["image"] > REQUESTS // 2, outcomes
    if len(spent_scripted) < len(ACCOUNTS):
        # with a healthy account left, only short cooldowns can make "all unavailable" (rare, and a clear error)
        assert outcomes["AllAccountsUnavailable"] <= REQUESTS // 20, outcomes
    assert sum(outcomes.values()) == REQUESTS
    for n, account in enumerate(ACCOUNTS, start=1):
        calls = fake.calls_for(account)
        behaviours = [call.behaviour for call in calls]
        if "spent" in behaviours:
            assert behaviours.index("spent") == len(behaviours) - 1, (
                f"{account} was called after it was spent"
            )
        recorded = usage.get(account)
        images = sum(1 for b in behaviours if b == "ok")
        assert (recorded.calls if recorded else 0) == len(calls), account
        assert (recorded.images if recorded else 0) == images == served_by[n], account
        assert (recorded.failures if recorded else 0) == len(calls) - images, account
