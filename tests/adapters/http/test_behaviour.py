"""CORS on the API only, links behind a proxy, and what a stop does to a generation in flight."""

from __future__ import annotations

import asyncio

from bot.adapters.http import api_user
from tests.adapters.http.conftest import ApiFactory, RunningApi
from tests.fakes.workers_ai import ok


async def test_cors_answers_browsers_on_the_api_routes_only(api: RunningApi) -> None:
    preflight = {
        "origin": "https://chat.example.org",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
    }
    async with api.client(key=None) as client:
        api_answer = await client.options("/v1/images/generations", headers=preflight)
        health = await client.get("/health", headers={"origin": "https://chat.example.org"})
    assert api_answer.status_code == 200
    assert api_answer.headers["access-control-allow-origin"] == "*"
    assert "authorization" in api_answer.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in api_answer.headers  # Bearer keys, never cookies
    assert "access-control-allow-origin" not in health.headers


async def test_cors_can_be_limited_or_turned_off(serve_api: ApiFactory) -> None:
    async with serve_api(CORS_ORIGINS="https://ok.example") as api, api.client() as client:
        allowed = await client.get("/v1/models", headers={"origin": "https://ok.example"})
        other = await client.get("/v1/models", headers={"origin": "https://evil.example"})
    assert allowed.headers["access-control-allow-origin"] == "https://ok.example"
    assert "access-control-allow-origin" not in other.headers
    async with serve_api(CORS_ORIGINS="") as api, api.client() as client:
        off = await client.get("/v1/models", headers={"origin": "https://ok.example"})
    assert "access-control-allow-origin" not in off.headers


async def test_links_use_public_base_url_behind_a_proxy(serve_api: ApiFactory) -> None:
    async with serve_api(PUBLIC_BASE_URL="https://images.example.com/") as api, api.client() as client:
        answer = await client.post(
            "/v1/images/generations", json={"prompt": "a cat", "response_format": "url"}
        )
    url = answer.json()["data"][0]["url"]
    assert url.startswith("https://images.example.com/image/")


CHAT = {"model": "flux", "stream": True, "messages": [{"role": "user", "content": "a cat"}]}


async def test_a_stop_lets_a_generation_finish_within_the_grace(serve_api: ApiFactory) -> None:
    async with serve_api() as api:
        api.fake.default("acc1", ok(delay=30))
        async with api.client() as client, client.stream("POST", "/v1/chat/completions", json=CHAT) as stream:
            lines = stream.aiter_lines()
            async for line in lines:
                if "Painting" in line:
                    break  # the upstream call is under way
            stopping = asyncio.create_task(api.adapter.stop())
            api.fake.release()  # the upstream answers within the grace period
            rest = [line async for line in lines if line.startswith("data: ")]
            await stopping
    assert rest[-1] == "data: [DONE]"
    assert any("/image/" in line for line in rest)


async def test_a_generation_cut_short_by_the_stop_ends_its_stream_with_an_error_and_is_not_counted(
    serve_api: ApiFactory,
) -> None:
    async with serve_api(RATE_LIMIT_PER_DAY="1") as api:
        api.fake.default("acc1", ok(delay=30))
        context = api.adapter.app.state.context
        async with api.client() as client, client.stream("POST", "/v1/chat/completions", json=CHAT) as stream:
            lines = stream.aiter_lines()
            async for line in lines:
                if "Painting" in line:
                    break
            cut = await context.in_flight.drain(0)  # what a stop does once its grace is over
            rest = [line async for line in lines if line.startswith("data: ")]
        quota = await api.app.service.quota(api_user("demo"))
        api.fake.release()
    assert cut == 1
    assert '"code":"shutting_down"' in rest[-1]
    assert quota.used_today == 0  # the limit was handed back


async def test_a_client_that_leaves_mid_stream_cancels_its_generation_and_is_not_counted(
    serve_api: ApiFactory,
) -> None:
    async with serve_api(RATE_LIMIT_PER_DAY="1") as api:
        api.fake.default("acc1", ok(delay=30))
        context = api.adapter.app.state.context
        async with api.client() as client:
            async with client.stream("POST", "/v1/chat/completions", json=CHAT) as stream:
                async for line in stream.aiter_lines():
                    if "Painting" in line:
                        break  # and leave: the connection closes
            while len(context.in_flight):  # noqa: ASYNC110 - nothing to wait on but the server noticing
                await asyncio.sleep(0.01)
            quota = await api.app.service.quota(api_user("demo"))
            api.fake.release()
            again = await client.post("/v1/images/generations", json={"prompt": "the day's one image"})
    assert quota.used_today == 0
    assert again.status_code == 200
