"""The benchmarks by name, each with its full and quick configuration."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bench import (
    failover,
    http_api,
    limiter,
    limiter_pg,
    lines,
    memory,
    overhead,
    replicas,
    scaling,
    telegram,
    web_history,
    webhook,
)
from bench.common import Row

Runner = Callable[[bool], Awaitable[list[Row]]]

# Memory runs first: its baseline is cleanest before other benchmarks have grown the heap.
BENCHMARKS: dict[str, Runner] = {
    "memory": lambda quick: memory.run(memory.QUICK if quick else memory.FULL),
    "hostile": lambda quick: memory.run_hostile(memory.HOSTILE_QUICK if quick else memory.HOSTILE_FULL),
    "overhead": lambda quick: overhead.run(overhead.QUICK if quick else overhead.FULL),
    # benchmark 1's Telegram rows, separately selectable (the slowest part: Telegram's flood limit paces it)
    "telegram": lambda quick: telegram.run(telegram.QUICK if quick else telegram.FULL),
    "http": lambda quick: http_api.run(http_api.QUICK if quick else http_api.FULL),
    "scaling": lambda quick: scaling.run(scaling.QUICK if quick else scaling.FULL),
    "failover": lambda quick: failover.run(failover.QUICK if quick else failover.FULL),
    "limiter": lambda quick: limiter.run(limiter.QUICK if quick else limiter.FULL),
    "limiter-pg": lambda quick: limiter_pg.run(limiter_pg.QUICK if quick else limiter_pg.FULL),
    "lines": lambda quick: lines.run(lines.QUICK if quick else lines.FULL),
    "replicas": lambda quick: replicas.run(replicas.QUICK if quick else replicas.FULL),
    "web-history": lambda quick: web_history.run(web_history.QUICK if quick else web_history.FULL),
    "webhook": lambda quick: webhook.run(webhook.QUICK if quick else webhook.FULL),
}


async def run_benchmark(name: str, quick: bool) -> list[Row]:
    return await BENCHMARKS[name](quick)
