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
    MISCONFIGURED = (
        "misconfigured"  # the API's own 401/403, bad account id, paid-only: out, re-checked now and then
    )
    TRANSIENT = "transient"  # 5xx, network, malformed answer: next account, bounded
    # no answer in time, or a proxy/edge/WAF refusal (an HTML 403): like TRANSIENT, and the account rests a while
    UNREACHABLE = "unreachable"
    CONTENT_FILTER = "content_filter"  # 3030 NSFW/flagged: no failover, tell the user
    BAD_INPUT = "bad_input"  # 5006 schema, 3030 undecodable reference, 3006/413: no failover
    NO_MODEL = "no_model"  # 5007/3042: configuration error, no failover

    @property
    def fails_over(self) -> bool:
        return self in (
            FailureKind.SPENT,
            FailureKind.BUSY,
            FailureKind.MISCONFIGURED,
            FailureKind.TRANSIENT,
            FailureKind.UNREACHABLE,
        )

    @property
    def is_transient(self) -> bool:
        """Counts against the per-request bound on transient attempts."""
        return self in (FailureKind.TRANSIENT, FailureKind.UNREACHABLE)


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
