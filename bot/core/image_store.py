"""Finished images kept for a while so a link (``GET /image/{id}``) can serve them: the policy and its protocol.

The core decides the id (unguessable), the expiry and the size cap; a backend in ``bot.storage`` keeps the bytes
(``SqliteImageStore``; a PostgreSQL one implements the same ``ImageStore``).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.core.clock import Clock

#: 32 random bytes, URL-safe: an id cannot be guessed or enumerated
_ID_BYTES = 32


@dataclass(frozen=True)
class StoredImage:
    """One kept image: its bytes, their real (sniffed) content type, and when it stops being served."""

    id: str
    data: bytes
    mime: str
    created_at: float
    expires_at: float
    #: the job that made it (``jobs.id``), for re-rolls and history; None for images made outside a job
    job_id: str | None = None


@dataclass(frozen=True)
class ImageLink:
    """Which kept image a job made: its id (for ``/image/{id}``) and content type."""

    id: str
    mime: str


class ImageStore(Protocol):
    """Where kept images live. Implementations evict the oldest first once the total passes the cap."""

    async def put(self, image: StoredImage, *, max_total_bytes: int) -> None:
        """Keep ``image``; drop expired images, then the oldest others until the total fits ``max_total_bytes``."""
        ...

    async def get(self, image_id: str, *, now: float) -> StoredImage | None:
        """The image, or None when unknown or expired at ``now``."""
        ...

    async def prune(self, *, now: float) -> int:
        """Forget images expired at ``now``; returns how many."""
        ...

    async def links_for_jobs(self, job_ids: Sequence[str], *, now: float) -> dict[str, ImageLink]:
        """The image still kept at ``now`` for each of ``job_ids`` that has one, by job id (the web history)."""
        ...


class ImageArchive:
    """Keeps results for ``expiration`` seconds under ``max_total_bytes`` (``IMAGE_EXPIRATION``, ``IMAGE_STORE_MB``)."""

    def __init__(self, store: ImageStore, clock: Clock, *, expiration: float, max_total_bytes: int) -> None:
        self._store = store
        self._clock = clock
        self.expiration = expiration
        self.max_total_bytes = max_total_bytes

    async def keep(self, data: bytes, mime: str, *, job_id: str | None = None) -> StoredImage:
        """Store ``data`` (``mime`` as sniffed by the provider) under a fresh unguessable id."""
        now = self._clock.time()
        image = StoredImage(
            id=secrets.token_urlsafe(_ID_BYTES),
            data=data,
            mime=mime,
            created_at=now,
            expires_at=now + self.expiration,
            job_id=job_id,
        )
        await self._store.put(image, max_total_bytes=self.max_total_bytes)
        return image

    async def fetch(self, image_id: str) -> StoredImage | None:
        """The image if it is still kept; None otherwise (unknown, expired or evicted)."""
        return await self._store.get(image_id, now=self._clock.time())

    def seconds_left(self, image: StoredImage) -> float:
        """How much longer ``image`` is served (for cache headers)."""
        return image.expires_at - self._clock.time()

    async def links_for_jobs(self, job_ids: Sequence[str]) -> dict[str, ImageLink]:
        """The kept image of each job that still has one, by job id."""
        if not job_ids:
            return {}
        return await self._store.links_for_jobs(job_ids, now=self._clock.time())

    async def prune(self) -> int:
        """Forget expired images now (``put`` also does it, so this is for start-up)."""
        return await self._store.prune(now=self._clock.time())
