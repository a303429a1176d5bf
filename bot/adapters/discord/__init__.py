"""Discord adapter: ``/imagine``, ``/quota``, ``/accounts``, a message menu and a persistent 🔁 re-roll button.

Modules: ``adapter`` (connection lifecycle, command sync), ``commands`` (what each command takes), ``flow`` (an
interaction as a core call), ``responses`` (how a deferred interaction ends), ``replies`` (texts and embeds),
``views`` (the re-roll button), ``attachments`` (reference images: metadata checks, capped downloads).
"""

from bot.adapters.discord.adapter import DiscordAdapter

__all__ = ["DiscordAdapter"]
