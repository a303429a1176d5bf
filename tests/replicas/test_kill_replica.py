"""kill -9 of one of three Telegram replicas (webhook mode behind Caddy, one PostgreSQL) with 30 requests in flight.

Every request was acknowledged ("sending a photo…") and is held at the fake Workers AI (an event gate) when one
replica is killed; then the gate opens. From the fakes' own records and the database: each of the 30 messages gets
exactly one photo as its reply (the dead replica's 10 are taken over by the others when their lease lapses), nothing
is said twice, and the usage recorded equals the photos delivered (the takeovers reuse the charge).
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import psycopg

from tests.fakes.telegram_objects import TgUser
from tests.fakes.workers_ai import ok
from tests.replicas.harness import TOKEN, telegram_replicas

REQUESTS = 30
USERS = [TgUser(id=7001 + n, first_name=f"User {n}", username=f"user{n}") for n in range(REQUESTS)]
LEASE = "2"  # seconds; renewed every third of it, so a live replica keeps its requests on a loaded machine


async def test_kill_9_of_one_replica_loses_no_request_and_counts_each_once(
    pg_url: str, tmp_path: Path
) -> None:
    async with telegram_replicas(
        pg_url, tmp_path, REQUEST_LEASE_SECONDS=LEASE, RATE_LIMIT_PER_DAY="5"
    ) as deployment:
        tg, workers = deployment.tg, deployment.workers
        workers.default("acc1", ok(delay=3600))  # every image is held until workers.release()
        asked = {tg.send_text(f"/imagine lighthouse number {n}", user=user)["message_id"]: user
                 for n, user in enumerate(USERS)}  # fmt: skip
        delivered = await deployment.deliver()
        assert [d.status for d in delivered] == [200] * REQUESTS
        await workers.wait_for_calls(REQUESTS)  # all 30 at the upstream, held there
        await tg.wait_for("sendChatAction", REQUESTS)  # and each user saw theirs acknowledged

        victim = deployment.replicas[0]
        on_victim = Counter(d.replica for d in delivered)[f"127.0.0.1:{victim.port}"]
        victim.process.kill()  # kill -9: no drain, no release of its leases
        await victim.process.wait()
        killed_at = time.perf_counter()
        workers.release()

        photos = await tg.wait_for("sendPhoto", REQUESTS, timeout=120)
        last_photo_after = time.perf_counter() - killed_at
        # one photo per message, as its reply; no message asked for twice, none left without an answer
        replies = Counter(call.params["reply_parameters"]["message_id"] for call in photos)
        assert replies == Counter(set(asked)), replies
        assert {call.params["chat_id"] for call in photos} == {user.id for user in USERS}
        assert not tg.calls_of("sendMessage")  # every request was finished: no apology was needed
        assert all(call.ok for call in photos)

    with psycopg.connect(pg_url) as conn:
        usage = conn.execute("SELECT user_key, count(*) FROM usage_events GROUP BY user_key").fetchall()
        rows = conn.execute("SELECT state, attempts FROM accepted_requests").fetchall()
    # the quota is exact: one usage event per photo delivered, whoever made it
    assert dict(usage) == {f"telegram:{user.id}": 1 for user in USERS}
    assert Counter(state for state, _ in rows) == Counter({"done": REQUESTS})
    taken_over = sum(1 for _, attempts in rows if attempts > 1)
    assert taken_over >= on_victim == REQUESTS // 3  # at least every request the dead replica held
    # Workers AI's own record: the 30 first calls, and one more per request taken over
    assert len(workers.calls) == REQUESTS + taken_over
    for replica in deployment.replicas[1:]:
        assert replica.process.returncode == 0, replica.stderr[-2000:]
        assert "Traceback" not in replica.stderr, replica.stderr[-2000:]
        assert TOKEN not in replica.stderr
    print(f"\nkill -9 with {REQUESTS} in flight: {on_victim} on the killed replica, {taken_over} taken over, "
          f"{len(workers.calls)} upstream calls, {len(photos)} photos, last photo {last_photo_after:.1f} s after "
          f"the kill (lease {LEASE} s)")  # fmt: skip
