"""Domain errors as OpenAI-shaped HTTP errors: ``{"error": {"message", "type", "param", "code"}}``.

The one mapping for every route (and the web UI's). Messages are the sentences the chats use (``describe_error``,
in English). Status codes follow what the ``openai`` SDK and gateways act on: a user's limit is a 429
``rate_limit_exceeded`` with ``Retry-After`` (never ``insufficient_quota``: one-api disables a channel on that word),
and ``x-should-retry: false`` wherever an automatic retry would only fail again or pay twice.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot.errors import (
    AccessDenied,
    AllAccountsUnavailable,
    ContentFiltered,
    DeadlineExceeded,
    GenerationFailed,
    ImagineError,
    InvalidReference,
    InvalidRequest,
    JobNotFound,
    LimitReached,
    NotPermitted,
    QueueFull,
    UpstreamUnavailable,
)
from bot.i18n import describe_error, translate

log = logging.getLogger(__name__)

#: the ``openai`` SDK waits at most this long on its own (``MAX_RETRY_AFTER_DELAY``); beyond it, tell it not to
SDK_MAX_RETRY_AFTER = 120
#: a full queue usually frees up within a generation's time
QUEUE_RETRY_AFTER = 10


@dataclass
class ApiError(Exception):
    """An error as the API answers it. Raise it from a route; the app's handler renders it."""

    status: int
    message: str
    type: str = "invalid_request_error"
    param: str | None = None
    code: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        """OpenAI's error body."""
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


def invalid(message: str, *, param: str | None = None, code: str | None = "invalid_value") -> ApiError:
    """A 400 for a request the API itself refuses (a field out of range, a fifth image)."""
    return ApiError(400, message, param=param, code=code)


def openai_error(error: ImagineError, *, now: datetime | None = None) -> ApiError:
    """The HTTP answer for a domain error."""
    now = now or datetime.now(UTC)
    message = describe_error(error, "en", now=now)
    if isinstance(error, InvalidReference):
        return ApiError(400, message, param="image", code=error.code)
    if isinstance(error, InvalidRequest):
        param = error.params.get("param") or _PARAM_OF_CODE.get(error.code, "prompt")
        return ApiError(400, message, param=str(param), code=error.code)
    if isinstance(error, AccessDenied | NotPermitted):
        return ApiError(403, message, type="permission_error", code="not_allowed")
    if isinstance(error, JobNotFound):
        return ApiError(404, message, code="not_found")
    if isinstance(error, LimitReached):
        return _too_many(message, error.retry_after, code="rate_limit_exceeded")
    if isinstance(error, QueueFull):
        return _too_many(message, QUEUE_RETRY_AFTER, code="rate_limit_exceeded")
    if isinstance(error, AllAccountsUnavailable):
        if error.retry_at is None:  # every account misconfigured: nothing a client can wait for
            return ApiError(503, message, type="server_error", code="service_unavailable", headers=_NO_RETRY)
        return _too_many(message, (error.retry_at - now).total_seconds(), code="upstream_capacity")
    if isinstance(error, ContentFiltered):
        return ApiError(400, message, code="content_policy_violation", headers=_NO_RETRY)
    if isinstance(error, DeadlineExceeded):
        return ApiError(504, message, type="server_error", code="timeout", headers=_NO_RETRY)
    if isinstance(error, UpstreamUnavailable):
        return ApiError(502, message, type="server_error", code="upstream_unavailable")
    if isinstance(error, GenerationFailed):
        return ApiError(502, message, type="server_error", code="upstream_error", headers=_NO_RETRY)
    return ApiError(500, message, type="server_error", code="internal_error")


_NO_RETRY = {"x-should-retry": "false"}
#: which request field a parser complaint is about (the rest are about the prompt text itself)
_PARAM_OF_CODE = {
    "too_many_images": "n",
    "bad_size": "size",
    "bad_ratio": "size",
    "ratio_out_of_range": "size",
    "unknown_model": "model",
    "bad_seed": "seed",
    "bad_steps": "steps",
}


def _too_many(message: str, seconds: float, *, code: str) -> ApiError:
    wait = max(1, math.ceil(seconds))
    headers = {"retry-after": str(wait)}
    if wait > SDK_MAX_RETRY_AFTER:
        headers.update(_NO_RETRY)
    return ApiError(429, message, type="requests", code=code, headers=headers)


def shutting_down() -> ApiError:
    """A generation cut short because the server is stopping (its limit slot was given back)."""
    return ApiError(503, translate("error.shutting_down", "en"), type="server_error", code="shutting_down")


def unexpected() -> ApiError:
    """Anything not foreseen: the generic sentence, never a trace."""
    return ApiError(500, translate("error.generic", "en"), type="server_error", code="internal_error")


def install_error_handlers(app: FastAPI) -> None:
    """Every error any route raises leaves in OpenAI's shape."""

    async def api_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return exc.response()

    async def domain_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ImagineError)
        return openai_error(exc).response()

    async def validation_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return validation_problem(exc).response()

    async def http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        kind = "invalid_request_error" if exc.status_code < 500 else "server_error"
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code)
        error = ApiError(
            exc.status_code, str(exc.detail), type=kind, code=code, headers=dict(exc.headers or {})
        )
        return error.response()

    async def crash(_: Request, exc: Exception) -> JSONResponse:
        log.error("HTTP request failed unexpectedly", exc_info=exc)
        return unexpected().response()

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(ImagineError, domain_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, crash)


def validation_problem(exc: RequestValidationError) -> ApiError:
    """FastAPI's 422 as OpenAI's 400: the first problem, with the field it is about as ``param``."""
    errors = exc.errors()
    if not errors:
        return invalid("The request is not valid.")
    first = errors[0]
    location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path", "header")]
    param = ".".join(location) or None
    reason = str(first.get("msg", "invalid value"))
    where = f"'{param}'" if param else "the request body"
    return invalid(f"Invalid value for {where}: {reason}.", param=param)
