"""Turn a failed Workers AI answer into a ``FailureKind`` (``workers-ai.md``, "Errors").

Order matters: the error code is the most precise signal, then the message text (some gateways drop the code),
then the HTTP status. Pure: no I/O, no logging.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from bot.providers.base import FailureKind, UpstreamFailure

_BY_CODE: dict[int, FailureKind] = {
    3036: FailureKind.SPENT,
    4006: FailureKind.SPENT,
    3040: FailureKind.BUSY,
    10000: FailureKind.MISCONFIGURED,
    1000: FailureKind.MISCONFIGURED,
    7000: FailureKind.MISCONFIGURED,
    7003: FailureKind.MISCONFIGURED,
    5035: FailureKind.MISCONFIGURED,
    3023: FailureKind.MISCONFIGURED,
    3007: FailureKind.TRANSIENT,
    3008: FailureKind.TRANSIENT,
    3043: FailureKind.TRANSIENT,
    5006: FailureKind.BAD_INPUT,
    3006: FailureKind.BAD_INPUT,
    5007: FailureKind.NO_MODEL,
    3042: FailureKind.NO_MODEL,
}
_CONTENT_FILTER_CODE = 3030
_DETAIL_CHARS = 200
_MAX_RETRY_AFTER = 24 * 3600.0
# Defence in depth: the upstream never echoes credentials, but a proxy in between might.
_SECRET_LIKE = re.compile(r"(?i)bearer\s+\S+|\b[A-Za-z0-9_-]{40,}\b")
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


def classify_failure(status: int, body: bytes, headers: Mapping[str, str]) -> UpstreamFailure:
    """Classify one non-successful answer; never raises, whatever the body holds."""
    codes, message, from_api = _errors_of(body)
    kind, code = _kind_by_code(codes, message)
    if kind is None:
        kind = _kind_by_message(message) or _kind_by_status(status, from_api=from_api)
    return UpstreamFailure(
        kind,
        _detail(status, code, message),
        status=status,
        code=code,
        retry_after=parse_retry_after(_header(headers, "retry-after")),
        upstream_request_id=_header(headers, "cf-ai-req-id"),
    )


def _kind_by_code(codes: list[int], message: str) -> tuple[FailureKind | None, int | None]:
    for code in codes:
        if code == _CONTENT_FILTER_CODE:
            # 3030 covers both safety refusals and undecodable reference images
            filtered = _kind_by_message(message) is FailureKind.CONTENT_FILTER
            return (FailureKind.CONTENT_FILTER if filtered else FailureKind.BAD_INPUT), code
        if code in _BY_CODE:
            return _BY_CODE[code], code
    return None, codes[0] if codes else None


def _kind_by_message(message: str) -> FailureKind | None:
    lowered = message.lower()
    if "daily free allocation" in lowered:
        return FailureKind.SPENT
    if "capacity" in lowered:
        return FailureKind.BUSY
    if "nsfw" in lowered or "flagged" in lowered:
        return FailureKind.CONTENT_FILTER
    return None


def _kind_by_status(status: int, *, from_api: bool) -> FailureKind:
    if status == 429:
        return FailureKind.BUSY
    if status in (401, 403):
        # The API (and AI Gateway) refuse a token in JSON. An HTML or plain-text 401/403 comes from something in
        # between (Cloudflare's edge, a WAF, a proxy): it says nothing about the token, and such blocks lift.
        return FailureKind.MISCONFIGURED if from_api else FailureKind.UNREACHABLE
    if status == 408 or status >= 500:
        return FailureKind.TRANSIENT
    if 400 <= status < 500:
        return FailureKind.BAD_INPUT
    return FailureKind.TRANSIENT  # a 1xx/2xx/3xx reaching here is an answer we cannot use


def _errors_of(body: bytes) -> tuple[list[int], str, bool]:
    """Error codes and the joined messages of a Cloudflare envelope, and True; for anything that is not a JSON
    object, no codes, the text itself and False."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return [], _plain_text(body), False
    if not isinstance(document, dict):
        return [], _plain_text(body), False
    codes: list[int] = []
    messages: list[str] = []
    errors = document.get("errors")
    for error in errors if isinstance(errors, list) else []:
        if not isinstance(error, dict):
            continue
        code = _as_int(error.get("code"))
        if code is not None:
            codes.append(code)
        if isinstance(error.get("message"), str):
            messages.append(error["message"])
    if not messages and isinstance(document.get("error"), str):  # AI Gateway and proxies
        messages.append(document["error"])
    return codes, " | ".join(messages), True


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _plain_text(body: bytes) -> str:
    return _TAG.sub(" ", body[:4096].decode("utf-8", errors="replace"))


def _detail(status: int, code: int | None, message: str) -> str:
    text = _SECRET_LIKE.sub("[redacted]", _SPACE.sub(" ", message).strip())
    text = "".join(ch for ch in text if ch.isprintable())[:_DETAIL_CHARS]
    prefix = f"HTTP {status}" + (f" code {code}" if code is not None else "")
    return f"{prefix}: {text}" if text else prefix


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    for key, candidate in headers.items():  # plain dicts are case-sensitive, HTTP headers are not
        if key.lower() == name:
            return candidate
    return None


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date); None when absent or unusable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), _MAX_RETRY_AFTER)


def malformed_answer(response: httpx.Response, problem: str) -> UpstreamFailure:
    """A 2xx answer we cannot use (not JSON, no image...): transient, so the next account is tried."""
    content_type = response.headers.get("content-type", "-")[:60]
    return UpstreamFailure(
        FailureKind.TRANSIENT,
        f"HTTP {response.status_code}: {problem} ({len(response.content)} bytes, {content_type})",
        status=response.status_code,
        upstream_request_id=response.headers.get("cf-ai-req-id"),
    )
