"""What each Workers AI text-to-image model accepts (``workers-ai.md``, "Text-to-image models")."""

from __future__ import annotations

from bot.core.models import ModelSpec

FLUX2 = "flux2"  # multipart/form-data only, JSON answer with base64 image, up to 4 references
SCHNELL = "schnell"  # JSON, prompt and steps only: no size, no seed
SD = "sd"  # JSON, answers raw PNG bytes
LEONARDO = "leonardo"  # JSON with size, seed and num_steps

FLUX2_KLEIN_4B = "@cf/black-forest-labs/flux-2-klein-4b"
FLUX2_KLEIN_9B = "@cf/black-forest-labs/flux-2-klein-9b"
FLUX2_DEV = "@cf/black-forest-labs/flux-2-dev"
FLUX1_SCHNELL = "@cf/black-forest-labs/flux-1-schnell"
SDXL_LIGHTNING = "@cf/bytedance/stable-diffusion-xl-lightning"
SDXL_BASE = "@cf/stabilityai/stable-diffusion-xl-base-1.0"
DREAMSHAPER = "@cf/lykon/dreamshaper-8-lcm"
PHOENIX = "@cf/leonardo/phoenix-1.0"
LUCID_ORIGIN = "@cf/leonardo/lucid-origin"


def _flux2(
    name: str,
    *,
    default_steps: int | None = None,
    max_steps: int | None = None,
    neurons: float | None = None,
) -> ModelSpec:
    return ModelSpec(
        name=name,
        family=FLUX2,
        max_side=1920,
        max_references=4,
        default_steps=default_steps,
        max_steps=max_steps,
        neurons_per_image=neurons,
    )


def _sd(name: str) -> ModelSpec:
    # default_steps None leaves the model's own default; the schema caps num_steps at 20
    return ModelSpec(name=name, family=SD, max_side=2048, max_steps=20, accepts_negative=True)


_CATALOGUE: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        # neurons per 1024² image: Cloudflare's pricing page and what was seen (workers-ai.md)
        _flux2(FLUX2_KLEIN_4B, neurons=104),  # distilled: steps fixed at 4, never sent
        _flux2(FLUX2_KLEIN_9B, neurons=1364),
        _flux2(FLUX2_DEV, default_steps=25, max_steps=50, neurons=3700),
        ModelSpec(
            name=FLUX1_SCHNELL,
            family=SCHNELL,
            accepts_size=False,
            accepts_seed=False,
            default_steps=4,
            max_steps=8,
            neurons_per_image=173,
        ),
        _sd(SDXL_LIGHTNING),
        _sd(SDXL_BASE),
        _sd(DREAMSHAPER),
        ModelSpec(
            name=PHOENIX,
            family=LEONARDO,
            max_side=2048,
            default_steps=25,
            max_steps=50,
            accepts_negative=True,
            neurons_per_image=3100,
        ),
        ModelSpec(name=LUCID_ORIGIN, family=LEONARDO, max_side=2500, max_steps=40, neurons_per_image=3900),
    )
}


def model_spec(name: str) -> ModelSpec:
    """The spec for a model id; a bare name (``flux-2-dev``) matches the full id; unknown ids are inferred."""
    name = name.strip()
    if name in _CATALOGUE:
        return _CATALOGUE[name]
    for full_name, spec in _CATALOGUE.items():
        if full_name.rsplit("/", 1)[-1] == name:
            return spec
    return _inferred_spec(name)


def _inferred_spec(name: str) -> ModelSpec:
    # A model newer than this table: guess from its name, never send fields it might reject.
    if "flux-2" in name:
        return _flux2(name)
    if "schnell" in name:
        return ModelSpec(name=name, family=SCHNELL, accepts_size=False, accepts_seed=False)
    return ModelSpec(name=name, family=LEONARDO, max_side=2048)
