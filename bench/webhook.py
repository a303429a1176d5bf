"""Benchmark 6: Telegram's webhook through a real load balancer (Caddy, round robin) to 1 and to 3 replica processes
on one PostgreSQL database (``tests/replicas/harness.py``), the fake Workers AI answering at once (L = 0).

- the webhook's answer through Caddy: the POST of an update until its 200 (secret checked, update parsed and
  handled: the 200 waits until the update is recorded, for /quota until its reply was sent), beside the same POSTs with a wrong secret (403: Caddy, uvicorn and the route, without PTB), same run;
- end to end: N ``/imagine`` updates from N users delivered one after another (after a warm-up), until N photos
  reached the fake: images/s with 1 and with 3 replicas. These machines have 2 cores for everything (the
  replicas, PostgreSQL, Caddy, the fakes), so 3 replicas cannot be 3x here;
- how the updates spread over the replicas, and Workers AI calls per image.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench.common import Row, ms, percentile
from bench.pg_cluster import PostgresCluster
from tests.fakes.telegram_objects import TgUser
from tests.replicas.harness import TelegramDeployment, telegram_replicas

NAME = "6 webhook"
#: a lost photo must end the run, not hang it
REPLY_TIMEOUT = 300.0


@dataclass(frozen=True)
class Config:
    images: int = 60
    replica_counts: tuple[int, ...] = (1, 3)


FULL = Config()
QUICK = Config(images=6, replica_counts=(3,))


def _user(n: int) -> TgUser:
    return TgUser(id=7_000_000 + n, first_name=f"Bench {n}", username=None)


async def _imagine(deployment: TelegramDeployment, users: range, photos_before: int) -> float:
    """Deliver one /imagine per user and wait for every photo; the seconds it took."""
    for n in users:
        deployment.tg.send_text(f"/imagine a lantern on a pier {n}", user=_user(n))
    start = time.perf_counter()
    delivered = await deployment.deliver()
    if any(d.status != 200 for d in delivered):
        raise RuntimeError(f"a webhook delivery failed: {[d.status for d in delivered]}")
    await deployment.tg.wait_for("sendPhoto", count=photos_before + len(users), timeout=REPLY_TIMEOUT)
    return time.perf_counter() - start


async def _measure(cluster: PostgresCluster, config: Config, count: int, directory: Path) -> list[Row]:
    url = await asyncio.to_thread(cluster.new_database)
    async with telegram_replicas(url, directory, count=count, RATE_LIMIT_PER_DAY="0") as deployment:
        tg = deployment.tg
        await _imagine(deployment, range(-count, 0), 0)  # warm-up: one image on each replica
        warm_calls, warm_deliveries = len(deployment.workers.calls), len(tg.deliveries)
        # the reference: the same updates refused for a wrong secret (they stay queued, as at Telegram)
        for n in range(config.images):
            tg.send_text(f"/quota {n}", user=_user(n))
        refused = await deployment.deliver(secret="not-the-secret")
        answered = await deployment.deliver()
        elapsed = await _imagine(deployment, range(config.images), count)
        calls = len(deployment.workers.calls) - warm_calls
        measured = tg.deliveries[warm_deliveries:]
    spread = sorted(Counter(d.replica for d in measured if d.status == 200).values())
    answers = [d.seconds for d in answered]
    refusals = [d.seconds for d in refused]
    per_second = config.images / elapsed
    label = f"{count} replica{'s' if count > 1 else ''}"
    return [
        Row(
            NAME,
            f"webhook answer through Caddy (POST → 200), {label}, {len(answers)} updates",
            f"p50 {ms(percentile(answers, 50))}, p99 {ms(percentile(answers, 99))}",
            f"wrong secret (→ 403, no PTB): p50 {ms(percentile(refusals, 50))}",
            "answered once the update is handled (/quota: its reply sent)",
            {
                "p50": percentile(answers, 50),
                "p99": percentile(answers, 99),
                "reference": percentile(refusals, 50),
            },
        ),
        Row(
            NAME,
            f"/imagine → photo through Caddy, L = 0, {config.images} users, {label}",
            f"{per_second:,.1f} images/s, {calls / config.images:.2f} Workers AI calls per image",
            f"updates answered per replica (/quota and /imagine rounds): {spread}",
            "2 cores shared by the replicas, PostgreSQL, Caddy and the fakes",
            {
                "per_second": per_second,
                "calls_per_image": calls / config.images,
                "replicas_used": float(len(spread)),
            },
        ),
    ]


async def run(config: Config, cluster: PostgresCluster | None = None) -> list[Row]:
    own = cluster is None
    if cluster is None:
        cluster = PostgresCluster()
        await asyncio.to_thread(cluster.start)
    try:
        rows: list[Row] = []
        with tempfile.TemporaryDirectory(prefix="bench-webhook-") as tmp:
            for count in config.replica_counts:
                rows += await _measure(cluster, config, count, Path(tmp) / str(count))
        return rows
    finally:
        if own:
            await asyncio.to_thread(cluster.stop)
