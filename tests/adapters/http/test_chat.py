"""``/v1/chat/completions`` as an image channel, plain and streamed, through the official SDK and raw SSE."""

from __future__ import annotations

import base64
import io
import json
import re

import httpx
import openai
import pytest
from PIL import Image

from tests.adapters.http.conftest import API_KEY, ApiFactory, RunningApi
from tests.fakes.workers_ai import ok


def sdk(api: RunningApi) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(api_key=API_KEY, base_url=f"{api.base_url}/v1", max_retries=0)


def data_url(colour: tuple[int, int, int] = (0, 90, 200)) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (48, 48), colour).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


IMAGE_LINK = re.compile(r"!\[[^\]]*\]\((?P<url>[^)]+)\)")


async def test_a_plain_completion_answers_markdown_with_a_working_image_link(api: RunningApi) -> None:
    async with sdk(api) as client:
        answer = await client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "a red fox in snow 16:9 --seed 42"}]
        )
    content = answer.choices[0].message.content or ""
    link = IMAGE_LINK.search(content)
    assert link is not None
    assert "**Seed:** 42" in content and "a red fox in snow" in content
    async with httpx.AsyncClient() as plain:
        image = Image.open(io.BytesIO((await plain.get(link["url"])).content))
    assert abs(image.width / image.height - 16 / 9) < 0.02  # the ratio suffix was parsed like a chat command
    assert (answer.choices[0].message.model_extra or {})["images"][0]["image_url"]["url"] == link["url"]


async def test_content_parts_give_the_text_and_data_url_references(api: RunningApi) -> None:
    parts = [
        {"type": "text", "text": "the same cat,"},
        {"type": "image_url", "image_url": {"url": data_url()}},
        {"type": "text", "text": "but on the moon"},
        {"type": "image_url", "image_url": {"url": data_url((200, 0, 0))}},
    ]
    async with sdk(api) as client:
        answer = await client.chat.completions.create(
            model="flux", messages=[{"role": "user", "content": parts}]
        )
    assert "the same cat, but on the moon" in (answer.choices[0].message.content or "")
    assert len(api.fake.calls) == 1 and len(api.fake.calls[0].reference_sizes) == 2


async def test_an_image_url_to_a_loopback_address_is_refused_before_any_upstream_call(
    api: RunningApi,
) -> None:
    parts = [
        {"type": "text", "text": "like this"},
        {"type": "image_url", "image_url": {"url": f"{api.base_url}/health"}},
    ]
    async with sdk(api) as client:
        with pytest.raises(openai.BadRequestError) as refused:
            await client.chat.completions.create(model="flux", messages=[{"role": "user", "content": parts}])
    assert refused.value.code == "private_address"
    assert api.fake.calls == []


async def test_streaming_sends_progress_before_the_image_then_stop(api: RunningApi) -> None:
    async with sdk(api) as client:
        stream = await client.chat.completions.create(
            model="flux", messages=[{"role": "user", "content": "a lighthouse"}], stream=True
        )
        chunks = [chunk async for chunk in stream]
    contents = [chunk.choices[0].delta.content or "" for chunk in chunks]
    assert chunks[0].choices[0].delta.role == "assistant"
    painting = next(i for i, text in enumerate(contents) if "Painting your image" in text)
    image = next(i for i, text in enumerate(contents) if IMAGE_LINK.search(text))
    assert painting < image
    assert chunks[-1].choices[0].finish_reason == "stop"


async def test_the_raw_stream_is_event_stream_ending_in_done_and_reports_the_place_in_line(
    serve_api: ApiFactory,
) -> None:
    async with serve_api(MAX_JOBS_PER_USER="1") as api:
        api.fake.default("acc1", ok(delay=30))  # the first image holds the user's only slot until released
        body = {"model": "flux", "stream": True, "messages": [{"role": "user", "content": "first"}]}
        second = {**body, "messages": [{"role": "user", "content": "second"}]}
        events: list[str] = []
        async with api.client() as client, client.stream("POST", "/v1/chat/completions", json=body) as first:
            first_lines = first.aiter_lines()
            async for line in first_lines:
                if "Painting" in line:
                    break  # the first request holds the slot now
            async with client.stream("POST", "/v1/chat/completions", json=second) as response:
                assert response.headers["content-type"].startswith("text/event-stream")
                async for line in response.aiter_lines():
                    if line.startswith("data: "):
                        events.append(line.removeprefix("data: "))
                        if "in line" in line:
                            api.fake.release()  # now both may finish
            rest = [line async for line in first_lines if line.startswith("data: ")]
    assert rest[-1] == "data: [DONE]"
    assert events[-1] == "[DONE]"
    texts = [json.loads(event)["choices"][0]["delta"].get("content", "") for event in events[:-1]]
    queued = next(i for i, text in enumerate(texts) if "number 1 in line" in text)
    assert queued < next(i for i, text in enumerate(texts) if IMAGE_LINK.search(text))


async def test_an_error_after_the_stream_started_is_a_final_error_event(api: RunningApi) -> None:
    api.fake.script("acc1", "content_filter")
    async with sdk(api) as client:
        stream = await client.chat.completions.create(
            model="flux", messages=[{"role": "user", "content": "something filtered"}], stream=True
        )
        with pytest.raises(openai.APIError) as failed:
            async for _ in stream:
                pass
    assert "safety filter" in failed.value.message


async def test_a_limit_reached_is_a_429_before_the_stream_starts(serve_api: ApiFactory) -> None:
    async with serve_api(RATE_LIMIT_PER_DAY="1") as api, sdk(api) as client:
        await client.chat.completions.create(model="flux", messages=[{"role": "user", "content": "one"}])
        with pytest.raises(openai.RateLimitError) as refused:
            await client.chat.completions.create(
                model="flux", messages=[{"role": "user", "content": "two"}], stream=True
            )
    assert refused.value.response.headers["x-should-retry"] == "false"  # hours until the daily reset
    assert len(api.fake.calls) == 1
