"""Who may generate, and how often: allow-list, admins, per-minute and per-day limits."""

from __future__ import annotations

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


class RateLimiter:
    """Per-user limits over the usage ledger. A limit of 0 means unlimited."""

    def __init__(self, ledger: UsageLedger, clock: Clock, *, per_minute: int, per_day: int) -> None:
        self._ledger = ledger
        self._clock = clock
        self._per_minute = per_minute or None
        self._per_day = per_day or None

    async def acquire(self, user_key: str, *, exempt: bool = False, count: int = 1) -> UsageSlots:
        """Consume ``count`` generations, all or none, or raise ``LimitReached`` saying when to try again.

        ``exempt`` users (admins) are counted but never refused, so their ``/quota`` still shows real usage.
        """
        now = self._clock.time()
        day = utc_day(now)
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
        reset = oldest + 60.0
        return LimitReached(
            scope="minute",
            limit=self._per_minute or 0,
            retry_after=max(1.0, reset - now),
            resets_at=as_datetime(reset),
        )
