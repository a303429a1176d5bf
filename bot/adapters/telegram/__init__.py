"""Telegram adapter: python-telegram-bot in front of the core ``ImageService``.

``adapter`` owns the lifecycle and the wiring, ``handlers`` turns updates into core calls, ``delivery`` turns
results and errors into messages, ``references`` finds and downloads reference images (albums included),
``replies`` writes captions, keyboards and texts, ``progress`` keeps the user informed while they wait.
"""

from bot.adapters.telegram.adapter import TelegramAdapter, TelegramStartError

__all__ = ["TelegramAdapter", "TelegramStartError"]
