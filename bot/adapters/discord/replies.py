"""What the Discord adapter says: result embeds and files, progress lines, errors, quota and account lists."""

from __future__ import annotations

import io
from collections.abc import Sequence

import discord

from bot.core.models import AccountStatus, GenerationResult
from bot.errors import ImagineError
from bot.i18n import describe_error, translate
from bot.i18n.texts import accounts_text as shared_accounts_text
from bot.i18n.texts import prompt_note as shared_prompt_note

EMBED_COLOUR = discord.Colour(0xF4900C)
MAX_MESSAGE_CHARS = 2000
_MAX_DESCRIPTION = 4096
_MAX_FIELD = 1024


def error_text(error: ImagineError, locale: str) -> str:
    """The one sentence for ``error`` in ``locale`` (the shared catalogue decides)."""
    return describe_error(error, locale)


def result_filename(result: GenerationResult) -> str:
    """``imagine-<seed>.png``: the seed in the name lets people find an image again."""
    return f"imagine-{result.seed}.{result.file_extension}"


def result_file(result: GenerationResult) -> discord.File:
    """The image as an uploaded file (never re-encoded)."""
    return discord.File(io.BytesIO(result.image), filename=result_filename(result))


def result_embed(result: GenerationResult, locale: str) -> discord.Embed:
    """Final prompt, size, seed, model, and whether the prompt was optimised or used as written."""
    embed = discord.Embed(colour=EMBED_COLOUR, description=_clip(result.final_prompt, _MAX_DESCRIPTION))
    embed.set_author(name=translate("result.prompt", locale))
    if result.optimised and result.original_prompt != result.final_prompt:
        embed.add_field(
            name=translate("result.your_prompt", locale),
            value=_clip(result.original_prompt, _MAX_FIELD),
            inline=False,
        )
    embed.add_field(name=translate("result.size", locale), value=str(result.size))
    embed.add_field(name=translate("result.seed", locale), value=str(result.seed))
    embed.add_field(name=translate("result.model", locale), value=result.model.rsplit("/", 1)[-1])
    if result.reference_count:
        embed.add_field(name=translate("result.references", locale), value=str(result.reference_count))
    embed.set_image(url=f"attachment://{result_filename(result)}")
    embed.set_footer(text=prompt_note(result, locale))
    return embed


def prompt_note(result: GenerationResult, locale: str) -> str:
    """Whether the prompt was optimised, used as written on purpose, or as written because the optimiser failed."""
    return shared_prompt_note(result, locale) or translate("result.used_as_written", locale)


def accounts_text(statuses: Sequence[AccountStatus], locale: str) -> str:
    """``/accounts``, clipped to Discord's message limit."""
    return _clip(shared_accounts_text(statuses, locale), MAX_MESSAGE_CHARS)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
