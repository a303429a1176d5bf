"""Benchmark: what the HTTP side adds, through the real stack (httpx → uvicorn → FastAPI → core → provider).

Overhead of ``POST /v1/images/generations`` (b64) over a provider with fixed latency L, beside a bare uvicorn
route that sleeps L and answers the same bytes (same process, same client, so the client's CPU is in both
columns); and the time from sending a streamed ``/v1/chat/completions`` to its first progress chunk.
"""

from __future__ import annotations

import asyncio
import json
import math
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from starlette.types import Receive, Scope, Send

from bench.common import FixedLatencyProvider, Row, bench_settings, ms, percentile
from bot.adapters.http import build_http_adapter
from bot.adapters.http.server import listen_socket, serve_embedded
from bot.app import open_app

NAME = "HTTP API"
KEY = "sk-bench-0123456789"
Once = Callable[[httpx.AsyncClient, int], Awaitable[None]]


@dataclass(frozen=True)
class Config:
    latencies: tuple[float, ...] = (0.0, 0.5)
    concurrencies: tuple[int, ...] = (1, 10, 100)
    samples: int = 400
    budget_seconds: float = 15.0
    warmup: int = 20
    stream_samples: int = 50


FULL = Config()
QUICK = Config(samples=40, budget_seconds=1.5, warmup=5, stream_samples=10)


class BareRoute:
    """The reference: a raw ASGI app under uvicorn that reads the body, sleeps L and answers fixed bytes."""

    def __init__(self, body: bytes, latency: float) -> None:
        self.body = body
        self.latency = latency

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False)
        await asyncio.sleep(self.latency)
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(self.body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": self.body})


async def serve_bare(app: BareRoute) -> tuple[uvicorn.Server, asyncio.Task[None], int]:
    sock = listen_socket("127.0.0.1", 0)
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off")
    server, task = await serve_embedded(config, sock)
    return server, task, sock.getsockname()[1]


def rounds(config: Config, latency: float, concurrency: int) -> int:
    wanted = math.ceil(config.samples / concurrency)
    if latency > 0:
        wanted = min(wanted, int(config.budget_seconds / latency))
    return max(1, wanted)


async def closed_loop(
    client: httpx.AsyncClient, concurrency: int, count: int, once: Once
) -> tuple[list[float], float]:
    samples: list[float] = []

    async def worker(w: int) -> None:
        for i in range(count):
            start = time.perf_counter()
            await once(client, w * 1_000_000 + i)
            samples.append(time.perf_counter() - start)

    start = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    return samples, time.perf_counter() - start


def generation(base: str) -> Once:
    async def once(client: httpx.AsyncClient, i: int) -> None:
        answer = await client.post(
            f"{base}/v1/images/generations", json={"prompt": f"a lighthouse, take {i}"}
        )
        if answer.status_code != 200:
            raise RuntimeError(f"generation failed: {answer.status_code} {answer.text[:200]}")

    return once


def bare(base: str) -> Once:
    async def once(client: httpx.AsyncClient, i: int) -> None:
        answer = await client.post(
            f"{base}/v1/images/generations", json={"prompt": f"a lighthouse, take {i}"}
        )
        answer.raise_for_status()

    return once


async def first_progress(client: httpx.AsyncClient, base: str) -> float:
    """Seconds from sending a streamed chat completion to its first progress chunk."""
    body = {"model": "flux", "stream": True, "messages": [{"role": "user", "content": "a lighthouse"}]}
    start = time.perf_counter()
    async with client.stream("POST", f"{base}/v1/chat/completions", json=body) as response:
        lines = response.aiter_lines()
        async for line in lines:
            if line.startswith("data: {") and json.loads(line[6:]).get("choices", [{}])[0].get(
                "delta", {}
            ).get("content"):
                elapsed = time.perf_counter() - start
                break
        else:
            raise RuntimeError("the stream ended without a progress chunk")
        async for _ in lines:  # let the image finish, so the next sample starts clean
            pass
    return elapsed


async def _latency_rows(config: Config, latency: float, directory: Path) -> list[Row]:
    rows: list[Row] = []
    provider = FixedLatencyProvider(latency)
    settings = bench_settings(
        directory / f"l{latency}",
        API_KEYS=f"bench={KEY}",
        HTTP_HOST="127.0.0.1",
        HTTP_PORT="0",
        MAX_JOBS_PER_USER="1000",
        MAX_QUEUED_PER_USER="1000",
    )
    limits = httpx.Limits(
        max_connections=max(config.concurrencies), max_keepalive_connections=max(config.concurrencies)
    )
    async with (
        open_app(settings, provider=provider) as app,
        httpx.AsyncClient(headers={"authorization": f"Bearer {KEY}"}, limits=limits, timeout=60) as client,
    ):
        adapter = build_http_adapter(app, {"HTTP": True})
        await adapter.start()
        base = f"http://127.0.0.1:{adapter.port}"
        sample = await client.post(f"{base}/v1/images/generations", json={"prompt": "same bytes"})
        reference = BareRoute(sample.content, latency)
        server, task, port = await serve_bare(reference)
        bare_base = f"http://127.0.0.1:{port}"
        try:
            await closed_loop(client, 1, config.warmup, generation(base))
            await closed_loop(client, 1, config.warmup, bare(bare_base))
            for c in config.concurrencies:
                n = rounds(config, latency, c)
                measured, wall = await closed_loop(client, c, n, generation(base))
                ref, _ = await closed_loop(client, c, n, bare(bare_base))
                rows.append(
                    _row(
                        f"/v1/images/generations b64, L={latency * 1000:.0f} ms, c={c}; ref: bare uvicorn route, same bytes",
                        measured,
                        ref,
                        latency,
                        wall,
                    )
                )
            if latency > 0:
                for _ in range(2):  # warm-up
                    await first_progress(client, base)
                firsts = [await first_progress(client, base) for _ in range(config.stream_samples)]
                rows.append(
                    Row(
                        NAME,
                        f"chat stream: first progress chunk, L={latency * 1000:.0f} ms, c=1",
                        f"p50 {ms(percentile(firsts, 50))} · p99 {ms(percentile(firsts, 99))}",
                        f"target < 50 ms; L = {ms(latency)}",
                        f"n={len(firsts)}",
                        {
                            "p50": percentile(firsts, 50),
                            "p99": percentile(firsts, 99),
                            "n": float(len(firsts)),
                        },
                    )
                )
        finally:
            server.should_exit = True
            await task
            await adapter.stop()
    return rows


def _row(case: str, measured: list[float], reference: list[float], latency: float, wall: float) -> Row:
    over = [s - latency for s in measured]
    ref = [s - latency for s in reference]
    p50, p99, ref50, ref99 = (
        percentile(over, 50),
        percentile(over, 99),
        percentile(ref, 50),
        percentile(ref, 99),
    )
    ratio = p50 / ref50 if ref50 > 0 else math.inf
    return Row(
        NAME,
        case,
        f"p50 {ms(p50)} · p99 {ms(p99)} over L",
        f"p50 {ms(ref50)} · p99 {ms(ref99)}",
        f"n={len(over)}; p50 {ratio:.1f}× the bare route; {len(over) / wall:,.0f} req/s",
        {"p50": p50, "p99": p99, "ref_p50": ref50, "ref_p99": ref99, "ratio": ratio, "n": float(len(over))},
    )


async def run(config: Config) -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp:
        for latency in config.latencies:
            rows += await _latency_rows(config, latency, Path(tmp))
    return rows
