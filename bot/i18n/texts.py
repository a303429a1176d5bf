"""Platform-free renderings both chats share: ``/quota`` and ``/accounts``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from bot.core.models import AccountStatus, QuotaStatus
from bot.i18n import format_time, format_wait, translate


def quota_text(quota: QuotaStatus, locale: str, now: datetime | None = None) -> str:
    """Used today, remaining, and when the daily quota resets."""
    if quota.is_admin:
        return translate("quota.unlimited", locale)
    if quota.daily_limit is None:
        return translate("quota.status.no_daily", locale, used=quota.used_today)
    wait = (quota.resets_at - (now or datetime.now(UTC))).total_seconds()
    return translate(
        "quota.status",
        locale,
        used=quota.used_today,
        limit=quota.daily_limit,
        remaining=quota.remaining_today,
        reset=format_time(quota.resets_at),
        wait=format_wait(wait, locale),
    )


def accounts_text(statuses: Sequence[AccountStatus], locale: str) -> str:
    """One line per Cloudflare account: state, until when, today's images and neurons (never a token)."""
    if not statuses:
        return translate("accounts.none", locale)
    rows = [translate("accounts.header", locale)]
    for status in statuses:
        until = translate("accounts.until", locale, time=format_time(status.until)) if status.until else ""
        row = translate(
            "accounts.row",
            locale,
            label=status.label,
            state=translate(f"accounts.state.{status.health.value}", locale),
            until=until,
            images=status.images_today,
            neurons=f"{status.neurons_today:.0f}",
        )
        rows.append(row + (f" ({status.reason})" if status.reason else ""))
    return "\n".join(rows)
