"""An album whose every item reached one replica, killed (kill -9) before its wait ended: the other replica's sweep
claims it and answers it once. The items are posted to the victim directly (not through Caddy), as a load balancer
may well do; every assertion is on the fakes' own records and the shared database."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import psycopg

from tests.adapters.telegram.conftest import png
from tests.fakes.telegram_objects import TgUser
from tests.replicas.harness import HOOK_PATH, TOKEN, telegram_replicas

USER = TgUser(id=6001, first_name="Orphan", username="orphan")
#: the sweep takes albums quiet for three waits, every two waits: the rescue comes 6 to 10 s after the items
WAIT = "2"


async def stored_items(pg_url: str, count: int) -> None:
    """Until the victim has stored ``count`` album items (the webhook answers 200 before its handler runs)."""
    async with asyncio.timeout(30), await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        while True:
            cursor = await conn.execute("SELECT count(*) FROM album_items")
            row = await cursor.fetchone()
            if row is not None and row[0] >= count:
                return
            await asyncio.sleep(0.02)


async def test_an_album_on_a_replica_killed_before_its_wait_ended_is_answered_once_by_another(
    pg_url: str, tmp_path: Path
) -> None:
    async with telegram_replicas(pg_url, tmp_path, count=2, TELEGRAM_ALBUM_WAIT_SECONDS=WAIT) as deployment:
        tg, workers = deployment.tg, deployment.workers
        victim, survivor = deployment.replicas
        items = tg.send_album(
            [png(64, 64), png(128, 64), png(192, 64)], caption="/imagine all three", user=USER
        )
        updates = tg.pending_updates[-len(items) :]
        async with httpx.AsyncClient(base_url=victim.url, trust_env=False) as client:
            for update in updates:
                answer = await client.post(
                    HOOK_PATH, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": tg.webhook_secret}
                )
                assert answer.status_code == 200
        del tg.pending_updates[-len(items) :]  # answered 200: Telegram never sends them again
        await stored_items(pg_url, len(items))
        victim.process.kill()  # within the wait: its timer never fires
        await victim.process.wait()
        killed_at = time.perf_counter()

        (photo,) = await tg.wait_for("sendPhoto", timeout=60)
        rescued_after = time.perf_counter() - killed_at
        assert photo.ok and photo.params["chat_id"] == USER.id
        assert photo.params["reply_parameters"]["message_id"] == items[0]["message_id"]

    assert len(tg.calls_of("sendPhoto")) == 1  # once, also after the survivor stopped
    (generation,) = workers.calls
    assert generation.reference_sizes == [(64, 64), (128, 64), (192, 64)]  # album order kept
    with psycopg.connect(pg_url) as conn:
        claims = conn.execute("SELECT claimed_by FROM album_claims").fetchall()
    # claimed by the survivor (REPLICA_ID unset: hostname-pid, then a token of its start)
    assert len(claims) == 1 and f"-{survivor.process.pid}." in claims[0][0]
    assert survivor.process.returncode == 0, survivor.stderr[-2000:]
    assert survivor.stderr.count("rescued album") == 1 and "Traceback" not in survivor.stderr
    assert TOKEN not in survivor.stderr
    print(f"\norphaned album of {len(items)} rescued by the other replica {rescued_after:.1f} s after the kill "
          f"(wait {WAIT} s)")  # fmt: skip
