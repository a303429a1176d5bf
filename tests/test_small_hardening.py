"""Issue #10's smaller findings: doctor's deadline, the HTTP connection limit, a key inside EXTERNAL_API_BASE."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from bot.app import open_app
from bot.core.models import GenerationRequest, UserRef
from bot.logs import configure_logging
from bot.settings import load_settings
from tests.fakes.workers_ai import FakeWorkersAI, ok
from tests.test_cli import GOOD_TOKEN, account_env, run_cli

KEY = "sk-live-0123456789abcdef"


async def test_doctor_gives_up_on_a_trickling_upstream_and_says_so(tmp_path: Path) -> None:
    async with FakeWorkersAI() as fake:
        fake.verify_trickle = 0.1  # a byte every 0.1 s: no read ever times out
        env = account_env(fake, tmp_path, GOOD_TOKEN) | {
            "HTTP_TIMEOUT_SECONDS": "0.5",
            "HTTP_CONNECT_TIMEOUT_SECONDS": "0.5",
        }
        outcome = await run_cli("doctor", env=env, cwd=tmp_path)
    assert outcome.code == 1, outcome.text
    assert "unreachable (no complete answer within 1.5 s)" in outcome.out
    assert "0 of 1 account(s) working" in outcome.out


async def test_the_http_client_carries_as_many_generations_as_may_run_at_once(tmp_path: Path) -> None:
    """httpx's default pool (100 connections) made generations 101..200 wait for a connection."""
    running = 130
    async with FakeWorkersAI() as fake:
        fake.default("acc1", ok(delay=60))  # held until released below
        env = account_env(fake, tmp_path, GOOD_TOKEN) | {
            "ACCOUNT_1": "acc1",
            "MAX_CONCURRENT_GENERATIONS": str(running),
            "RATE_LIMIT_PER_MINUTE": "0",
            "RATE_LIMIT_PER_DAY": "0",
        }
        async with open_app(load_settings(None, env)) as app:
            jobs = [
                asyncio.create_task(app.service.generate(GenerationRequest(UserRef("cli", str(n)), "a cat")))
                for n in range(running)
            ]
            async with asyncio.timeout(30):
                while len(fake.calls) < running:  # noqa: ASYNC110 - the fake records each call on arrival
                    await asyncio.sleep(0.05)
            fake.release()
            results = await asyncio.gather(*jobs)
    assert len(results) == running and len(fake.calls) == running


def test_a_key_written_into_external_api_base_is_a_secret(tmp_path: Path) -> None:
    url = f"https://user:{KEY}@llm.example.test/v1"
    settings = load_settings(None, {"EXTERNAL_API_BASE": url, "DATABASE_PATH": str(tmp_path / "db")})
    redactor = configure_logging("INFO", settings.secrets)
    assert KEY not in redactor(f"calling {url}")
    bare = load_settings(None, {"EXTERNAL_API_BASE": f"https://{KEY}@llm.example.test/v1"})
    assert KEY in bare.secrets


async def test_the_optimiser_is_logged_by_host_without_the_key(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    env = {
        "DATABASE_PATH": str(tmp_path / "db.sqlite3"),
        "PROMPT_OPTIMIZATION": "true",
        "EXTERNAL_API_BASE": f"http://user:{KEY}@127.0.0.1:9/v1",
        "EXTERNAL_MODEL": "m",
    }
    with caplog.at_level(logging.INFO):
        async with open_app(load_settings(None, env)):
            pass
    assert "prompt optimisation by m at 127.0.0.1:9" in caplog.text
    assert KEY not in caplog.text
