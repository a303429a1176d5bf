"""The message catalogue both chat adapters share: one key, one sentence per language.

Adding a language: a module ``bot/i18n/<code>.py`` with a ``MESSAGES`` dict, registered in ``CATALOGUES``.
Missing keys fall back to English.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from bot.errors import (
    AllAccountsUnavailable,
    ImagineError,
    InvalidReference,
    InvalidRequest,
    LimitReached,
    QueueFull,
)
from bot.i18n import de, en, es, fr, ja, ru, web, zh_hans, zh_hant

CATALOGUES: dict[str, dict[str, str]] = {
    "en": en.MESSAGES,
    "zh-Hant": zh_hant.MESSAGES,
    "zh-Hans": zh_hans.MESSAGES,
    "ja": ja.MESSAGES,
    "ru": ru.MESSAGES,
    "es": es.MESSAGES,
    "fr": fr.MESSAGES,
    "de": de.MESSAGES,
}
# The web page's texts are kept together for all languages (bot/i18n/web.py) and merged in here.
for _code, _texts in web.MESSAGES.items():
    CATALOGUES[_code] = {**CATALOGUES[_code], **_texts}

_ALIASES = {
    "zh-tw": "zh-Hant",
    "zh-hk": "zh-Hant",
    "zh-mo": "zh-Hant",
    "zh-hant": "zh-Hant",
    "zh-cn": "zh-Hans",
    "zh-sg": "zh-Hans",
    "zh-hans": "zh-Hans",
    "zh": "zh-Hans",
}


def resolve_locale(code: str | None) -> str:
    """Map a platform language code (``en-US``, ``zh-TW``, ``pt-BR``) to a catalogue we have."""
    if not code:
        return "en"
    lowered = code.replace("_", "-").lower()
    if lowered in _ALIASES and _ALIASES[lowered] in CATALOGUES:
        return _ALIASES[lowered]
    for candidate in (code, lowered, lowered.split("-")[0]):
        if candidate in CATALOGUES:
            return candidate
    return "en"


def translate(key: str, locale: str | None = "en", **params: object) -> str:
    """The message for ``key`` in ``locale`` (falling back to English), formatted with ``params``."""
    catalogue = CATALOGUES.get(resolve_locale(locale), en.MESSAGES)
    template = catalogue.get(key) or CATALOGUES["en"].get(key) or key
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        return CATALOGUES["en"].get(key, key).format_map(_Missing(params))


class _Missing(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def format_wait(seconds: float, locale: str | None = "en") -> str:
    """A short human duration: ``3 h 12 min``, ``5 min``, ``40 s``."""
    seconds = max(0, math.ceil(seconds))
    if seconds < 60:
        return translate("duration.seconds", locale, seconds=seconds)
    minutes = math.ceil(seconds / 60)
    if minutes < 60:
        return translate("duration.minutes", locale, minutes=minutes)
    return translate("duration.hours_minutes", locale, hours=minutes // 60, minutes=minutes % 60)


def format_time(moment: datetime) -> str:
    """A UTC time people can read anywhere: ``00:00 UTC``."""
    return moment.astimezone(UTC).strftime("%H:%M UTC")


# Reference problems found by the adapters (before downloading) carry these codes and the sentence's parameters.
_REFERENCE_KEYS = {
    "not_an_image": "reference.not_image",
    "too_large": "reference.too_large",
    "too_many": "reference.too_many",
    "none_in_message": "reference.none_in_message",
    "download_failed": "reference.download_failed",
}


def describe_error(error: ImagineError, locale: str | None = "en", *, now: datetime | None = None) -> str:
    """The one sentence a user sees for a domain error."""
    now = now or datetime.now(UTC)
    if isinstance(error, LimitReached):
        wait = format_wait(error.retry_after, locale)
        key = f"error.limit_reached.{error.scope}"
        return translate(
            key,
            locale,
            wait=wait,
            limit=error.limit,
            reset=format_time(error.resets_at),
            model=error.model,
            left=error.left,
            count=error.requested,
        )
    if isinstance(error, AllAccountsUnavailable):
        if error.retry_at is None:
            return translate("error.all_accounts_unavailable.unknown", locale)
        wait = format_wait((error.retry_at - now).total_seconds(), locale)
        return translate(
            "error.all_accounts_unavailable", locale, when=format_time(error.retry_at), wait=wait
        )
    if isinstance(error, QueueFull):
        return translate(error.key, locale, waiting=error.waiting)
    if isinstance(error, InvalidReference) and error.code in _REFERENCE_KEYS:
        return translate(_REFERENCE_KEYS[error.code], locale, **error.params)
    if isinstance(error, InvalidRequest):
        # Parser messages are English sentences; a language may translate one by its code.
        specific = f"invalid.{error.code}"
        catalogue = CATALOGUES.get(resolve_locale(locale), {})
        if specific in catalogue:
            return translate(specific, locale, **error.params)
        return error.message
    return translate(error.key, locale)
