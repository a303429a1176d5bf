"""The platform-free core. Adapters import limits from here rather than from the modules that apply them."""

from bot.core.reference_limits import (
    MAX_FULL_DECODE_PIXELS,
    MAX_REFERENCE_PIXELS,
    MAX_REFERENCES,
    REFERENCE_SIDE,
)

__all__ = ["MAX_FULL_DECODE_PIXELS", "MAX_REFERENCES", "MAX_REFERENCE_PIXELS", "REFERENCE_SIDE"]
