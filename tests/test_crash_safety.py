"""kill -9 in the middle of a batch, restart over the same database: quotas and account states are intact."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from bot.app import open_app
from bot.core.clock import utc_day
from bot.core.models import AccountHealth, GenerationRequest, UserRef
from bot.settings import load_settings
from bot.storage.sqlite import SqliteStorage
from tests.crash_batch import USER
from tests.fakes.workers_ai import SPENT, FakeWorkersAI, ok

ROOT = Path(__file__).resolve().parent.parent
KILL_AFTER = 8


async def test_kill_9_mid_batch_loses_nothing_and_counts_nothing_twice(tmp_path: Path) -> None:
    async with FakeWorkersAI() as fake:
        fake.default("acc1", SPENT)
        fake.default("acc2", ok(delay=0.05))  # slow enough that the kill lands while a call is in flight
        env = {
            "CF_API_BASE_URL": fake.base_url,
            "DATABASE_PATH": str(tmp_path / "bot.sqlite3"),
            "CF_API_TOKEN_1": "token-1",
            "ACCOUNT_1": "acc1",
            "CF_API_TOKEN_2": "token-2",
            "ACCOUNT_2": "acc2",
            "RATE_LIMIT_PER_MINUTE": "0",
            "RATE_LIMIT_PER_DAY": "1000",
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.crash_batch",
            "1000",
            cwd=ROOT,
            env=os.environ | env | {"PYTHONPATH": str(ROOT)},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        assert process.stdout is not None
        done = 0
        while done < KILL_AFTER:
            line = await asyncio.wait_for(process.stdout.readline(), timeout=30)
            assert line, "the batch stopped before it could be killed"
            done = int(line.split()[1])
        process.send_signal(signal.SIGKILL)
        await process.wait()
        done += (await process.stdout.read()).decode().count("done")  # lines printed before the kill landed
        served_before_kill = fake.images_served
        spent_calls_before = len(fake.calls_for("acc1"))

        async with open_app(load_settings(None, env)) as app:
            assert isinstance(app.storage, SqliteStorage)
            integrity = await app.storage.db.fetch_one("PRAGMA integrity_check")
            assert integrity is not None and integrity[0] == "ok"
            today = utc_day(app.clock.time())
            usage = (await app.storage.accounts.usage_on(today))["acc2"]
            counts = await app.storage.ledger.counts(USER.key, now=app.clock.time(), day=today)
            statuses = {s.index: s.health for s in await app.service.account_statuses()}
            # A restart keeps the spent account out: the next image costs exactly one call, on account 2.
            await app.service.generate(
                GenerationRequest(user=UserRef("telegram", "after"), text="after the crash")
            )

    assert spent_calls_before == 1
    assert statuses[1] is AccountHealth.SPENT
    assert len(fake.calls_for("acc1")) == 1
    # Quotas are exact: each finished image was counted at admission; at most the one in flight is extra.
    assert done <= counts.today <= done + 1
    # Account usage is written behind the image (a bookkeeping write never delays or costs a delivery), so the
    # last finished image's record may be lost to the kill: at most that one.
    assert done - 1 <= usage.images <= served_before_kill <= done + 1
    assert usage.calls == usage.images  # no phantom calls
