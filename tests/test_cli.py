"""The CLI as a user runs it: ``python -m bot ...`` in a subprocess against the fake Workers AI."""

from __future__ import annotations

import asyncio
import io
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from tests.fakes.telegram_api import FakeTelegramBotAPI
from tests.fakes.workers_ai import SPENT, FakeWorkersAI

ROOT = Path(__file__).resolve().parent.parent
GOOD_TOKEN = "cf-good-token-0123456789"
BAD_TOKEN = "cf-bad-token-9876543210"


@dataclass
class Outcome:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


@pytest.fixture
async def fake() -> AsyncIterator[FakeWorkersAI]:
    async with FakeWorkersAI() as server:
        server.set_token(BAD_TOKEN, "bad")
        yield server


async def run_cli(*args: str, env: dict[str, str], cwd: Path) -> Outcome:
    """Run the CLI without blocking the loop the fake server lives in."""
    base = {
        k: v for k, v in os.environ.items() if not k.startswith(("CF_", "ACCOUNT_", "TELEGRAM_", "DISCORD_"))
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=cwd,
        env=base | {"PYTHONPATH": str(ROOT), "NO_PROXY": "127.0.0.1,localhost"} | env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return Outcome(process.returncode, out.decode(), err.decode())


def account_env(fake: FakeWorkersAI, tmp_path: Path, *tokens: str) -> dict[str, str]:
    env = {"CF_API_BASE_URL": fake.base_url, "DATABASE_PATH": str(tmp_path / "db.sqlite3")}
    for n, token in enumerate(tokens, start=1):
        env |= {f"CF_API_TOKEN_{n}": token, f"ACCOUNT_{n}": f"account-{n}-id"}
    return env


async def test_generate_writes_a_16_9_image_and_prints_what_was_done(
    fake: FakeWorkersAI, tmp_path: Path
) -> None:
    outcome = await run_cli(
        "generate",
        "a lighthouse 16:9",
        "--out",
        "x.png",
        env=account_env(fake, tmp_path, GOOD_TOKEN),
        cwd=tmp_path,
    )
    assert outcome.code == 0, outcome.text
    with Image.open(tmp_path / "x.png") as image:
        width, height = image.size
    assert width / height == pytest.approx(16 / 9, rel=0.02)
    for label in ("Prompt:", "Final prompt:", "Size:", "Seed:", "Model:", "Account:"):
        assert label in outcome.out
    assert f"{width}x{height}" in outcome.out
    assert GOOD_TOKEN not in outcome.text


async def test_generate_names_the_file_after_prompt_and_seed(fake: FakeWorkersAI, tmp_path: Path) -> None:
    outcome = await run_cli(
        "generate", "A Red Fox! --seed 42", env=account_env(fake, tmp_path, GOOD_TOKEN), cwd=tmp_path
    )
    assert outcome.code == 0, outcome.text
    image = tmp_path / "a-red-fox-42.png"
    assert image.exists() or (tmp_path / "a-red-fox-42.jpg").exists()


async def test_generate_with_a_reference(fake: FakeWorkersAI, tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (800, 800), "red").save(buffer, "PNG")
    (tmp_path / "ref.png").write_bytes(buffer.getvalue())
    outcome = await run_cli(
        "generate",
        "the same ball",
        "--ref",
        "ref.png",
        "--out",
        "o.png",
        env=account_env(fake, tmp_path, GOOD_TOKEN),
        cwd=tmp_path,
    )
    assert outcome.code == 0, outcome.text
    assert fake.calls[-1].reference_sizes == [(512, 512)]


async def test_generate_failure_is_one_clear_sentence(fake: FakeWorkersAI, tmp_path: Path) -> None:
    fake.default("account-1-id", SPENT)
    outcome = await run_cli("generate", "a cat", env=account_env(fake, tmp_path, GOOD_TOKEN), cwd=tmp_path)
    assert outcome.code == 1
    assert "used up its image allowance" in outcome.out
    assert "Traceback" not in outcome.text and GOOD_TOKEN not in outcome.text
    accounts = await run_cli("accounts", env=account_env(fake, tmp_path, GOOD_TOKEN), cwd=tmp_path)
    assert accounts.code == 0 and "spent" in accounts.out


async def test_doctor_reports_each_account_and_redacts_ids(fake: FakeWorkersAI, tmp_path: Path) -> None:
    outcome = await run_cli("doctor", env=account_env(fake, tmp_path, GOOD_TOKEN, BAD_TOKEN), cwd=tmp_path)
    assert outcome.code == 0, outcome.text
    rows = [line for line in outcome.out.splitlines() if line.startswith("#")]
    assert len(rows) == 2
    assert "active" in rows[0] and "invalid" in rows[1]
    assert "account-1-id" not in outcome.out and "…1-id" in rows[0]
    assert "1 of 2 account(s) working" in outcome.out
    assert GOOD_TOKEN not in outcome.text and BAD_TOKEN not in outcome.text


async def test_doctor_fails_when_no_account_works(fake: FakeWorkersAI, tmp_path: Path) -> None:
    outcome = await run_cli("doctor", env=account_env(fake, tmp_path, BAD_TOKEN), cwd=tmp_path)
    assert outcome.code == 1
    assert "0 of 1 account(s) working" in outcome.out


async def test_run_without_a_chat_platform_says_what_to_set(tmp_path: Path) -> None:
    outcome = await run_cli("run", env={"DATABASE_PATH": str(tmp_path / "db.sqlite3")}, cwd=tmp_path)
    assert outcome.code == 2
    assert "TELEGRAM_BOT_TOKEN" in outcome.out and "DISCORD_BOT_TOKEN" in outcome.out
    assert "API_KEYS" in outcome.out  # the third option: the HTTP API


async def test_bad_setting_names_the_variable_without_a_traceback(tmp_path: Path) -> None:
    outcome = await run_cli("doctor", env={"RATE_LIMIT_PER_DAY": "many"}, cwd=tmp_path)
    assert outcome.code == 2
    assert "RATE_LIMIT_PER_DAY" in outcome.err
    assert "Traceback" not in outcome.text


async def test_run_with_a_refused_telegram_token_says_so_in_one_line(
    fake: FakeWorkersAI, tmp_path: Path
) -> None:
    wrong = "123456:WRONG-token-value-that-the-server-refuses"
    async with FakeTelegramBotAPI(token="123456:the-real-token") as telegram:
        env = account_env(fake, tmp_path, GOOD_TOKEN) | {
            "TELEGRAM_BOT_TOKEN": wrong,
            "TELEGRAM_API_BASE_URL": telegram.base_url,
            "TELEGRAM_FILE_BASE_URL": telegram.base_file_url,
        }
        outcome = await run_cli("run", env=env, cwd=tmp_path)
    assert outcome.code in (1, 2)
    assert "could not start" in outcome.out
    assert "Traceback" not in outcome.text and wrong not in outcome.text
