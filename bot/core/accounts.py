"""Cloudflare accounts: which can serve now, failover across them, and what is remembered about each.

An account is in one of four states (``AccountHealth``). Spent accounts are persisted until the next 00:00 UTC so
a restart never calls them again; cooldowns and misconfiguration live in memory (a restart is how an operator
says "I fixed the token").
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from bot.core.clock import Clock, as_datetime, next_utc_midnight, utc_day
from bot.core.models import AccountHealth, AccountStatus
from bot.core.persistence import AccountStateStore
from bot.errors import AllAccountsUnavailable, UpstreamUnavailable
from bot.providers.base import FailureKind, UpstreamFailure
from bot.settings import AccountConfig

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass
class _AccountRuntime:
    config: AccountConfig
    spent_until: float | None = None
    cooling_until: float | None = None
    misconfigured: str | None = None

    def health(self, now: float) -> AccountHealth:
        if self.misconfigured is not None:
            return AccountHealth.MISCONFIGURED
        if self.spent_until is not None and self.spent_until > now:
            return AccountHealth.SPENT
        if self.cooling_until is not None and self.cooling_until > now:
            return AccountHealth.COOLING
        return AccountHealth.HEALTHY

    def back_at(self, now: float) -> float | None:
        """When this account can serve again (None: not before a restart)."""
        health = self.health(now)
        if health is AccountHealth.SPENT:
            return self.spent_until
        if health is AccountHealth.COOLING:
            return self.cooling_until
        return None if health is AccountHealth.MISCONFIGURED else now


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
    ) -> None:
        self._accounts = [_AccountRuntime(config) for config in sorted(accounts, key=lambda a: a.index)]
        self._store = store
        self._clock = clock
        self._round_robin = strategy == "round-robin"
        self._capacity_cooldown = capacity_cooldown
        self._cursor = 0

    @property
    def size(self) -> int:
        return len(self._accounts)

    async def load(self) -> None:
        """Restore spent accounts from the database (call once at start-up)."""
        spent = await self._store.spent_accounts(now=self._clock.time())
        for account in self._accounts:
            account.spent_until = spent.get(account.config.key)

    def mark_misconfigured(self, account: AccountConfig, reason: str) -> None:
        """Take an account out of rotation until restart (``doctor`` found its token invalid, say)."""
        runtime = self._runtime(account)
        if runtime.misconfigured is None:
            log.error("account %s taken out of rotation: %s", account.label, reason)
        runtime.misconfigured = reason

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
            account = self._pick(tried)
            if account is None:
                raise self._nothing_available(transient)
            tried.add(account.index)
            calls += 1
            try:
                value = await call(account)
            except UpstreamFailure as failure:
                await self._learn(account, failure)
                if not failure.kind.fails_over:
                    raise
                if failure.kind is FailureKind.TRANSIENT:
                    transient += 1
                    if transient >= max_transient:
                        raise UpstreamUnavailable(
                            f"{transient} transient failures: {failure.detail}"
                        ) from None
                continue
            await self._store.record_call(
                account.key, day=utc_day(self._clock.time()), image=counts_as_image, neurons=neurons_of(value)
            )
            return Served(value, account, calls)

    def _pick(self, tried: set[int]) -> AccountConfig | None:
        """The next account to call: healthy ones only, untried before tried (a transient retry goes round)."""
        now = self._clock.time()
        healthy = [a.config for a in self._accounts if a.health(now) is AccountHealth.HEALTHY]
        if not healthy:
            return None
        if self._round_robin:
            start = self._cursor % len(healthy)
            healthy = healthy[start:] + healthy[:start]
        fresh = [account for account in healthy if account.index not in tried]
        chosen = (fresh or healthy)[0]
        if self._round_robin and not tried:
            self._cursor += 1
        return chosen

    async def _learn(self, account: AccountConfig, failure: UpstreamFailure) -> None:
        now = self._clock.time()
        runtime = self._runtime(account)
        kind = failure.kind
        log.warning(
            "account %s failed: %s (status %s, upstream request %s)",
            account.label,
            failure.detail,
            failure.status,
            failure.upstream_request_id or "-",
        )
        await self._store.record_call(account.key, day=utc_day(now), image=False, failed=True)
        if kind is FailureKind.SPENT:
            runtime.spent_until = next_utc_midnight(now)
            await self._store.mark_spent(account.key, until=runtime.spent_until, now=now)
            log.warning(
                "account %s daily allocation spent until %s", account.label, as_datetime(runtime.spent_until)
            )
        elif kind is FailureKind.BUSY:
            runtime.cooling_until = now + (failure.retry_after or self._capacity_cooldown)
        elif kind is FailureKind.MISCONFIGURED:
            self.mark_misconfigured(account, failure.detail)

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
