"""What API requests carry besides the prompt: reference images (uploads, data URLs, base64, URLs) and sizes.

Cheap checks only (how many, how large as sent); decoding is the core's job, after admission. URLs are
collected here and fetched by ``PublicImageFetcher`` only once the request is admitted.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from bot.adapters.http.errors import ApiError, invalid
from bot.core import MAX_REFERENCES
from bot.core.models import ImageSize
from bot.core.parsing import MAX_PIXELS, MAX_SIDE, MIN_SIDE
from bot.i18n.texts import reference_too_large

_DATA_URL = re.compile(r"^data:(?P<type>[\w.+-]+/[\w.+-]+)?(?:;[^,;]*)*?(?P<b64>;base64)?,", re.IGNORECASE)
_SIZE = re.compile(r"^\s*(\d{1,5})\s*[x×*]\s*(\d{1,5})\s*$", re.IGNORECASE)
_RATIO = re.compile(r"^\s*(\d{1,3})\s*:\s*(\d{1,3})\s*$")
#: sizes are snapped to this grid (what FLUX and the core's size search use)
_GRID = 16
_MAX_ASPECT = 4


@dataclass(frozen=True)
class ReferenceInput:
    """One reference as the request gave it: bytes already, or a URL to fetch after admission."""

    data: bytes | None = None
    url: str | None = None


def too_many_images(count: int) -> ApiError:
    return invalid(
        f"At most {MAX_REFERENCES} images can be used as references; this request has {count}.",
        param="image",
        code="too_many_images",
    )


def check_count(inputs: list[ReferenceInput]) -> list[ReferenceInput]:
    """At most ``MAX_REFERENCES`` (FLUX.2 takes four; OpenAI would take sixteen): a fifth is a 400 ``image``."""
    if len(inputs) > MAX_REFERENCES:
        raise too_many_images(len(inputs))
    return inputs


def reference_from_string(value: str, *, max_bytes: int) -> ReferenceInput:
    """A data URL, an ``http(s)`` URL (fetched later), or bare base64 (cf-flux2's ``images``)."""
    text = value.strip()
    if text.lower().startswith(("http://", "https://")):
        return ReferenceInput(url=text)
    match = _DATA_URL.match(text)
    if match is not None:
        payload = text[match.end() :]
        if not match.group("b64"):
            raise invalid("Image data URLs must be base64-encoded.", param="image", code="invalid_image")
        return ReferenceInput(data=_decode_base64(payload, max_bytes))
    return ReferenceInput(data=_decode_base64(text, max_bytes))


def checked_upload(data: bytes, *, max_bytes: int) -> ReferenceInput:
    if len(data) > max_bytes:
        raise reference_too_large(len(data), max_bytes)
    return ReferenceInput(data=data)


def _decode_base64(payload: str, max_bytes: int) -> bytes:
    # 4 characters carry 3 bytes: refuse by the length before decoding anything.
    estimated = len(payload) * 3 // 4
    if estimated > max_bytes + 3:
        raise reference_too_large(estimated, max_bytes)
    try:
        data = base64.b64decode(payload.strip(), validate=False)
    except (binascii.Error, ValueError):
        raise invalid("An image is not valid base64.", param="image", code="invalid_image") from None
    if not data:
        raise invalid("An image is empty.", param="image", code="invalid_image")
    if len(data) > max_bytes:
        raise reference_too_large(len(data), max_bytes)
    return data


@dataclass(frozen=True)
class SizeRequest:
    """What ``size`` asked for: an exact size (snapped to what the bot can draw), a ratio, or nothing."""

    size: ImageSize | None = None
    ratio: str | None = None


def parse_size_field(value: str | None) -> SizeRequest:
    """``"1024x768"`` (snapped within 256..1920 a side and 4 MP, aspect kept), ``"16:9"``, ``"auto"`` or None."""
    if value is None or not value.strip() or value.strip().lower() == "auto":
        return SizeRequest()
    if ratio := _RATIO.match(value):
        return SizeRequest(ratio=f"{int(ratio[1])}:{int(ratio[2])}")
    match = _SIZE.match(value)
    if match is None or not int(match[1]) or not int(match[2]):
        raise invalid(
            f"Invalid size {value[:40]!r}: use WIDTHxHEIGHT (e.g. 1024x1024), a ratio (16:9) or 'auto'.",
            param="size",
        )
    return SizeRequest(size=snap_size(int(match[1]), int(match[2])))


def snap_size(width: int, height: int) -> ImageSize:
    """The nearest size the bot accepts with (about) the same aspect: sides 256..1920 on a 16-pixel grid, ≤ 4 MP."""
    aspect = min(max(width / height, 1 / _MAX_ASPECT), _MAX_ASPECT)
    scale = min(1.0, MAX_SIDE / max(width, height), (MAX_PIXELS / (width * height)) ** 0.5)
    scale = max(scale, MIN_SIDE / min(width, height))
    w, h = width * scale, height * scale
    if abs(w / h - aspect) > 1e-9:  # a ratio beyond 4:1 was clamped: rebuild from the shorter side
        w, h = (h * aspect, h) if aspect >= 1 else (w, w / aspect)
    snapped = [_to_grid(side) for side in (w, h)]
    while snapped[0] * snapped[1] > MAX_PIXELS:
        snapped = [max(MIN_SIDE, side - _GRID) for side in snapped]
    return ImageSize(snapped[0], snapped[1])


def _to_grid(side: float) -> int:
    return int(min(MAX_SIDE, max(MIN_SIDE, round(side / _GRID) * _GRID)))
