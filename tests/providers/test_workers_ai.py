"""WorkersAIClient against the local fake: request shapes per family, answers, failures, token checks."""

from __future__ import annotations

import base64
import io
import logging
import socket

import httpx
import pytest
from PIL import Image

from bot.core.models import ImageSize, ProviderJob
from bot.providers.base import FailureKind, TokenState, UpstreamFailure
from bot.providers.catalogue import (
    DREAMSHAPER,
    FLUX1_SCHNELL,
    FLUX2_DEV,
    FLUX2_KLEIN_4B,
    LUCID_ORIGIN,
    PHOENIX,
    SDXL_BASE,
    model_spec,
)
from bot.providers.workers_ai import WorkersAIClient
from bot.settings import AccountConfig
from tests.fakes import workers_ai as fakes
from tests.fakes.workers_ai import FakeWorkersAI
from tests.providers.conftest import ImageFactory


def job(model: str, **changes: object) -> ProviderJob:
    values: dict[str, object] = {
        "model": model_spec(model),
        "prompt": "a lighthouse at dusk",
        "size": ImageSize(768, 512),
        "seed": 1234,
    }
    values.update(changes)
    return ProviderJob(**values)  # type: ignore[arg-type]


def decoded_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size


async def test_flux2_klein_sends_multipart_without_steps(
    workers_ai: WorkersAIClient, fake_workers_ai: FakeWorkersAI, account: AccountConfig
) -> None:
    image = await workers_ai.generate(account, job(FLUX2_KLEIN_4B, steps=9))

    (call,) = fake_workers_ai.calls
    assert call.model == FLUX2_KLEIN_4B
    assert call.content_type == "multipart/form-data"
    assert call.fields == {"prompt": "a lighthouse at dusk", "width": "768", "height": "512", "seed": "1234"}
    assert image.mime == "image/png"
    assert decoded_size(image.data) == (768, 512)
    assert image.neurons == pytest.approx(26.0 * 2)
    assert image.upstream_request_id


async def test_flux2_dev_sends_default_and_clamped_steps(
    workers_ai: WorkersAIClient, fake_workers_ai: FakeWorkersAI, account: AccountConfig
) -> None:
    await workers_ai.generate(account, job(FLUX2_DEV))
    await workers_ai.generate(account, job(FLUX2_DEV, steps=500))

    assert [call.steps for call in fake_workers_ai.calls] == [25, 50]
    assert fake_workers_ai.images_served == 2


async def test_flux2_sends_references_as_numbered_files(
    workers_ai: WorkersAIClient,
    fake_workers_ai: FakeWorkersAI,
    account: AccountConfig,
    make_image: ImageFactory,
) -> None:
    references = (make_image(512, 256, "JPEG"), make_image(100, 300, "PNG", "RGBA", (0, 0, 0, 0)))

    await workers_ai.generate(account, job(FLUX2_KLEIN_4B, references=references))

    (call,) = fake_workers_ai.calls
    assert call.reference_sizes == [(512, 256), (100, 300)]
    assert call.reference_bytes == [len(references[0]), len(references[1])]
    assert call.fields["prompt"] == "a lighthouse at dusk"


async def test_too_many_references_fail_before_any_call(
    workers_ai: WorkersAIClient,
    fake_workers_ai: FakeWorkersAI,
    account: AccountConfig,
    make_image: ImageFactory,
) -> None:
    five = (make_image(64, 64),) * 5

    with pytest.raises(UpstreamFailure) as caught:
        await workers_ai.generate(account, job(FLUX2_KLEIN_4B, references=five))
    with pytest.raises(UpstreamFailure):
        await workers_ai.generate(account, job(SDXL_BASE, references=five[:1]))

    assert caught.value.kind is FailureKind.BAD_INPUT
    assert fake_workers_ai.calls == []


async def test_schnell_sends_json_prompt_and_steps_only(
    workers_ai: WorkersAIClient, fake_workers_ai: FakeWorkersAI, account: AccountConfig
) -> None:
    image = await workers_ai.generate(account, job(FLUX1_SCHNELL, negative="blur"))

    (call,) = fake_workers_ai.calls
    assert call.content_type == "application/json"
    assert call.fields == {"prompt": "a lighthouse at dusk", "steps": "4"}
    assert image.mime == "image/jpeg"
    assert decoded_size(image.data) == (1024, 1024)


async def test_sd_answers_raw_png_and_gets_negative_prompt(
    workers_ai: WorkersAIClient, fake_workers_ai: FakeWorkersAI, account: AccountConfig
) -> None:
    image = await workers_ai.generate(account, job(DREAMSHAPER, negative="blurry", steps=12))

    (call,) = fake_workers_ai.calls
    assert call.fields == {
        "prompt": "a lighthouse at dusk",
        "width": "768",
        "height": "512",
        "seed": "1234",
        "num_steps": "12",
        "negative_prompt": "blurry",
    }
    assert image.mime == "image/png"
    assert decoded_size(image.data) == (768, 512)


async def test_leonardo_models_raw_jpeg_and_base64(
    workers_ai: WorkersAIClient, fake_workers_ai: FakeWorkersAI, account: AccountConfig
) -> None:
    phoenix = await workers_ai.generate(account, job(PHOENIX, negative="text"))
    lucid = await workers_ai.generate(account, job(LUCID_ORIGIN, negative="text"))

    phoenix_call, lucid_call = fake_workers_ai.calls
    assert phoenix_call.fields["negative_prompt"] == "text"
    assert phoenix_call.steps == 25
    assert "negative_prompt" not in lucid_call.fields  # lucid-origin's schema has none
    assert (phoenix.mime, lucid.mime) == ("image/jpeg", "image/jpeg")
    assert decoded_size(lucid.data) == (768, 512)


@pytest.mark.parametrize(
    ("behaviour", "kind", "code"),
    [
        (fakes.SPENT, FailureKind.SPENT, 3036),
        (fakes.SPENT_4006, FailureKind.SPENT, 4006),
        (fakes.CAPACITY, FailureKind.BUSY, 3040),
        (fakes.UNAUTHORIZED, FailureKind.MISCONFIGURED, 10000),
        (fakes.BAD_ACCOUNT, FailureKind.MISCONFIGURED, 7003),
        (fakes.PAID_ONLY, FailureKind.MISCONFIGURED, 5035),
        (fakes.CONTENT_FILTER, FailureKind.CONTENT_FILTER, 3030),
        (fakes.HTML_500, FailureKind.TRANSIENT, None),
        (fakes.MALFORMED_JSON, FailureKind.TRANSIENT, None),
    ],
)
async def test_error_behaviours_are_classified(
    workers_ai: WorkersAIClient,
    fake_workers_ai: FakeWorkersAI,
    account: AccountConfig,
    behaviour: fakes.Behaviour,
    kind: FailureKind,
    code: int | None,
) -> None:
    fake_workers_ai.script(account.account_id, behaviour)

    with pytest.raises(UpstreamFailure) as caught:
        await workers_ai.generate(account, job(FLUX2_KLEIN_4B))

    assert (caught.value.kind, caught.value.code) == (kind, code)
    assert account.token not in str(caught.value)
    assert fake_workers_ai.images_served == 0


async def test_rate_limit_carries_retry_after(
    workers_ai: WorkersAIClient, fake_workers_ai: FakeWorkersAI, account: AccountConfig
) -> None:
    fake_workers_ai.script(account.account_id, fakes.rate_limited(7))

    with pytest.raises(UpstreamFailure) as caught:
        await workers_ai.generate(account, job(FLUX2_KLEIN_4B))

    assert caught.value.kind is FailureKind.BUSY
    assert caught.value.retry_after == 7
    assert caught.value.upstream_request_id


async def test_script_runs_out_then_default_applies(
    workers_ai: WorkersAIClient, fake_workers_ai: FakeWorkersAI, account: AccountConfig
) -> None:
    fake_workers_ai.default(account.account_id, "capacity")
    fake_workers_ai.script(account.account_id, "ok", fakes.SPENT)

    await workers_ai.generate(account, job(FLUX2_KLEIN_4B))
    kinds = []
    for _ in range(2):
        with pytest.raises(UpstreamFailure) as caught:
            await workers_ai.generate(account, job(FLUX2_KLEIN_4B))
        kinds.append(caught.value.kind)

    assert kinds == [FailureKind.SPENT, FailureKind.BUSY]
    assert [c.behaviour for c in fake_workers_ai.calls_for(account.account_id)] == ["ok", "spent", "capacity"]
    assert fake_workers_ai.calls_for("someone-else") == []


async def test_bad_token_is_misconfigured(
    workers_ai: WorkersAIClient, fake_workers_ai: FakeWorkersAI, account: AccountConfig
) -> None:
    fake_workers_ai.set_token(account.token, "bad")

    with pytest.raises(UpstreamFailure) as caught:
        await workers_ai.generate(account, job(FLUX2_KLEIN_4B))

    assert caught.value.kind is FailureKind.MISCONFIGURED
    assert caught.value.status == 401


async def test_client_timeout_is_unreachable(fake_workers_ai: FakeWorkersAI, account: AccountConfig) -> None:
    fake_workers_ai.script(account.account_id, fakes.timeout(30))
    async with httpx.AsyncClient(timeout=0.3, trust_env=False) as http:
        client = WorkersAIClient(http, fake_workers_ai.base_url)
        with pytest.raises(UpstreamFailure) as caught:
            await client.generate(account, job(FLUX2_KLEIN_4B))

    assert caught.value.kind is FailureKind.UNREACHABLE  # transient, and the account rests a while
    assert "timeout" in caught.value.detail
    assert fake_workers_ai.images_served == 0


async def test_slow_ok_still_answers(
    workers_ai: WorkersAIClient, fake_workers_ai: FakeWorkersAI, account: AccountConfig
) -> None:
    fake_workers_ai.script(account.account_id, fakes.ok(delay=0.05))

    image = await workers_ai.generate(account, job(FLUX2_KLEIN_4B))

    assert decoded_size(image.data) == (768, 512)
    assert fake_workers_ai.calls[0].behaviour == "ok"


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/client/v4"


async def test_connection_refused_is_transient(
    http_client: httpx.AsyncClient, account: AccountConfig
) -> None:
    client = WorkersAIClient(http_client, closed_port_url())

    with pytest.raises(UpstreamFailure) as caught:
        await client.generate(account, job(FLUX2_KLEIN_4B))

    assert caught.value.kind is FailureKind.TRANSIENT
    assert account.token not in caught.value.detail


async def test_fake_rejects_flux2_as_json(
    http_client: httpx.AsyncClient, fake_workers_ai: FakeWorkersAI
) -> None:
    url = f"{fake_workers_ai.base_url}/accounts/a/ai/run/{FLUX2_KLEIN_4B}"

    answer = await http_client.post(url, json={"prompt": "x"}, headers={"Authorization": "Bearer t"})

    assert answer.status_code == 400
    assert answer.json()["errors"][0]["code"] == 5006
    assert "multipart" in answer.json()["errors"][0]["message"]


async def test_fake_rejects_schnell_with_size(
    http_client: httpx.AsyncClient, fake_workers_ai: FakeWorkersAI
) -> None:
    url = f"{fake_workers_ai.base_url}/accounts/a/ai/run/{FLUX1_SCHNELL}"

    answer = await http_client.post(
        url, json={"prompt": "x", "width": 512, "height": 512}, headers={"Authorization": "Bearer t"}
    )

    assert answer.json()["errors"][0]["code"] == 5006
    assert "Additional or unevaluated properties" in answer.json()["errors"][0]["message"]


async def test_undecodable_reference_is_bad_input_not_content_filter(
    workers_ai: WorkersAIClient, fake_workers_ai: FakeWorkersAI, account: AccountConfig
) -> None:
    with pytest.raises(UpstreamFailure) as caught:
        await workers_ai.generate(account, job(FLUX2_KLEIN_4B, references=(b"not an image at all",)))

    assert (caught.value.kind, caught.value.code) == (FailureKind.BAD_INPUT, 3030)
    assert "unable to decode" in caught.value.detail


async def test_oversized_reference_is_refused_by_the_fake(
    workers_ai: WorkersAIClient, account: AccountConfig, make_image: ImageFactory
) -> None:
    with pytest.raises(UpstreamFailure) as caught:
        await workers_ai.generate(account, job(FLUX2_DEV, references=(make_image(600, 200),)))

    assert caught.value.kind is FailureKind.BAD_INPUT


async def test_one_log_line_per_call_without_secrets(
    workers_ai: WorkersAIClient,
    fake_workers_ai: FakeWorkersAI,
    account: AccountConfig,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake_workers_ai.script(account.account_id, "ok", "spent")
    caplog.set_level(logging.INFO, logger="bot.providers.workers_ai")

    await workers_ai.generate(account, job(FLUX2_KLEIN_4B))
    with pytest.raises(UpstreamFailure):
        await workers_ai.generate(account, job(FLUX2_KLEIN_4B))

    records = [r for r in caplog.records if r.name == "bot.providers.workers_ai"]
    assert [r.levelno for r in records] == [logging.INFO, logging.WARNING]
    for record in records:
        text = record.getMessage()
        assert account.label in text and FLUX2_KLEIN_4B in text
        assert account.token not in text and fake_workers_ai.base_url not in text
    assert "spent" in records[1].getMessage()


@pytest.mark.parametrize(
    ("kind", "state", "paths"),
    [
        ("account", TokenState.ACTIVE, ["account"]),
        ("user", TokenState.ACTIVE, ["account", "user"]),
        ("bad", TokenState.INVALID, ["account", "user"]),
        ("disabled", TokenState.INVALID, ["account", "user"]),
    ],
)
async def test_verify_token(
    workers_ai: WorkersAIClient,
    fake_workers_ai: FakeWorkersAI,
    account: AccountConfig,
    kind: str,
    state: TokenState,
    paths: list[str],
) -> None:
    fake_workers_ai.set_token(account.token, kind)

    check = await workers_ai.verify_token(account)

    assert check.state is state
    assert [path for path, _ in fake_workers_ai.verify_calls] == paths
    assert account.token not in check.detail


async def test_verify_token_unreachable(http_client: httpx.AsyncClient, account: AccountConfig) -> None:
    check = await WorkersAIClient(http_client, closed_port_url()).verify_token(account)

    assert check.state is TokenState.UNREACHABLE


def answering(status: int, content: bytes, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=content, headers=headers or {})

    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


@pytest.mark.parametrize(
    "content",
    [
        b'{"result": {}, "success": true}',
        b'{"result": {"image": "%%% not base64 %%%"}}',
        b'{"result": {"image": "aGVsbG8gd29ybGQ="}}',  # valid base64, but "hello world" is no image
        b'{"result": "oops"}',
        b"[1, 2]",
        b"",
    ],
)
async def test_200_without_a_usable_image_is_transient(account: AccountConfig, content: bytes) -> None:
    async with answering(200, content, {"cf-ai-req-id": "r-9"}) as http:
        with pytest.raises(UpstreamFailure) as caught:
            await WorkersAIClient(http, "https://api.test/client/v4").generate(account, job(FLUX2_KLEIN_4B))

    assert caught.value.kind is FailureKind.TRANSIENT
    assert caught.value.upstream_request_id == "r-9"


async def test_200_with_error_envelope_is_classified(account: AccountConfig) -> None:
    content = b'{"success": false, "errors": [{"code": 3040, "message": "Capacity temporarily exceeded"}]}'
    async with answering(200, content) as http:
        with pytest.raises(UpstreamFailure) as caught:
            await WorkersAIClient(http, "https://api.test/client/v4").generate(account, job(FLUX2_KLEIN_4B))

    assert caught.value.kind is FailureKind.BUSY


async def test_raw_webp_and_data_url_answers(account: AccountConfig, make_image: ImageFactory) -> None:
    webp = make_image(8, 8, "WEBP")
    png = make_image(8, 8)
    data_url = b'{"result": {"image": "data:image/png;base64,' + base64.b64encode(png) + b'"}}'
    client_answers = []
    for content in (webp, data_url):
        async with answering(200, content, {"cf-ai-neurons": "not-a-number"}) as http:
            client = WorkersAIClient(http, "https://api.test/client/v4")
            client_answers.append(await client.generate(account, job(SDXL_BASE)))

    assert [(a.mime, a.neurons) for a in client_answers] == [("image/webp", None), ("image/png", None)]
    assert client_answers[1].data == png
