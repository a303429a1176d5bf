"""Admission: the cheap checks a request passes before anything is downloaded, decoded or sent upstream.

Order: allow-list → the user's limits (all ``count`` images or none) → room in the queue. An adapter gets admitted
first and only then downloads the references::

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
from bot.core.models import UserRef


class AdmissionSpent(RuntimeError):
    """A programming error: more generations than admitted, or for another user."""


class Admission:
    """Images a user was admitted for; ``ImageService.admission`` makes one, ``ImageService.generate`` uses it."""

    def __init__(self, user: UserRef, slots: list[UsageSlots], limiter: RateLimiter) -> None:
        self.user = user
        self._slots = slots
        self._limiter = limiter

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
        """Hand back every image not taken (idempotent); runs to the end even when the caller is cancelled."""
        unused, self._slots = self._slots, []
        merged = UsageSlots(tuple(event for slot in unused for event in slot.event_ids))
        if merged.event_ids:
            await asyncio.shield(self._limiter.refund(merged))
