"""Replica processes for the tests and benchmarks: ``python -m bot run`` (the image's command) on one database."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench.pg_cluster import free_port

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class ReplicaProcess:
    process: asyncio.subprocess.Process
    port: int
    #: what it wrote to stderr, once it has stopped
    stderr: str = field(default="")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def replica_env(
    cf_base_url: str, database_url: str, api_keys: Mapping[str, str], *, accounts: int, **settings: str
) -> dict[str, str]:
    """The environment of one replica: only the HTTP side, ``accounts`` Cloudflare accounts ``acc1``..."""
    base = {
        k: v for k, v in os.environ.items() if not k.startswith(("CF_", "ACCOUNT_", "TELEGRAM_", "DISCORD_"))
    }
    env = base | {
        "PYTHONPATH": str(ROOT),
        "NO_PROXY": "127.0.0.1,localhost",
        "PTB_TIMEDELTA": "true",
        "CF_API_BASE_URL": cf_base_url,
        "DATABASE_URL": database_url,
        "API_KEYS": ",".join(f"{name}={key}" for name, key in api_keys.items()),
        "HTTP_HOST": "127.0.0.1",
        **settings,
    }
    for n in range(1, accounts + 1):
        env |= {f"CF_API_TOKEN_{n}": f"cf-token-{n}-0123456789abcdef", f"ACCOUNT_{n}": f"acc{n}"}
    return env


@asynccontextmanager
async def run_replicas(
    count: int, env: Mapping[str, str], cwd: Path, *, ports: Sequence[int] | None = None
) -> AsyncIterator[list[ReplicaProcess]]:
    """Start ``count`` replicas together (they race for the migrations), yield once each serves, then SIGTERM.
    ``ports``: the HTTP port of each (e.g. ones a load balancer was given already); free ones by default."""
    started: list[ReplicaProcess] = []
    try:
        for index in range(count):
            port = ports[index] if ports is not None else free_port()
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", cwd=cwd, env={**env, "HTTP_PORT": str(port)},
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            started.append(ReplicaProcess(process, port))
        for replica in started:
            assert replica.process.stdout is not None
            # one line per adapter ("Telegram is running.", ...); the HTTP side starts last
            while (
                line := await asyncio.wait_for(replica.process.stdout.readline(), timeout=90)
            ) != b"HTTP is running.\n":
                if not line.decode().strip().endswith(" is running."):
                    raise RuntimeError(f"a replica did not start: {line.decode().strip()}")
        yield started
    finally:
        for replica in started:
            if replica.process.returncode is None:
                replica.process.send_signal(signal.SIGTERM)
        for replica in started:
            _, err = await asyncio.wait_for(replica.process.communicate(), timeout=60)
            replica.stderr = err.decode()
