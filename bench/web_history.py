"""Benchmark: the web page's history query (a user's latest jobs and their kept images) over a real SQLite file.

The reference is the same query in the same run with the two history indexes dropped: what every page load
cost before migration 3 added them.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.common import Row, ms
from bot.core.image_store import StoredImage
from bot.storage import SqliteStorage

NAME = "web history"
PAGE = 60


@dataclass(frozen=True)
class Config:
    jobs: int = 100_000
    users: int = 500
    queries: int = 50


FULL = Config()
QUICK = Config(jobs=5_000, queries=10)

_INSERT_JOB = (
    "INSERT INTO jobs (id, user_key, chat_id, original_prompt, final_prompt, is_json, negative, width, height, "
    "steps, model, seed, created_at) VALUES (?, ?, NULL, 'a cat', 'a cat, soft light', 0, NULL, 1024, 1024, NULL, "
    "'m', ?, ?)"
)


async def _page_load(storage: SqliteStorage, user: str) -> int:
    jobs = await storage.jobs.recent_for_user(user, PAGE)
    links = await storage.images.links_for_jobs([job.id for job in jobs], now=0.0)
    return len(jobs) + len(links)


async def _time_page_loads(storage: SqliteStorage, config: Config) -> tuple[float, int]:
    started = time.perf_counter()
    found = 0
    for query in range(config.queries):
        found = await _page_load(storage, f"api:user{query % config.users}")
    return (time.perf_counter() - started) / config.queries, found


async def run(config: Config = FULL) -> list[Row]:
    with tempfile.TemporaryDirectory() as folder:
        async with SqliteStorage(Path(folder) / "bench.sqlite3") as storage:
            conn = storage.db.conn
            await conn.executemany(
                _INSERT_JOB,
                [(f"j{i}", f"api:user{i % config.users}", i, float(i)) for i in range(config.jobs)],
            )
            await conn.commit()
            for i in range(
                0, config.jobs, config.jobs // 1000 or 1
            ):  # 1,000 kept images spread over the jobs
                image = StoredImage(f"img{i}", b"png", "image/png", float(i), 1e12, job_id=f"j{i}")
                await storage.images.put(image, max_total_bytes=1 << 40)
            indexed, found = await _time_page_loads(storage, config)
            await conn.execute("DROP INDEX jobs_user_created")
            await conn.execute("DROP INDEX images_job")
            plain, found_plain = await _time_page_loads(storage, config)
    per_user = config.jobs // config.users
    return [
        Row(
            NAME,
            f"{config.jobs:,} jobs, {per_user} per user: latest {PAGE} + their images",
            f"{ms(indexed)} per page load",
            f"without the indexes: {ms(plain)}",
            metrics={"indexed_s": indexed, "plain_s": plain, "found": found, "found_plain": found_plain},
        )
    ]
