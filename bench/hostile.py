"""Small files that decode into hundreds of MB (issue #10, finding 1), made on the spot: no binaries in git."""

from __future__ import annotations

import io
from collections.abc import Callable

from PIL import Image, ImageDraw


def _jpeg(image: Image.Image, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=20, **options)
    return buffer.getvalue()


def _sketch(mode: str, size: tuple[int, int], ink: tuple[int, ...] | int) -> Image.Image:
    """A nearly flat image with a few lines, so it compresses to well under a megabyte."""
    image = Image.new(mode, size)
    draw = ImageDraw.Draw(image)
    width, height = size
    for step in range(0, width, max(1, width // 8)):
        draw.line([(step, 0), (width - step, height - 1)], fill=ink, width=3)
    return image


def progressive_cmyk_jpeg(side: int = 7000) -> bytes:
    """Progressive CMYK: libjpeg keeps every DCT coefficient of all four channels while decoding (~390 MB)."""
    return _jpeg(_sketch("CMYK", (side, side), (0, 200, 200, 0)), progressive=True)


def progressive_jpeg(side: int = 7000) -> bytes:
    """A 49 MP progressive JPEG: no draft scale helps the coefficient buffers."""
    return _jpeg(_sketch("RGB", (side, side), (200, 40, 40)), progressive=True, subsampling=0)


def long_jpeg(width: int = 65000, height: int = 760) -> bytes:
    """65000×760: the short side is near 512, so a naive draft scale decodes all 49 MP."""
    return _jpeg(_sketch("RGB", (width, height), (40, 200, 40)))


def big_png(width: int = 6000, height: int = 4000) -> bytes:
    """24 MP RGBA PNG of ~0.1 MB: PNG always decodes at full size."""
    buffer = io.BytesIO()
    _sketch("RGBA", (width, height), (40, 40, 200, 255)).save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


HOSTILE: dict[str, Callable[[], bytes]] = {
    "progressive CMYK 7000×7000 JPEG": progressive_cmyk_jpeg,
    "progressive 49 MP JPEG": progressive_jpeg,
    "65000×760 JPEG": long_jpeg,
    "24 MP PNG": big_png,
}
