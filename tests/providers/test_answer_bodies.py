"""Upstream answers are read with a cap and checked to be images: huge, slow, fake-PNG and bad-base64 answers."""

from __future__ import annotations

import gzip

import httpx
import pytest
from pydantic import SecretStr

from bot.core.models import ImageSize, ProviderJob
from bot.providers.base import FailureKind, UpstreamFailure
from bot.providers.bodies import MAX_IMAGE_ANSWER_BYTES, MAX_TEXT_ANSWER_BYTES, request_capped
from bot.providers.catalogue import FLUX2_KLEIN_4B, model_spec
from bot.providers.llm import ExternalChat
from bot.providers.workers_ai import WorkersAIClient
from bot.settings import AccountConfig
from tests.fakes.workers_ai import (
    BAD_BASE64,
    HUGE_BODY,
    HUGE_BODY_BYTES,
    HUGE_STREAM,
    PNG_HTML,
    FakeWorkersAI,
    slow_body,
)

JOB = ProviderJob(model=model_spec(FLUX2_KLEIN_4B), prompt="a lighthouse", size=ImageSize(512, 512), seed=1)


async def generate(fake: FakeWorkersAI, account: AccountConfig, read_timeout: float = 10.0) -> object:
    async with httpx.AsyncClient(timeout=read_timeout, trust_env=False) as http:
        return await WorkersAIClient(http, fake.base_url).generate(account, JOB)


async def test_a_huge_answer_without_a_length_is_cut_off_at_the_cap_not_read_whole(
    fake_workers_ai: FakeWorkersAI, account: AccountConfig
) -> None:
    fake_workers_ai.script(account.account_id, HUGE_STREAM)
    with pytest.raises(UpstreamFailure) as caught:
        await generate(fake_workers_ai, account)
    (call,) = fake_workers_ai.calls
    assert caught.value.kind is FailureKind.TRANSIENT  # the next account is tried
    assert "cap" in caught.value.detail
    # the client stopped reading soon after the cap; what else left the fake sat in socket buffers
    assert MAX_IMAGE_ANSWER_BYTES < call.sent_bytes < HUGE_BODY_BYTES // 2


async def test_a_huge_declared_length_is_refused_before_reading(
    fake_workers_ai: FakeWorkersAI, account: AccountConfig
) -> None:
    fake_workers_ai.script(account.account_id, HUGE_BODY)
    with pytest.raises(UpstreamFailure) as caught:
        await generate(fake_workers_ai, account)
    (call,) = fake_workers_ai.calls
    assert caught.value.kind is FailureKind.TRANSIENT and "cap" in caught.value.detail
    assert call.sent_bytes < MAX_IMAGE_ANSWER_BYTES  # nothing near the cap was read


@pytest.mark.parametrize("behaviour", [PNG_HTML, BAD_BASE64], ids=["png-magic-html", "bad-base64"])
async def test_an_answer_that_only_looks_like_an_image_is_malformed(
    fake_workers_ai: FakeWorkersAI, account: AccountConfig, behaviour: object
) -> None:
    fake_workers_ai.script(account.account_id, behaviour)  # type: ignore[arg-type]
    with pytest.raises(UpstreamFailure) as caught:
        await generate(fake_workers_ai, account)
    assert caught.value.kind is FailureKind.TRANSIENT
    assert caught.value.status == 200


async def test_a_slowly_sent_answer_still_arrives_whole(
    fake_workers_ai: FakeWorkersAI, account: AccountConfig
) -> None:
    fake_workers_ai.script(account.account_id, slow_body(0.5))
    image = await generate(fake_workers_ai, account, read_timeout=5.0)
    (call,) = fake_workers_ai.calls
    assert getattr(image, "mime", None) == "image/png" and call.sent_bytes > 0


async def test_the_cap_counts_decoded_bytes_so_a_gzip_bomb_is_cut_too() -> None:
    bomb = gzip.compress(b"0" * (8 * MAX_TEXT_ANSWER_BYTES))  # ~16 MB of zeros in ~16 KB

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=bomb, headers={"Content-Encoding": "gzip"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        with pytest.raises(UpstreamFailure):
            await request_capped(http, "GET", "https://x.test/", max_bytes=MAX_TEXT_ANSWER_BYTES)
        small = await request_capped(http, "GET", "https://x.test/", max_bytes=16 * MAX_TEXT_ANSWER_BYTES)
    assert small.content == b"0" * (8 * MAX_TEXT_ANSWER_BYTES) and small.is_success


async def test_the_external_llm_answer_is_capped_too() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b'{"choices": [' + b" " * (4 * MAX_TEXT_ANSWER_BYTES) + b"]}")

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        chat = ExternalChat(http, "https://llm.test/v1", model="m", api_key=SecretStr("k"), timeout=5)
        with pytest.raises(UpstreamFailure) as caught:
            await chat.complete([{"role": "user", "content": "hi"}], request_id="r")
    assert caught.value.kind is FailureKind.TRANSIENT and "cap" in caught.value.detail
