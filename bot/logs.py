"""Logging set-up with a formatter that redacts every secret, wherever it appears in a record."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from contextvars import ContextVar

#: the request being handled in this task; set by the service so every log line of a request carries its id
current_request_id: ContextVar[str] = ContextVar("current_request_id", default="-")

# Shapes that are secrets even when we were not told the value: Telegram bot tokens (also inside Bot API URLs),
# bearer headers, and Discord tokens.
_SECRET_SHAPES = (
    re.compile(r"(?<!\d)\d{5,12}:[A-Za-z0-9_-]{30,}"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"\b[MN][A-Za-z0-9_-]{23,25}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,38}\b"),
)
REDACTED = "***"


class Redactor:
    """Replaces known secret values and secret-shaped strings with ``***``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret that contains another is removed whole.
        self._secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        for shape in _SECRET_SHAPES:
            text = shape.sub(lambda m: (m.group(1) if m.groups() else "") + REDACTED, text)
        return text


class RedactingFormatter(logging.Formatter):
    def __init__(self, redactor: Redactor, fmt: str) -> None:
        super().__init__(fmt)
        self._redact = redactor

    def format(self, record: logging.LogRecord) -> str:
        record.request_id = current_request_id.get()
        # Formatting first means arguments, exception text and stack traces are all covered.
        return self._redact(super().format(record))


def configure_logging(level: str, secrets: Iterable[str]) -> Redactor:
    """Route all logging through one redacting handler on stderr; returns the redactor for other output."""
    redactor = Redactor(secrets)
    handler = logging.StreamHandler()
    handler.setFormatter(
        RedactingFormatter(redactor, "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL at INFO, and Bot API URLs carry the token: keep it quieter (and redacted anyway).
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))
    logging.getLogger("httpcore").setLevel(max(logging.WARNING, root.level))
    # aiosqlite logs every statement twice at DEBUG from its worker thread: noise that buries our own debug lines.
    logging.getLogger("aiosqlite").setLevel(max(logging.INFO, root.level))
    # Library warnings (Pillow on a corrupt EXIF block, say) go through the same redacting handler, once per
    # place as Python's default filters decide; nothing in the bot swaps the filters per call (not thread-safe).
    logging.captureWarnings(True)
    return redactor
