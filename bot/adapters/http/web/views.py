"""What the page's JSON says: a job, the sizes each ratio draws at, the accounts panel's rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.core import MAX_REFERENCES
from bot.core.models import AccountStatus, ImageSize
from bot.core.service import ImageService
from bot.errors import InvalidReference
from bot.i18n import format_time, translate

RATIO_PRESETS = ("1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3")
_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


def models_view(service: ImageService) -> list[dict[str, Any]]:
    """The models on offer (the default first) and whether each takes steps."""
    return [
        {"alias": choice.alias, "name": choice.spec.name, "max_steps": choice.spec.max_steps}
        for choice in service.models.choices
    ]


def ratios_view(service: ImageService) -> list[dict[str, Any]]:
    """Each preset with the size it draws at, per model and number of references."""
    aliases = [choice.alias for choice in service.models.choices]
    return [
        {"ratio": ratio, "sizes": {alias: _sizes(service, ratio, alias) for alias in aliases}}
        for ratio in RATIO_PRESETS
    ]


def _sizes(service: ImageService, ratio: str, model: str) -> list[dict[str, int] | None]:
    """The size drawn for ``ratio`` with 0, 1, ... MAX_REFERENCES references (None: the models take no more)."""
    sizes: list[dict[str, int] | None] = []
    for count in range(MAX_REFERENCES + 1):
        try:
            size = service.planned_size(ratio, count, model)
        except InvalidReference:
            sizes.append(None)
        else:
            sizes.append({"width": size.width, "height": size.height})
    return sizes


def job_view(
    job_id: str,
    image_id: str | None,
    mime: str,
    prompt: str,
    final: str,
    size: ImageSize,
    seed: int,
    model: str,
) -> dict[str, Any]:
    """A job as the page shows it; ``image_url`` is None once its image left the store (or it never had one)."""
    return {
        "id": job_id,
        "image_url": f"/image/{image_id}" if image_id else None,
        "prompt": prompt,
        "final_prompt": final,
        "width": size.width,
        "height": size.height,
        "seed": seed,
        "model": model,
        "filename": f"imagine-{seed}.{_EXTENSIONS.get(mime, 'png')}",
    }


def account_rows(statuses: Sequence[AccountStatus], locale: str) -> list[dict[str, Any]]:
    """Each account's state (in words too) and today's use; labels never hold a token."""
    return [
        {
            "label": status.label,
            "state": status.health.value,
            "state_text": translate(f"accounts.state.{status.health.value}", locale),
            "until": status.until.isoformat() if status.until else None,
            "until_text": translate("accounts.until", locale, time=format_time(status.until)).strip()
            if status.until
            else "",
            "images": status.images_today,
            "neurons": status.neurons_today,
            "note": status.reason,
        }
        for status in statuses
    ]
