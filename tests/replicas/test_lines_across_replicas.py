"""One user's requests spread over three ``python -m bot run`` replicas on one PostgreSQL: the per-user caps and
the place in line hold for the whole deployment, not per replica.

The fake Workers AI holds every answer until the test releases it (an event, no sleeps): while it holds the first
image, the user's later requests are told their places through the streamed chat's progress chunks, and those
beyond the cap are refused with the API's queue-full error.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bench.replica_procs import ReplicaProcess, replica_env, run_replicas
from tests.fakes.workers_ai import FakeWorkersAI, ok

KEYS = {"alice": "sk-alice-0123456789abcdef"}
PER_USER = 1
MAX_QUEUED = 2
PLACE = re.compile(r"number (\d+) in line")


@pytest.fixture
async def replicas(pg_url: str, tmp_path: Path) -> AsyncIterator[tuple[FakeWorkersAI, list[ReplicaProcess]]]:
    async with FakeWorkersAI() as fake:
        fake.default("acc1", ok(delay=600))  # held until fake.release()
        env = replica_env(
            fake.base_url, pg_url, KEYS, accounts=1,
            RATE_LIMIT_PER_MINUTE="0", RATE_LIMIT_PER_DAY="0",
            MAX_JOBS_PER_USER=str(PER_USER), MAX_QUEUED_PER_USER=str(MAX_QUEUED),
            # the safety-net poll is out of reach: waiters must be woken by the other replicas' notifications
            QUEUE_POLL_SECONDS="600",
        )  # fmt: skip
        async with run_replicas(3, env, tmp_path) as started:
            try:
                yield fake, started
            finally:
                fake.release()
        for replica in started:
            assert replica.process.returncode == 0
            assert "Traceback" not in replica.stderr, replica.stderr[-2000:]


class Stream:
    """One streamed chat completion, read in the background; ``texts`` receives each content piece."""

    def __init__(self, replica: ReplicaProcess, prompt: str) -> None:
        self.texts: asyncio.Queue[str] = asyncio.Queue()
        self.places: list[int] = []
        self.status = 0
        self.task = asyncio.create_task(self._read(replica, prompt))

    async def _read(self, replica: ReplicaProcess, prompt: str) -> str:
        body = {"model": "flux", "stream": True, "messages": [{"role": "user", "content": prompt}]}
        answer = ""
        async with (
            httpx.AsyncClient(base_url=replica.url, timeout=120) as client,
            client.stream(
                "POST",
                "/v1/chat/completions",
                json=body,
                headers={"authorization": f"Bearer {KEYS['alice']}"},
            ) as response,
        ):
            self.status = response.status_code
            async for line in response.aiter_lines():
                if not line.startswith("data:") or line.endswith("[DONE]"):
                    continue
                event = json.loads(line.removeprefix("data:"))
                for choice in event.get("choices", []):
                    text = choice["delta"].get("content") or ""
                    if found := PLACE.search(text):
                        self.places.append(int(found.group(1)))
                    answer += text
                    await self.texts.put(text)
        return answer

    async def told(self, place: int) -> None:
        """Wait until this request has been told ``place`` (each piece is read as it arrives)."""
        while place not in self.places:
            await asyncio.wait_for(self.texts.get(), timeout=60)


async def until(condition: object, what: str) -> None:
    """Poll a condition the fake's own records will make true (a bounded safety net, not a measurement)."""
    for _ in range(600):
        if callable(condition) and condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


async def test_one_users_cap_and_places_hold_across_three_replicas(
    replicas: tuple[FakeWorkersAI, list[ReplicaProcess]],
) -> None:
    fake, nodes = replicas
    first = Stream(nodes[0], "first")
    await until(lambda: len(fake.calls) == 1, "the first image reached Workers AI")
    second = Stream(nodes[1], "second")
    await second.told(1)
    third = Stream(nodes[2], "third")
    await third.told(2)
    # the user has PER_USER running and MAX_QUEUED waiting, on other replicas: the next ones are refused here
    async with httpx.AsyncClient(timeout=60) as client:
        for node in nodes:
            refused = await client.post(
                f"{node.url}/v1/chat/completions",
                json={"model": "flux", "stream": True, "messages": [{"role": "user", "content": "more"}]},
                headers={"authorization": f"Bearer {KEYS['alice']}"},
            )
            assert refused.status_code == 429
            error = refused.json()["error"]
            assert error["code"] == "rate_limit_exceeded" and "waiting" in error["message"]
    assert len(fake.calls) == 1  # the waiting ones made no call while the first one ran
    fake.release()
    answers = await asyncio.wait_for(asyncio.gather(first.task, second.task, third.task), timeout=120)
    assert all("![" in answer for answer in answers), answers
    assert [first.status, second.status, third.status] == [200, 200, 200]
    # one image at a time for this user across the deployment, in the order asked, each told every move
    assert fake.most_in_flight == PER_USER
    assert [call.fields.get("prompt") for call in fake.calls] == ["first", "second", "third"]
    assert first.places == [] and second.places == [1] and third.places == [2, 1]
