"""Chat adapters: thin translators between a platform and ``bot.core``. Only this package imports them."""

from __future__ import annotations

from typing import Protocol


class ChatAdapter(Protocol):
    """A running chat platform connection, started and stopped by ``imagine-bot run``."""

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...
