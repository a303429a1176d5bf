"""Three ``python -m bot run`` processes (the image's command) on one PostgreSQL database, as compose runs them.

Checked against the fake Workers AI's own records: the Dockerfile's HEALTHCHECK passes on each replica, the
learning burst costs one call per spent account for the whole deployment, an image made by one replica is
served by the others, and concurrent requests from 10 users spread over the replicas admit exactly the limit.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bench.replica_procs import ReplicaProcess, replica_env, run_replicas
from tests.fakes.workers_ai import OK, SPENT, FakeWorkersAI

ROOT = Path(__file__).resolve().parents[2]
USERS = [f"user{n}" for n in range(10)]
KEYS = {user: f"sk-{user}-0123456789abcdef" for user in USERS}
PER_DAY = 3
SPENT_ACCOUNTS = 9


def healthcheck_command() -> list[str]:
    """The HEALTHCHECK CMD of the Dockerfile, exactly as the container would run it."""
    text = (ROOT / "Dockerfile").read_text()
    found = re.search(r"^HEALTHCHECK .*?CMD (\[.*?\])$", text, flags=re.M | re.S)
    assert found
    command: list[str] = json.loads(found.group(1))
    return [sys.executable if command[0] == "python" else command[0], *command[1:]]


@pytest.fixture
async def replicas(pg_url: str, tmp_path: Path) -> AsyncIterator[tuple[FakeWorkersAI, list[ReplicaProcess]]]:
    async with FakeWorkersAI() as fake:
        for n in range(1, 11):
            fake.default(f"acc{n}", SPENT if n <= SPENT_ACCOUNTS else OK)
        env = replica_env(
            fake.base_url, pg_url, KEYS, accounts=10,
            RATE_LIMIT_PER_MINUTE="0", RATE_LIMIT_PER_DAY=str(PER_DAY),
            # far above any answer's delay here, so the call counts below are exact on a loaded machine
            ACCOUNT_PROBE_PATIENCE_SECONDS="60",
        )  # fmt: skip
        async with run_replicas(3, env, tmp_path) as started:
            yield fake, started
        for replica in started:
            assert replica.process.returncode == 0
            assert "Traceback" not in replica.stderr, replica.stderr[-2000:]
            assert all(key not in replica.stderr for key in KEYS.values())


async def generate(replica: ReplicaProcess, user: str, prompt: str, **extra: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=replica.url, timeout=60) as client:
        return await client.post(
            "/v1/images/generations",
            json={"prompt": prompt, "size": "512x512", **extra},
            headers={"authorization": f"Bearer {KEYS[user]}"},
        )


async def test_three_replica_processes_share_limits_accounts_and_images(
    replicas: tuple[FakeWorkersAI, list[ReplicaProcess]],
) -> None:
    fake, nodes = replicas
    command = healthcheck_command()
    for node in nodes:
        check = await asyncio.create_subprocess_exec(*command, env=os.environ | {"HTTP_PORT": str(node.port)})
        assert await asyncio.wait_for(check.wait(), timeout=30) == 0

    # the learning burst: 10 first requests at once over 3 replicas, 9 of 10 accounts spent
    burst = await asyncio.gather(
        *(generate(nodes[i % 3], user, f"burst {i}") for i, user in enumerate(USERS))
    )
    assert [response.status_code for response in burst] == [200] * 10
    calls = Counter(call.account_id for call in fake.calls)
    assert calls == Counter({**{f"acc{n}": 1 for n in range(1, 10)}, "acc10": 10}), calls

    # an image made on one replica is served by every other one
    made = await generate(nodes[0], USERS[0], "a lighthouse", response_format="url")
    assert made.status_code == 200
    path = httpx.URL(made.json()["data"][0]["url"]).path
    bodies = []
    for node in nodes:
        async with httpx.AsyncClient(base_url=node.url, timeout=30) as client:
            image = await client.get(path, headers={"authorization": f"Bearer {KEYS[USERS[0]]}"})
        assert image.status_code == 200 and image.headers["content-type"].startswith("image/")
        bodies.append(image.content)
    assert bodies[0] == bodies[1] == bodies[2]

    # limits: 150 requests from 10 users at once, spread over the replicas; each user has PER_DAY a day
    used = Counter(USERS) + Counter([USERS[0]])
    images_before = fake.images_served
    storm = await asyncio.gather(*(generate(nodes[i % 3], USERS[i % 10], f"storm {i}") for i in range(150)))
    admitted = Counter(USERS[i % 10] for i, response in enumerate(storm) if response.status_code == 200)
    refused = {response.status_code for response in storm if response.status_code != 200}
    assert refused == {429}
    assert admitted == Counter({user: PER_DAY - used[user] for user in USERS})
    assert fake.images_served - images_before == sum(admitted.values())
