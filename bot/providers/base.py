"""The provider interface and the classified upstream failure the account pool acts on."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from bot.core.models import ProviderImage, ProviderJob
from bot.settings import AccountConfig


class FailureKind(StrEnum):
    """What an upstream failure means for failover (``workers-ai.md``, "what to do")."""

    SPENT = "spent"  # daily allocation used up: skip the account until the next 00:00 UTC
    BUSY = "busy"  # capacity (3040) or rate limit (other 429): cool down, try the next account
    MISCONFIGURED = "misconfigured"  # 401/403, bad account id, paid-only: out of rotation until restart
    TRANSIENT = "transient"  # timeout, 5xx, network, malformed answer: next account, bounded
    CONTENT_FILTER = "content_filter"  # 3030 NSFW/flagged: no failover, tell the user
    BAD_INPUT = "bad_input"  # 5006 schema, 3030 undecodable reference, 3006/413: no failover
    NO_MODEL = "no_model"  # 5007/3042: configuration error, no failover

    @property
    def fails_over(self) -> bool:
        return self in (FailureKind.SPENT, FailureKind.BUSY, FailureKind.MISCONFIGURED, FailureKind.TRANSIENT)


class UpstreamFailure(Exception):
    """One failed upstream call, classified. ``detail`` is safe to log (no tokens); never shown to users."""

    def __init__(
        self,
        kind: FailureKind,
        detail: str,
        *,
        status: int | None = None,
        code: int | None = None,
        retry_after: float | None = None,
        upstream_request_id: str | None = None,
    ) -> None:
        super().__init__(f"{kind.value}: {detail}")
        self.kind = kind
        self.detail = detail
        self.status = status
        self.code = code
        self.retry_after = retry_after
        self.upstream_request_id = upstream_request_id


class TokenState(StrEnum):
    ACTIVE = "active"
    INVALID = "invalid"
    UNREACHABLE = "unreachable"


@dataclass(frozen=True)
class TokenCheck:
    state: TokenState
    detail: str = ""


class ImageProvider(Protocol):
    """Generates one image on one account, or raises ``UpstreamFailure``."""

    async def generate(self, account: AccountConfig, job: ProviderJob) -> ProviderImage: ...

    async def verify_token(self, account: AccountConfig) -> TokenCheck: ...
