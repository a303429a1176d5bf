"""Admission: the cheap checks a request passes before anything is downloaded, decoded or sent upstream.

Order: allow-list → a place in the user's line (atomic across replicas) → the user's limits (all ``count`` images
or none; a refusal gives the place back). An adapter gets admitted first and only then downloads the references::

    async with service.admission(user, count=n) as admission:
        references = await download(...)              # nothing is fetched for a refused user
        for request in requests:                       # at most ``n``
            result = await service.generate(request, progress, admission=admission)
            if not delivered:
                await service.refund_undelivered(result)

Each ``generate`` takes one admitted image; a failed generation hands its image back at once, and whatever was
not taken when the block ends (a failed download, an error, a cancellation) is handed back too. ``generate``
without an admission admits itself, for one image.
"""

from __future__ import annotations

import asyncio

from bot.core.limits import RateLimiter, UsageSlots
from bot.core.lines import LineTicket
from bot.core.models import UserRef
from bot.core.queue import JobQueue


class AdmissionSpent(RuntimeError):
    """A programming error: more generations than admitted, or for another user."""


class Admission:
    """Images a user was admitted for; ``ImageService.admission`` makes one, ``ImageService.generate`` uses it."""

    def __init__(
        self,
        user: UserRef,
        slots: list[UsageSlots],
        limiter: RateLimiter,
        *,
        ticket: LineTicket | None = None,
        queue: JobQueue | None = None,
    ) -> None:
        self.user = user
        self._slots = slots
        self._limiter = limiter
        self._ticket = ticket
        self._queue = queue

    @property
    def request_id(self) -> str | None:
        """The id of the request this admission registered in its user's line (None: none registered)."""
        return self._ticket.id if self._ticket is not None else None

    def take_ticket(self) -> LineTicket | None:
        """The place in line taken at admission, once (the first generation's); None after that."""
        ticket, self._ticket = self._ticket, None
        return ticket

    @property
    def remaining(self) -> int:
        """Images admitted and not yet taken by a generation."""
        return len(self._slots)

    def take(self, user: UserRef) -> UsageSlots:
        """One admitted image for ``user``'s next generation (the core calls this, not adapters)."""
        if user.key != self.user.key:
            raise AdmissionSpent(f"admission of {self.user.key} used for {user.key}")
        if not self._slots:
            raise AdmissionSpent(f"{self.user.key} was admitted for fewer images")
        return self._slots.pop()

    async def release(self) -> None:
        """Hand back every image and the place in line not taken (idempotent); runs to the end even when the
        caller is cancelled."""
        ticket = self.take_ticket()
        if ticket is not None and self._queue is not None:
            await asyncio.shield(self._queue.abandon(ticket))
        unused, self._slots = self._slots, []
        merged = UsageSlots(tuple(event for slot in unused for event in slot.event_ids))
        if merged.event_ids:
            await asyncio.shield(self._limiter.refund(merged))
