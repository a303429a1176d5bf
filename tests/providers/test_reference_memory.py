"""Decoding under a memory budget: costs read from headers, small decodes of big JPEGs, no thread-unsafe warnings."""

from __future__ import annotations

import io
import threading
import warnings

import pytest
from PIL import Image

from bench import hostile
from bot.errors import InvalidReference
from bot.providers import references
from bot.providers.references import decode_cost, normalise_reference

LIMIT = 10 * 1024 * 1024
MB = 1024 * 1024


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_a_long_jpeg_is_decoded_at_an_eighth_not_whole() -> None:
    data = hostile.long_jpeg(65000, 760)  # 49 MP whose short side is near 512

    cost = decode_cost(data, max_bytes=LIMIT, budget=128 * MB)
    result = opened(normalise_reference(data, max_bytes=LIMIT))

    # 8125×95 RGB plus one strip, where a draft sized for a 512² square decoded all 49 MP (~150 MB)
    assert cost < 16 * MB
    assert result.size == (512, 6)


def test_a_progressive_jpeg_is_costed_at_full_size_and_refused_over_the_budget() -> None:
    data = hostile.progressive_cmyk_jpeg(2000)  # 4 MP, but libjpeg keeps 2 bytes per sample of all 4 channels

    cost = decode_cost(data, max_bytes=LIMIT, budget=1024 * MB)
    with pytest.raises(InvalidReference) as refused:
        decode_cost(data, max_bytes=LIMIT, budget=16 * MB)

    assert cost >= 2000 * 2000 * 4 * 2
    assert refused.value.code == "too_many_pixels"
    assert refused.value.message.startswith("The reference image has too many pixels (at most ")
    assert opened(normalise_reference(data, max_bytes=LIMIT)).size == (512, 512)


def test_a_full_decode_costs_its_pixels_once_not_per_copy() -> None:
    data = hostile.big_png(3000, 2000)  # RGBA: 24 MB decoded

    cost = decode_cost(data, max_bytes=LIMIT, budget=128 * MB)
    result = opened(normalise_reference(data, max_bytes=LIMIT))

    assert 24 * 10**6 <= cost < 40 * MB
    assert result.size == (512, 341)


def test_a_16_bit_grey_png_keeps_its_values() -> None:
    grey = Image.new("I;16", (64, 64), 0x8000)  # mid-grey in 16 bits
    buffer = io.BytesIO()
    grey.save(buffer, "PNG")
    assert opened(buffer.getvalue()).mode.startswith("I")

    result = opened(normalise_reference(buffer.getvalue(), max_bytes=LIMIT))

    red, green, blue = result.getpixel((32, 32))  # type: ignore[misc]
    assert 120 <= red <= 136 and red == green == blue  # not clipped to white


@pytest.mark.parametrize("fmt", ["HEIF", "AVIF"])
def test_heic_and_avif_references_are_read(fmt: str) -> None:
    references._register_plugins()  # the HEIF encoder comes with the same plugin
    buffer = io.BytesIO()
    Image.new("RGB", (800, 600), (200, 30, 30)).save(buffer, fmt, quality=80)

    result = opened(normalise_reference(buffer.getvalue(), max_bytes=LIMIT))

    assert (result.format, result.size) == ("JPEG", (512, 384))
    red, green, blue = result.getpixel((256, 192))  # type: ignore[misc]
    assert red > 150 and green < 80 and blue < 80


def test_decoding_in_threads_leaves_the_process_warning_filters_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two decodes that overlap in time: ``catch_warnings`` in each once left one's filters behind for good."""
    before = list(warnings.filters)
    both_inside = threading.Barrier(2)
    first_done = threading.Event()
    original = Image.Image.getexif
    order: list[str] = []

    def getexif(self: Image.Image) -> Image.Exif:
        name = threading.current_thread().name
        both_inside.wait(timeout=10)  # both decodes are inside at once
        if name == "second":
            first_done.wait(timeout=10)  # the first one finishes first
        order.append(name)
        return original(self)

    monkeypatch.setattr(Image.Image, "getexif", getexif)
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64)).save(buffer, "JPEG")

    def decode() -> None:
        normalise_reference(buffer.getvalue(), max_bytes=LIMIT)
        if threading.current_thread().name == "first":
            first_done.set()

    threads = [threading.Thread(target=decode, name=name) for name in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    assert order == ["first", "second"]
    assert warnings.filters == before
