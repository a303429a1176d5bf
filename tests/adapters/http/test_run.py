"""``imagine-bot run`` with only the HTTP side configured: a valid deployment, no chat token needed."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import httpx

from tests.adapters.http.conftest import API_KEY
from tests.fakes.workers_ai import FakeWorkersAI

ROOT = Path(__file__).resolve().parents[3]
CF_TOKEN = "cf-run-token-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_run_serves_the_api_alone_and_stops_cleanly_on_sigterm(
    fake: FakeWorkersAI, tmp_path: Path
) -> None:
    port = free_port()
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CF_", "ACCOUNT_", "TELEGRAM_", "DISCORD_", "API_"))
    }
    env = base | {
        "PYTHONPATH": str(ROOT),
        "NO_PROXY": "127.0.0.1,localhost",
        "CF_API_BASE_URL": fake.base_url,
        "CF_API_TOKEN_1": CF_TOKEN,
        "ACCOUNT_1": "acc1",
        "DATABASE_PATH": str(tmp_path / "db.sqlite3"),
        "API_KEYS": f"demo={API_KEY}",
        "HTTP_HOST": "127.0.0.1",
        "PORT": str(port),  # the PaaS convention; HTTP_PORT unset
        "LOG_LEVEL": "DEBUG",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    line = await asyncio.wait_for(process.stdout.readline(), timeout=60)
    assert line.decode().strip() == "HTTP is running."
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        health = (await client.get("/health")).json()
        models = await client.get("/v1/models", headers={"authorization": f"Bearer {API_KEY}"})
    assert health["adapters"] == {"HTTP": True}
    assert models.status_code == 200
    process.send_signal(signal.SIGTERM)
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0
    logs = line.decode() + out.decode() + err.decode()
    assert "Traceback" not in logs
    assert API_KEY not in logs and CF_TOKEN not in logs
