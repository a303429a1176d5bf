"""When a webhook update is ours for good: the route answers Telegram only then, since a 200 makes it forget it.

An update is durable once every handler run for it returned and every piece of work such a handler left running
in the background reached its own durable point: an /imagine (or 🔁 / 🎨) once its row in ``accepted_requests``
is written (the first progress event comes after it) or once it ended, e.g. refused with a reply; an album item
once it is stored (its handler awaits that). Everything else is durable when its handler returned.
An update whose request another delivery registered but has not recorded yet (still on its way, or its replica
died) is marked ``retry_later``: Telegram must send it again, to find it recorded, or swept away and free.

The receipt travels in a context variable: the webhook sets it in the task that runs the handlers, and work they
start takes a hold on it synchronously (``hold_current``), before the handler returns. Long polling has none.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextvars import ContextVar

Release = Callable[[], None]

_CURRENT: ContextVar[Receipt | None] = ContextVar("telegram_update_receipt", default=None)


class Receipt:
    """Counts what still stands between one update and its durable point; ``wait`` returns at zero."""

    def __init__(self) -> None:
        self._holds = 0
        self._durable = asyncio.Event()
        #: the update must come again later: its request was registered by a delivery not recorded yet
        self.retry_later = False

    @property
    def durable(self) -> bool:
        return self._durable.is_set()

    def hold(self) -> Release:
        """One more thing to wait for; call the returned function (once is enough) when it is durable.

        A receipt already durable stays so: work started later (an album's request, long after its items were
        stored) has nobody waiting on it."""
        if self.durable:
            return _nothing
        self._holds += 1
        released = False

        def release() -> None:
            nonlocal released
            if released:
                return
            released = True
            self._holds -= 1
            if self._holds == 0:
                self._durable.set()

        return release

    async def wait(self) -> None:
        """Until every hold was released."""
        await self._durable.wait()

    def enter(self) -> None:
        """Make this the current task's receipt (the task's context is its own: nothing leaks to the caller)."""
        _CURRENT.set(self)


def hold_current() -> Release:
    """A hold on the receipt of the update being handled, if any (webhook mode); call it at the durable point."""
    receipt = _CURRENT.get()
    return receipt.hold() if receipt is not None else _nothing


def retry_current() -> None:
    """Ask Telegram to send the update being handled again later (the webhook answers non-2xx), if any."""
    receipt = _CURRENT.get()
    if receipt is not None:
        receipt.retry_later = True


def _nothing() -> None:
    return None
