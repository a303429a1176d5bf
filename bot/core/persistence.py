"""What the core needs remembered, as small protocols and the record types they exchange.

The core depends only on these; ``bot.storage.sqlite`` and ``bot.storage.postgres`` implement them, and
``bot.app`` picks one. Nothing here knows SQL or a driver.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from bot.core.cancel import CancelRelay
from bot.core.image_store import ImageStore

if TYPE_CHECKING:  # bot.core.lines exchanges this module's records
    from bot.core.lines import UserLines


@dataclass(frozen=True)
class StoredJob:
    """A finished generation, kept so a re-roll button still works after a restart or on another replica."""

    id: str
    user_key: str
    chat_id: str | None
    original_prompt: str
    final_prompt: str
    is_json: bool
    negative: str | None
    width: int
    height: int
    steps: int | None
    model: str
    seed: int
    created_at: float
    references: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class StoredAccountState:
    account_key: str
    spent_until: float | None


@dataclass(frozen=True)
class AccountDayUsage:
    images: int = 0
    neurons: float = 0.0
    calls: int = 0
    failures: int = 0


@dataclass(frozen=True)
class UsageCounts:
    this_minute: int
    today: int
    #: when the oldest event of the last minute was recorded (None if there is none)
    oldest_in_minute: float | None


class UsageLedger(Protocol):
    """One event per admitted generation: the ledger behind per-minute and per-day limits."""

    async def try_consume(
        self,
        user_key: str,
        *,
        now: float,
        day: str,
        per_minute: int | None,
        per_day: int | None,
        count: int = 1,
    ) -> tuple[int, ...] | None:
        """Record ``count`` events if both limits allow all of them, atomically (also across processes);
        their ids, or None (then nothing was recorded)."""
        ...

    async def refund(self, *event_ids: int) -> None:
        """Give back events (the generation failed, was never started or not delivered)."""
        ...

    async def counts(self, user_key: str, *, now: float, day: str) -> UsageCounts: ...

    async def prune(self, *, before_day: str) -> int:
        """Drop events of days before ``before_day``; returns how many."""
        ...


class AccountStateStore(Protocol):
    """Spent accounts and per-account daily usage."""

    async def spent_accounts(self, *, now: float) -> dict[str, float]:
        """Accounts still spent at ``now``, with the time they come back."""
        ...

    async def mark_spent(self, account_key: str, *, until: float, now: float) -> None: ...

    async def record_call(
        self, account_key: str, *, day: str, image: bool, neurons: float | None = None, failed: bool = False
    ) -> None:
        """Count one upstream call against the account's UTC day."""
        ...

    async def usage_on(self, day: str) -> dict[str, AccountDayUsage]: ...


class JobStore(Protocol):
    """Finished jobs for re-roll."""

    async def save(self, job: StoredJob) -> None:
        """Store a job and its reference images together (all or nothing)."""
        ...

    async def get(self, job_id: str) -> StoredJob | None: ...

    async def recent_for_user(self, user_key: str, limit: int) -> list[StoredJob]:
        """A user's latest ``limit`` jobs, newest first, without their reference images (the web history)."""
        ...

    async def prune(self, *, older_than: float) -> int:
        """Forget jobs created before ``older_than``; returns how many."""
        ...


class AccountEvent(StrEnum):
    """What one replica learnt about an account and every other replica must honour."""

    SPENT = "spent"
    COOLING = "cooling"
    MISCONFIGURED = "misconfigured"
    #: a first call since start or since a failure succeeded: the account serves, waiters may use it
    SERVING = "serving"


@dataclass(frozen=True)
class AccountChange:
    account_key: str
    event: AccountEvent
    #: spent or cooling until; for MISCONFIGURED, when the next trial call is due
    until: float | None = None
    reason: str = ""
    #: the replica that learnt it (a replica ignores its own changes when they come back)
    origin: str = ""


class AccountStateFeed(Protocol):
    """Account state shared by replicas: published by the one that learns it, heard by all within a second."""

    async def publish(self, change: AccountChange) -> None:
        """Record ``change`` and tell every replica (it also ends that account's probe claim)."""
        ...

    async def current(self, *, now: float) -> list[AccountChange]:
        """Everything still in force at ``now``: at start-up, and to catch up after a lost connection."""
        ...

    async def claim_probe(self, account_key: str, *, now: float, lease: float) -> bool:
        """Become the one replica calling an account whose state is unknown; False if another one is."""
        ...

    def listen(
        self, on_change: Callable[[AccountChange], None], on_reconnect: Callable[[], Awaitable[None]]
    ) -> AbstractAsyncContextManager[None]:
        """Call ``on_change`` for every change another replica publishes while the context is open, and
        ``on_reconnect`` after a lost connection is back (to catch up with ``current``)."""
        ...


class RequestState(StrEnum):
    """Where an accepted request is. The first three are open: a replica holds its lease."""

    WAITING = "waiting"
    RUNNING = "running"
    #: the image is being sent: after a crash it may have arrived, so it is never made again
    DELIVERING = "delivering"
    DONE = "done"
    FAILED = "failed"


OPEN_STATES = (RequestState.WAITING, RequestState.RUNNING, RequestState.DELIVERING)


@dataclass(frozen=True)
class AcceptedRequest:
    """A request the user saw acknowledged, from acceptance until it ends (the ``accepted_requests`` table).

    The row is the lease: ``replica`` holds it until ``lease_until`` and renews it while it lives; once it
    lapses another replica takes the request over (``AcceptedRequests.claim_expired``).
    """

    id: str
    user_key: str
    platform: str
    replica: str
    state: RequestState
    accepted_at: float
    lease_until: float
    attempts: int = 1
    #: the usage events charged at acceptance: a takeover reuses them, so the quota is counted once
    usage_ids: tuple[int, ...] = ()
    #: JSON-able: what another replica needs to finish or answer it (see ``bot.core.requests``)
    payload: Mapping[str, Any] = field(default_factory=dict)

    @property
    def open(self) -> bool:
        return self.state in OPEN_STATES


class AcceptedRequests(Protocol):
    """The accepted requests and their leases, shared by every replica on the database."""

    async def insert(self, request: AcceptedRequest) -> None:
        """Record a newly accepted request."""
        ...

    async def get(self, request_id: str) -> AcceptedRequest | None: ...

    async def renew(self, replica: str, *, lease_until: float) -> int:
        """Extend the lease of every open request ``replica`` holds, in one statement; returns how many."""
        ...

    async def set_state(self, request_id: str, state: RequestState, *, replica: str) -> bool:
        """Move an open request ``replica`` still holds to ``state``; False when it is not (any more) its own
        or has already ended (another replica took it over after the lease lapsed)."""
        ...

    async def note_reply(self, request_id: str, key: str, value: int | str, *, replica: str) -> None:
        """Set ``payload["reply"][key]`` of an open request ``replica`` holds (``key`` is an identifier)."""
        ...

    async def claim_expired(
        self,
        replica: str,
        *,
        now: float,
        lease_until: float,
        platforms: Sequence[str],
        limit: int,
        foreign_too: bool = False,
    ) -> list[AcceptedRequest]:
        """Take over up to ``limit`` open requests of ``platforms`` whose lease lapsed by ``now`` (each once,
        however many replicas sweep at the same time): they become ``replica``'s until ``lease_until``, with
        ``attempts`` raised by one. ``foreign_too``: also every open request another replica holds (a single
        process restarting: whoever held them is gone)."""
        ...

    async def release(self, replica: str, *, now: float) -> int:
        """Let the lease of every open request ``replica`` holds lapse at ``now`` (a clean stop); how many."""
        ...

    async def prune(self, *, accepted_before: float) -> int:
        """Forget ended requests accepted before ``accepted_before``; returns how many."""
        ...

    async def charge(self, request_id: str, usage_ids: tuple[int, ...]) -> None:
        """Put the usage events charged at admission on a request's row (before its payload is known)."""
        ...

    async def forget(self, request_id: str, *, replica: str) -> bool:
        """Delete an open row ``replica`` holds that was never acknowledged (empty payload): its update, sent
        again, registers afresh. False when there was no such row."""
        ...


@dataclass(frozen=True)
class AlbumItem:
    """One item of a chat album (Telegram sends each photo as an update of its own), kept in the shared database
    until one replica claims the whole album."""

    chat_id: str
    #: the platform's id of the album (Telegram's media_group_id)
    album_id: str
    #: the item's message id: the album's order
    item_id: int
    received_at: float
    #: the message as the adapter serialised it, so the replica that claims the album can rebuild it
    payload: str


@dataclass(frozen=True)
class AlbumClaim:
    """What ``AlbumStore.claim`` found."""

    #: every item, in order, when this caller claimed the album; empty otherwise
    items: tuple[AlbumItem, ...] = ()
    #: when the newest item arrived, if the album is not quiet yet (claim again once it is); None with no items:
    #: another replica claimed it, or there is nothing to claim
    last_arrival: float | None = None


class AlbumStore(Protocol):
    """Album items gathered across replicas; once no item came for a while, exactly one replica claims the album."""

    async def add(self, item: AlbumItem) -> bool:
        """Keep one item (the same item twice is kept once); False if its album was claimed already."""
        ...

    async def claim(
        self, chat_id: str, album_id: str, *, quiet_since: float, by: str, now: float
    ) -> AlbumClaim:
        """Claim the album if its newest item arrived at or before ``quiet_since`` and no one claimed it yet;
        atomic across processes, so one caller gets the items."""
        ...

    async def unclaimed(self, *, quiet_since: float, limit: int) -> list[tuple[str, str]]:
        """``(chat_id, album_id)`` of up to ``limit`` albums nobody claimed whose newest item arrived at or before
        ``quiet_since``, oldest first: albums whose replica died before its timer fired."""
        ...

    async def prune(self, *, older_than: float) -> int:
        """Forget items and claims from before ``older_than``; returns how many items."""
        ...


class Storage(Protocol):
    """One backend's stores, opened and closed together by the entry point."""

    @property
    def ledger(self) -> UsageLedger: ...

    @property
    def accounts(self) -> AccountStateStore: ...

    @property
    def jobs(self) -> JobStore: ...

    @property
    def images(self) -> ImageStore: ...

    @property
    def requests(self) -> AcceptedRequests: ...

    @property
    def albums(self) -> AlbumStore: ...

    @property
    def lines(self) -> UserLines:
        """Each user's line (open requests, who runs) on the accepted requests."""
        ...

    @property
    def feed(self) -> AccountStateFeed | None:
        """Account state shared across processes; None when the backend serves one process (SQLite)."""
        ...

    @property
    def cancels(self) -> CancelRelay:
        """Carries a ❌ to the replica running the request (in-process on SQLite)."""
        ...
