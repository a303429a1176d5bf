"""Single-flight for calls whose outcome is unknown: the learning burst costs one call per account, not one per
concurrent request.

An account is *proven* once a call on it succeeded, and unproven at start, after any failure, and after another
replica reports one. Proven accounts take any number of concurrent calls. An unproven account takes one call
(a probe) at a time across the whole deployment: other requests try another account meanwhile, or wait for the
probe's outcome when none is left. Without this, 10 simultaneous first requests with 9 of 10 accounts spent each
walk the spent accounts themselves (71-77 calls measured; bench/failover.py).

Waiting is bounded by ``patience`` (real seconds): "spent", "busy" and "bad token" answers come back in well under
a second, while an image takes seconds, so a probe still running after that is most likely generating, and the
others go ahead instead of queueing behind one slow image.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from bot.core.clock import Clock
from bot.core.persistence import AccountChange, AccountEvent, AccountStateFeed

log = logging.getLogger(__name__)


class ProbeGate:
    """Who may call an unproven account now; ``feed`` (when shared) extends the gate to other replicas."""

    def __init__(
        self,
        clock: Clock,
        feed: AccountStateFeed | None = None,
        *,
        lease: float = 60.0,
        patience: float = 2.0,
    ) -> None:
        self._clock = clock
        self._feed = feed
        self._lease = lease
        self._patience = patience
        self._proven: set[str] = set()
        #: event-loop time each pending probe started (or was first seen running on another replica)
        self._since: dict[str, float] = {}
        #: outcome of a probe this process runs, or of one another replica runs (resolved by ``heard``)
        self._pending: dict[str, asyncio.Future[None]] = {}
        self._remote_until: dict[str, float] = {}

    def is_proven(self, key: str) -> bool:
        return key in self._proven

    async def try_start(self, key: str) -> bool:
        """True if the caller may call ``key`` now (proven, or it becomes the probe); False to look elsewhere."""
        if key in self._proven:
            return True
        loop = asyncio.get_running_loop()
        if key in self._pending:
            if loop.time() - self._since[key] >= self._patience:
                return True  # no quick failure so far: it is most likely drawing an image
            if key not in self._remote_until or self._remote_until[key] > self._clock.time():
                return False
            self._release(key)  # the other replica's lease ran out (it died mid-call): probe again
        self._pending[key] = loop.create_future()
        self._since[key] = loop.time()
        if self._feed is not None:
            now = self._clock.time()
            try:
                claimed = await self._feed.claim_probe(key, now=now, lease=self._lease)
            except Exception:
                log.exception("could not claim the probe of an account; probing without the claim")
                claimed = True
            if not claimed:
                self._remote_until[key] = now + self._lease
                return False
        return True

    def finish(self, key: str, *, ok: bool) -> None:
        """The call on ``key`` ended (``ok``: it served): wake whoever waited for it."""
        if ok:
            self._proven.add(key)
        else:
            self._proven.discard(key)
        if key not in self._remote_until:
            self._release(key)

    def heard(self, change: AccountChange) -> None:
        """Another replica's outcome for ``change.account_key``."""
        if change.event is AccountEvent.SERVING:
            self._proven.add(change.account_key)
        else:
            self._proven.discard(change.account_key)
        self._release(change.account_key)

    async def wait_any(self, keys: Iterable[str]) -> None:
        """Until one of these accounts' probes ends, or the oldest of them has run past ``patience``."""
        keys = [key for key in keys if key in self._pending]
        if not keys:
            return
        now = asyncio.get_running_loop().time()
        timeout = max(0.0, min(self._since[key] for key in keys) + self._patience - now)
        await asyncio.wait(
            [self._pending[key] for key in keys], timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )

    def _release(self, key: str) -> None:
        self._remote_until.pop(key, None)
        self._since.pop(key, None)
        future = self._pending.pop(key, None)
        if future is not None and not future.done():
            future.set_result(None)
