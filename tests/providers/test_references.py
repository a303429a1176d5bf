"""normalise_reference: accepted formats come out upright, small and re-encoded; everything else is refused."""

from __future__ import annotations

import io
import os
import struct
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, features

from bot.errors import InvalidReference
from bot.providers.references import MAX_PIXELS, MAX_PIXELS_FULL_DECODE, normalise_reference
from tests.providers.conftest import ImageFactory

LIMIT = 10 * 1024 * 1024


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def refusal(data: bytes, max_bytes: int = LIMIT) -> InvalidReference:
    with pytest.raises(InvalidReference) as caught:
        normalise_reference(data, max_bytes=max_bytes)
    assert caught.value.message.endswith(".")
    return caught.value


def noise_jpeg(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("size", "expected"),
    [((2000, 1000), (512, 256)), ((900, 2700), (171, 512)), ((512, 512), (512, 512)), ((120, 80), (120, 80))],
)
def test_downscales_keeping_aspect_never_upscales(
    make_image: ImageFactory, size: tuple[int, int], expected: tuple[int, int]
) -> None:
    result = opened(normalise_reference(make_image(*size), max_bytes=LIMIT))

    assert result.size == expected
    assert result.format == "JPEG"


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "BMP", "GIF"])
def test_accepted_formats_become_jpeg(make_image: ImageFactory, fmt: str) -> None:
    if fmt == "WEBP" and not features.check("webp"):
        pytest.skip("Pillow built without WebP")

    result = opened(normalise_reference(make_image(1024, 768, fmt), max_bytes=LIMIT))

    assert (result.format, result.size) == ("JPEG", (512, 384))
    red, green, blue = result.getpixel((256, 192))  # type: ignore[misc]
    assert red > 150 and green < 80 and blue < 80


def test_transparency_is_kept_as_png(make_image: ImageFactory) -> None:
    data = make_image(1000, 500, "PNG", "RGBA", (0, 200, 0, 100))

    result = opened(normalise_reference(data, max_bytes=LIMIT))

    assert (result.format, result.mode, result.size) == ("PNG", "RGBA", (512, 256))
    assert result.getpixel((10, 10))[3] == 100  # type: ignore[index]


def test_fully_opaque_alpha_becomes_jpeg(make_image: ImageFactory) -> None:
    result = opened(normalise_reference(make_image(300, 300, "PNG", "RGBA", (5, 5, 5, 255)), max_bytes=LIMIT))

    assert result.format == "JPEG"


def test_exif_orientation_is_applied() -> None:
    # stored landscape, red left and blue right; orientation 6 means "rotate 90° clockwise to view"
    image = Image.new("RGB", (800, 400), (255, 0, 0))
    image.paste((0, 0, 255), (400, 0, 800, 400))
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes())

    result = opened(normalise_reference(buffer.getvalue(), max_bytes=LIMIT))

    assert result.size == (256, 512)
    top, bottom = result.getpixel((128, 50)), result.getpixel((128, 460))
    assert top[0] > 200 and top[2] < 60  # type: ignore[index]
    assert bottom[2] > 200 and bottom[0] < 60  # type: ignore[index]
    assert 0x0112 not in result.getexif()


def test_animation_gives_its_first_frame() -> None:
    frames = [Image.new("RGB", (600, 600), colour) for colour in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert opened(buffer.getvalue()).n_frames == 3  # type: ignore[attr-defined]

    result = opened(normalise_reference(buffer.getvalue(), max_bytes=LIMIT))

    assert (result.format, result.size) == ("JPEG", (512, 512))
    red, green, blue = result.getpixel((256, 256))  # type: ignore[misc]
    assert red > 200 and green < 60 and blue < 60


@pytest.mark.parametrize("size", [(100_000, 100_000), (8000, 7000), (65_000, 1000)])
def test_header_only_bombs_are_refused_before_decoding(size: tuple[int, int]) -> None:
    assert size[0] * size[1] > MAX_PIXELS

    assert refusal(png_header_only(*size)).code == "too_many_pixels"


def test_big_jpeg_passes_where_the_same_size_png_is_refused(make_image: ImageFactory) -> None:
    width, height = 6000, 4500
    assert MAX_PIXELS_FULL_DECODE < width * height <= MAX_PIXELS

    error = refusal(png_header_only(width, height))
    result = opened(normalise_reference(make_image(width, height, "JPEG"), max_bytes=LIMIT))

    assert (error.code, error.params["limit_pixels"]) == ("too_many_pixels", MAX_PIXELS_FULL_DECODE)
    assert result.size == (512, 384)


def test_gif_header_bomb() -> None:
    header = b"GIF89a" + struct.pack("<HHBBB", 65535, 65535, 0, 0, 0)
    image_descriptor = b"," + struct.pack("<HHHHB", 0, 0, 65535, 65535, 0) + b"\x08\x01\x00\x3b"

    assert refusal(header + image_descriptor).code == "too_many_pixels"


def test_truncated_image_is_unreadable() -> None:
    data = noise_jpeg(400, 400)

    assert refusal(data[: len(data) // 2]).code == "unreadable"


@pytest.mark.parametrize(
    "data",
    [
        b"hello, this is text",
        b"<!DOCTYPE html><html></html>",
        b"%PDF-1.7\n1 0 obj\n",
        b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n",  # EPS would run Ghostscript
        b"\x00" * 64,
    ],
)
def test_non_images(data: bytes) -> None:
    assert refusal(data).code == "not_an_image"


def test_empty_file() -> None:
    assert refusal(b"").code == "unreadable"


def test_too_many_bytes_is_checked_first(make_image: ImageFactory) -> None:
    error = refusal(b"x" * 2048, max_bytes=1024)

    assert error.code == "too_large"
    assert "1 KB" in error.message
    assert refusal(make_image(300, 300), max_bytes=100).code == "too_large"
    assert "10 MB" in refusal(b"x" * (LIMIT + 1)).message


def test_smaller_max_side(make_image: ImageFactory) -> None:
    result = opened(normalise_reference(make_image(1000, 400), max_bytes=LIMIT, max_side=128))

    assert result.size == (128, 51)


def _mutated(data: bytes, positions: list[int], values: list[int], cut: int) -> bytes:
    mutable = bytearray(data)
    for position, value in zip(positions, values, strict=False):
        mutable[position % len(mutable)] = value
    return bytes(mutable[: max(1, cut % (len(mutable) + 1))])


def _sample_images() -> list[bytes]:
    samples = []
    for fmt, mode in (("PNG", "RGBA"), ("JPEG", "RGB"), ("GIF", "P"), ("BMP", "RGB"), ("WEBP", "RGB")):
        buffer = io.BytesIO()
        Image.new(mode, (40, 30)).save(buffer, fmt)
        samples.append(buffer.getvalue())
    return samples


_SAMPLES = _sample_images()
_mutated_images = st.builds(
    _mutated,
    st.sampled_from(_SAMPLES),
    st.lists(st.integers(min_value=0, max_value=10_000), max_size=8),
    st.lists(st.integers(min_value=0, max_value=255), max_size=8),
    st.integers(min_value=0, max_value=10_000),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=4096), _mutated_images))
def test_arbitrary_bytes_raise_only_invalid_reference(data: bytes) -> None:
    try:
        result = normalise_reference(data, max_bytes=LIMIT)
    except InvalidReference as error:
        assert error.code in {"not_an_image", "too_large", "too_many_pixels", "unreadable"}
        return
    image = opened(result)
    assert image.format in {"JPEG", "PNG"}
    assert max(image.size) <= 512
