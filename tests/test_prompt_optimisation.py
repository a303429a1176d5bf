"""End to end: the real service from ``open_app`` against a fake LLM and the fake Workers AI.

Each case checks the prompt that reached the image model, which is what the user's picture is drawn from.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import App, open_app
from bot.core.models import GenerationRequest, GenerationResult, PromptOptions, UserRef
from bot.settings import load_settings
from tests.fakes import workers_ai as wa
from tests.fakes.llm import MALFORMED, FakeLLM, Reply, answer, error
from tests.fakes.workers_ai import FakeWorkersAI

KEY = "sk-live-EXTERNAL-secret-987654321"
REWRITE = "A red fox curled up in fresh snow, golden hour light, shallow depth of field, calm mood"


@pytest.fixture
async def llm() -> AsyncIterator[FakeLLM]:
    async with FakeLLM(answer(REWRITE)) as fake:
        yield fake


@pytest.fixture
async def cf() -> AsyncIterator[FakeWorkersAI]:
    async with FakeWorkersAI() as fake:
        yield fake


def environment(tmp_path: Path, cf: FakeWorkersAI, **extra: str) -> dict[str, str]:
    return {
        "CF_API_BASE_URL": cf.base_url,
        "DATABASE_PATH": str(tmp_path / "bot.sqlite3"),
        "CF_API_TOKEN_1": "tok-one-SECRET",
        "ACCOUNT_1": "acc1",
        "CF_API_TOKEN_2": "tok-two-SECRET",
        "ACCOUNT_2": "acc2",
        "PROMPT_OPTIMIZATION": "true",
        **extra,
    }


def external(tmp_path: Path, cf: FakeWorkersAI, llm: FakeLLM, base: str = "", **extra: str) -> dict[str, str]:
    return environment(
        tmp_path,
        cf,
        EXTERNAL_API_BASE=base or llm.base_url,
        EXTERNAL_MODEL="test-model",
        EXTERNAL_API_KEY=KEY,
        **extra,
    )


@pytest.fixture
async def app(tmp_path: Path, cf: FakeWorkersAI, llm: FakeLLM) -> AsyncIterator[App]:
    """The app with the external LLM configured. The timeout is only a safety net here: a healthy answer on a
    loaded 2-core machine can take longer than a short one (the slow-LLM test makes its own app)."""
    env = external(tmp_path, cf, llm, PROMPT_OPTIMIZATION_TIMEOUT_SECONDS="20")
    async with open_app(load_settings(None, env)) as opened:
        yield opened


async def generate(
    app: App, text: str, *, user: str = "u", options: PromptOptions | None = None
) -> GenerationResult:
    request = GenerationRequest(
        user=UserRef("cli", user), text=text, options=options or PromptOptions(), bypass_limits=True
    )
    return await app.service.generate(request)


def drawn(cf: FakeWorkersAI) -> str:
    """The prompt the image model received on the last call."""
    return cf.calls[-1].fields["prompt"]


async def test_a_normal_answer_is_drawn(app: App, cf: FakeWorkersAI, llm: FakeLLM) -> None:
    result = await generate(app, "fox in snow --ar 16:9")

    assert drawn(cf) == REWRITE
    assert (result.original_prompt, result.final_prompt) == ("fox in snow", REWRITE)
    assert result.optimised and result.optimisation_skipped_reason is None
    (request,) = llm.requests
    assert (request.path, request.model, request.authorization) == (
        "/v1/chat/completions",
        "test-model",
        f"Bearer {KEY}",
    )
    assert request.user == "fox in snow"
    assert "16:9 landscape" in request.system


async def test_quotes_and_preamble_are_cleaned_before_drawing(
    app: App, cf: FakeWorkersAI, llm: FakeLLM
) -> None:
    llm.default(answer(f'Sure! Here is your prompt:\n\n"{REWRITE}"\n\nThis prompt adds golden light.'))

    result = await generate(app, "fox in snow")

    assert drawn(cf) == REWRITE
    assert result.optimised


async def test_a_slow_llm_delays_by_the_timeout_only(tmp_path: Path, cf: FakeWorkersAI, llm: FakeLLM) -> None:
    llm.default(answer(REWRITE, delay=30))
    env = external(tmp_path, cf, llm, PROMPT_OPTIMIZATION_TIMEOUT_SECONDS="0.3")
    async with open_app(load_settings(None, env)) as app:
        started = time.perf_counter()
        result = await generate(app, "fox in snow")
        elapsed = time.perf_counter() - started

    assert elapsed < 10  # 0.3 s timeout against a 30 s answer
    assert drawn(cf) == "fox in snow"
    assert (result.optimised, result.optimisation_skipped_reason) == (False, "timed out")


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (error(500), "the optimiser answered 500"),
        (error(401, "Incorrect API key"), "the optimiser answered 401"),
        (MALFORMED, "the optimiser's answer was unreadable"),
        (answer("I'm sorry, but I can't help with that."), "the optimiser refused"),
        (answer('""'), "the optimiser's answer was empty"),
    ],
)
async def test_failures_draw_the_prompt_as_written(
    app: App, cf: FakeWorkersAI, llm: FakeLLM, caplog: pytest.LogCaptureFixture, reply: Reply, reason: str
) -> None:
    llm.default(reply)

    with caplog.at_level(logging.DEBUG):
        result = await generate(app, "fox in snow")

    assert drawn(cf) == "fox in snow"
    assert (result.optimised, result.optimisation_skipped_reason) == (False, reason)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(reason in message for message in warnings)
    assert KEY not in caplog.text


async def test_a_non_english_prompt_is_sent_with_the_instructions_and_the_answer_drawn(
    app: App, cf: FakeWorkersAI, llm: FakeLLM
) -> None:
    llm.default(answer("A cat wearing a red scarf walking through falling snow, soft winter light"))

    await generate(app, "一只戴着红色围巾的猫在雪中散步")

    (request,) = llm.requests
    assert request.messages[0]["role"] == "system"
    assert "English" in request.system and "FLUX" in request.system
    assert request.messages[1] == {"role": "user", "content": "一只戴着红色围巾的猫在雪中散步"}
    assert drawn(cf) == "A cat wearing a red scarf walking through falling snow, soft winter light"


@pytest.mark.parametrize(
    ("text", "options", "expected"),
    [
        (
            '{"scene": "a fox in snow", "style": "watercolour"}',
            None,
            '{"scene": "a fox in snow", "style": "watercolour"}',
        ),
        ("a fox in snow --raw", None, "a fox in snow"),
        ("a fox in snow", PromptOptions(raw=True), "a fox in snow"),  # Discord's raw option, the CLI's --raw
    ],
)
async def test_json_and_raw_prompts_never_reach_the_llm(
    app: App, cf: FakeWorkersAI, llm: FakeLLM, text: str, options: PromptOptions | None, expected: str
) -> None:
    result = await generate(app, text, options=options)

    assert llm.requests == []
    assert drawn(cf) == expected
    assert not result.optimised and result.optimisation_skipped_reason is None


@pytest.mark.parametrize("suffix", ["", "/", "/v1", "/v1/"])
async def test_both_external_base_forms_reach_the_chat_path(
    tmp_path: Path, cf: FakeWorkersAI, llm: FakeLLM, suffix: str
) -> None:
    async with open_app(load_settings(None, external(tmp_path, cf, llm, llm.base_url + suffix))) as app:
        await generate(app, "fox in snow")

    assert [r.path for r in llm.requests] == ["/v1/chat/completions"]
    assert drawn(cf) == REWRITE


async def test_without_an_external_llm_workers_ai_rewrites_with_failover(
    tmp_path: Path, cf: FakeWorkersAI
) -> None:
    cf.chat_answer = REWRITE
    cf.script("acc1", wa.SPENT)

    async with open_app(load_settings(None, environment(tmp_path, cf))) as app:
        result = await generate(app, "fox in snow")
        statuses = await app.service.account_statuses()

    assert [(c.account_id, c.behaviour) for c in cf.chat_calls] == [("acc1", "spent"), ("acc2", "ok")]
    assert cf.chat_calls[1].model == "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
    assert cf.chat_calls[1].messages[1]["content"] == "fox in snow"
    assert [c.account_id for c in cf.calls] == ["acc2"]  # the image skipped the account the chat found spent
    assert drawn(cf) == REWRITE
    assert result.optimised and result.account_index == 2
    assert statuses[0].health == "spent"


async def test_a_slow_workers_ai_rewrite_falls_back_and_keeps_the_account(
    tmp_path: Path, cf: FakeWorkersAI
) -> None:
    cf.script("acc1", wa.timeout(30))
    env = environment(
        tmp_path,
        cf,
        PROMPT_OPTIMIZATION_TIMEOUT_SECONDS="0.3",
        PROMPT_OPTIMIZATION_CF_MODEL="@cf/zai-org/glm-4.7-flash",
    )
    started = time.perf_counter()

    async with open_app(load_settings(None, env)) as app:
        result = await generate(app, "fox in snow")

    assert time.perf_counter() - started < 10
    assert cf.chat_calls[0].model == "@cf/zai-org/glm-4.7-flash"
    assert drawn(cf) == "fox in snow"
    assert result.optimisation_skipped_reason == "timed out"
    assert result.account_index == 1


async def test_optimisation_off_never_calls_the_llm(tmp_path: Path, cf: FakeWorkersAI, llm: FakeLLM) -> None:
    env = external(tmp_path, cf, llm, PROMPT_OPTIMIZATION="false")

    async with open_app(load_settings(None, env)) as app:
        await generate(app, "fox in snow")

    assert llm.requests == [] and cf.chat_calls == []
    assert drawn(cf) == "fox in snow"


async def test_identical_requests_share_one_rewrite_and_reroll_reuses_it(
    app: App, cf: FakeWorkersAI, llm: FakeLLM
) -> None:
    llm.default(answer(REWRITE, delay=0.1))

    together = await asyncio.gather(*(generate(app, "fox in snow", user=f"u{i}") for i in range(5)))
    later = await generate(app, "fox in snow")
    rerolled = await app.service.reroll(later.job_id, UserRef("cli", "u"))

    assert len(llm.requests) == 1
    assert {r.final_prompt for r in [*together, later, rerolled]} == {REWRITE}
    assert [c.fields["prompt"] for c in cf.calls] == [REWRITE] * 7


async def test_added_latency_with_an_llm_answering_at_once(
    tmp_path: Path, cf: FakeWorkersAI, llm: FakeLLM
) -> None:
    """Median generation time with and without optimisation, interleaved in one run (run with -s to see it)."""
    rounds = 20
    with_llm: list[float] = []
    without: list[float] = []
    async with open_app(load_settings(None, external(tmp_path, cf, llm))) as app:
        await generate(app, "warm-up")
        for index in range(rounds):
            started = time.perf_counter()
            await generate(app, f"fox number {index}")  # distinct prompts: no cache hits
            with_llm.append(time.perf_counter() - started)
            started = time.perf_counter()
            await generate(app, f"fox number {index}", options=PromptOptions(raw=True))
            without.append(time.perf_counter() - started)

    assert len(llm.requests) == rounds + 1
    assert [c.fields["prompt"] for c in cf.calls[1::2]] == [REWRITE] * rounds
    median_with, median_without = statistics.median(with_llm) * 1000, statistics.median(without) * 1000
    print(
        f"\nmedian over {rounds}: {median_with:.1f} ms with optimisation, {median_without:.1f} ms without,"
        f" added {median_with - median_without:.1f} ms"
    )
