"""Failed generations are refunded from the limits, but a failure budget bounds how often they reach Cloudflare."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import open_app
from bot.core.clock import ManualClock
from bot.core.limits import FailureBudget
from bot.core.models import GenerationRequest, UserRef
from bot.errors import AllAccountsUnavailable, ContentFiltered, LimitReached
from bot.settings import load_settings
from tests.fakes.workers_ai import CONTENT_FILTER, SPENT, FakeWorkersAI


def settings_for(fake: FakeWorkersAI, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "CF_API_BASE_URL": fake.base_url,
        "DATABASE_PATH": str(tmp_path / "bot.sqlite3"),
        "CF_API_TOKEN_1": "token-1",
        "ACCOUNT_1": "acc1",
        "RATE_LIMIT_PER_MINUTE": "1",
        "RATE_LIMIT_PER_DAY": "20",
        **extra,
    }


def request(user: str = "7") -> GenerationRequest:
    return GenerationRequest(user=UserRef("telegram", user), text="something the filter refuses")


async def test_thirty_filtered_prompts_in_a_minute_make_three_upstream_calls(
    tmp_path: Path, clock: ManualClock
) -> None:
    async with FakeWorkersAI() as fake:
        fake.default("acc1", CONTENT_FILTER)
        async with open_app(load_settings(None, settings_for(fake, tmp_path)), clock=clock) as app:
            outcomes = []
            for _ in range(30):
                clock.advance(2)
                try:
                    await app.service.generate(request())
                except (ContentFiltered, LimitReached) as error:
                    outcomes.append(type(error).__name__)
            quota = await app.service.quota(UserRef("telegram", "7"))
            assert quota.used_today == 0  # failures never cost the user their images
            other_user = request("8")
            with pytest.raises(ContentFiltered):  # the budget is per user
                await app.service.generate(other_user)
            clock.advance(60)  # a minute after the last failure the budget is back
            fake.default("acc1", "ok")
            assert (await app.service.generate(request())).image
    assert outcomes[:3] == ["ContentFiltered"] * 3
    assert outcomes[3:] == ["LimitReached"] * 27
    assert len(fake.calls) == 3 + 1 + 1


async def test_nothing_tried_costs_no_budget(tmp_path: Path, clock: ManualClock) -> None:
    """Every account spent: no upstream call was made: retrying it must keep saying so, not "going too fast"."""
    async with FakeWorkersAI() as fake:
        fake.default("acc1", SPENT)
        env = settings_for(fake, tmp_path, RATE_LIMIT_PER_MINUTE="0")
        async with open_app(load_settings(None, env), clock=clock) as app:
            for _ in range(10):
                with pytest.raises(AllAccountsUnavailable):
                    await app.service.generate(request())


def test_failures_in_the_future_are_forgotten_not_held_against_the_user() -> None:
    budget = FailureBudget(2)
    budget.record("u", 10_000.0)
    budget.record("u", 10_001.0)
    assert budget.retry_after("u", 10_002.0) == pytest.approx(58.0)
    # the clock steps back an hour: the user is not locked out for it
    assert budget.retry_after("u", 10_002.0 - 3600) is None
