"""Three Telegram replicas in webhook mode behind a real load balancer (Caddy, round robin), on one PostgreSQL.

The fake Bot API delivers the updates to the URL the replicas registered, with the secret, as Telegram does; every
assertion is on the fakes' own records (which replica answered each delivery, what Workers AI was asked for, what
was sent to the chat) and on the shared database.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import psycopg

from tests.adapters.telegram.conftest import png
from tests.fakes.telegram_objects import TgUser
from tests.replicas.harness import HOOK_PATH, TOKEN, telegram_replicas

USERS = [TgUser(id=5001 + n, first_name=f"User {n}", username=f"user{n}") for n in range(6)]


async def test_three_replicas_behind_caddy_share_updates_and_an_album_split_across_them_is_one_image(
    pg_url: str, tmp_path: Path
) -> None:
    # a long album wait: an album is only split if the gap between two of its deliveries exceeds it
    async with telegram_replicas(pg_url, tmp_path, TELEGRAM_ALBUM_WAIT_SECONDS="3") as deployment:
        tg, workers = deployment.tg, deployment.workers
        # every replica registered the same URL and the same (derived) secret: none locks the others out
        registered = {(c.params["url"], c.params["secret_token"]) for c in tg.calls_of("setWebhook")}
        assert len(tg.calls_of("setWebhook")) == 3 and registered == {
            (deployment.webhook_url, tg.webhook_secret)
        }
        assert deployment.webhook_url.endswith(HOOK_PATH)

        # N /imagine from N users: N photos, the updates spread over the replicas
        for n, user in enumerate(USERS):
            tg.send_text(f"/imagine lighthouse number {n}", user=user)
        delivered = await deployment.deliver()
        assert [d.status for d in delivered] == [200] * len(USERS)
        await tg.wait_for("sendPhoto", count=len(USERS), timeout=120)
        assert len(workers.calls) == len(USERS)
        assert {call.params["chat_id"] for call in tg.calls_of("sendPhoto")} == {user.id for user in USERS}
        per_replica = deployment.updates_per_replica()
        assert set(per_replica) == {f"127.0.0.1:{replica.port}" for replica in deployment.replicas}
        assert sorted(per_replica.values()) == [2, 2, 2]  # round robin

        # an album of three, its items delivered separately: each lands on another replica
        album_user = USERS[0]
        tg.send_album(
            [png(64, 64), png(128, 64), png(192, 64)],
            caption="/imagine these three together",
            user=album_user,
        )
        album = await deployment.deliver()
        assert [d.status for d in album] == [200, 200, 200]
        assert len({d.replica for d in album}) == 3
        await tg.wait_for("sendPhoto", count=len(USERS) + 1, timeout=120)

        # a caller without the secret is refused, and the update stays with Telegram until delivered rightly
        tg.send_text("/quota", user=USERS[1])
        refused = await deployment.deliver(secret="not-the-secret")
        assert [d.status for d in refused] == [403]
        assert len(tg.pending_updates) == 1
        assert [d.status for d in await deployment.deliver()] == [200]
        await tg.wait_for("sendMessage", predicate=lambda c: c.params["chat_id"] == USERS[1].id)

    # after every replica stopped (their album timers ended with them): one generation for the album, 3 references
    album_calls = [call for call in workers.calls if len(call.reference_sizes) > 0]
    assert len(album_calls) == 1 and len(workers.calls) == len(USERS) + 1
    assert album_calls[0].reference_sizes == [(64, 64), (128, 64), (192, 64)]  # album order kept
    album_photos = [c for c in tg.calls_of("sendPhoto") if c.params["chat_id"] == album_user.id]
    assert len(album_photos) == 2  # the /imagine before, and the album's one image
    with psycopg.connect(pg_url) as conn:
        claims = conn.execute("SELECT claimed_by FROM album_claims").fetchall()
        items = conn.execute("SELECT count(*) FROM album_items").fetchone()
    assert len(claims) == 1 and items == (3,)
    for replica in deployment.replicas:
        assert replica.process.returncode == 0, replica.stderr[-2000:]
        assert "Traceback" not in replica.stderr, replica.stderr[-2000:]
        assert TOKEN not in replica.stderr and tg.webhook_secret not in replica.stderr
    print(f"updates per replica: {dict(Counter(deployment.updates_per_replica()))}")
