"""Platform-free value types that flow through the pipeline: request in, result out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


@dataclass(frozen=True)
class UserRef:
    """Who asks, as the core sees it. ``platform`` is ``telegram``, ``discord`` or ``cli``."""

    platform: str
    user_id: str
    chat_id: str | None = None
    locale: str = "en"
    display_name: str = ""
    #: the community the chat belongs to (a Discord server), so an allow-list can name it whole
    group_id: str | None = None

    @property
    def key(self) -> str:
        """Stable identity used for limits and job ownership, e.g. ``telegram:123``."""
        return f"{self.platform}:{self.user_id}"


@dataclass(frozen=True)
class ImageSize:
    width: int
    height: int

    def __str__(self) -> str:
        return f"{self.width}x{self.height}"

    @property
    def megapixels(self) -> float:
        return self.width * self.height / 1_000_000


@dataclass(frozen=True)
class PromptOptions:
    """Options given outside the prompt text (Discord slash-command options, CLI flags).

    They win over the same setting written inside the text.
    """

    ratio: str | None = None
    size: ImageSize | None = None
    seed: int | None = None
    steps: int | None = None
    negative: str | None = None
    raw: bool = False
    #: a model name or alias from ``FLUX_MODELS``
    model: str | None = None
    #: how many images (``--n``)
    count: int | None = None


@dataclass(frozen=True)
class ParsedPrompt:
    """The outcome of ``parse_prompt``: the text to draw and what the user asked for around it."""

    text: str
    is_json: bool = False
    ratio: str | None = None  # normalised "W:H", e.g. "16:9"; None means the default (1:1)
    size: ImageSize | None = None  # an explicit WxH wins over ratio
    seed: int | None = None
    steps: int | None = None
    negative: str | None = None
    raw: bool = False  # skip prompt optimisation
    model: str | None = None  # as typed: an alias or model name, resolved by the service
    count: int | None = None  # images asked for with --n


@dataclass(frozen=True)
class GenerationRequest:
    """One ``/imagine``: the raw prompt text as typed, options, and reference image bytes as downloaded."""

    user: UserRef
    text: str
    references: tuple[bytes, ...] = ()
    options: PromptOptions = PromptOptions()
    request_id: str = ""
    #: the CLI's ``generate`` runs as an operator: no allow-list, no limits
    bypass_limits: bool = False
    #: JSON-able: where another replica answers this request if this one dies (the adapter's chat and message,
    #: interaction...); None: nothing to answer by (an HTTP client's connection dies with its replica)
    reply: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class ModelSpec:
    """What one Workers AI model accepts. See ``bot.providers.catalogue``."""

    name: str
    family: str  # "flux2" (multipart), "schnell" (JSON, no size), "sd" (JSON, raw bytes), "leonardo" (JSON)
    accepts_size: bool = True
    min_side: int = 256
    max_side: int = 1920
    max_references: int = 0
    default_steps: int | None = None
    max_steps: int | None = None
    accepts_negative: bool = False
    accepts_seed: bool = True
    max_prompt_chars: int = 2048
    #: approximate neurons per 1024×1024 image (Cloudflare's pricing), None when unknown
    neurons_per_image: float | None = None


@dataclass(frozen=True)
class ProviderJob:
    """A fully resolved generation as sent to a provider."""

    model: ModelSpec
    prompt: str
    size: ImageSize
    seed: int
    steps: int | None = None
    negative: str | None = None
    references: tuple[bytes, ...] = ()  # already normalised (<= 512x512, re-encoded)


@dataclass(frozen=True)
class ProviderImage:
    """What a provider returns: image bytes, their MIME type, and upstream bookkeeping."""

    data: bytes
    mime: str
    neurons: float | None = None
    upstream_request_id: str | None = None


class AccountHealth(StrEnum):
    HEALTHY = "healthy"
    SPENT = "spent"  # daily allocation used up, until the next 00:00 UTC
    COOLING = "cooling"  # capacity / rate limit, for a short while
    MISCONFIGURED = (
        "misconfigured"  # bad token, bad account id, paid-only: out, with a trial call now and then
    )


@dataclass(frozen=True)
class AccountStatus:
    """One account as ``accounts``/``/accounts`` show it. ``label`` never contains the token."""

    index: int
    label: str  # e.g. "#2 …a1b2"
    health: AccountHealth
    until: datetime | None = None
    reason: str = ""
    images_today: int = 0
    neurons_today: float = 0.0


@dataclass(frozen=True)
class GenerationResult:
    """A delivered image and everything the reply shows about it."""

    job_id: str
    image: bytes
    mime: str
    size: ImageSize
    seed: int
    model: str
    account_index: int
    original_prompt: str
    final_prompt: str
    optimised: bool = False
    #: set when optimisation was wanted but failed and the prompt was used as written
    optimisation_skipped_reason: str | None = None
    negative: str | None = None
    steps: int | None = None
    reference_count: int = 0
    upstream_calls: int = 1
    timings_ms: dict[str, float] = field(default_factory=dict)
    #: the usage-ledger events this image consumed, for ``ImageService.refund_undelivered``
    usage_ids: tuple[int, ...] = field(default=(), repr=False, compare=False)

    @property
    def file_extension(self) -> str:
        return {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}.get(self.mime, "png")


@dataclass(frozen=True)
class QuotaStatus:
    """Answer to ``/quota``. ``None`` limits mean unlimited (admins, or limit set to 0)."""

    used_today: int
    daily_limit: int | None
    used_this_minute: int
    minute_limit: int | None
    resets_at: datetime  # next 00:00 UTC
    is_admin: bool = False

    @property
    def remaining_today(self) -> int | None:
        return None if self.daily_limit is None else max(0, self.daily_limit - self.used_today)


class ProgressStage(StrEnum):
    QUEUED = "queued"
    OPTIMISING = "optimising"
    GENERATING = "generating"


@dataclass(frozen=True)
class Progress:
    """Sent to the adapter's progress callback; ``position`` is set for QUEUED (1 = next)."""

    stage: ProgressStage
    position: int = 0
