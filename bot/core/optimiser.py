"""The prompt-optimisation hook. With no optimiser configured the service uses prompts as written."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.core.models import ImageSize


@dataclass(frozen=True)
class OptimisedPrompt:
    text: str
    optimised: bool
    #: why the prompt was used as written, when optimisation was wanted but failed (shown briefly to the user)
    skipped_reason: str | None = None


class PromptOptimiser(Protocol):
    """Rewrites a prompt for the image model. Must never raise and never take longer than its own timeout."""

    async def optimise(self, prompt: str, *, size: ImageSize, request_id: str) -> OptimisedPrompt: ...
