"""Who may generate, and how often: allow-list, admins, per-minute and per-day limits."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from bot.core.clock import Clock, as_datetime, next_utc_midnight, utc_day
from bot.core.models import QuotaStatus, UserRef
from bot.core.persistence import UsageLedger
from bot.errors import AccessDenied, LimitReached


def _identities(user: UserRef) -> set[str]:
    """Every way an id list may name this user, their chat or server: ``telegram:123``, bare ``123``, ..."""
    names = {user.key, user.user_id}
    for place in (user.chat_id, user.group_id):
        if place:
            names |= {f"{user.platform}:{place}", place}
    return names


@dataclass(frozen=True)
class AccessPolicy:
    """``ADMIN_IDS`` and ``ALLOWED_IDS``; an empty allow-list lets everyone in."""

    admin_ids: frozenset[str] = frozenset()
    allowed_ids: frozenset[str] = frozenset()

    @classmethod
    def from_lists(cls, admins: Iterable[str], allowed: Iterable[str]) -> AccessPolicy:
        return cls(frozenset(admins), frozenset(allowed))

    def is_admin(self, user: UserRef) -> bool:
        # Admin rights follow the person, never the chat they are in.
        return bool({user.key, user.user_id} & self.admin_ids)

    def is_allowed(self, user: UserRef) -> bool:
        return not self.allowed_ids or self.is_admin(user) or bool(_identities(user) & self.allowed_ids)

    def check(self, user: UserRef) -> None:
        if not self.is_allowed(user):
            raise AccessDenied(f"{user.key} is not on the allow-list")


@dataclass(frozen=True)
class UsageSlots:
    """Consumed generations (one ledger event each; none for operators); ``RateLimiter.refund`` gives them back."""

    event_ids: tuple[int, ...] = ()

    def split(self) -> list[UsageSlots]:
        """One ``UsageSlots`` per generation, so each can be kept or refunded on its own."""
        return [UsageSlots((event_id,)) for event_id in self.event_ids]


_WINDOW = 60.0


class FailureBudget:
    """Failed generations per user in the last minute.

    Failures are refunded from the limits (a user should not pay for a filtered prompt or an outage), so without
    this a user's failing requests would reach the upstream without bound. In memory: a minute is short enough
    that a restart forgetting it does no harm (each process of a scaled-out bot keeps its own).
    """

    def __init__(self, per_minute: int | None) -> None:
        self.per_minute = per_minute
        self._failures: dict[str, deque[float]] = {}

    def record(self, user_key: str, now: float) -> None:
        if self.per_minute is None:
            return
        self._recent(user_key, now).append(now)
        if len(self._failures) > 4096:  # forget users whose failures are all older than a minute
            for key in [key for key in self._failures if not self._recent(key, now)]:
                del self._failures[key]

    def retry_after(self, user_key: str, now: float) -> float | None:
        """Seconds until ``user_key`` may try again; None when the budget allows a try now."""
        if self.per_minute is None:
            return None
        recent = self._recent(user_key, now)
        if len(recent) < self.per_minute:
            return None
        return max(1.0, recent[-self.per_minute] + _WINDOW - now)

    def _recent(self, user_key: str, now: float) -> deque[float]:
        # keep only (now - 60 s, now]: a failure "in the future" (the clock stepped back) is forgotten, not
        # held against the user for as long as the step
        kept = deque(t for t in self._failures.get(user_key, ()) if now - _WINDOW < t <= now)
        self._failures[user_key] = kept
        return kept


class RateLimiter:
    """Per-user limits over the usage ledger, and the failure budget. A limit of 0 means unlimited."""

    def __init__(
        self,
        ledger: UsageLedger,
        clock: Clock,
        *,
        per_minute: int,
        per_day: int,
        failures_per_minute: int = 0,
    ) -> None:
        self._ledger = ledger
        self._clock = clock
        self._per_minute = per_minute or None
        self._per_day = per_day or None
        self._failures = FailureBudget(failures_per_minute or None)

    async def acquire(self, user_key: str, *, exempt: bool = False, count: int = 1) -> UsageSlots:
        """Consume ``count`` generations, all or none, or raise ``LimitReached`` saying when to try again.

        ``exempt`` users (admins) are counted but never refused, so their ``/quota`` still shows real usage.
        """
        now = self._clock.time()
        day = utc_day(now)
        wait = None if exempt else self._failures.retry_after(user_key, now)
        if wait is not None:
            raise LimitReached(
                scope="minute",
                limit=self._failures.per_minute or 0,
                retry_after=wait,
                resets_at=as_datetime(now + wait),
            )
        event_ids = await self._ledger.try_consume(
            user_key,
            now=now,
            day=day,
            per_minute=None if exempt else self._per_minute,
            per_day=None if exempt else self._per_day,
            count=count,
        )
        if event_ids is not None:
            return UsageSlots(event_ids)
        raise await self._limit_error(user_key, now, day, count)

    async def refund(self, slots: UsageSlots) -> None:
        """Give back consumed generations (failed, cancelled, never started or not delivered)."""
        await self._ledger.refund(*slots.event_ids)

    def note_failure(self, user_key: str, *, count: int = 1) -> None:
        """``count`` generations of ``user_key`` failed: they count against the failure budget."""
        for _ in range(count):
            self._failures.record(user_key, self._clock.time())

    async def quota(self, user_key: str, *, is_admin: bool = False) -> QuotaStatus:
        now = self._clock.time()
        counts = await self._ledger.counts(user_key, now=now, day=utc_day(now))
        return QuotaStatus(
            used_today=counts.today,
            daily_limit=None if is_admin else self._per_day,
            used_this_minute=counts.this_minute,
            minute_limit=None if is_admin else self._per_minute,
            resets_at=as_datetime(next_utc_midnight(now)),
            is_admin=is_admin,
        )

    async def _limit_error(self, user_key: str, now: float, day: str, count: int = 1) -> LimitReached:
        counts = await self._ledger.counts(user_key, now=now, day=day)
        if self._per_day is not None and counts.today + count > self._per_day:
            reset = next_utc_midnight(now)
            left = max(0, self._per_day - counts.today)
            return LimitReached(
                # some left, but fewer than asked for (--n): "day_short" says how many, not "all used"
                scope="day" if left == 0 else "day_short",
                limit=self._per_day,
                retry_after=reset - now,
                resets_at=as_datetime(reset),
                left=left,
                requested=count,
            )
        oldest = counts.oldest_in_minute if counts.oldest_in_minute is not None else now
        # an event "in the future" (the clock was stepped back) makes the user wait no longer than a minute
        reset = min(oldest, now) + _WINDOW
        return LimitReached(
            scope="minute",
            limit=self._per_minute or 0,
            retry_after=max(1.0, reset - now),
            resets_at=as_datetime(reset),
        )
