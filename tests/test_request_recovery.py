"""kill -9 of the bot while requests are in flight, then a restart on the same SQLite file: the new process
finishes every request the old one had acknowledged, as a reply to the original message, charged once.

The bot runs as ``python -m bot run`` (the image's command) against the fake Telegram (polling) and the fake
Workers AI, whose held answers (an event gate) keep both requests in flight until the kill.
"""

from __future__ import annotations

import asyncio
import io
import os
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from PIL import Image

from bot.core.clock import utc_day
from bot.core.persistence import RequestState
from bot.storage.sqlite import SqliteStorage
from tests.fakes.telegram_api import FakeTelegramBotAPI
from tests.fakes.telegram_objects import ALICE, BOB
from tests.fakes.workers_ai import FakeWorkersAI, ok

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:TEST-token-for-the-recovery-test"
STARTED = "Telegram is running."


def a_photo() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


@asynccontextmanager
async def bot_process(env: dict[str, str]) -> AsyncIterator[asyncio.subprocess.Process]:
    """``python -m bot run``, yielded once Telegram is up; SIGTERM on exit unless it was killed."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), timeout=90)
        assert line.decode().strip() == STARTED, line
        yield process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), timeout=60)
        assert "Traceback" not in err.decode(), err.decode()[-3000:]
        assert TOKEN not in err.decode()


async def noted(database: Path, count: int) -> None:
    """Wait until ``count`` requests carry their status line's message id (written behind, so it may lag)."""
    query = (
        "SELECT count(*) FROM accepted_requests"
        " WHERE json_extract(payload, '$.reply.status_message_id') IS NOT NULL"
    )
    for _ in range(600):
        with sqlite3.connect(database) as conn:
            if conn.execute(query).fetchone()[0] >= count:
                return
        await asyncio.sleep(0.05)
    raise AssertionError("the status lines were never noted")


async def test_a_restart_finishes_what_a_killed_process_had_acknowledged(tmp_path: Path) -> None:
    async with FakeTelegramBotAPI(token=TOKEN) as tg, FakeWorkersAI() as workers:
        workers.default("acc1", ok(delay=3600))  # held until workers.release()
        database = tmp_path / "bot.sqlite3"
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("CF_", "ACCOUNT_", "TELEGRAM_", "DISCORD_"))
        } | {
            "PYTHONPATH": str(ROOT),
            "NO_PROXY": "127.0.0.1,localhost",
            "PTB_TIMEDELTA": "true",
            "CF_API_BASE_URL": workers.base_url,
            "CF_API_TOKEN_1": "cf-token-1-0123456789abcdef",
            "ACCOUNT_1": "acc1",
            "DATABASE_PATH": str(database),
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": tg.base_url,
            "TELEGRAM_FILE_BASE_URL": tg.base_file_url,
            "TELEGRAM_STATUS_AFTER_SECONDS": "60",
            "RATE_LIMIT_PER_MINUTE": "0",
            "REQUEST_LEASE_SECONDS": "600",  # a single process takes its previous run's requests at once
        }
        plain = tg.send_text("/imagine a lighthouse at dusk")
        photo = tg.send_photo(a_photo(), user=BOB)
        with_reference = tg.send_text("/imagine the same, as a watercolour", user=BOB, reply_to_message=photo)
        # the first run shows its status line (with ❌) at once: the takeover must not leave it behind
        async with bot_process(env | {"TELEGRAM_STATUS_AFTER_SECONDS": "0"}) as first:
            await workers.wait_for_calls(2)  # both requests are at the upstream, held there
            await tg.wait_for("sendChatAction", 2)  # both users saw them acknowledged
            stale = {call.result["message_id"] for call in await tg.wait_for("sendMessage", 2)}
            await noted(database, 2)  # the status lines' ids are stored with the requests
            first.kill()  # kill -9: no drain, no goodbye
            await first.wait()
        assert not tg.calls_of("sendPhoto")
        workers.release()  # from now on every call answers at once

        async with bot_process(env):
            photos = await tg.wait_for("sendPhoto", 2, timeout=60)
        # each original message got exactly one photo as its reply, and nothing else was said
        replies = sorted(call.params["reply_parameters"]["message_id"] for call in photos)
        assert replies == sorted([plain["message_id"], with_reference["message_id"]])
        assert len(tg.calls_of("sendPhoto")) == 2 and len(tg.calls_of("sendMessage")) == 2
        # the dead run's status lines were removed: the chats hold the two photos and nothing else of ours
        assert {call.params["message_id"] for call in tg.calls_of("deleteMessage")} == stale
        assert all("photo" in message for message in tg.sent_messages())
        # the photo was downloaded again by its file id and sent upstream as the reference
        redone = [call for call in workers.calls[2:] if call.reference_names]
        assert len(workers.calls) == 4 and len(redone) == 1

    async with SqliteStorage(database) as storage:
        day = utc_day(photos[-1].result["date"])
        for user in (ALICE, BOB):  # the quota was counted once per request
            assert (await storage.ledger.counts(f"telegram:{user.id}", now=0.0, day=day)).today == 1
        rows = await storage.db.fetch_all("SELECT state, attempts FROM accepted_requests")
        assert sorted((RequestState(row[0]), row[1]) for row in rows) == [(RequestState.DONE, 2)] * 2
