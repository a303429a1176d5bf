"""Check and shrink a user's reference image before it is sent upstream (FLUX.2 takes at most 512×512).

Pure and synchronous: the caller runs it in a worker thread, under a memory budget (``bot.core.decode_budget``):
``decode_cost`` reads only the header and says how many bytes decoding will hold at its peak, or refuses the file
outright; ``normalise_reference`` then decodes it. Every failure is an ``InvalidReference`` whose ``message`` is one
sentence a user can act on and whose ``code`` is stable: ``not_an_image``, ``too_large``, ``too_many_pixels`` or
``unreadable``.

Where memory goes, and what keeps it small:
- JPEG decodes at 1/2..1/8 scale (``draft``), chosen from the size the picture ends up at, so a 65000×760 strip
  decodes at 8125×95 rather than whole. A *progressive* JPEG is different: libjpeg holds every DCT coefficient of
  the full-size image (2 bytes per sample) whatever the scale, so its cost is counted at full size.
- Other formats decode at full size; everything after the decode (mode conversion, the box reduction) runs on
  horizontal strips, so it adds one strip, not a second full-size copy.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import io
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from PIL import Image, UnidentifiedImageError

from bot.core import MAX_FULL_DECODE_PIXELS, MAX_REFERENCE_PIXELS, REFERENCE_SIDE
from bot.errors import InvalidReference

# Size caps, checked from the header before any pixel is decoded (their home is ``bot.core``).
MAX_PIXELS = MAX_REFERENCE_PIXELS
MAX_PIXELS_FULL_DECODE = MAX_FULL_DECODE_PIXELS
JPEG_QUALITY = 90

# Only the formats chat apps deliver: fewer decoders on untrusted bytes, and never EPS (it runs Ghostscript).
# Multi-picture JPEGs from phones open through "JPEG" and report format "MPO"; HEIF comes from pillow-heif.
_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "HEIF", "AVIF")
_SCALABLE = frozenset({"JPEG", "MPO"})
# These decoders fill a buffer of their own and Pillow copies it: two full-size images at once.
_DOUBLE_BUFFERED = frozenset({"WEBP", "HEIF", "AVIF"})
_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})
_HIGH_BIT_DEPTH = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N"})
#: pixels per strip when converting and reducing (4 MB as RGBA)
_STRIP_PIXELS = 1 << 20
#: decodes holding at least this much hand their freed memory back to the OS afterwards
_TRIM_AFTER_BYTES = 32 * 1024 * 1024
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


@functools.cache
def _register_plugins() -> None:
    """HEIC (iPhones) through pillow-heif; AVIF is Pillow's own. Once per process, on first use."""
    from pillow_heif import register_heif_opener

    # No embedded thumbnails (the primary image is what the user sent); one thread each, the budget bounds them.
    register_heif_opener(thumbnails=False, decode_threads=1)


def decode_cost(data: bytes, *, max_bytes: int, budget: int, max_side: int = REFERENCE_SIDE) -> int:
    """From the header alone: the bytes ``normalise_reference`` will hold at its peak; refuses files over the caps.

    ``budget`` is the most one decode may hold; a file needing more is refused as having too many pixels.
    """
    _check_bytes(data, max_bytes)
    with _guarded(), _open(data) as opened:
        _check_dimensions(opened)
        cost = _peak_bytes(opened, _fit(opened.size, max_side))
        if cost > budget:
            raise _too_many_pixels(_pixels_within(opened, budget))
        return cost


def normalise_reference(data: bytes, *, max_bytes: int, max_side: int = REFERENCE_SIDE) -> bytes:
    """Validate ``data`` as an image and return it upright, within ``max_side``², as JPEG (or PNG with alpha)."""
    _check_bytes(data, max_bytes)
    decoded: list[int] = []  # bytes of the full decode, once known
    try:
        with _guarded():
            image = _decode_small(data, max_side, decoded)
    finally:
        # Only after big decodes: a trim costs milliseconds, and small buffers are reused anyway.
        if sum(decoded) >= _TRIM_AFTER_BYTES:
            _release_freed_memory()
    return _encode(image)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to call
        return None
    return trim


def _release_freed_memory() -> None:
    """Hand the decode's freed buffers back to the OS.

    glibc keeps freed memory in per-thread arenas, and after the first big free it serves even 16 MB blocks from
    them: every decoding thread would keep its largest decode as RSS for good. ``malloc_trim`` returns it.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def _check_bytes(data: bytes, max_bytes: int) -> None:
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


def _open(data: bytes) -> Image.Image:
    _register_plugins()
    return Image.open(io.BytesIO(data), formats=_FORMATS)


@contextmanager
def _guarded() -> Iterator[None]:
    """Turns whatever Pillow raises on hostile input into the one ``InvalidReference`` a user can act on.

    No ``warnings.catch_warnings()`` here: it swaps the process-wide filters and is not safe from threads. A
    Pillow warning (corrupt EXIF, say) is left to the process's filters, which the entry point routes to the log.
    """
    try:
        yield
    except InvalidReference:
        raise
    except UnidentifiedImageError:
        raise InvalidReference(
            "The reference file is not a JPEG, PNG, WebP, GIF, BMP, HEIC or AVIF image.", code="not_an_image"
        ) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels(MAX_PIXELS) from None
    except Exception:  # Pillow raises many types on hostile input; all mean the same to the user
        raise InvalidReference(
            "The reference image is damaged or incomplete and cannot be read.", code="unreadable"
        ) from None


def _decode_small(data: bytes, max_side: int, decoded: list[int]) -> Image.Image:
    with _open(data) as opened:
        _check_dimensions(opened)
        target = _fit(opened.size, max_side)
        decoded.append(_peak_bytes(opened, target))  # from the full-size header, before ``draft``
        if opened.format in _SCALABLE:
            # libjpeg's scaled IDCT is itself a good downscale: ask for just the target, never less.
            opened.draft(None, target)
        opened.load()
        orientation = _orientation(opened)
        reduced = _reduce_in_strips(opened, target)
    image = reduced.resize(target, Image.Resampling.LANCZOS) if reduced.size != target else reduced
    transpose = _TRANSPOSE_FOR_ORIENTATION.get(orientation)
    return image.transpose(transpose) if transpose is not None else image


def _check_dimensions(image: Image.Image) -> None:
    width, height = image.size
    if width < 1 or height < 1:
        raise InvalidReference("The reference image has no pixels.", code="unreadable")
    limit = MAX_PIXELS if image.format in _SCALABLE else MAX_PIXELS_FULL_DECODE
    if width * height > limit:
        raise _too_many_pixels(limit)


def _fit(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """The size within ``max_side``² keeping the aspect, rounded as ``Image.thumbnail`` rounds; never larger."""
    width, height = size
    if width <= max_side and height <= max_side:
        return size
    aspect = width / height
    if aspect >= 1:
        return max_side, max(1, round(max_side / aspect))
    return max(1, round(max_side * aspect)), max_side


def _draft_scale(size: tuple[int, int], target: tuple[int, int]) -> int:
    """The 1/scale Pillow's JPEG ``draft`` picks for a request of ``target`` (see ``_decode_small``)."""
    scale = min(size[0] // target[0], size[1] // target[1])
    return next(step for step in (8, 4, 2, 1) if scale >= step)


def _peak_bytes(image: Image.Image, target: tuple[int, int]) -> int:
    """What decoding ``image`` down to ``target`` holds at its peak: the decoded pixels plus one strip."""
    width, height = image.size
    bands = len(image.getbands())
    strip = _STRIP_PIXELS * 8  # a cropped strip and its converted copy
    if image.format in _SCALABLE:
        scale = _draft_scale(image.size, target)
        decoded = math.ceil(width / scale) * math.ceil(height / scale) * bands
        if image.info.get("progressive"):
            decoded += _coefficient_bytes(image)
        return decoded + strip
    decoded = width * height * _bytes_per_pixel(image)
    return decoded * (2 if image.format in _DOUBLE_BUFFERED else 1) + strip


def _coefficient_bytes(image: Image.Image) -> int:
    """libjpeg's whole-image DCT coefficient arrays for a progressive JPEG: 2 bytes per sample, per component."""
    width, height = image.size
    # (component id, horizontal sampling, vertical sampling, table) per component, read from the SOF marker
    layers = getattr(image, "layer", None) or [("", 1, 1, 0)] * len(image.getbands())
    sampling = [(max(1, int(layer[1])), max(1, int(layer[2]))) for layer in layers]
    h_max = max(h for h, _ in sampling)
    v_max = max(v for _, v in sampling)
    samples = sum(math.ceil(width * h / h_max) * math.ceil(height * v / v_max) for h, v in sampling)
    return samples * 2


def _bytes_per_pixel(image: Image.Image) -> int:
    if image.mode in _HIGH_BIT_DEPTH:
        return 4
    return max(1, len(image.getbands()))


def _pixels_within(image: Image.Image, budget: int) -> int:
    """How many pixels of this kind of file fit the budget (for the refusal's sentence)."""
    per_pixel = _peak_bytes(image, _fit(image.size, REFERENCE_SIDE)) / (image.size[0] * image.size[1])
    return int(budget / max(per_pixel, 1.0))


def _too_many_pixels(limit: int) -> InvalidReference:
    megapixels = max(1, limit // 1_000_000)
    return InvalidReference(
        f"The reference image has too many pixels (at most {megapixels} megapixels).",
        code="too_many_pixels",
        limit_pixels=limit,
        limit_mp=megapixels,
    )


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(_EXIF_ORIENTATION_TAG, 1)
    except Exception:  # broken EXIF is metadata trouble, not a reason to refuse the picture
        return 1
    return value if isinstance(value, int) else 1


def _reduce_in_strips(image: Image.Image, target: tuple[int, int]) -> Image.Image:
    """Convert to RGB/RGBA and box-reduce to about twice ``target``, one strip of rows at a time."""
    width, height = image.size
    mode = "RGBA" if image.mode in _ALPHA_MODES or "transparency" in image.info else "RGB"
    factor_x = max(1, width // (target[0] * 2))
    factor_y = max(1, height // (target[1] * 2))
    if image.mode == mode and (factor_x, factor_y) == (1, 1):
        return image
    out = Image.new(mode, (math.ceil(width / factor_x), math.ceil(height / factor_y)))
    rows = max(factor_y, _STRIP_PIXELS // width // factor_y * factor_y)
    for top in range(0, height, rows):
        strip = _as_8bit(image.crop((0, top, width, min(height, top + rows))), mode)
        if (factor_x, factor_y) != (1, 1):
            strip = strip.reduce((factor_x, factor_y))
        out.paste(strip, (0, top // factor_y))
    return out


def _as_8bit(image: Image.Image, mode: str) -> Image.Image:
    """``image`` in ``mode``; 16-bit grey is scaled to 8 bits first (a plain convert would clip it to white)."""
    if image.mode in _HIGH_BIT_DEPTH:
        image = image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    return image if image.mode == mode else image.convert(mode)


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
