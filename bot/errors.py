"""Domain errors: each one carries what the user needs to hear, and nothing else.

The tree::

    ImagineError
    ├── InvalidRequest            bad prompt, ratio, flag, size, steps or reference (``message`` says which)
    │   └── InvalidReference      a reference image that is not an image, too large, or too many
    ├── AccessDenied              the user or chat is not on the allow-list
    ├── LimitReached              per-minute or per-day limit; ``retry_after`` seconds until allowed again
    ├── QueueFull                 the user already has the maximum number of jobs waiting
    ├── JobNotFound               a re-roll of a job that is not stored (any more)
    ├── NotPermitted              e.g. re-rolling someone else's image, an admin command by a non-admin
    ├── Cancelled                 the requester (or an admin) pressed ❌; the quota was refunded
    └── GenerationFailed          the upstream could not give an image
        ├── ContentFiltered       the provider's safety filter refused the prompt or the output
        ├── AllAccountsUnavailable  every account is spent, cooling down or misconfigured; ``retry_at``
        ├── UpstreamRejected      the provider refused the input itself (schema, too large, unknown model)
        └── UpstreamUnavailable   transient failures (timeouts, 5xx) used up the attempts for this request
            └── DeadlineExceeded  no image within GENERATION_DEADLINE_SECONDS (the call may have been billed)

Adapters turn these into chat messages in one place (``bot.core.messages.describe_error``); nothing else
about an error (upstream bodies, tokens, tracebacks) reaches a user.
"""

from __future__ import annotations

from datetime import datetime


class ImagineError(Exception):
    """Base of every error a user may be told about."""

    #: key in the message catalogue (``bot.core.messages``)
    key = "error.generic"

    def __init__(self, message: str = "") -> None:
        super().__init__(message or self.key)
        self.message = message


class InvalidRequest(ImagineError):
    """The request itself is wrong; ``message`` is one sentence for the user (English)."""

    key = "error.invalid_request"

    def __init__(self, message: str, *, code: str = "invalid", **params: object) -> None:
        super().__init__(message)
        #: a stable machine-readable reason (e.g. ``ratio_out_of_range``), used for translations
        self.code = code
        self.params = params


class InvalidReference(InvalidRequest):
    """A reference image was rejected."""

    key = "error.invalid_reference"


class AccessDenied(ImagineError):
    key = "error.access_denied"


class LimitReached(ImagineError):
    """A rate limit; ``scope`` is ``minute`` or ``day``."""

    key = "error.limit_reached"

    def __init__(
        self,
        *,
        scope: str,
        limit: int,
        retry_after: float,
        resets_at: datetime,
        model: str = "",
        left: int = 0,
        requested: int = 1,
    ) -> None:
        super().__init__(f"{scope} limit of {limit} reached; retry in {retry_after:.0f}s")
        #: for ``day_short``: images still left today, and how many the request asked for
        self.left = left
        self.requested = requested
        #: ``minute``, ``day``, ``day_short`` (fewer left than --n asked for) or ``model`` (a model's bot-wide cap)
        self.scope = scope
        self.model = model
        self.limit = limit
        self.retry_after = retry_after
        self.resets_at = resets_at


class QueueFull(ImagineError):
    key = "error.queue_full"

    def __init__(self, *, waiting: int) -> None:
        super().__init__(f"{waiting} jobs already waiting")
        self.waiting = waiting


class JobNotFound(ImagineError):
    key = "error.job_not_found"


class NotPermitted(ImagineError):
    key = "error.not_permitted"


class Cancelled(ImagineError):
    """The request was cancelled while it waited or worked; nothing was counted."""

    key = "error.cancelled"


class GenerationFailed(ImagineError):
    key = "error.generation_failed"


class ContentFiltered(GenerationFailed):
    key = "error.content_filtered"


class AllAccountsUnavailable(GenerationFailed):
    """No account can serve now; ``retry_at`` is when the soonest one is back (None: not before restart)."""

    key = "error.all_accounts_unavailable"

    def __init__(self, *, retry_at: datetime | None, reason: str) -> None:
        super().__init__(reason)
        self.retry_at = retry_at
        self.reason = reason


class UpstreamRejected(GenerationFailed):
    key = "error.upstream_rejected"


class UpstreamUnavailable(GenerationFailed):
    key = "error.upstream_unavailable"


class DeadlineExceeded(UpstreamUnavailable):
    """The whole generation ran past its deadline; retrying at once would likely pay twice."""


class TakenOver(Exception):
    """Not for users: this replica lost a request's lease and another one finishes it, so nothing is sent here."""

    def __init__(self, request_id: str) -> None:
        super().__init__(f"request {request_id} was taken over by another replica")
        self.request_id = request_id


class AlreadyAccepted(Exception):
    """Not for users: a request with this id was registered before (a chat update delivered twice); the first
    delivery answers, so the repeat is dropped before anything is charged, downloaded or asked upstream.

    ``acknowledged``: the first delivery was recorded (or ended). When it was not, that delivery is either still
    on its way or died with its replica: the sender should try again later, once it is recorded or swept away."""

    def __init__(self, request_id: str, *, acknowledged: bool = True) -> None:
        super().__init__(f"request {request_id} was already accepted")
        self.request_id = request_id
        self.acknowledged = acknowledged


class StorageUnavailable(Exception):
    """The database cannot be opened at all (corrupt, not a database, no permission). Not a chat error: the CLI
    prints its one sentence, which names the file, and exits non-zero."""


class ConfigurationError(Exception):
    """A missing or malformed setting. Not a user-facing chat error: the CLI prints it and exits 2."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem
