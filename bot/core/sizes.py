"""Width × height for a model: from an explicit size, or from a ratio at a target area; and the step count."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType

from bot.core.models import ImageSize, ModelSpec, ParsedPrompt
from bot.core.parsing import normalise_ratio
from bot.errors import InvalidRequest

#: the ratio table of the Flux-API-Worker seed, kept for reference (README); ``resolve_size`` computes sizes
SEED_RATIOS: Mapping[str, ImageSize] = MappingProxyType(
    {
        "1:1": ImageSize(1024, 1024),
        "1:2": ImageSize(512, 1024),
        "3:2": ImageSize(768, 512),
        "3:4": ImageSize(768, 1024),
        "16:9": ImageSize(1024, 576),
        "9:16": ImageSize(576, 1024),
    }
)
#: FLUX counts a megapixel as 1024 × 1024, so 1:1 at 1 MP is the familiar 1024×1024 (four 512² tiles)
PIXELS_PER_MEGAPIXEL = 1024 * 1024
#: what a model without width/height (flux-1-schnell) always draws
FIXED_OUTPUT_SIZE = ImageSize(1024, 1024)
ASPECT_TOLERANCE = 0.02
SIDE_MULTIPLE = 16


def resolve_size(parsed: ParsedPrompt, model: ModelSpec, megapixels: float = 1.0) -> ImageSize:
    """The size to request: the explicit one if given, else the ratio (default 1:1) at about ``megapixels``."""
    if not model.accepts_size:
        return FIXED_OUTPUT_SIZE
    if parsed.size is not None:
        return _fit_model(parsed.size, model)
    width, height = (int(term) for term in normalise_ratio(parsed.ratio or "1:1").split(":"))
    return _closest_size(width / height, model, megapixels * PIXELS_PER_MEGAPIXEL)


def resolve_steps(requested: int | None, configured: int | None, model: ModelSpec) -> int | None:
    """Steps to send: ``None`` for models without steps; else requested, configured or the model default."""
    if model.max_steps is None:
        return None
    if requested is not None:
        if requested > model.max_steps:
            raise InvalidRequest(
                f"This model takes at most {model.max_steps} steps, not {requested}.",
                code="bad_steps",
                limit=model.max_steps,
            )
        return requested
    if configured is not None:
        return min(configured, model.max_steps)  # FLUX_NUM_STEPS is global; a fast model's cap still holds
    return model.default_steps


def _fit_model(size: ImageSize, model: ModelSpec) -> ImageSize:
    if all(model.min_side <= side <= model.max_side for side in (size.width, size.height)):
        return size
    raise InvalidRequest(
        f"The size {size} is not allowed for this model; each side must be {model.min_side} to {model.max_side} "
        "pixels.",
        code="bad_size",
        size=str(size),
        min_side=model.min_side,
        max_side=model.max_side,
    )


# The search walks ~1,000 candidates; requests repeat a handful of (ratio, model, area) triples, so remember them.
@lru_cache(maxsize=128)
def _closest_size(aspect: float, model: ModelSpec, target_pixels: float) -> ImageSize:
    """The grid size within the model's limits and 2% of ``aspect`` whose area is nearest ``target_pixels``."""
    low = max(SIDE_MULTIPLE, -(-model.min_side // SIDE_MULTIPLE) * SIDE_MULTIPLE)
    high = model.max_side // SIDE_MULTIPLE * SIDE_MULTIPLE
    candidates = [
        ImageSize(width, height)
        for width in range(low, high + 1, SIDE_MULTIPLE)
        for height in _grid_heights_near(width / aspect)
        if low <= height <= high and abs(width / height / aspect - 1) <= ASPECT_TOLERANCE
    ]
    if not candidates:
        raise InvalidRequest(
            "This model cannot draw that aspect ratio; try one closer to 1:1.", code="ratio_out_of_range"
        )
    return min(
        candidates,
        key=lambda size: (
            abs(size.width * size.height - target_pixels),
            abs(size.width / size.height / aspect - 1),
        ),
    )


def _grid_heights_near(height: float) -> range:
    """Grid heights that can be within the tolerance of ``height`` (the caller checks exactly)."""
    shortest = height / (1 + ASPECT_TOLERANCE) // SIDE_MULTIPLE * SIDE_MULTIPLE
    tallest = height / (1 - ASPECT_TOLERANCE)
    return range(max(SIDE_MULTIPLE, int(shortest)), int(tallest) + 1, SIDE_MULTIPLE)
