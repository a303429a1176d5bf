"""Cloudflare accounts: which can serve now, failover across them, and what is remembered about each.

An account is in one of four states (``AccountHealth``). Spent accounts are persisted until the next 00:00 UTC so
a restart never calls them again; cooldowns and misconfiguration live in memory. What a failure teaches is
applied to memory first and written afterwards by the ``Bookkeeper``, so no request waits for the database to
learn that an account is spent, and no storage fault turns a served image into an error.

Three edges, each with a bounded cost:
- Cloudflare's day may flip minutes after ours: a "spent" answer within ``midnight_grace`` after 00:00 UTC is
  re-checked after as long again as has passed since midnight (at least ``_MIN_SPENT_RECHECK``), so an account
  is back at most about as late past its real reset as that reset was late, instead of a whole day later.
- A misconfigured account gets one trial call every ``misconfigured_recheck`` seconds (half-open): fixed tokens
  and restored permissions come back without a restart, and a still-broken one costs one call per interval.
- An account that times out (``attempt_deadline``) or is refused by something in between (``UNREACHABLE``)
  rests for ``capacity_cooldown``, doubling while it keeps failing, at most ``_MAX_UNREACHABLE_COOLDOWN``.

Learning costs one call per account, not one per concurrent request or per replica: an account whose state is
unknown takes one call at a time (``ProbeGate``). With a shared ``AccountStateFeed`` (PostgreSQL), whatever one
replica learns (spent, cooling, misconfigured, serving again) is published and applied by every other replica.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar

from bot.core.bookkeeping import Bookkeeper
from bot.core.clock import Clock, as_datetime, last_utc_midnight, next_utc_midnight, utc_day
from bot.core.models import AccountHealth, AccountStatus
from bot.core.persistence import AccountChange, AccountEvent, AccountStateFeed, AccountStateStore
from bot.core.probes import ProbeGate
from bot.errors import AllAccountsUnavailable, UpstreamUnavailable
from bot.providers.base import FailureKind, UpstreamFailure
from bot.settings import AccountConfig

log = logging.getLogger(__name__)

T = TypeVar("T")

_MIN_SPENT_RECHECK = 30.0
_MAX_UNREACHABLE_COOLDOWN = 600.0


@dataclass
class _AccountRuntime:
    config: AccountConfig
    spent_until: float | None = None
    cooling_until: float | None = None
    misconfigured: str | None = None
    #: when a misconfigured account may take one trial call (half-open)
    recheck_at: float = 0.0
    #: consecutive UNREACHABLE failures; each doubles the next rest
    strikes: int = 0

    def can_serve(self, now: float) -> bool:
        """Healthy, or misconfigured with a trial call due."""
        if self.misconfigured is not None:
            return now >= self.recheck_at and self._free(now)
        return self.health(now) is AccountHealth.HEALTHY

    def _free(self, now: float) -> bool:
        spent = self.spent_until is not None and self.spent_until > now
        return not spent and not (self.cooling_until is not None and self.cooling_until > now)

    def health(self, now: float) -> AccountHealth:
        if self.misconfigured is not None:
            return AccountHealth.MISCONFIGURED
        if self.spent_until is not None and self.spent_until > now:
            return AccountHealth.SPENT
        if self.cooling_until is not None and self.cooling_until > now:
            return AccountHealth.COOLING
        return AccountHealth.HEALTHY

    def back_at(self, now: float) -> float | None:
        """When this account can serve again (None: misconfigured, nothing promised)."""
        health = self.health(now)
        if health is AccountHealth.SPENT:
            return self.spent_until
        if health is AccountHealth.COOLING:
            return self.cooling_until
        return None if health is AccountHealth.MISCONFIGURED else now

    def served(self) -> None:
        if self.misconfigured is not None:
            log.warning("account %s answered again: back in rotation", self.config.label)
        self.misconfigured = None
        self.strikes = 0


@dataclass(frozen=True)
class Served(Generic[T]):
    """A successful failover run: the value, the account that served it, and how many upstream calls it took."""

    value: T
    account: AccountConfig
    calls: int


class AccountPool:
    """Picks accounts by strategy, never calls one known to be unavailable, and learns from each failure."""

    def __init__(
        self,
        accounts: Sequence[AccountConfig],
        store: AccountStateStore,
        clock: Clock,
        *,
        strategy: str = "fill-first",
        capacity_cooldown: float = 30.0,
        attempt_deadline: float | None = None,
        midnight_grace: float = 15 * 60.0,
        misconfigured_recheck: float = 15 * 60.0,
        bookkeeper: Bookkeeper | None = None,
        feed: AccountStateFeed | None = None,
        probe_patience: float = 2.0,
    ) -> None:
        self._accounts = [_AccountRuntime(config) for config in sorted(accounts, key=lambda a: a.index)]
        self._store = store
        self._clock = clock
        self._round_robin = strategy == "round-robin"
        self._capacity_cooldown = capacity_cooldown
        self._attempt_deadline = attempt_deadline
        self._midnight_grace = midnight_grace
        self._misconfigured_recheck = misconfigured_recheck
        self.bookkeeper = bookkeeper or Bookkeeper()
        self._cursor = 0
        self._feed = feed
        # A probe's claim outlives a hung call only as long as one attempt may take.
        self._gate = ProbeGate(clock, feed, lease=attempt_deadline or 120.0, patience=probe_patience)

    @property
    def size(self) -> int:
        return len(self._accounts)

    async def load(self) -> None:
        """Restore spent accounts from the database (call once at start-up)."""
        spent = await self._store.spent_accounts(now=self._clock.time())
        for account in self._accounts:
            account.spent_until = spent.get(account.config.key)
        await self._catch_up()

    @asynccontextmanager
    async def shared(self) -> AsyncIterator[None]:
        """Hear what other replicas learn while open (nothing to hear without a shared feed)."""
        if self._feed is None:
            yield
            return
        async with self._feed.listen(self.apply, self._catch_up):
            await self._catch_up()  # anything published between load() and listening
            yield

    async def _catch_up(self) -> None:
        if self._feed is not None:
            for change in await self._feed.current(now=self._clock.time()):
                self.apply(change)

    def apply(self, change: AccountChange) -> None:
        """What another replica learnt about one of our accounts; unknown accounts are ignored."""
        runtime = next((a for a in self._accounts if a.config.key == change.account_key), None)
        if runtime is None:
            return
        if change.event is AccountEvent.SPENT:
            runtime.spent_until = max(runtime.spent_until or 0.0, change.until or 0.0)
        elif change.event is AccountEvent.COOLING:
            runtime.cooling_until = max(runtime.cooling_until or 0.0, change.until or 0.0)
        elif change.event is AccountEvent.MISCONFIGURED:
            runtime.misconfigured = change.reason or "misconfigured (learnt by another replica)"
            runtime.recheck_at = change.until or self._clock.time() + self._misconfigured_recheck
        else:
            runtime.misconfigured = None
            runtime.cooling_until = None
            runtime.strikes = 0
        self._gate.heard(change)

    def mark_misconfigured(self, account: AccountConfig, reason: str) -> None:
        """Take an account out of rotation; it gets one trial call every ``misconfigured_recheck`` seconds."""
        runtime = self._runtime(account)
        if runtime.misconfigured is None:
            log.error(
                "account %s taken out of rotation (re-checked every %.0f s): %s",
                account.label,
                self._misconfigured_recheck,
                reason,
            )
        runtime.misconfigured = reason
        runtime.recheck_at = self._clock.time() + self._misconfigured_recheck

    async def run(
        self,
        call: Callable[[AccountConfig], Awaitable[T]],
        *,
        max_transient: int,
        neurons_of: Callable[[T], float | None] = lambda _: None,
        counts_as_image: bool = True,
    ) -> Served[T]:
        """Call ``call`` on healthy accounts until one serves. Raises the last non-failover ``UpstreamFailure``,
        ``UpstreamUnavailable`` after ``max_transient`` transient failures, or ``AllAccountsUnavailable``."""
        calls = 0
        transient = 0
        tried: set[int] = set()
        while True:
            account = await self._choose(tried)
            if account is None:
                raise self._nothing_available(transient)
            tried.add(account.index)
            calls += 1
            probe = not self._gate.is_proven(account.key)
            try:
                value = await self._attempt(call, account)
            except UpstreamFailure as failure:
                self._gate.finish(account.key, ok=False)
                self._learn(account, failure)
                if not failure.kind.fails_over:
                    raise
                if failure.kind.is_transient:
                    transient += 1
                    if transient >= max_transient:
                        raise UpstreamUnavailable(
                            f"{transient} transient failures: {failure.detail}"
                        ) from None
                continue
            except (
                BaseException
            ):  # cancelled, or not the upstream's answer: nothing learnt, waiters pick again
                self._gate.finish(account.key, ok=False)
                raise
            self._gate.finish(account.key, ok=True)
            self._runtime(account).served()
            if probe:
                self._publish(AccountChange(account.key, AccountEvent.SERVING))
            self._record_call(account, image=counts_as_image, neurons=neurons_of(value))
            return Served(value, account, calls)

    async def _attempt(self, call: Callable[[AccountConfig], Awaitable[T]], account: AccountConfig) -> T:
        """One call under the per-attempt deadline: a read timeout alone never ends a trickling answer."""
        deadline = asyncio.timeout(self._attempt_deadline)
        try:
            async with deadline:
                return await call(account)
        except TimeoutError:
            if not deadline.expired():
                raise
            raise UpstreamFailure(
                FailureKind.UNREACHABLE, f"no complete answer within {self._attempt_deadline:g} s"
            ) from None

    async def _choose(self, tried: set[int]) -> AccountConfig | None:
        """``_pick``'s account, unless another request (or replica) is finding out whether it serves: then the
        next one, and when none is left, wait for one of those outcomes and pick again."""
        busy: set[str] = set()
        while True:
            account = self._pick(tried, busy)
            if account is not None and await self._gate.try_start(account.key):
                return account
            if account is not None:
                busy.add(account.key)
                continue
            if not busy:
                return None
            await self._gate.wait_any(busy)
            busy.clear()

    def _pick(self, tried: set[int], busy: Collection[str] = ()) -> AccountConfig | None:
        """The next account to call: serving ones only, untried before tried (a transient retry goes round)."""
        now = self._clock.time()
        ready = [a.config for a in self._accounts if a.can_serve(now) and a.config.key not in busy]
        if not ready:
            return None
        if self._round_robin:
            start = self._cursor % len(ready)
            ready = ready[start:] + ready[:start]
        fresh = [account for account in ready if account.index not in tried]
        chosen = (fresh or ready)[0]
        if self._round_robin and not tried:
            self._cursor += 1
        runtime = self._runtime(chosen)
        if runtime.misconfigured is not None:
            # half-open: this request is the one trial call; others keep skipping it meanwhile
            runtime.recheck_at = now + self._misconfigured_recheck
            log.info("account %s: trial call after %s", chosen.label, runtime.misconfigured)
        return chosen

    def _learn(self, account: AccountConfig, failure: UpstreamFailure) -> None:
        """Apply what ``failure`` says to memory at once; the database hears of it afterwards."""
        now = self._clock.time()
        runtime = self._runtime(account)
        kind = failure.kind
        if kind is FailureKind.SPENT:
            runtime.spent_until = self._spent_until(now)
        elif kind is FailureKind.BUSY:
            runtime.cooling_until = now + (failure.retry_after or self._capacity_cooldown)
        elif kind is FailureKind.UNREACHABLE:
            runtime.strikes += 1
            rest = min(self._capacity_cooldown * 2 ** min(runtime.strikes - 1, 16), _MAX_UNREACHABLE_COOLDOWN)
            runtime.cooling_until = now + max(rest, failure.retry_after or 0.0)
        elif kind is FailureKind.MISCONFIGURED:
            self.mark_misconfigured(account, failure.detail)
        log.warning(
            "account %s failed: %s (status %s, upstream request %s)",
            account.label,
            failure.detail,
            failure.status,
            failure.upstream_request_id or "-",
        )
        self._record_call(account, image=False, failed=True)
        self._share(account, kind, runtime)
        if kind is FailureKind.SPENT and runtime.spent_until is not None:
            until = runtime.spent_until
            self.bookkeeper.submit(
                f"spent mark of {account.label}",
                lambda: self._store.mark_spent(account.key, until=until, now=now),
            )
            log.warning("account %s daily allocation spent until %s", account.label, as_datetime(until))

    def _share(self, account: AccountConfig, kind: FailureKind, runtime: _AccountRuntime) -> None:
        """Tell the other replicas what this failure taught (after memory, like every other write)."""
        if kind is FailureKind.SPENT and runtime.spent_until is not None:
            self._publish(AccountChange(account.key, AccountEvent.SPENT, runtime.spent_until))
        elif kind in (FailureKind.BUSY, FailureKind.UNREACHABLE) and runtime.cooling_until is not None:
            self._publish(AccountChange(account.key, AccountEvent.COOLING, runtime.cooling_until))
        elif kind is FailureKind.MISCONFIGURED and runtime.misconfigured is not None:
            self._publish(
                AccountChange(
                    account.key, AccountEvent.MISCONFIGURED, runtime.recheck_at, runtime.misconfigured
                )
            )

    def _publish(self, change: AccountChange) -> None:
        feed = self._feed
        if feed is not None:
            self.bookkeeper.submit(f"sharing {change.event} of an account", lambda: feed.publish(change))

    def _spent_until(self, now: float) -> float:
        """Until the next 00:00 UTC, unless our day began so recently that Cloudflare's may not have yet."""
        since_midnight = now - last_utc_midnight(now)
        if since_midnight >= self._midnight_grace:
            return next_utc_midnight(now)
        # The wait grows with each "spent" answer (it doubles the time since midnight), so a late reset costs
        # at most about its own lateness, and a truly spent account a handful of calls before a day's rest.
        return now + max(_MIN_SPENT_RECHECK, since_midnight)

    def _record_call(
        self, account: AccountConfig, *, image: bool, neurons: float | None = None, failed: bool = False
    ) -> None:
        day = utc_day(self._clock.time())
        self.bookkeeper.submit(
            f"usage of {account.label}",
            lambda: self._store.record_call(
                account.key, day=day, image=image, neurons=neurons, failed=failed
            ),
        )

    async def drain(self) -> None:
        """Wait until what the pool learnt so far is written (tests, shutdown)."""
        await self.bookkeeper.drain()

    def _nothing_available(self, transient: int) -> Exception:
        now = self._clock.time()
        if transient:
            return UpstreamUnavailable(f"{transient} transient failures and no other account to try")
        returns = [back for a in self._accounts if (back := a.back_at(now)) is not None]
        soonest = min(returns) if returns else None
        if not self._accounts:
            reason = "no Cloudflare account is configured"
        elif soonest is None:
            reason = "every account is misconfigured"
        else:
            reason = "every account is spent or cooling down"
        return AllAccountsUnavailable(retry_at=as_datetime(soonest) if soonest else None, reason=reason)

    def _runtime(self, account: AccountConfig) -> _AccountRuntime:
        for runtime in self._accounts:
            if runtime.config.index == account.index:
                return runtime
        raise KeyError(account.label)

    async def statuses(self) -> list[AccountStatus]:
        """Every account's state and today's usage, for ``accounts`` and ``/accounts``."""
        now = self._clock.time()
        usage = await self._store.usage_on(utc_day(now))
        result = []
        for runtime in self._accounts:
            health = runtime.health(now)
            back = runtime.back_at(now) if health in (AccountHealth.SPENT, AccountHealth.COOLING) else None
            today = usage.get(runtime.config.key)
            result.append(
                AccountStatus(
                    index=runtime.config.index,
                    label=runtime.config.label,
                    health=health,
                    until=as_datetime(back) if back else None,
                    reason=runtime.misconfigured or "",
                    images_today=today.images if today else 0,
                    neurons_today=today.neurons if today else 0.0,
                )
            )
        return result
