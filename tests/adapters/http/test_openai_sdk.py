"""The official ``openai`` SDK against the running server (the fake Workers AI behind it)."""

from __future__ import annotations

import base64
import io

import httpx
import openai
import pytest
from PIL import Image

from tests.adapters.http.conftest import API_KEY, OTHER_KEY, ApiFactory, RunningApi
from tests.fakes.workers_ai import CONTENT_FILTER


def sdk(api: RunningApi, key: str = API_KEY) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(api_key=key, base_url=f"{api.base_url}/v1", max_retries=0)


def png(width: int = 64, height: int = 64, colour: tuple[int, int, int] = (10, 120, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


async def test_generate_b64_gives_the_image_its_revised_prompt_and_the_extras(api: RunningApi) -> None:
    async with sdk(api) as client:
        answer = await client.images.generate(
            model="dall-e-3",
            prompt="a lighthouse at dusk",
            n=1,
            size="1024x1024",
            quality="hd",
            style="vivid",
        )
    assert answer.data is not None and len(answer.data) == 1
    item = answer.data[0]
    assert item.b64_json is not None and item.revised_prompt == "a lighthouse at dusk"
    image = decoded(base64.b64decode(item.b64_json))
    assert image.size == (1024, 1024)
    extra = answer.model_extra or {}
    assert answer.size == "1024x1024"
    assert extra["account_used"] == 1 and isinstance(extra["seed"], int) and extra["model"]
    assert answer.output_format == image.format.lower()  # type: ignore[union-attr]
    assert len(api.fake.calls) == 1


async def test_generate_url_serves_the_stored_image_with_its_real_type_at_16_9(api: RunningApi) -> None:
    async with sdk(api) as client:
        answer = await client.images.generate(prompt="a harbour", size="16:9", response_format="url")
    assert answer.data is not None
    url = answer.data[0].url
    assert url is not None and url.startswith(f"{api.base_url}/image/")
    async with httpx.AsyncClient() as plain:
        fetched = await plain.get(url)
    assert fetched.status_code == 200
    image = decoded(fetched.content)
    assert fetched.headers["content-type"] == Image.MIME[image.format or ""]
    assert abs(image.width / image.height - 16 / 9) < 0.02


async def test_n_images_are_generated_concurrently_under_one_admission(serve_api: ApiFactory) -> None:
    async with serve_api(RATE_LIMIT_PER_DAY="3", MAX_QUEUED_PER_USER="3") as api, sdk(api) as client:
        answer = await client.images.generate(prompt="three cats", n=3, extra_body={"seed": 7})
        assert answer.data is not None and len(answer.data) == 3
        assert sorted(call.fields.get("seed") for call in api.fake.calls) == ["7", "8", "9"]
        # The day's limit is used up: a fourth image is refused before any upstream call, with Retry-After.
        with pytest.raises(openai.RateLimitError) as refused:
            await client.images.generate(prompt="one more")
    assert len(api.fake.calls) == 3
    assert int(refused.value.response.headers["retry-after"]) > 0
    assert refused.value.code == "rate_limit_exceeded"


async def test_n_beyond_the_limit_is_refused_whole(serve_api: ApiFactory) -> None:
    async with serve_api(RATE_LIMIT_PER_DAY="2") as api, sdk(api) as client:
        with pytest.raises(openai.RateLimitError):
            await client.images.generate(prompt="four cats", n=4)
        assert api.fake.calls == []
        answer = await client.images.generate(prompt="two cats", n=2)  # nothing was consumed
    assert answer.data is not None and len(answer.data) == 2


async def test_edit_with_one_file_and_with_three(api: RunningApi) -> None:
    async with sdk(api) as client:
        one = await client.images.edit(image=("cat.png", png(), "image/png"), prompt="make it night")
        three = await client.images.edit(
            image=[
                ("a.png", png(), "image/png"),
                ("b.png", png(colour=(200, 0, 0)), "image/png"),
                ("c.png", png(), "image/png"),
            ],
            prompt="all three together",
        )
    assert one.data is not None and three.data is not None
    assert [len(call.reference_sizes) for call in api.fake.calls] == [1, 3]


async def test_a_fifth_image_is_a_400_about_image(api: RunningApi) -> None:
    async with sdk(api) as client:
        with pytest.raises(openai.BadRequestError) as refused:
            await client.images.edit(image=[("x.png", png(), "image/png")] * 5, prompt="too many")
    assert refused.value.param == "image"  # type: ignore[attr-defined]
    assert api.fake.calls == []


async def test_a_filtered_prompt_is_content_policy_violation(api: RunningApi) -> None:
    api.fake.script("acc1", CONTENT_FILTER)
    async with sdk(api) as client:
        with pytest.raises(openai.BadRequestError) as refused:
            await client.images.generate(prompt="something the filter dislikes")
    assert refused.value.code == "content_policy_violation"
    assert refused.value.response.headers["x-should-retry"] == "false"


async def test_a_wrong_key_is_an_authentication_error(api: RunningApi) -> None:
    async with sdk(api, key="sk-wrong") as client:
        with pytest.raises(openai.AuthenticationError) as refused:
            await client.images.generate(prompt="a cat")
    assert refused.value.code == "invalid_api_key"
    assert api.fake.calls == []


async def test_models_lists_the_configured_model_and_the_dall_e_alias(api: RunningApi) -> None:
    async with sdk(api) as client:
        ids = [model.id async for model in client.models.list()]
    assert api.app.settings.flux_model in ids and "dall-e-3" in ids


async def test_keys_are_users_for_the_allow_list_and_the_admin_list(serve_api: ApiFactory) -> None:
    async with serve_api(ALLOWED_IDS="api:demo", ADMIN_IDS="api:demo", RATE_LIMIT_PER_DAY="1") as api:
        async with sdk(api, key=OTHER_KEY) as outsider:
            with pytest.raises(openai.PermissionDeniedError):
                await outsider.images.generate(prompt="a cat")
        async with sdk(api) as admin:  # an admin has no daily limit
            for _ in range(2):
                await admin.images.generate(prompt="a cat")
    assert len(api.fake.calls) == 2
