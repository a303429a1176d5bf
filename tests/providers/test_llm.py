"""Chat clients: the external base's URL forms, answers and failures against a fake, and Workers AI's route."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from bot.core.accounts import AccountPool
from bot.core.clock import ManualClock
from bot.core.models import AccountHealth
from bot.errors import UpstreamUnavailable
from bot.providers.base import FailureKind, UpstreamFailure
from bot.providers.llm import ExternalChat, WorkersAIChat, chat_answer_text, chat_body, chat_completions_url
from bot.providers.workers_ai import WorkersAIClient
from bot.settings import AccountConfig
from bot.storage import SqliteAccountStateStore, SqliteDatabase
from tests.fakes import workers_ai as wa
from tests.fakes.llm import MALFORMED, FakeLLM, Reply, answer, error
from tests.fakes.workers_ai import FakeWorkersAI

KEY = "sk-test-SECRET-value-0123456789"
MESSAGES = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "a fox"}]


@pytest.fixture
async def llm() -> AsyncIterator[FakeLLM]:
    async with FakeLLM() as fake:
        yield fake


def external(
    http: httpx.AsyncClient, base: str, *, key: str | None = KEY, timeout: float = 5.0
) -> ExternalChat:
    return ExternalChat(
        http, base, model="test-model", api_key=SecretStr(key) if key else None, timeout=timeout
    )


@pytest.mark.parametrize(
    ("base", "url"),
    [
        ("http://llm.local", "http://llm.local/v1/chat/completions"),
        ("http://llm.local/", "http://llm.local/v1/chat/completions"),
        ("http://llm.local/v1", "http://llm.local/v1/chat/completions"),
        ("http://llm.local/v1/", "http://llm.local/v1/chat/completions"),
        ("https://api.groq.com/openai/v1", "https://api.groq.com/openai/v1/chat/completions"),
        ("https://openrouter.ai/api/v1", "https://openrouter.ai/api/v1/chat/completions"),
        (
            "https://generativelanguage.googleapis.com/v1beta/openai/",
            "https://generativelanguage.googleapis.com/v1beta/openai/chat/completions",
        ),
        ("http://proxy.local/api", "http://proxy.local/api/v1/chat/completions"),  # as the seed did
        ("http://llm.local/v1/chat/completions", "http://llm.local/v1/chat/completions"),
        (" http://llm.local:8080/v1 ", "http://llm.local:8080/v1/chat/completions"),
    ],
)
def test_chat_completions_url_accepts_bare_and_versioned_bases(base: str, url: str) -> None:
    assert chat_completions_url(base) == url


@pytest.mark.parametrize("suffix", ["", "/", "/v1", "/v1/"])
async def test_both_base_forms_reach_the_chat_path(
    llm: FakeLLM, http_client: httpx.AsyncClient, suffix: str
) -> None:
    text = await external(http_client, llm.base_url + suffix).complete(MESSAGES, request_id="r1")

    assert text == Reply().text
    (request,) = llm.requests
    assert request.path == "/v1/chat/completions"
    assert request.authorization == f"Bearer {KEY}"
    assert request.model == "test-model"
    assert request.messages == MESSAGES


async def test_no_key_sends_no_authorization(llm: FakeLLM, http_client: httpx.AsyncClient) -> None:
    await external(http_client, llm.base_url, key=None).complete(MESSAGES, request_id="r1")

    assert llm.requests[0].authorization is None


def test_no_model_leaves_the_field_out() -> None:
    assert "model" not in chat_body(None, MESSAGES)
    assert chat_body("m", MESSAGES, max_tokens=9) == {"model": "m", "messages": MESSAGES, "max_tokens": 9}


@pytest.mark.parametrize(
    ("reply", "kind", "status"),
    [
        (error(500), FailureKind.TRANSIENT, 500),
        (error(401, "Incorrect API key provided"), FailureKind.MISCONFIGURED, 401),
        (error(429, "Rate limit reached"), FailureKind.BUSY, 429),
        (error(404, "model not found"), FailureKind.BAD_INPUT, 404),
        (MALFORMED, FailureKind.TRANSIENT, 200),
        (Reply(body=b'{"error": {"message": "overloaded"}}'), FailureKind.TRANSIENT, 200),
        (Reply(body=b'{"choices": []}'), FailureKind.TRANSIENT, 200),
    ],
)
async def test_failures_are_classified_and_carry_no_key(
    llm: FakeLLM, http_client: httpx.AsyncClient, reply: Reply, kind: FailureKind, status: int
) -> None:
    llm.default(reply)

    with pytest.raises(UpstreamFailure) as caught:
        await external(http_client, llm.base_url).complete(MESSAGES, request_id="r1")

    assert caught.value.kind is kind
    assert caught.value.status == status
    assert KEY not in str(caught.value)


async def test_a_slow_server_times_out_as_a_transient_failure(
    llm: FakeLLM, http_client: httpx.AsyncClient
) -> None:
    llm.default(answer("too late", delay=30))
    started = time.perf_counter()

    with pytest.raises(UpstreamFailure) as caught:
        await external(http_client, llm.base_url, timeout=0.3).complete(MESSAGES, request_id="r1")

    assert caught.value.kind is FailureKind.TRANSIENT
    assert caught.value.detail.startswith("timeout")
    assert time.perf_counter() - started < 10


async def test_an_unreachable_server_is_a_transient_failure(http_client: httpx.AsyncClient) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(UpstreamFailure) as caught:
        await external(http_client, f"http://127.0.0.1:{port}").complete(MESSAGES, request_id="r1")
    assert caught.value.kind is FailureKind.TRANSIENT
    assert caught.value.status is None


@pytest.mark.parametrize(
    ("document", "text"),
    [
        (b'{"choices": [{"message": {"content": "a fox"}}]}', "a fox"),
        (b'{"choices": [{"message": {"content": null, "reasoning_content": "hm"}}]}', ""),
        (
            b'{"choices": [{"message": {"content": [{"type": "text", "text": "a "}, {"text": "fox"}]}}]}',
            "a fox",
        ),
        (b'{"result": {"response": "a fox"}, "success": true}', "a fox"),
    ],
)
def test_answer_text_from_the_usual_shapes(document: bytes, text: str) -> None:
    assert chat_answer_text(httpx.Response(200, content=document)) == text


@pytest.mark.parametrize(
    "document", [b"", b"[1, 2]", b'{"choices": [{"message": {"content": 42}}]}', b'{"success": false}']
)
def test_unreadable_answers_raise(document: bytes) -> None:
    with pytest.raises(UpstreamFailure):
        chat_answer_text(httpx.Response(200, content=document))


# --- Workers AI's own endpoint -----------------------------------------------------------------------


def accounts() -> list[AccountConfig]:
    return [
        AccountConfig(index=1, account_id="acc1", token="tok-one-SECRET"),
        AccountConfig(index=2, account_id="acc2", token="tok-two-SECRET"),
    ]


@pytest.fixture
async def pool(tmp_path: Path, clock: ManualClock) -> AsyncIterator[AccountPool]:
    async with SqliteDatabase(tmp_path / "pool.sqlite3") as db:
        pool = AccountPool(accounts(), SqliteAccountStateStore(db), clock)
        await pool.load()
        yield pool


def cf_chat(fake: FakeWorkersAI, http: httpx.AsyncClient, pool: AccountPool) -> WorkersAIChat:
    return WorkersAIChat(WorkersAIClient(http, fake.base_url), pool, model="@cf/meta/test-llm", timeout=5.0)


async def test_workers_ai_route_posts_to_the_account_chat_endpoint(
    fake_workers_ai: FakeWorkersAI, http_client: httpx.AsyncClient, pool: AccountPool
) -> None:
    fake_workers_ai.chat_answer = "A fox at dawn"

    text = await cf_chat(fake_workers_ai, http_client, pool).complete(MESSAGES, request_id="r1")

    assert text == "A fox at dawn"
    (call,) = fake_workers_ai.chat_calls
    assert (call.account_id, call.token, call.model) == ("acc1", "tok-one-SECRET", "@cf/meta/test-llm")
    assert call.messages == MESSAGES
    assert fake_workers_ai.calls == []  # no image call
    await pool.drain()
    statuses = await pool.statuses()
    assert statuses[0].images_today == 0
    assert statuses[0].neurons_today == pytest.approx(3.5)


async def test_workers_ai_route_fails_over_and_marks_the_spent_account(
    fake_workers_ai: FakeWorkersAI, http_client: httpx.AsyncClient, pool: AccountPool
) -> None:
    fake_workers_ai.script("acc1", wa.SPENT)

    await cf_chat(fake_workers_ai, http_client, pool).complete(MESSAGES, request_id="r1")

    assert [(c.account_id, c.behaviour) for c in fake_workers_ai.chat_calls] == [
        ("acc1", "spent"),
        ("acc2", "ok"),
    ]
    assert [s.health for s in await pool.statuses()] == [AccountHealth.SPENT, AccountHealth.HEALTHY]


@pytest.mark.parametrize(
    ("behaviour", "raised"), [(wa.PAID_ONLY, UpstreamFailure), (wa.CAPACITY, UpstreamUnavailable)]
)
async def test_text_model_trouble_leaves_the_account_in_image_rotation(
    fake_workers_ai: FakeWorkersAI,
    http_client: httpx.AsyncClient,
    pool: AccountPool,
    behaviour: wa.Behaviour,
    raised: type[Exception],
) -> None:
    fake_workers_ai.default("acc1", behaviour)
    fake_workers_ai.default("acc2", behaviour)

    with pytest.raises(raised):
        await cf_chat(fake_workers_ai, http_client, pool).complete(MESSAGES, request_id="r1")

    assert [s.health for s in await pool.statuses()] == [AccountHealth.HEALTHY, AccountHealth.HEALTHY]


async def test_workers_ai_chat_failure_kinds(
    fake_workers_ai: FakeWorkersAI, http_client: httpx.AsyncClient
) -> None:
    client = WorkersAIClient(http_client, fake_workers_ai.base_url)
    account = accounts()[0]
    body = {"model": "@cf/meta/test-llm", "messages": MESSAGES}
    expected = {
        wa.SPENT: FailureKind.SPENT,
        wa.UNAUTHORIZED: FailureKind.MISCONFIGURED,
        wa.PAID_ONLY: FailureKind.NO_MODEL,
        wa.CAPACITY: FailureKind.TRANSIENT,
        wa.HTML_500: FailureKind.TRANSIENT,
    }
    for behaviour, kind in expected.items():
        fake_workers_ai.script("acc1", behaviour)
        with pytest.raises(UpstreamFailure) as caught:
            await client.chat_completion(account, body)
        assert caught.value.kind is kind, behaviour
        assert "tok-one-SECRET" not in str(caught.value)


async def test_workers_ai_chat_honours_the_request_timeout(
    fake_workers_ai: FakeWorkersAI, http_client: httpx.AsyncClient
) -> None:
    fake_workers_ai.script("acc1", wa.timeout(30))
    client = WorkersAIClient(http_client, fake_workers_ai.base_url)
    started = time.perf_counter()

    with pytest.raises(UpstreamFailure) as caught:
        await client.chat_completion(
            accounts()[0], {"model": "@cf/m", "messages": MESSAGES}, request_timeout=0.3
        )

    assert caught.value.detail.startswith("timeout")
    assert time.perf_counter() - started < 10
