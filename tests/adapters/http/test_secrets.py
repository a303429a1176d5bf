"""No API key, Cloudflare token or LLM key in any HTTP answer, page or log line (``run``'s redacting logs)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from bot.logs import configure_logging
from tests.adapters.http.conftest import API_KEY, CF_TOKEN, OTHER_KEY, ApiFactory
from tests.fakes.llm import FakeLLM, error

LLM_KEY = "sk-llm-SECRET-5550123456789"


@pytest.fixture
def debug_logs(capsys: pytest.CaptureFixture[str]) -> Iterator[pytest.CaptureFixture[str]]:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    yield capsys
    root.handlers[:], level = saved
    root.setLevel(level)


async def test_no_secret_in_answers_pages_or_logs(
    serve_api: ApiFactory, debug_logs: pytest.CaptureFixture[str]
) -> None:
    async with FakeLLM() as llm:
        llm.script(error(500, f"bad key {LLM_KEY}"))  # an upstream that echoes the key back
        env = {"PROMPT_OPTIMIZATION": "true", "EXTERNAL_API_BASE": llm.base_url, "EXTERNAL_API_KEY": LLM_KEY}
        async with serve_api(**env) as api:
            configure_logging("DEBUG", api.app.settings.secrets)  # as ``run`` does
            api.fake.script("acc1", "html_500")  # a failed upstream call: its error is logged
            bodies: list[str] = []
            async with api.client() as client:
                for path in ("/", "/docs", "/openapi.json", "/health", "/metrics", "/v1/models"):
                    bodies.append((await client.get(path)).text)
                for body in (
                    {"prompt": "a cat"},
                    {"prompt": f"my key is {API_KEY}"},
                    {"prompt": "a dog", "response_format": "url"},
                ):
                    bodies.append((await client.post("/v1/images/generations", json=body)).text)
                chat = {"model": "x", "stream": True, "messages": [{"role": "user", "content": "a bird"}]}
                bodies.append((await client.post("/v1/chat/completions", json=chat)).text)
            async with api.client(key=OTHER_KEY[:-1]) as wrong:  # nearly the other key
                bodies.append((await wrong.get("/v1/models")).text)
    logs = debug_logs.readouterr()
    assert len(api.fake.calls) >= 2 and llm.chat_requests  # the calls that could have leaked happened
    seen = "\n".join(bodies) + logs.out + logs.err
    for secret in (API_KEY, OTHER_KEY, CF_TOKEN, LLM_KEY):
        # the prompt that quoted the key is refused or redacted before it could come back
        assert secret not in seen.replace(f"my key is {API_KEY}", ""), secret
    assert "DEBUG" in logs.err  # the log really was captured at its most talkative
