"""Platform-free renderings every adapter shares: progress lines, the prompt note, "too large", ``/quota``, ``/accounts``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from bot.core.model_choice import ModelChoice
from bot.core.models import AccountStatus, GenerationResult, Progress, ProgressStage, QuotaStatus
from bot.errors import InvalidReference
from bot.i18n import format_time, format_wait, translate

_MB = 1024 * 1024

PROGRESS_KEYS = {
    ProgressStage.QUEUED: "progress.queued",
    ProgressStage.OPTIMISING: "progress.optimising",
    ProgressStage.GENERATING: "progress.generating",
}


def progress_text(event: Progress, locale: str) -> str:
    """The status line for one progress event (queue position, optimising, painting)."""
    return translate(PROGRESS_KEYS[event.stage], locale, position=event.position)


def prompt_note(result: GenerationResult, locale: str) -> str | None:
    """Say when the optimiser rewrote the prompt, or failed so the prompt went as written; else None."""
    if result.optimised:
        return translate("result.optimised", locale)
    if result.optimisation_skipped_reason:
        return translate("result.as_written", locale)
    return None


def reference_too_large(size: int, max_bytes: int) -> InvalidReference:
    """The error for a reference image over the cap (``size``: at least this many bytes)."""
    size_mb, limit_mb = f"{size / _MB:.1f}", megabytes(max_bytes)
    return InvalidReference(
        f"That image is too large ({size_mb} MB). The limit is {limit_mb} MB.",
        code="too_large",
        size_mb=size_mb,
        limit_mb=limit_mb,
    )


def megabytes(count: int) -> str:
    """``10``, ``2.5``, ``0.01``: short, never ``9.99999``."""
    return f"{count / _MB:.2f}".rstrip("0").rstrip(".")


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


ModelsLeft = Sequence[tuple[ModelChoice, int | None]]


def models_text(models: ModelsLeft, max_images: int, locale: str) -> str:
    """For /help: each model on offer with its approximate cost and images a day per account, and --n."""
    lines = [translate("help.models", locale)]
    for choice, _ in models:
        neurons = choice.spec.neurons_per_image
        per_day = choice.images_per_account_day
        lines.append(
            "• "
            + translate(
                "help.model_line",
                locale,
                alias=choice.alias,
                neurons=f"{neurons:,.0f}" if neurons else "?",
                per_day=per_day if per_day is not None else "?",
            )
        )
        if choice.daily_cap is not None:
            lines.append("  " + translate("help.model_cap", locale, alias=choice.alias, cap=choice.daily_cap))
    if max_images > 1:
        lines.append(translate("help.count", locale, max=max_images))
    return "\n".join(lines)


def model_caps_text(models: ModelsLeft, locale: str) -> str:
    """For /quota: what is left today of each model with a bot-wide daily cap (empty when none has one)."""
    return "\n".join(
        translate("quota.model_left", locale, model=choice.alias, left=left, cap=choice.daily_cap)
        for choice, left in models
        if left is not None and choice.daily_cap is not None
    )
