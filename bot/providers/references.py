"""Check and shrink a user's reference image before it is sent upstream (FLUX.2 takes at most 512×512).

Pure and synchronous: the caller runs it in a worker thread. Every failure is an ``InvalidReference`` whose
``message`` is one sentence a user can act on and whose ``code`` is stable: ``not_an_image``, ``too_large``,
``too_many_pixels`` or ``unreadable``.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, UnidentifiedImageError

from bot.core import MAX_FULL_DECODE_PIXELS, MAX_REFERENCE_PIXELS, REFERENCE_SIDE
from bot.errors import InvalidReference

# Size caps, checked from the header before any pixel is decoded (their home is ``bot.core``).
MAX_PIXELS = MAX_REFERENCE_PIXELS
MAX_PIXELS_FULL_DECODE = MAX_FULL_DECODE_PIXELS
JPEG_QUALITY = 90

# Only the formats chat apps deliver: fewer decoders on untrusted bytes, and never EPS (it runs Ghostscript).
# Multi-picture JPEGs from phones open through "JPEG" and report format "MPO".
_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP")
_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})
_EXIF_ORIENTATION_TAG = 0x0112
_TRANSPOSE_FOR_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def normalise_reference(data: bytes, *, max_bytes: int, max_side: int = REFERENCE_SIDE) -> bytes:
    """Validate ``data`` as an image and return it upright, within ``max_side``², as JPEG (or PNG with alpha)."""
    if not data:
        raise InvalidReference("The reference image is empty.", code="unreadable")
    if len(data) > max_bytes:
        raise InvalidReference(
            f"The reference image is larger than {_size_text(max_bytes)}.",
            code="too_large",
            limit_bytes=max_bytes,
            size_mb=f"{len(data) / 1024 / 1024:.1f}",
            limit_mb=f"{max_bytes / 1024 / 1024:g}",
        )
    # Python 3.11's catch_warnings is process-wide; a race between threads can at worst leave the bomb
    # warning promoted to an error, which is what we want anyway.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # corrupt-EXIF and palette warnings must not change the outcome
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = _decode_small(data, max_side)
    return _encode(image)


def _decode_small(data: bytes, max_side: int) -> Image.Image:
    try:
        with Image.open(io.BytesIO(data), formats=_FORMATS) as opened:
            scalable = opened.format in ("JPEG", "MPO")
            _check_dimensions(opened.size, MAX_PIXELS if scalable else MAX_PIXELS_FULL_DECODE)
            if scalable:
                opened.draft(None, (max_side, max_side))
            opened.load()
            orientation = _orientation(opened)
            image = _as_rgb_or_rgba(opened)
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        transpose = _TRANSPOSE_FOR_ORIENTATION.get(orientation)
        return image.transpose(transpose) if transpose is not None else image
    except InvalidReference:
        raise
    except UnidentifiedImageError:
        raise InvalidReference(
            "The reference file is not a JPEG, PNG, WebP, GIF or BMP image.", code="not_an_image"
        ) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels() from None
    except Exception:  # Pillow raises many types on hostile input; all mean the same to the user
        raise InvalidReference(
            "The reference image is damaged or incomplete and cannot be read.", code="unreadable"
        ) from None


def _check_dimensions(size: tuple[int, int], limit: int) -> None:
    width, height = size
    if width < 1 or height < 1:
        raise InvalidReference("The reference image has no pixels.", code="unreadable")
    if width * height > limit:
        raise _too_many_pixels(limit)


def _too_many_pixels(limit: int = MAX_PIXELS) -> InvalidReference:
    return InvalidReference(
        f"The reference image has too many pixels (at most {limit // 1_000_000} megapixels).",
        code="too_many_pixels",
        limit_pixels=limit,
    )


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(_EXIF_ORIENTATION_TAG, 1)
    except Exception:  # broken EXIF is metadata trouble, not a reason to refuse the picture
        return 1
    return value if isinstance(value, int) else 1


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in _ALPHA_MODES or "transparency" in image.info


def _as_rgb_or_rgba(image: Image.Image) -> Image.Image:
    target = "RGBA" if _has_alpha(image) else "RGB"
    # convert() to the same mode still copies every pixel; skip it for big images already in shape
    return image if image.mode == target and "transparency" not in image.info else image.convert(target)


def _encode(image: Image.Image) -> bytes:
    if image.mode == "RGBA" and image.getchannel("A").getextrema() == (255, 255):
        image = image.convert("RGB")  # fully opaque: JPEG is several times smaller
    buffer = io.BytesIO()
    if image.mode == "RGBA":
        image.save(buffer, format="PNG")
    else:
        image.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


def _size_text(count: int) -> str:
    megabytes = count / (1024 * 1024)
    if megabytes >= 1:
        return f"{megabytes:.1f}".removesuffix(".0") + " MB"
    return f"{max(1, round(count / 1024))} KB"
