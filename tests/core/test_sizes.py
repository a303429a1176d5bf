"""Size and steps resolution: aspect, grid, model limits and area."""

from __future__ import annotations

import functools
import math

import pytest

from bot.core.models import ImageSize, ModelSpec, ParsedPrompt
from bot.core.sizes import PIXELS_PER_MEGAPIXEL, SEED_RATIOS, resolve_size, resolve_steps
from bot.errors import InvalidRequest

FLUX2 = ModelSpec(name="flux2-like", family="flux2", min_side=256, max_side=1920)
WIDE_LIMITS = ModelSpec(name="sd-like", family="sd", min_side=256, max_side=2048, max_steps=20)
SCHNELL = ModelSpec(name="schnell-like", family="schnell", accepts_size=False, default_steps=4, max_steps=8)
DEV = ModelSpec(name="dev-like", family="flux2", default_steps=25, max_steps=50)
KLEIN = ModelSpec(name="klein-like", family="flux2")

# every reduced ratio with terms up to 16 between 1:4 and 4:1
RATIO_GRID = sorted(
    {
        f"{w // math.gcd(w, h)}:{h // math.gcd(w, h)}"
        for w in range(1, 17)
        for h in range(1, 17)
        if h <= 4 * w and w <= 4 * h
    }
)


def _aspect_error(size: ImageSize, ratio: str) -> float:
    width, height = (int(term) for term in ratio.split(":"))
    return abs(size.width / size.height / (width / height) - 1)


def _ideal_fits(ratio: str, model: ModelSpec, megapixels: float) -> bool:
    """Whether the exact-area size for ``ratio`` fits the model (else a side must sit at a limit)."""
    width, height = (int(term) for term in ratio.split(":"))
    pixels = megapixels * PIXELS_PER_MEGAPIXEL
    ideal_width, ideal_height = math.sqrt(pixels * width / height), math.sqrt(pixels * height / width)
    return all(model.min_side + 16 <= side <= model.max_side - 16 for side in (ideal_width, ideal_height))


@pytest.mark.parametrize("model", [FLUX2, WIDE_LIMITS], ids=lambda model: model.name)
@pytest.mark.parametrize("megapixels", [0.5, 1.0, 2.0])
@pytest.mark.parametrize("ratio", RATIO_GRID)
def test_ratio_gives_grid_aligned_size_in_limits_near_target_area(
    ratio: str, megapixels: float, model: ModelSpec
) -> None:
    size = resolve_size(ParsedPrompt("x", ratio=ratio), model, megapixels)
    assert _aspect_error(size, ratio) <= 0.02
    assert size.width % 16 == 0 and size.height % 16 == 0
    assert model.min_side <= size.width <= model.max_side
    assert model.min_side <= size.height <= model.max_side
    area_ratio = size.width * size.height / (megapixels * PIXELS_PER_MEGAPIXEL)
    if _ideal_fits(ratio, model, megapixels):
        assert 0.95 <= area_ratio <= 1.05
    assert abs(size.width * size.height - megapixels * PIXELS_PER_MEGAPIXEL) == _best_area_error(
        ratio, model, megapixels
    )


def _best_area_error(ratio: str, model: ModelSpec, megapixels: float) -> float:
    """Brute force over every grid size the model takes: how close to the target area one can get."""
    width, height = (int(term) for term in ratio.split(":"))
    target = megapixels * PIXELS_PER_MEGAPIXEL
    return min(
        abs(area - target)
        for aspect, area in _grid(model.max_side)
        if abs(aspect / (width / height) - 1) <= 0.02
    )


@functools.cache
def _grid(max_side: int) -> list[tuple[float, int]]:
    sides = range(256, max_side + 1, 16)
    return [(width / height, width * height) for width in sides for height in sides]


def test_grid_covers_the_range() -> None:
    assert {"1:4", "4:1", "16:9", "9:16", "1:1"} <= set(RATIO_GRID)
    assert len(RATIO_GRID) > 50


def test_default_is_square_1024() -> None:
    assert resolve_size(ParsedPrompt("x"), FLUX2) == ImageSize(1024, 1024)


def test_area_follows_megapixels() -> None:
    half, one, two = (resolve_size(ParsedPrompt("x", ratio="3:2"), FLUX2, mp) for mp in (0.5, 1.0, 2.0))
    assert half.width * half.height < one.width * one.height < two.width * two.height
    assert two.width * two.height == pytest.approx(2 * PIXELS_PER_MEGAPIXEL, rel=0.05)


def test_extreme_ratio_is_capped_by_max_side() -> None:
    size = resolve_size(ParsedPrompt("x", ratio="4:1"), FLUX2)
    assert size == ImageSize(1920, 480)


@pytest.mark.parametrize("ratio", sorted(SEED_RATIOS))
def test_seed_ratios_keep_their_shape(ratio: str) -> None:
    seed = SEED_RATIOS[ratio]
    size = resolve_size(ParsedPrompt("x", ratio=ratio), FLUX2)
    assert abs(size.width / size.height - seed.width / seed.height) / (seed.width / seed.height) <= 0.02


@pytest.mark.parametrize("size", [ImageSize(1920, 1080), ImageSize(256, 256), ImageSize(1000, 777)])
def test_explicit_size_wins_over_ratio(size: ImageSize) -> None:
    assert resolve_size(ParsedPrompt("x", ratio="1:4", size=size), FLUX2) == size


@pytest.mark.parametrize("size", [ImageSize(2048, 1024), ImageSize(255, 512)])
def test_explicit_size_outside_model_limits_is_refused(size: ImageSize) -> None:
    with pytest.raises(InvalidRequest) as caught:
        resolve_size(ParsedPrompt("x", size=size), FLUX2)
    assert caught.value.code == "bad_size"
    assert "1920" in caught.value.message


def test_model_with_larger_limits_accepts_larger_explicit_size() -> None:
    assert resolve_size(ParsedPrompt("x", size=ImageSize(2048, 1024)), WIDE_LIMITS) == ImageSize(2048, 1024)


@pytest.mark.parametrize(
    "parsed",
    [ParsedPrompt("x"), ParsedPrompt("x", ratio="16:9"), ParsedPrompt("x", size=ImageSize(512, 768))],
)
def test_fixed_size_model_ignores_ratio_and_size(parsed: ParsedPrompt) -> None:
    assert resolve_size(parsed, SCHNELL, megapixels=2.0) == ImageSize(1024, 1024)


def test_ratio_the_model_cannot_draw_is_refused() -> None:
    square_only = ModelSpec(name="square", family="sd", min_side=1024, max_side=1024)
    assert resolve_size(ParsedPrompt("x"), square_only) == ImageSize(1024, 1024)
    with pytest.raises(InvalidRequest) as caught:
        resolve_size(ParsedPrompt("x", ratio="16:9"), square_only)
    assert caught.value.code == "ratio_out_of_range"


STEPS = [
    (None, None, KLEIN, None),
    (30, 20, KLEIN, None),
    (None, None, DEV, 25),
    (None, 30, DEV, 30),
    (12, 30, DEV, 12),
    (50, None, DEV, 50),
    (None, None, SCHNELL, 4),
    (8, None, SCHNELL, 8),
    (None, 25, SCHNELL, 8),  # a global FLUX_NUM_STEPS is capped to what the fast model takes
    (None, None, WIDE_LIMITS, None),
]


@pytest.mark.parametrize(("requested", "configured", "model", "expected"), STEPS)
def test_resolve_steps(
    requested: int | None, configured: int | None, model: ModelSpec, expected: int | None
) -> None:
    assert resolve_steps(requested, configured, model) == expected


def test_requested_steps_above_model_maximum_is_refused() -> None:
    with pytest.raises(InvalidRequest) as caught:
        resolve_steps(9, None, SCHNELL)
    assert caught.value.code == "bad_steps"
    assert "8" in caught.value.message
