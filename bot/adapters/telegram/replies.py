"""What the bot writes on Telegram: result captions (HTML, within the caption limit), keyboards and texts."""

from __future__ import annotations

import html
from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.core import MAX_REFERENCES
from bot.core.models import GenerationResult, QuotaStatus
from bot.i18n import translate
from bot.i18n.texts import prompt_note

#: Telegram counts a caption's visible text (after HTML parsing) in UTF-16 code units
CAPTION_LIMIT = 1024
#: Telegram's popup (answerCallbackQuery show_alert) text limit
ALERT_LIMIT = 200
#: when the optimiser rewrote the prompt, the user's own words get at most this much of the caption
ORIGINAL_PROMPT_LIMIT = 200
REROLL, ORIGINAL, VARY, CANCEL = "r", "o", "v", "x"
_ACTIONS = (REROLL, ORIGINAL, VARY, CANCEL)
ELLIPSIS = "…"


def utf16_length(text: str) -> int:
    """Length as Telegram counts it."""
    return len(text.encode("utf-16-le")) // 2


def cut_to(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` UTF-16 units, ending in an ellipsis when cut; never splits a character."""
    if utf16_length(text) <= limit:
        return text
    budget = limit - utf16_length(ELLIPSIS)
    kept: list[str] = []
    for char in text:
        budget -= utf16_length(char)
        if budget < 0:
            break
        kept.append(char)
    return "".join(kept).rstrip() + ELLIPSIS


def short_model_name(model: str) -> str:
    """``@cf/black-forest-labs/flux-2-klein-4b`` → ``flux-2-klein-4b``."""
    return model.rsplit("/", 1)[-1]


def result_caption(result: GenerationResult, locale: str) -> str:
    """The photo's caption in HTML: the final prompt (cut to fit), a note on optimisation, size, seed, model."""
    label = translate("result.prompt", locale)
    lines: list[tuple[str, str]] = []  # (visible text, HTML) of each line under the prompt
    if result.optimised and result.original_prompt != result.final_prompt:
        yours = translate("result.your_prompt", locale)
        original = cut_to(result.original_prompt.strip(), ORIGINAL_PROMPT_LIMIT)
        lines.append((f"{yours}: {original}", f"<b>{_esc(yours)}:</b> {_esc(original)}"))
    if note := prompt_note(result, locale):
        lines.append((note, f"<i>{_esc(note)}</i>"))
    facts = [
        (translate("result.size", locale), f"{result.size.width}×{result.size.height}"),
        (translate("result.seed", locale), str(result.seed)),
        (translate("result.model", locale), short_model_name(result.model)),
    ]
    if result.reference_count:
        facts.append((translate("result.references", locale), str(result.reference_count)))
    lines.append(
        (
            " · ".join(f"{name}: {value}" for name, value in facts),
            " · ".join(f"<b>{_esc(name)}:</b> {_esc(value)}" for name, value in facts),
        )
    )
    fixed = f"{label}:\n" + "".join(f"\n{visible}" for visible, _ in lines)
    # Cut before escaping, so an entity like &amp; is never split and the limit holds for what users see.
    prompt = cut_to(result.final_prompt.strip(), CAPTION_LIMIT - utf16_length(fixed))
    body = f"<b>{_esc(label)}:</b>\n{_esc(prompt)}"
    return body + "".join(f"\n{markup}" for _, markup in lines)


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def result_keyboard(job_id: str, locale: str) -> InlineKeyboardMarkup:
    """🔁 re-roll, 🎨 vary and 📄 original; callback data carries only the short job id, so it survives restarts."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(translate("button.reroll", locale), callback_data=f"{REROLL}:{job_id}"),
                InlineKeyboardButton(translate("button.vary", locale), callback_data=f"{VARY}:{job_id}"),
                InlineKeyboardButton(
                    translate("button.original", locale), callback_data=f"{ORIGINAL}:{job_id}"
                ),
            ]
        ]
    )


def album_keyboard(job_ids: Sequence[str]) -> InlineKeyboardMarkup:
    """An album cannot carry buttons: one row per image, numbered as in the album (🔁 1 🎨 1 📄 1 ...)."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(f"{symbol} {number}", callback_data=f"{action}:{job_id}")
                for symbol, action in (("🔁", REROLL), ("🎨", VARY), ("📄", ORIGINAL))
            ]
            for number, job_id in enumerate(job_ids, start=1)
        ]
    )


def cancel_keyboard(request_id: str, locale: str) -> InlineKeyboardMarkup:
    """❌ on the status line of a request that waits or works."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(translate("button.cancel", locale), callback_data=f"{CANCEL}:{request_id}")]]
    )


def parse_button(data: str | None) -> tuple[str, str] | None:
    """``(action, id)`` from a button's callback data (a job id; a request id for ❌); None for anything else."""
    action, _, key = (data or "").partition(":")
    if action in _ACTIONS and key:
        return action, key
    return None


def carries_button(markup: InlineKeyboardMarkup | None, data: str) -> bool:
    """Whether ``markup`` (the pressed message's keyboard) has a button with this callback data."""
    rows = markup.inline_keyboard if markup is not None else ()
    return any(button.callback_data == data for row in rows for button in row)


def help_text(quota: QuotaStatus, locale: str) -> str:
    """Usage with ratio and flag examples, and the user's own limits."""
    if quota.daily_limit is None and quota.minute_limit is None:
        limits = translate("help.limits.none", locale)
    else:
        limits = translate(
            "help.limits",
            locale,
            per_day=quota.daily_limit if quota.daily_limit is not None else "∞",
            per_minute=quota.minute_limit if quota.minute_limit is not None else "∞",
        )
    return translate("help.text", locale, max_refs=MAX_REFERENCES, limits=limits)
