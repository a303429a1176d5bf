"""The whole pipeline over HTTP: ImageService built by open_app, against the fake Workers AI on loopback."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image

from bot.app import App, open_app
from bot.core.admission import AdmissionSpent
from bot.core.clock import ManualClock
from bot.core.models import GenerationRequest, Progress, PromptOptions, UserRef
from bot.errors import (
    AccessDenied,
    AllAccountsUnavailable,
    ContentFiltered,
    InvalidReference,
    InvalidRequest,
    LimitReached,
    NotPermitted,
)
from bot.settings import load_settings
from tests.fakes.workers_ai import (
    BAD_BASE64,
    CONTENT_FILTER,
    MALFORMED_JSON,
    PNG_HTML,
    SPENT,
    SPENT_4006,
    UNAUTHORIZED,
    FakeWorkersAI,
    timeout,
)

ALICE = UserRef("telegram", "1", chat_id="1")
BOB = UserRef("telegram", "2", chat_id="2")
TOKENS = {n: f"cf-token-{n}-SECRETVALUE" for n in (1, 2, 3)}

AppFactory = Callable[..., AbstractAsyncContextManager[App]]


@pytest.fixture
async def fake() -> AsyncIterator[FakeWorkersAI]:
    async with FakeWorkersAI() as server:
        yield server


@pytest.fixture
def make_app(fake: FakeWorkersAI, tmp_path: Path, clock: ManualClock) -> AppFactory:
    """Open the app over one database; call again to simulate a restart."""

    def factory(**overrides: str) -> AbstractAsyncContextManager[App]:
        environ = {"CF_API_BASE_URL": fake.base_url, "DATABASE_PATH": str(tmp_path / "bot.sqlite3")}
        for n, token in TOKENS.items():
            environ |= {f"CF_API_TOKEN_{n}": token, f"ACCOUNT_{n}": f"acc{n}"}
        environ |= {"RATE_LIMIT_PER_MINUTE": "0", "RATE_LIMIT_PER_DAY": "0"} | overrides
        return open_app(load_settings(None, environ), clock=clock)

    return factory


def request(text: str, user: UserRef = ALICE, **kwargs: object) -> GenerationRequest:
    return GenerationRequest(user=user, text=text, **kwargs)  # type: ignore[arg-type]


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (10, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


async def test_spent_accounts_cost_one_call_each_to_learn_then_none_even_after_restart(
    fake: FakeWorkersAI, make_app: AppFactory, clock: ManualClock
) -> None:
    fake.default("acc1", SPENT)
    fake.default("acc2", SPENT_4006)
    async with make_app() as app:
        for i in range(10):
            result = await app.service.generate(request(f"a lighthouse {i}"))
            assert result.account_index == 3
    assert len(fake.calls) == 12  # 2 to learn, then 1 each
    async with make_app() as app:  # restart over the same database
        for i in range(10):
            await app.service.generate(request(f"a harbour {i}"))
        await app.pool.drain()
        statuses = {s.index: s for s in await app.service.account_statuses()}
    assert len(fake.calls) == 22  # nothing spent was called again
    assert statuses[1].until == datetime(2026, 11, 22, tzinfo=UTC)
    assert statuses[3].images_today == 20
    fake.default("acc1", "ok")
    clock.set(datetime(2026, 11, 22, 0, 0, 5, tzinfo=UTC))  # past 00:00 UTC: allocations reset
    async with make_app() as app:
        result = await app.service.generate(request("a new day"))
    assert result.account_index == 1
    assert [call.account_id for call in fake.calls[22:]] == ["acc1"]


@pytest.mark.parametrize(
    ("suffix", "ratio"),
    [("1:1", 1.0), ("1:2", 0.5), ("3:2", 1.5), ("3:4", 0.75), ("16:9", 16 / 9), ("9:16", 9 / 16)],
)
async def test_seed_ratios_reach_workers_ai_and_come_back_with_that_aspect(
    fake: FakeWorkersAI, make_app: AppFactory, suffix: str, ratio: float
) -> None:
    async with make_app() as app:
        result = await app.service.generate(request(f"a lighthouse in a storm {suffix}"))
    call = fake.calls[-1]
    assert call.width is not None and call.height is not None
    assert call.width / call.height == pytest.approx(ratio, rel=0.02)
    assert (call.width, call.height) == (result.size.width, result.size.height)
    assert Image.open(io.BytesIO(result.image)).size == (call.width, call.height)
    assert result.final_prompt == "a lighthouse in a storm"


async def test_transient_failures_fail_over_and_bad_tokens_leave_rotation(
    fake: FakeWorkersAI, make_app: AppFactory
) -> None:
    fake.script("acc1", timeout(5.0))
    fake.script("acc2", MALFORMED_JSON)
    fake.default("acc3", UNAUTHORIZED)
    async with make_app(HTTP_TIMEOUT_SECONDS="0.5") as app:
        result = await app.service.generate(request("a fox"))
        # 1 timed out (and now rests), 2 answered garbage, 3 refused the token, then 2 again
        assert result.account_index == 2
        assert [c.account_id for c in fake.calls] == ["acc1", "acc2", "acc3", "acc2"]
        await app.service.generate(request("a fox again"))
        statuses = {s.index: s.health.value for s in await app.service.account_statuses()}
    assert statuses == {1: "cooling", 2: "healthy", 3: "misconfigured"}
    assert [c.account_id for c in fake.calls[4:]] == ["acc2"]


async def test_content_filter_is_not_failed_over_and_is_refunded(
    fake: FakeWorkersAI, make_app: AppFactory
) -> None:
    fake.script("acc1", CONTENT_FILTER)
    async with make_app(RATE_LIMIT_PER_DAY="5") as app:
        with pytest.raises(ContentFiltered):
            await app.service.generate(request("something the filter dislikes"))
        quota = await app.service.quota(ALICE)
    assert len(fake.calls) == 1
    assert quota.used_today == 0


async def test_all_accounts_spent_says_when_one_is_back(fake: FakeWorkersAI, make_app: AppFactory) -> None:
    for n in (1, 2, 3):
        fake.default(f"acc{n}", SPENT)
    async with make_app() as app:
        with pytest.raises(AllAccountsUnavailable) as caught:
            await app.service.generate(request("a cat"))
        with pytest.raises(AllAccountsUnavailable):
            await app.service.generate(request("a cat"))
    assert caught.value.retry_at == datetime(2026, 11, 22, tzinfo=UTC)
    assert len(fake.calls) == 3


async def test_references_are_shrunk_and_sent_and_reroll_keeps_them(
    fake: FakeWorkersAI, make_app: AppFactory
) -> None:
    async with make_app() as app:
        first = await app.service.generate(
            request("the same robot 16:9", references=(png(1600, 1200), png(300, 900)))
        )
        again = await app.service.reroll(first.job_id, ALICE)
        with pytest.raises(NotPermitted):
            await app.service.reroll(first.job_id, BOB)
    sent, rerolled = fake.calls
    assert sent.reference_sizes == [(512, 384), (171, 512)]
    assert rerolled.reference_sizes == sent.reference_sizes
    assert (rerolled.width, rerolled.height) == (sent.width, sent.height)
    assert again.final_prompt == first.final_prompt and again.seed != first.seed
    assert again.reference_count == 2


async def test_bad_input_never_reaches_upstream(fake: FakeWorkersAI, make_app: AppFactory) -> None:
    async with make_app() as app:
        with pytest.raises(InvalidReference):
            await app.service.generate(request("five refs", references=tuple(png(64, 64) for _ in range(5))))
        with pytest.raises(InvalidReference):
            await app.service.generate(request("not an image", references=(b"%PDF-1.7 nope",)))
        with pytest.raises(InvalidRequest):
            await app.service.generate(request("a cat 9:1"))
        with pytest.raises(InvalidRequest):
            await app.service.generate(request("   "))
    assert fake.calls == []


async def test_daily_limit_applies_to_users_not_to_admins(fake: FakeWorkersAI, make_app: AppFactory) -> None:
    async with make_app(RATE_LIMIT_PER_DAY="2", ADMIN_IDS="telegram:2") as app:
        await app.service.generate(request("one"))
        await app.service.generate(request("two"))
        with pytest.raises(LimitReached) as caught:
            await app.service.generate(request("three"))
        for _ in range(3):
            await app.service.generate(request("admin", user=BOB))
        quota = await app.service.quota(ALICE)
    assert caught.value.scope == "day"
    assert (quota.used_today, quota.remaining_today) == (2, 0)
    assert len(fake.calls) == 5


async def test_schnell_ignores_size_and_ratio_requests_use_the_reference_model(
    fake: FakeWorkersAI, make_app: AppFactory
) -> None:
    async with make_app(FLUX_MODEL="@cf/black-forest-labs/flux-1-schnell") as app:
        square = await app.service.generate(request("a square cat"))
        wide = await app.service.generate(request("a wide cat 16:9"))
    assert square.model.endswith("flux-1-schnell") and fake.calls[0].width is None
    assert wide.model.endswith("flux-2-klein-4b") and fake.calls[1].width is not None
    assert all(call.status == 200 for call in fake.calls)


async def test_no_optimising_stage_is_reported_when_optimisation_is_off(make_app: AppFactory) -> None:
    stages: list[str] = []

    async def progress(event: Progress) -> None:
        stages.append(event.stage.value)

    async with make_app() as app:
        result = await app.service.generate(request("a cat"), progress)
    assert stages == ["generating"]
    assert not result.optimised and result.optimisation_skipped_reason is None


async def test_seed_option_is_used_and_reported(fake: FakeWorkersAI, make_app: AppFactory) -> None:
    async with make_app() as app:
        result = await app.service.generate(request("a cat", options=PromptOptions(seed=0)))
    assert result.seed == 0 and fake.calls[0].seed == 0  # seed 0 is a seed, not "none"


async def test_tokens_never_reach_the_logs(
    fake: FakeWorkersAI, make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    fake.script("acc1", UNAUTHORIZED)
    fake.script("acc2", SPENT)
    caplog.set_level(logging.DEBUG)
    async with make_app() as app:
        await app.service.generate(request("a cat"))
    text = caplog.text + repr([r.args for r in caplog.records])
    assert "acc1" in text or "…acc1" in text or "#1" in text  # the failures were logged
    for token in TOKENS.values():
        assert token not in text


async def test_a_refused_user_is_refused_before_any_reference_is_decoded(
    fake: FakeWorkersAI, make_app: AppFactory
) -> None:
    """Cheap checks first: a user at the limit gets LimitReached, not the verdict of decoding a bad file."""
    async with make_app(RATE_LIMIT_PER_DAY="1", ALLOWED_IDS="telegram:1") as app:
        await app.service.generate(request("one"))
        with pytest.raises(LimitReached):
            await app.service.generate(request("two", references=(b"%PDF-1.7 not an image",)))
        with pytest.raises(AccessDenied):
            await app.service.generate(request("bob", user=BOB, references=(b"%PDF-1.7 not an image",)))
        quota = await app.service.quota(ALICE)
    assert quota.used_today == 1 and len(fake.calls) == 1


async def test_admission_for_several_images_is_all_or_none_and_hands_back_the_unused(
    fake: FakeWorkersAI, make_app: AppFactory
) -> None:
    async with make_app(RATE_LIMIT_PER_DAY="4") as app:
        with pytest.raises(LimitReached):
            async with app.service.admission(ALICE, count=5):
                raise AssertionError("a refused admission never runs its body")
        assert (await app.service.quota(ALICE)).used_today == 0
        async with app.service.admission(ALICE, count=3) as admission:
            assert (await app.service.quota(ALICE)).used_today == 3
            await app.service.generate(request("first"), admission=admission)
            assert admission.remaining == 2
        # one image made; the two never asked for went back when the block ended
        assert (await app.service.quota(ALICE)).used_today == 1
        with pytest.raises(RuntimeError):
            async with app.service.admission(ALICE, count=2) as admission:
                raise RuntimeError("the download failed")
        assert (await app.service.quota(ALICE)).used_today == 1
        async with app.service.admission(ALICE, count=1) as admission:
            with pytest.raises(InvalidReference):
                await app.service.generate(request("bad", references=(b"junk",)), admission=admission)
            with pytest.raises(AdmissionSpent):
                await app.service.generate(request("one too many"), admission=admission)
        assert (await app.service.quota(ALICE)).used_today == 1
    assert len(fake.calls) == 1


async def test_an_admission_cancelled_while_downloading_is_handed_back(make_app: AppFactory) -> None:
    async with make_app(RATE_LIMIT_PER_DAY="2") as app:
        entered = asyncio.Event()

        async def download_forever() -> None:
            async with app.service.admission(ALICE, count=2):
                entered.set()
                await asyncio.Event().wait()

        task = asyncio.create_task(download_forever())
        await entered.wait()
        assert (await app.service.quota(ALICE)).used_today == 2
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert (await app.service.quota(ALICE)).used_today == 0


async def test_an_undelivered_image_is_not_counted(make_app: AppFactory) -> None:
    async with make_app(RATE_LIMIT_PER_DAY="1") as app:
        result = await app.service.generate(request("lost on the way"))
        assert (await app.service.quota(ALICE)).used_today == 1
        await app.service.refund_undelivered(result)
        assert (await app.service.quota(ALICE)).used_today == 0
        await app.service.generate(request("delivered this time"))


async def test_a_reference_over_the_decode_budget_is_refused_by_its_header_and_not_counted(
    fake: FakeWorkersAI, make_app: AppFactory
) -> None:
    from bench.hostile import progressive_cmyk_jpeg

    hostile = progressive_cmyk_jpeg(2000)  # ~0.1 MB; decoding it would hold 32 MB of DCT coefficients
    async with make_app(REFERENCE_DECODE_MEMORY_MB="16", RATE_LIMIT_PER_DAY="5") as app:
        with pytest.raises(InvalidReference) as refused:
            await app.service.generate(request("the same, at night", references=(png(64, 64), hostile)))
        quota = await app.service.quota(ALICE)
    assert refused.value.code == "too_many_pixels"
    assert quota.used_today == 0 and fake.calls == []


async def test_answers_that_only_look_like_images_fail_over_to_the_next_account(
    fake: FakeWorkersAI, make_app: AppFactory
) -> None:
    fake.script("acc1", PNG_HTML)
    fake.script("acc2", BAD_BASE64)
    async with make_app() as app:
        result = await app.service.generate(request("a fox"))
    assert result.account_index == 3
    Image.open(io.BytesIO(result.image)).load()  # a real image reached the user


async def test_the_planned_size_is_the_one_drawn_for_that_ratio_and_number_of_references(
    fake: FakeWorkersAI, make_app: AppFactory
) -> None:
    async with make_app(FLUX_MODEL="@cf/black-forest-labs/flux-1-schnell") as app:
        planned = [
            app.service.planned_size(ratio, count) for ratio, count in (("1:1", 0), ("16:9", 0), ("1:1", 1))
        ]
        made = [
            await app.service.generate(request("a cat")),
            await app.service.generate(request("a cat 16:9")),
            await app.service.generate(request("a cat", references=(png(300, 200),))),
        ]
    assert planned == [result.size for result in made]
    assert planned[0] != planned[1]  # schnell draws 1024² only; 16:9 goes to the reference model
