"""Time as the core sees it: injectable, so tests can cross 00:00 UTC without waiting for it."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def time(self) -> float:
        """Seconds since the epoch."""
        ...


class SystemClock:
    def time(self) -> float:
        return time.time()


class ManualClock:
    """A clock that moves only when told to (tests and benchmarks)."""

    def __init__(self, start: float | datetime) -> None:
        self._now = start.timestamp() if isinstance(start, datetime) else start

    def time(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds

    def set(self, moment: datetime) -> None:
        self._now = moment.timestamp()


def utc_day(timestamp: float) -> str:
    """The UTC calendar day of ``timestamp``, e.g. ``2026-11-21``: Workers AI's quota day."""
    return datetime.fromtimestamp(timestamp, UTC).date().isoformat()


def next_utc_midnight(timestamp: float) -> float:
    """When Workers AI's daily allocation next resets (00:00 UTC)."""
    day = datetime.fromtimestamp(timestamp, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return (day + timedelta(days=1)).timestamp()


def as_datetime(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def last_utc_midnight(timestamp: float) -> float:
    """The 00:00 UTC at or before ``timestamp``: when the current quota day began."""
    return next_utc_midnight(timestamp) - 86400.0
