"""Cancel, vary, model choice and --n in the core, over the real service, storage and the fake Workers AI."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest
from PIL import Image

from bot.app import App, open_app
from bot.core.clock import ManualClock
from bot.core.models import (
    GenerationRequest,
    ImageSize,
    Progress,
    ProgressStage,
    ProviderImage,
    ProviderJob,
    UserRef,
)
from bot.core.persistence import AcceptedRequest, RequestState
from bot.errors import Cancelled, InvalidRequest, LimitReached, NotPermitted
from bot.providers.catalogue import FLUX2_DEV, FLUX2_KLEIN_4B, FLUX2_KLEIN_9B
from bot.settings import AccountConfig, load_settings
from tests.fakes.workers_ai import FakeWorkersAI

ALICE = UserRef("telegram", "1", chat_id="1")
BOB = UserRef("telegram", "2", chat_id="2")
CAROL = UserRef("telegram", "3", chat_id="3")
ADMIN = UserRef("telegram", "99", chat_id="99")
MODELS = f"klein={FLUX2_KLEIN_4B},klein9={FLUX2_KLEIN_9B},dev={FLUX2_DEV}"

AppFactory = Callable[..., AbstractAsyncContextManager[App]]


def png(width: int = 64, height: int = 64) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


class GatedProvider:
    """Answers each call once ``open`` is set; ``entered`` tells which users' prompts reached it."""

    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.entered: list[str] = []
        self.arrived = asyncio.Event()

    async def generate(self, account: AccountConfig, job: ProviderJob) -> ProviderImage:
        self.entered.append(job.prompt)
        self.arrived.set()
        await self.open.wait()
        return ProviderImage(png(), "image/png")


def environ(base: str, tmp_path: Path, **overrides: str) -> dict[str, str]:
    return {
        "CF_API_BASE_URL": base,
        "DATABASE_PATH": str(tmp_path / "bot.sqlite3"),
        "CF_API_TOKEN_1": "cf-token-1-SECRET",
        "ACCOUNT_1": "acc1",
        "RATE_LIMIT_PER_MINUTE": "0",
        "RATE_LIMIT_PER_DAY": "0",
        "ADMIN_IDS": "telegram:99",
        "FLUX_MODELS": MODELS,
        **overrides,
    }


@pytest.fixture
async def fake() -> AsyncIterator[FakeWorkersAI]:
    async with FakeWorkersAI() as server:
        yield server


@pytest.fixture
def make_app(fake: FakeWorkersAI, tmp_path: Path, clock: ManualClock) -> AppFactory:
    def factory(provider: GatedProvider | None = None, **overrides: str) -> AbstractAsyncContextManager[App]:
        settings = load_settings(None, environ(fake.base_url, tmp_path, **overrides))
        return open_app(settings, clock=clock, provider=provider)

    return factory


# ---- cancel ---------------------------------------------------------------------------------------


async def test_cancel_while_queued_leaves_the_line_the_next_moves_up_and_nothing_is_counted(
    make_app: AppFactory,
) -> None:
    provider = GatedProvider()
    async with make_app(provider, MAX_CONCURRENT_GENERATIONS="1", RATE_LIMIT_PER_DAY="5") as app:
        service = app.service
        heard: dict[str, list[Progress]] = {"bob": [], "carol": []}
        news = asyncio.Condition()

        def listener(name: str) -> Callable[[Progress], Awaitable[None]]:
            async def progress(event: Progress) -> None:
                async with news:
                    heard[name].append(event)
                    news.notify_all()

            return progress

        async def until(count: int) -> None:
            async with asyncio.timeout(10), news:
                await news.wait_for(lambda: len(heard["carol"]) == count)

        alice = asyncio.create_task(service.generate(GenerationRequest(ALICE, "alice's cat")))
        await provider.arrived.wait()
        bob = asyncio.create_task(
            service.generate(GenerationRequest(BOB, "bob's cat", request_id="bob-1"), listener("bob"))
        )
        carol = asyncio.create_task(
            service.generate(GenerationRequest(CAROL, "carol's cat"), listener("carol"))
        )
        await until(1)
        assert heard["carol"] == [Progress(ProgressStage.QUEUED, 2)]
        assert (await service.quota(BOB)).used_today == 1

        with pytest.raises(NotPermitted):
            await service.cancel("bob-1", CAROL)  # not hers
        assert await service.cancel("bob-1", BOB)
        with pytest.raises(Cancelled):
            await bob
        await until(2)
        assert heard["carol"][-1] == Progress(ProgressStage.QUEUED, 1)  # moved up, and told
        assert (await service.quota(BOB)).used_today == 0  # refunded

        provider.open.set()
        await asyncio.gather(alice, carol)
        assert "bob's cat" not in provider.entered
        assert not await service.cancel("bob-1", BOB)  # over: nothing to cancel


async def test_cancel_while_running_abandons_the_image_and_refunds_and_admins_may_cancel(
    make_app: AppFactory,
) -> None:
    provider = GatedProvider()
    async with make_app(provider, RATE_LIMIT_PER_DAY="5") as app:
        service = app.service
        running = asyncio.create_task(service.generate(GenerationRequest(ALICE, "a cat", request_id="r1")))
        await provider.arrived.wait()
        assert await service.cancel("r1", ADMIN)
        with pytest.raises(Cancelled):
            await running
        provider.open.set()  # the upstream call may finish; nobody takes its image
        assert (await service.quota(ALICE)).used_today == 0
        assert provider.entered == ["a cat"]
        # the service still works for the next request
        result = await service.generate(GenerationRequest(ALICE, "a dog"))
        assert result.image


async def test_a_request_open_on_another_replica_is_asked_through_the_relay_once_the_row_allows_it(
    make_app: AppFactory, clock: ManualClock
) -> None:
    """The shared-row path of ❌ (no ticket here): who may, which states, and the id passed on to the relay."""
    async with make_app() as app:
        heard: list[str] = []
        now = clock.time()

        async def held_elsewhere(request_id: str, state: RequestState) -> None:
            row = AcceptedRequest(request_id, ALICE.key, "telegram", "elsewhere", state, now, now + 600)
            await app.storage.requests.insert(row)

        await held_elsewhere("running-1", RequestState.RUNNING)
        await held_elsewhere("waiting-1", RequestState.WAITING)
        await held_elsewhere("delivering-1", RequestState.DELIVERING)
        async with app.storage.cancels.listen(heard.append):
            with pytest.raises(NotPermitted):
                await app.service.cancel("running-1", BOB)
            assert not await app.service.cancel("delivering-1", ALICE)  # the image is on its way
            assert not await app.service.cancel("unknown-1", ALICE)
            assert await app.service.cancel("running-1", ALICE)
            assert await app.service.cancel("waiting-1", ADMIN)
        assert heard == ["running-1", "waiting-1"]


# ---- models ---------------------------------------------------------------------------------------


async def test_model_chosen_by_alias_reaches_workers_ai_as_that_model(
    fake: FakeWorkersAI, make_app: AppFactory
) -> None:
    async with make_app() as app:
        result = await app.service.generate(GenerationRequest(ALICE, "a fox --model klein9"))
        assert result.model == FLUX2_KLEIN_9B
        assert [call.model for call in fake.calls] == [FLUX2_KLEIN_9B]
        await app.service.generate(GenerationRequest(ALICE, "a fox"))
        assert fake.calls[-1].model == FLUX2_KLEIN_4B  # FLUX_MODEL stays the default


async def test_an_unknown_model_is_refused_with_the_choices_and_no_call(
    fake: FakeWorkersAI, make_app: AppFactory
) -> None:
    async with make_app() as app:
        with pytest.raises(InvalidRequest) as caught:
            await app.service.generate(GenerationRequest(ALICE, "a fox --model sdxl"))
        assert caught.value.code == "unknown_model"
        assert caught.value.params["choices"] == "klein, klein9, dev"
        assert fake.calls == []


async def test_a_models_daily_cap_is_for_the_whole_bot_and_other_models_still_work(
    fake: FakeWorkersAI, make_app: AppFactory
) -> None:
    async with make_app(MODEL_DAILY_LIMITS="dev=1") as app:
        await app.service.generate(GenerationRequest(ALICE, "a fox --model dev"))
        with pytest.raises(LimitReached) as caught:
            await app.service.generate(GenerationRequest(BOB, "a fox --model dev"))
        assert (caught.value.scope, caught.value.model, caught.value.limit) == ("model", "dev", 1)
        assert len(fake.calls) == 1
        assert (await app.service.quota(BOB)).used_today == 0  # the refused request cost Bob nothing
        await app.service.generate(GenerationRequest(BOB, "a fox --model klein"))
        left = {choice.alias: left for choice, left in await app.service.models_left_today()}
        assert left == {"klein": None, "klein9": None, "dev": 0}


# ---- --n ------------------------------------------------------------------------------------------


async def test_n_three_makes_three_calls_and_counts_three(fake: FakeWorkersAI, make_app: AppFactory) -> None:
    async with make_app(RATE_LIMIT_PER_DAY="10") as app:
        results = await app.service.generate_all(GenerationRequest(ALICE, "a fox --n 3 --seed 7"))
        assert len(results) == 3 and len(fake.calls) == 3
        assert sorted(call.seed for call in fake.calls) == [7, 8, 9]
        assert len({result.job_id for result in results}) == 3
        assert (await app.service.quota(ALICE)).used_today == 3


async def test_n_over_the_cap_or_over_the_limit_is_refused_before_any_call(
    fake: FakeWorkersAI, make_app: AppFactory
) -> None:
    async with make_app(RATE_LIMIT_PER_DAY="2", MAX_IMAGES_PER_REQUEST="3") as app:
        with pytest.raises(InvalidRequest) as caught:
            await app.service.generate_all(GenerationRequest(ALICE, "a fox --n 4"))
        assert caught.value.code == "too_many_images"
        with pytest.raises(LimitReached):  # all or nothing: 3 do not fit in 2
            await app.service.generate_all(GenerationRequest(ALICE, "a fox --n 3"))
        assert fake.calls == []
        assert (await app.service.quota(ALICE)).used_today == 0


# ---- vary -----------------------------------------------------------------------------------------


async def test_vary_sends_the_shown_image_as_input_image_0_same_prompt_new_seed_also_after_restart(
    fake: FakeWorkersAI, make_app: AppFactory
) -> None:
    async with make_app() as app:
        first = await app.service.generate(GenerationRequest(ALICE, "a lighthouse --seed 5 16:9"))
        varied = await app.service.vary(first.job_id, ALICE, _fetch(first.image))
        call = fake.calls[-1]
        assert call.reference_names == ["input_image_0"]
        assert call.fields["prompt"] == fake.calls[0].fields["prompt"] == "a lighthouse"
        assert call.seed != 5 and varied.seed == call.seed
        assert varied.size == first.size == ImageSize(call.width or 0, call.height or 0)
        with pytest.raises(NotPermitted):
            await app.service.vary(first.job_id, BOB, _fetch(first.image))
    async with make_app() as app:  # a restart: the job comes back from the store
        fetched: list[bool] = []
        await app.service.vary(first.job_id, ADMIN, _fetch(png(300, 200), fetched))
        assert fetched == [True]
        assert fake.calls[-1].reference_names == ["input_image_0"]
        assert fake.calls[-1].reference_sizes[0] is not None


def _fetch(data: bytes, fetched: list[bool] | None = None) -> Callable[[], asyncio.Future[bytes]]:
    async def fetch() -> bytes:
        if fetched is not None:
            fetched.append(True)
        return data

    return fetch  # type: ignore[return-value]
