"""Nothing lost when a replica dies: every accepted request is a row, and the row is the lease.

A request is written to ``accepted_requests`` once admitted (limits charged), before the user sees any sign of
it. It keeps running where it was accepted: its progress messages, its ❌ and its HTTP connection live there. That
replica renews the lease of all its open rows in one statement every third of ``lease``, marks the request
``delivering`` just before the image goes out, and ``done``/``failed`` once the user has the answer.

Every replica also sweeps: a row whose lease lapsed (its replica was killed, or lost the database for longer
than the lease) is claimed by exactly one sweeper and handed to the ``Resumer`` its platform registered here:

- ``delivering``: the image may have arrived already, so it is never made again: the user gets a clear message;
- a request with nothing to answer by (an HTTP client's connection died with its replica): refunded, failed;
- taken over more than ``max_takeovers`` times (a request that kills replicas): a clear message and a refund;
- otherwise the resumer runs it again on this replica with the charge stored in the row (the quota is counted
  once) and answers the original message.

Core only knows platforms by name; adapters register their resumer. Every write here is bookkeeping: a failed
one is logged and the request goes on (an image that was paid for is delivered even when the database is down).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from bot.core.bookkeeping import Bookkeeper
from bot.core.clock import Clock
from bot.core.models import ImageSize, PromptOptions, UserRef
from bot.core.persistence import AcceptedRequest, AcceptedRequests, RequestState, UsageLedger

log = logging.getLogger(__name__)

#: rows one sweep takes at most (the rest wait for the next sweep, a third of a lease later)
SWEEP_BATCH = 50

#: catalogue keys of what a user is told when their request cannot be finished after a crash
MAYBE_DELIVERED = "resume.maybe_delivered"
GAVE_UP = "resume.gave_up"


class Resumer(Protocol):
    """A platform's way to finish, or answer, a request another replica accepted."""

    async def resume(self, request: AcceptedRequest) -> None:
        """Run ``request`` again here and answer the user (in the background: return once it is started).

        The work must end with ``RequestJournal.finish`` (``ImageService.finish_request``), as any request."""
        ...

    async def tell(self, request: AcceptedRequest, key: str) -> None:
        """Answer the user's request with the catalogue message ``key``, in their language."""
        ...

    def answerable(self, request: AcceptedRequest) -> bool:
        """Whether the user can still be answered at all (e.g. a Discord interaction's token lives 15 minutes)."""
        ...


@dataclass(frozen=True)
class Redo:
    """How to make a request again, as stored in the row's payload (``kind`` says which service call)."""

    kind: str  # "imagine" | "reroll" | "vary"
    user: UserRef
    text: str = ""
    options: PromptOptions = field(default_factory=PromptOptions)
    job_id: str | None = None
    #: the adapter's address for the answer (chat and message, interaction...); None: nothing to answer by
    reply: Mapping[str, Any] | None = None

    def to_payload(self) -> dict[str, Any]:
        payload = asdict(self)
        payload["reply"] = dict(self.reply) if self.reply is not None else None
        return payload

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Redo:
        options = dict(payload.get("options") or {})
        if options.get("size") is not None:
            options["size"] = ImageSize(**options["size"])
        return cls(
            kind=payload["kind"],
            user=UserRef(**payload["user"]),
            text=payload.get("text", ""),
            options=PromptOptions(**options),
            job_id=payload.get("job_id"),
            reply=payload.get("reply"),
        )


class RequestJournal:
    """This replica's side of the ``accepted_requests`` table: record, renew, end, and take over the lapsed.

    ``single_process``: the backend serves one process (SQLite), so every open row another replica id holds
    belongs to a previous run of this bot and is taken over at once, lease or not.
    """

    def __init__(
        self,
        store: AcceptedRequests,
        ledger: UsageLedger,
        clock: Clock,
        *,
        replica: str,
        lease: float = 30.0,
        max_takeovers: int = 2,
        single_process: bool = False,
        bookkeeper: Bookkeeper | None = None,
        wait: float = 1.0,
    ) -> None:
        self._store = store
        self._ledger = ledger
        self._clock = clock
        self.replica = replica
        self.lease = lease
        self._max_takeovers = max_takeovers
        self._single_process = single_process
        #: ends are written behind (nobody waits for them): a database that stalls holds no image up
        self._books = bookkeeper
        #: how long an image waits for its "delivering" mark before it goes anyway
        self._wait = wait
        self._resumers: dict[str, Resumer | None] = {}
        #: requests recorded (or taken over) by this replica and not ended yet
        self._held: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        self._swept = asyncio.Event()
        self._wake = asyncio.Event()

    def register(self, platform: str, resumer: Resumer | None) -> None:
        """Take over ``platform``'s lapsed requests here; ``None``: they cannot be answered (only refunded)."""
        self._resumers[platform] = resumer
        self._wake.set()  # sweep now: e.g. a restart's open requests, as soon as their platform is up

    def unregister(self, platform: str) -> None:
        """Stop taking over ``platform``'s requests (its adapter is stopping)."""
        self._resumers.pop(platform, None)

    @property
    def held(self) -> int:
        """Open requests this replica holds."""
        return len(self._held)

    @property
    def held_ids(self) -> frozenset[str]:
        """The ids of the open requests this replica holds."""
        return frozenset(self._held)

    async def lookup(self, request_id: str) -> AcceptedRequest | None:
        """The shared row of ``request_id`` (any replica's), or None when it is unknown."""
        return await self._store.get(request_id)

    # ---- the life of one request ----------------------------------------------------------------

    async def accept(self, request_id: str, redo: Redo, usage_ids: tuple[int, ...]) -> None:
        """Record an admitted request before the user sees it acknowledged (a request taken over is already)."""
        if request_id in self._held:
            return
        now = self._clock.time()
        row = AcceptedRequest(
            id=request_id,
            user_key=redo.user.key,
            platform=redo.user.platform,
            replica=self.replica,
            state=RequestState.RUNNING,
            accepted_at=now,
            lease_until=now + self.lease,
            usage_ids=usage_ids,
            payload=redo.to_payload(),
        )
        try:
            await self._store.insert(row)
        except Exception:
            log.warning("request %s: could not be recorded; it goes on without surviving a crash", request_id,
                        exc_info=True)  # fmt: skip
            return
        self._held.add(request_id)

    async def charged(self, request_id: str, usage_ids: tuple[int, ...]) -> None:
        """Put the admission's charge on the row its place in line registered, so that a sweeper refunds it if
        this replica dies before ``accept``. Bookkeeping: a failure is logged and the request goes on."""
        if not usage_ids:
            return
        try:
            await self._store.charge(request_id, usage_ids)
        except Exception:
            log.warning("request %s: could not note its charge on its row", request_id, exc_info=True)

    async def delivering(self, request_id: str) -> bool:
        """Mark the request as being delivered; False when another replica took it over (then do not send)."""
        if request_id not in self._held:
            return True  # never recorded: nothing to coordinate with
        mark = asyncio.ensure_future(
            self._store.set_state(request_id, RequestState.DELIVERING, replica=self.replica)
        )
        try:
            ours = await asyncio.wait_for(asyncio.shield(mark), self._wait)
        except TimeoutError:  # the mark goes on behind the image
            log.warning(
                "request %s: the database is slow to mark it delivering; delivering anyway", request_id
            )
            return True
        except Exception:
            log.warning(
                "request %s: could not mark it delivering; delivering anyway", request_id, exc_info=True
            )
            return True
        if not ours:
            self._held.discard(request_id)
            log.warning(
                "request %s was taken over by another replica (our lease lapsed): not sending", request_id
            )
        return ours

    async def finish(self, request_id: str, *, ok: bool) -> None:
        """The user has the answer (an image, or a sentence): the request ends."""
        if request_id not in self._held:
            return
        self._held.discard(request_id)
        state = RequestState.DONE if ok else RequestState.FAILED

        async def write() -> None:
            await self._store.set_state(request_id, state, replica=self.replica)

        if self._books is not None:
            self._books.submit(f"request {request_id} {state.value}", write)
            return
        try:
            await write()
        except Exception:
            log.warning("request %s: could not mark it %s", request_id, state.value, exc_info=True)

    def note(self, request_id: str, key: str, value: int | str) -> None:
        """Add ``key`` to the request's reply address (e.g. a status line's message id), written behind."""
        if request_id not in self._held or not key.isidentifier():
            return

        async def write() -> None:
            await self._store.note_reply(request_id, key, value, replica=self.replica)

        if self._books is not None:
            self._books.submit(f"request {request_id} {key}", write)

    # ---- leases and takeovers -------------------------------------------------------------------

    async def __aenter__(self) -> RequestJournal:
        self._task = asyncio.get_running_loop().create_task(self._keep_up(), name="request leases")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._books is not None:  # the ends written behind land first: those requests are not released
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(10):
                    await self._books.drain()
        await self.release()

    async def release(self) -> None:
        """Stop holding every open request (a clean stop): another replica, or the next start, takes them at once."""
        try:
            released = await self._store.release(self.replica, now=self._clock.time())
        except Exception:
            log.warning("could not release this replica's open requests; they are taken over once the lease "
                        "lapses", exc_info=True)  # fmt: skip
            return
        if released:
            log.warning("%d request(s) still open at shutdown were released for another replica", released)
        self._held.clear()

    async def renew(self) -> None:
        """Extend the lease of every open request this replica holds (one statement)."""
        try:
            await self._store.renew(self.replica, lease_until=self._clock.time() + self.lease)
        except Exception:
            log.warning("could not renew this replica's request leases", exc_info=True)

    async def sweep(self) -> int:
        """Take over lapsed requests of the registered platforms and finish or answer each; returns how many."""
        if not self._resumers:
            return 0
        now = self._clock.time()
        try:
            taken = await self._store.claim_expired(
                self.replica,
                now=now,
                lease_until=now + self.lease,
                platforms=sorted(self._resumers),
                limit=SWEEP_BATCH,
                foreign_too=self._single_process,
            )
        except Exception:
            log.warning("could not look for requests to take over", exc_info=True)
            return 0
        for request in taken:
            await self._take_over(request)
        return len(taken)

    async def wait_for_sweep(self) -> None:
        """Return after the next sweep of the background loop (for tests and start-up)."""
        self._swept.clear()
        await self._swept.wait()

    async def _keep_up(self) -> None:
        interval = self.lease / 3
        while True:
            self._wake.clear()
            await self.renew()
            await self.sweep()
            self._swept.set()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):
                    await self._wake.wait()

    async def _take_over(self, request: AcceptedRequest) -> None:
        self._held.add(request.id)
        log.warning("taking over request %s of %s (attempt %d, was %s)", request.id, request.platform,
                    request.attempts, request.state.value)  # fmt: skip
        try:
            await self._handle(request)
        except Exception:
            log.exception("request %s could not be taken over", request.id)
            await self._give_up(request, GAVE_UP)

    async def _handle(self, request: AcceptedRequest) -> None:
        if not request.payload and request.state in (RequestState.WAITING, RequestState.RUNNING):
            await self._forget(request)
            return
        resumer = self._resumers.get(request.platform)
        redo = _redo_of(request)
        if (
            resumer is not None
            and redo is not None
            and redo.reply is not None
            and not resumer.answerable(request)
        ):
            log.warning("request %s can no longer be answered (too old); refunded", request.id)
            await self._give_up(request, None, paid=request.state is not RequestState.DELIVERING)
        elif request.state is RequestState.DELIVERING:
            # The image may already be in the chat: never make it again (never two images), and it was paid for.
            if resumer is not None and redo is not None and redo.reply is not None:
                await resumer.tell(request, MAYBE_DELIVERED)
            await self.finish(request.id, ok=True)
        elif resumer is None or redo is None or redo.reply is None:
            await self._give_up(
                request, None
            )  # nobody to answer: the client's connection died with its replica
        elif request.attempts > 1 + self._max_takeovers:
            await self._give_up(request, GAVE_UP)
        else:
            await resumer.resume(request)

    async def _give_up(self, request: AcceptedRequest, key: str | None, *, paid: bool = True) -> None:
        """End ``request`` as failed with its charge handed back (unless ``paid`` is False: the image may have
        arrived), telling the user ``key`` when there is one."""
        resumer = self._resumers.get(request.platform)
        if key is not None and resumer is not None:
            try:
                await resumer.tell(request, key)
            except Exception:
                log.warning("request %s: could not tell the user", request.id, exc_info=True)
        if paid:
            try:
                await self._ledger.refund(*request.usage_ids)
            except Exception:
                log.warning("request %s: refund failed", request.id, exc_info=True)
        await self.finish(request.id, ok=False)

    async def _forget(self, request: AcceptedRequest) -> None:
        """A request registered in its user's line whose replica died before recording it: nobody saw it
        acknowledged (a Telegram webhook call was not answered 2xx, so the update comes again). Refund its charge
        and delete the row, so that the update, sent again, registers afresh and runs; nobody is told."""
        log.warning("request %s was never acknowledged by the replica that died; refunded and forgotten",
                    request.id)  # fmt: skip
        try:
            await self._ledger.refund(*request.usage_ids)
        except Exception:
            log.warning("request %s: refund failed", request.id, exc_info=True)
        self._held.discard(request.id)
        try:
            await self._store.forget(request.id, replica=self.replica)
        except Exception:  # the row stays held here (and counted in its line) until this replica stops
            log.warning("request %s: could not delete its row", request.id, exc_info=True)


def _redo_of(request: AcceptedRequest) -> Redo | None:
    if not request.payload:  # registered in its user's line, never acknowledged (its replica died before)
        return None
    try:
        return Redo.from_payload(request.payload)
    except (KeyError, TypeError, ValueError):
        log.warning("request %s: its stored payload cannot be read", request.id)
        return None


def replica_id(configured: str | None) -> str:
    """``REPLICA_ID`` (else host name and process id) plus a token of this start.

    A restarted container keeps its host name and pid 1, and an operator's REPLICA_ID stays the same: without the
    token the new process would renew its dead predecessor's leases, and nobody would ever take them over.
    """
    return f"{configured or f'{socket.gethostname()}-{os.getpid()}'}.{secrets.token_hex(3)}"


__all__ = ["GAVE_UP", "MAYBE_DELIVERED", "Redo", "RequestJournal", "Resumer", "replica_id"]
