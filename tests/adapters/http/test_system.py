"""``/health``, ``/image/{id}``, ``/``, keys and the error shape, through the real server."""

from __future__ import annotations

import pytest

from bot.adapters.http import api_user
from bot.core.models import GenerationRequest
from bot.errors import AllAccountsUnavailable
from tests.adapters.http.conftest import API_KEY, CF_TOKEN, ApiFactory, RunningApi


async def test_health_reports_accounts_and_adapters_without_secrets(api: RunningApi) -> None:
    async with api.client(key=None) as client:
        answer = await client.get("/health")
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "ok"
    assert body["total_accounts"] == 1 and body["accounts_configured"] == ["Account 1"]
    assert body["accounts"] == [{"label": "#1 …acc1", "state": "healthy", "until": None}]
    assert body["adapters"] == {"HTTP": True}
    assert body["model"] == api.app.settings.flux_model
    assert CF_TOKEN not in answer.text and API_KEY not in answer.text


async def test_health_is_not_ok_when_no_account_can_serve(api: RunningApi) -> None:
    api.fake.default("acc1", "unauthorized")
    with pytest.raises(AllAccountsUnavailable):
        await api.app.service.generate(GenerationRequest(user=api_user("demo"), text="a cat"))
    async with api.client() as client:
        body = (await client.get("/health")).json()
    assert body["status"] != "ok"
    assert body["accounts"][0]["state"] == "misconfigured"


async def test_a_stored_image_is_served_with_its_sniffed_type_until_it_expires(api: RunningApi) -> None:
    archive = api.adapter.app.state.context.archive
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 100
    kept = await archive.keep(png, "image/png", job_id=None)
    assert len(kept.id) >= 40  # 32 random bytes
    async with api.client(key=None) as client:
        answer = await client.get(f"/image/{kept.id}")
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "image/png"
        assert answer.content == png
        assert "max-age=" in answer.headers["cache-control"]
        missing = await client.get("/image/not-a-real-id")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "image_not_found"


async def test_the_page_at_the_root_links_the_docs_and_holds_no_key(api: RunningApi) -> None:
    async with api.client(key=None) as client:
        page = await client.get("/")
        docs = await client.get("/docs")
        schema = await client.get("/openapi.json")
    assert page.status_code == 200 and 'href="/docs"' in page.text
    assert API_KEY not in page.text and "demo" not in page.text
    assert docs.status_code == 200 and schema.status_code == 200
    assert API_KEY not in schema.text


async def test_api_routes_are_closed_without_any_configured_key(serve_api: ApiFactory) -> None:
    async with serve_api(API_KEYS="") as api, api.client(key="anything") as client:
        answer = await client.get("/v1/models")
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "invalid_api_key"
    assert "API_KEYS" in answer.json()["error"]["message"]


async def test_a_body_over_the_cap_is_a_413_in_openai_shape(serve_api: ApiFactory) -> None:
    async with serve_api(MAX_REFERENCE_MB="0.1") as api, api.client() as client:
        answer = await client.post(
            "/v1/images/generations",
            content=b"x" * (3 * 1024 * 1024),
            headers={"content-type": "application/json"},
        )

        async def chunks():  # type: ignore[no-untyped-def]
            for _ in range(30):
                yield b"x" * 100_000

        chunked = await client.post("/v1/images/generations", content=chunks())
    assert answer.status_code == 413 and answer.json()["error"]["code"] == "request_too_large"
    assert chunked.status_code == 413


async def test_metrics_count_images_failures_and_show_the_queue_and_accounts(api: RunningApi) -> None:
    api.fake.script("acc1", "ok", "content_filter")
    async with api.client() as client:
        assert (await client.post("/v1/images/generations", json={"prompt": "a cat"})).status_code == 200
        assert (await client.post("/v1/images/generations", json={"prompt": "a dog"})).status_code == 400
        answer = await client.get("/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    text = answer.text
    assert 'imagine_images_total{route="generations"} 1.0' in text
    assert 'imagine_failures_total{kind="ContentFiltered"} 1.0' in text
    assert 'imagine_upstream_calls_total{account="#1",outcome="ok"} 1.0' in text
    assert "imagine_queue_depth 0.0" in text
    assert 'imagine_account_images_today{account="#1"} 1.0' in text
    assert "imagine_generation_seconds_bucket" in text
    assert API_KEY not in text and CF_TOKEN not in text


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/models"),
        ("POST", "/v1/images/generations"),
        ("POST", "/v1/images/edits"),
        ("POST", "/v1/chat/completions"),
    ],
)
async def test_every_api_route_wants_a_valid_key(api: RunningApi, method: str, path: str) -> None:
    async with api.client(key=None) as client:
        missing = await client.request(method, path, json={"prompt": "a cat"})
        wrong = await client.request(
            method, path, json={"prompt": "a cat"}, headers={"authorization": "Bearer sk-not-this-one"}
        )
    for answer in (missing, wrong):
        assert answer.status_code == 401
        assert answer.json()["error"]["code"] == "invalid_api_key"
    assert api.fake.calls == []
