"""The database failing under the bot (issue 10, findings 8-11): corrupt, locked by another process, full, deleted.

A paid-for image is delivered whatever the bookkeeping does; the operator hears the real cause once; the bot
never hangs on a bad file.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import io
import logging
import os
import random
import sqlite3
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from PIL import Image

from bot.app import open_app
from bot.core.clock import ManualClock
from bot.core.housekeeping import JOB_RETENTION_SECONDS, Housekeeper
from bot.core.models import GenerationRequest, UserRef
from bot.core.persistence import StoredJob
from bot.settings import load_settings
from bot.storage.sqlite import SqliteDatabase, SqliteStorage
from tests.fakes.workers_ai import FakeWorkersAI, ok

ROOT = Path(__file__).resolve().parent.parent
USER = UserRef("telegram", "5")


def environ(fake: FakeWorkersAI, path: Path) -> dict[str, str]:
    return {
        "CF_API_BASE_URL": fake.base_url,
        "DATABASE_PATH": str(path),
        "CF_API_TOKEN_1": "token-1",
        "ACCOUNT_1": "acc1",
    }


@contextmanager
def write_lock_held_elsewhere(path: Path) -> Iterator[None]:
    """Another process's connection in the middle of a write transaction (what a backup or sqlite3 shell does)."""
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute(
            "INSERT INTO usage_events (user_key, created_at, day) VALUES ('other', 0, '2000-01-01')"
        )
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


async def eventually(condition: Callable[[], bool | Awaitable[bool]]) -> None:
    """Until ``condition()`` holds; the bound only turns a hang into a failure."""
    async with asyncio.timeout(30):
        while True:
            holds = condition()
            if await holds if inspect.isawaitable(holds) else holds:
                return
            await asyncio.sleep(0.01)  # polling state that nothing signals


def noise_png(side: int = 400) -> bytes:
    """An incompressible reference: its stored copy needs many pages."""
    rng = random.Random(7)
    image = Image.frombytes("RGB", (side, side), bytes(rng.getrandbits(8) for _ in range(side * side * 3)))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


async def test_a_corrupt_database_file_ends_the_process_with_one_sentence_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "data" / "imagine-bot.sqlite3"
    path.parent.mkdir()
    path.write_bytes(b"this is not an SQLite database, whatever its name says\n" * 200)
    env = os.environ | {
        "DATABASE_PATH": str(path),
        "CF_API_TOKEN_1": "token-1",
        "ACCOUNT_1": "acc1",
        "PYTHONPATH": str(ROOT),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "accounts",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        # a bound only against today's hang (the aiosqlite thread kept the process alive forever)
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode != 0
    # log lines go to stderr too; the error itself is one line
    (line,) = [line for line in stderr.decode().splitlines() if line.startswith("Database error")]
    assert str(path) in line and "not a database" in line
    assert "Traceback" not in stderr.decode() + stdout.decode()


async def test_another_process_holding_the_write_lock_stalls_neither_quota_nor_the_image(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "bot.sqlite3"
    async with FakeWorkersAI() as fake:
        fake.default("acc1", ok(delay=30))  # released by the test: the lock is taken mid-generation
        async with open_app(load_settings(None, environ(fake, path)), clock=clock) as app:
            assert isinstance(app.storage, SqliteStorage)
            writer_lock = app.storage.db._lock
            generation = asyncio.create_task(
                app.service.generate(
                    GenerationRequest(user=USER, text="a lighthouse", references=(noise_png(),))
                )
            )
            await eventually(lambda: bool(fake.calls))  # admitted, and the upstream is working on it
            with write_lock_held_elsewhere(path):
                # our own bookkeeping write now waits for the other process (up to its busy timeout)...
                quota_writer = asyncio.create_task(app.storage.ledger.refund(10**9))
                await eventually(writer_lock.locked)
                # ... and a read does not wait behind it
                quota = await app.service.quota(USER)
                assert writer_lock.locked(), "the quota read waited for the blocked write"
                assert quota.used_today == 1
                fake.release()  # the image is made (and paid for) while the lock is still held
                result = await asyncio.wait_for(generation, timeout=60)
                assert result.image  # delivered: the job's write goes on behind it
            await quota_writer
            await app.pool.drain()
            stored = await app.storage.jobs.get(result.job_id)
    assert stored is not None and len(stored.references) == 1  # written once the lock was released


async def test_a_full_disk_still_delivers_and_logs_the_real_cause_once(
    tmp_path: Path, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    async with FakeWorkersAI() as fake:
        settings = load_settings(None, environ(fake, tmp_path / "bot.sqlite3"))
        async with open_app(settings, clock=clock) as app:
            assert isinstance(app.storage, SqliteStorage)
            conn = app.storage.db.conn
            async with conn.execute("PRAGMA page_count") as cursor:
                row = await cursor.fetchone()
            assert row is not None
            # room for the small admission rows, none for a stored reference: "database or disk is full"
            await conn.execute(f"PRAGMA max_page_count = {int(row[0]) + 2}")
            caplog.set_level(logging.DEBUG)
            results = []
            for n in range(2):
                clock.advance(60)
                request = GenerationRequest(user=USER, text=f"a lighthouse {n}", references=(noise_png(),))
                results.append(await app.service.generate(request))
            await app.pool.drain()
    assert all(result.image for result in results)
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert sum("database or disk is full" in message for message in errors) == 1, errors
    assert not any("cannot rollback" in r.getMessage() for r in caplog.records)


async def test_the_database_and_its_directory_are_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "data" / "imagine-bot.sqlite3"
    async with SqliteStorage(path) as storage:
        await storage.ledger.try_consume(
            "telegram:1", now=1.0, day="2026-01-01", per_minute=None, per_day=None
        )
        modes = {p.name: p.stat().st_mode & 0o777 for p in path.parent.iterdir()}
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert modes == {name: 0o600 for name in modes} and path.name in modes, modes
    loose = tmp_path / "old.sqlite3"
    loose.touch(mode=0o644)
    loose.chmod(0o644)  # an existing database from an older version
    async with SqliteStorage(loose):
        pass
    assert loose.stat().st_mode & 0o777 == 0o600


async def test_a_deleted_database_file_is_noticed_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "bot.sqlite3"
    async with SqliteDatabase(path, watch_every=0.01):
        for name in (path.name, f"{path.name}-wal", f"{path.name}-shm"):  # what `rm data/*` does
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_path / name)
        await eventually(lambda: any("was deleted" in r.getMessage() for r in caplog.records))
    (record,) = [r for r in caplog.records if "was deleted" in r.getMessage()]
    assert record.levelno == logging.ERROR and str(path) in record.getMessage()


async def test_old_jobs_are_pruned_while_the_bot_runs_not_only_at_start(
    tmp_path: Path, clock: ManualClock
) -> None:
    async with SqliteStorage(tmp_path / "bot.sqlite3") as storage:
        housekeeper = Housekeeper(storage.jobs, storage.ledger, clock, every=0.01)
        async with housekeeper:
            old = StoredJob(
                id="old",
                user_key="telegram:1",
                chat_id="1",
                original_prompt="a cat",
                final_prompt="a cat",
                is_json=False,
                negative=None,
                width=1024,
                height=1024,
                steps=None,
                model="m",
                seed=1,
                created_at=clock.time() - JOB_RETENTION_SECONDS - 1,
                references=(b"photo",),
            )
            await storage.jobs.save(old)  # written after start-up: only a periodic prune removes it

            async def pruned() -> bool:
                return await storage.jobs.get("old") is None

            await eventually(pruned)
