"""The request shapes the seeds' and chat apps' clients send, beyond what the ``openai`` SDK covers."""

from __future__ import annotations

import base64
import io

import openai
import pytest
from PIL import Image

from tests.adapters.http.conftest import API_KEY, RunningApi
from tests.fakes.workers_ai import SPENT


def png(colour: tuple[int, int, int] = (10, 120, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 40), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def data_url(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


async def test_cf_flux2_multipart_with_input_image_parts(api: RunningApi) -> None:
    files = [(f"input_image_{i}", (f"{i}.png", png(), "image/png")) for i in range(2)]
    async with api.client() as client:
        answer = await client.post(
            "/v1/images/generations", data={"prompt": "both together", "seed": "5"}, files=files
        )
    assert answer.status_code == 200, answer.text
    assert answer.json()["seed"] == 5
    assert len(api.fake.calls[0].reference_sizes) == 2


async def test_json_images_as_data_urls_bare_base64_and_image_url_objects(api: RunningApi) -> None:
    images = [data_url(png()), base64.b64encode(png()).decode(), {"image_url": data_url(png())}]
    async with api.client() as client:
        answer = await client.post("/v1/images/generations", json={"prompt": "three refs", "images": images})
    assert answer.status_code == 200, answer.text
    assert len(api.fake.calls[0].reference_sizes) == 3


async def test_edits_as_json_and_with_a_repeated_image_field_and_an_ignored_mask(api: RunningApi) -> None:
    async with api.client() as client:
        as_json = await client.post(
            "/v1/images/edits",
            json={"prompt": "night", "images": [{"image_url": data_url(png())}], "quality": "high"},
        )
        repeated = await client.post(
            "/v1/images/edits",
            data={"prompt": "night"},
            files=[
                ("image", ("a.png", png(), "image/png")),
                ("image", ("b.png", png(), "image/png")),
                ("mask", ("m.png", png(), "image/png")),
            ],
        )
        without = await client.post("/v1/images/edits", json={"prompt": "nothing to edit"})
    assert as_json.status_code == 200 and repeated.status_code == 200
    assert [len(call.reference_sizes) for call in api.fake.calls] == [1, 2]
    assert without.status_code == 400 and without.json()["error"]["param"] == "image"


async def test_a_prompt_as_a_json_object_is_sent_as_json(api: RunningApi) -> None:
    prompt = {"scene": "a lighthouse", "style": "oil painting"}
    async with api.client() as client:
        answer = await client.post("/v1/images/generations", json={"prompt": prompt, "model": "gpt-image-1"})
    assert answer.status_code == 200
    assert '"scene"' in api.fake.calls[0].fields["prompt"]


async def test_bad_fields_are_400_with_their_param(api: RunningApi) -> None:
    async with api.client() as client:
        size = await client.post("/v1/images/generations", json={"prompt": "a cat", "size": "huge"})
        n = await client.post("/v1/images/generations", json={"prompt": "a cat", "n": 11})
        missing = await client.post("/v1/images/generations", json={"size": "1024x1024"})
        bad_json = await client.post(
            "/v1/images/generations", content=b"{not json", headers={"content-type": "application/json"}
        )
    assert (size.status_code, size.json()["error"]["param"]) == (400, "size")
    assert (n.status_code, n.json()["error"]["param"]) == (400, "n")
    assert (missing.status_code, missing.json()["error"]["param"]) == (400, "prompt")
    assert bad_json.status_code == 400
    assert api.fake.calls == []


async def test_every_account_spent_is_a_429_the_sdk_does_not_retry(api: RunningApi) -> None:
    api.fake.default("acc1", SPENT)
    async with openai.AsyncOpenAI(
        api_key=API_KEY, base_url=f"{api.base_url}/v1"
    ) as client:  # default retries
        with pytest.raises(openai.RateLimitError) as refused:
            await client.images.generate(prompt="a cat")
    headers = refused.value.response.headers
    wait = int(headers["retry-after"])  # seconds to 00:00 UTC, when the daily allocation returns
    assert wait > 0
    if wait > 120:  # every hour of the day but its last two minutes
        assert headers["x-should-retry"] == "false"
    assert "insufficient_quota" not in refused.value.response.text
    assert len(api.fake.calls) == 1  # learnt once, and the SDK did not try again
