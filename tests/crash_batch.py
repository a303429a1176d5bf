"""A batch of generations for the crash-safety test: ``python -m tests.crash_batch COUNT``.

It reads its settings from the environment like the bot, and prints ``done N`` after each image so the test knows
when to kill it.
"""

from __future__ import annotations

import asyncio
import sys

from bot.app import open_app
from bot.core.models import GenerationRequest, UserRef
from bot.settings import load_settings

USER = UserRef("telegram", "crash-test-user")


async def main(count: int) -> None:
    async with open_app(load_settings(None)) as app:
        for i in range(count):
            await app.service.generate(GenerationRequest(user=USER, text=f"frame {i}"))
            print(f"done {i + 1}", flush=True)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
