"""Schemathesis over ``/openapi.json`` against the running server (fake Workers AI behind it).

No 5xx, every response as the schema says, no secret in any body. The server runs in a thread with its own
event loop, because schemathesis calls it synchronously.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import CheckContext
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance

from bot.adapters.http import build_http_adapter
from bot.app import open_app
from bot.settings import load_settings
from tests.adapters.http.conftest import ACCOUNT, API_KEY, CF_TOKEN, OTHER_KEY
from tests.fakes.workers_ai import FakeWorkersAI

#: examples over all operations: enough to hit every route and field shape, small enough for a fast suite
EXAMPLES = 150
SECRETS = (API_KEY, OTHER_KEY, CF_TOKEN)


async def _serve(tmp: Path, started: Future[tuple[str, FakeWorkersAI]], stop: asyncio.Event) -> None:
    async with FakeWorkersAI() as fake:
        settings_ = load_settings(
            None,
            {
                "CF_API_BASE_URL": fake.base_url,
                "CF_API_TOKEN_1": CF_TOKEN,
                "ACCOUNT_1": ACCOUNT,
                "DATABASE_PATH": str(tmp / "fuzz.sqlite3"),
                "API_KEYS": f"demo={API_KEY},other={OTHER_KEY}",
                "HTTP_HOST": "127.0.0.1",
                "HTTP_PORT": "0",
                "RATE_LIMIT_PER_MINUTE": "0",
                "RATE_LIMIT_PER_DAY": "0",
                "MAX_QUEUED_PER_USER": "50",
            },
        )
        async with open_app(settings_) as app:
            adapter = build_http_adapter(app, {"HTTP": True})
            await adapter.start()
            started.set_result((f"http://127.0.0.1:{adapter.port}", fake))
            try:
                await stop.wait()
            finally:
                await adapter.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, FakeWorkersAI]]:
    """The real stack on loopback, in a thread of its own; yields its base URL and the fake upstream."""
    loop = asyncio.new_event_loop()
    started: Future[tuple[str, FakeWorkersAI]] = Future()
    stop = asyncio.Event()
    thread = threading.Thread(
        target=loop.run_until_complete,
        args=(_serve(tmp_path_factory.mktemp("fuzz"), started, stop),),
        daemon=True,
    )
    thread.start()
    try:
        yield started.result(timeout=60)
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=30)
        loop.close()


@schemathesis.check
def no_secret_in_body(ctx: CheckContext, response: schemathesis.Response, case: schemathesis.Case) -> bool:
    """No API key or Cloudflare token in any answer."""
    for secret in SECRETS:
        assert secret not in response.text, "a secret appears in the response body"
    return True


def test_the_api_holds_to_its_schema(server: tuple[str, FakeWorkersAI]) -> None:
    base_url, fake = server
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    cases = schema.as_strategy(GenerationMode.POSITIVE) | schema.as_strategy(GenerationMode.NEGATIVE)

    @given(case=cases)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def call(case: schemathesis.Case) -> None:
        # Valid by the schema is not always valid for the bot (a prompt may name a ratio it cannot draw): a
        # 400 in OpenAI's shape is the right answer there, so positive_data_acceptance is left out. ignored_auth
        # cannot tell our real key from a generated one; test_system checks every API route without a key.
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {API_KEY}"}
        case.call_and_validate(
            excluded_checks=[positive_data_acceptance, ignored_auth],
            additional_checks=[no_secret_in_body],
            timeout=60,
        )

    call()
    assert fake.calls, "the fuzzer never got a request through to the upstream"
