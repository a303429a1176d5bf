"""classify_failure: the error table, then message text, then HTTP status; never crashes."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.providers.base import FailureKind
from bot.providers.classify import classify_failure, parse_retry_after


def envelope(code: int | str | None, message: str) -> bytes:
    error: dict[str, object] = {"message": message}
    if code is not None:
        error["code"] = code
    return json.dumps({"success": False, "errors": [error], "result": {}, "messages": []}).encode()


@pytest.mark.parametrize(
    ("status", "code", "message", "kind"),
    [
        (429, 3036, "Account limited", FailureKind.SPENT),
        (429, 4006, "you have used up your daily free allocation of 10,000 neurons", FailureKind.SPENT),
        (429, 3040, "Capacity temporarily exceeded", FailureKind.BUSY),
        (401, 10000, "Authentication error", FailureKind.MISCONFIGURED),
        (403, 1000, "Invalid API Token", FailureKind.MISCONFIGURED),
        (400, 7000, "No route for that URI", FailureKind.MISCONFIGURED),
        (404, 7003, "Could not route", FailureKind.MISCONFIGURED),
        (403, 5035, "Workers Paid only", FailureKind.MISCONFIGURED),
        (403, 3023, "account blocked", FailureKind.MISCONFIGURED),
        (408, 3007, "timeout", FailureKind.TRANSIENT),
        (408, 3008, "aborted", FailureKind.TRANSIENT),
        (500, 3043, "internal server error", FailureKind.TRANSIENT),
        (400, 5006, "Bad input", FailureKind.BAD_INPUT),
        (413, 3006, "Request too large", FailureKind.BAD_INPUT),
        (400, 3030, "AiError: Input prompt contains NSFW content.", FailureKind.CONTENT_FILTER),
        (400, 3030, "Your output has been flagged", FailureKind.CONTENT_FILTER),
        (400, 3030, "Invalid input image[0]: unable to decode image file", FailureKind.BAD_INPUT),
        (400, 5007, "No such model", FailureKind.NO_MODEL),
        (404, 3042, "model not found", FailureKind.NO_MODEL),
        # the code wins over the status and over the message
        (500, 4006, "capacity", FailureKind.SPENT),
        (429, "3040", "code as a string", FailureKind.BUSY),
    ],
)
def test_codes(status: int, code: int | str, message: str, kind: FailureKind) -> None:
    failure = classify_failure(status, envelope(code, message), {})

    assert failure.kind is kind
    assert failure.code == int(code)
    assert failure.status == status


@pytest.mark.parametrize(
    ("status", "message", "kind"),
    [
        (429, "you have used up your daily free allocation", FailureKind.SPENT),
        (503, "Out of capacity, retry later", FailureKind.BUSY),
        (400, "output was flagged", FailureKind.CONTENT_FILTER),
        (400, "NSFW", FailureKind.CONTENT_FILTER),
    ],
)
def test_message_text_when_code_is_unknown_or_absent(status: int, message: str, kind: FailureKind) -> None:
    assert classify_failure(status, envelope(None, message), {}).kind is kind
    assert classify_failure(status, envelope(99999, message), {}).kind is kind


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (429, FailureKind.BUSY),
        (401, FailureKind.MISCONFIGURED),
        (403, FailureKind.MISCONFIGURED),
        (408, FailureKind.TRANSIENT),
        (500, FailureKind.TRANSIENT),
        (502, FailureKind.TRANSIENT),
        (504, FailureKind.TRANSIENT),
        (400, FailureKind.BAD_INPUT),
        (404, FailureKind.BAD_INPUT),
        (413, FailureKind.BAD_INPUT),
        (302, FailureKind.TRANSIENT),
    ],
)
def test_status_when_nothing_else_helps(status: int, kind: FailureKind) -> None:
    assert classify_failure(status, envelope(12345, "something odd"), {}).kind is kind


def test_html_body() -> None:
    body = b"<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>"

    failure = classify_failure(502, body, {"Content-Type": "text/html"})

    assert failure.kind is FailureKind.TRANSIENT
    assert failure.code is None
    assert "<" not in failure.detail
    assert "Bad Gateway" in failure.detail


_EDGE_403 = (
    b"<!DOCTYPE html><html><head><title>Attention Required! | Cloudflare</title></head><body>"
    b"<h1>Sorry, you have been blocked</h1><span>Error 1020</span><p>Access denied</p></body></html>"
)


@pytest.mark.parametrize("status", [401, 403])
@pytest.mark.parametrize("body", [_EDGE_403, b"Forbidden", b""])
def test_an_html_or_plain_refusal_is_from_something_in_between_not_the_token(
    status: int, body: bytes
) -> None:
    failure = classify_failure(status, body, {"Content-Type": "text/html"})

    assert failure.kind is FailureKind.UNREACHABLE
    assert failure.kind.fails_over and failure.kind.is_transient


@pytest.mark.parametrize(
    "body",
    [envelope(10000, "Authentication error"), envelope(None, "Unauthorized"), b'{"error": "Invalid token"}'],
)
def test_the_apis_own_json_refusal_stays_misconfigured(body: bytes) -> None:
    assert classify_failure(403, body, {}).kind is FailureKind.MISCONFIGURED


@pytest.mark.parametrize(
    "body",
    [b'{"errors": [{"code": 3036, "mess', b"", b"null", b"[]", b"42", b'{"errors": "x"}', b"\xff\xfe\x00"],
)
def test_odd_bodies_fall_back_to_status(body: bytes) -> None:
    assert classify_failure(429, body, {}).kind is FailureKind.BUSY
    assert classify_failure(500, body, {}).kind is FailureKind.TRANSIENT


def test_detail_is_short_and_names_the_code() -> None:
    failure = classify_failure(400, envelope(5006, "x" * 5000), {})

    assert failure.detail.startswith("HTTP 400 code 5006: ")
    assert len(failure.detail) <= 230


def test_detail_redacts_things_that_look_like_tokens() -> None:
    token = "Abcdefghij0123456789Abcdefghij0123456789"
    body = envelope(10000, f"Authentication error for Bearer {token} and {token}")

    detail = classify_failure(401, body, {}).detail

    assert token not in detail
    assert "Authentication error" in detail


def test_retry_after_and_request_id_from_headers_any_case() -> None:
    failure = classify_failure(
        429, envelope(971, "slow down"), {"retry-after": "12", "CF-AI-REQ-ID": "req-1"}
    )

    assert failure.retry_after == 12
    assert failure.upstream_request_id == "req-1"


def test_retry_after_forms() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)

    assert parse_retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now=now) == 30
    assert parse_retry_after("2.5") == 2.5
    assert parse_retry_after("-4") == 0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("nan") is None


@settings(max_examples=300, deadline=None)
@given(status=st.integers(min_value=0, max_value=999), body=st.binary(max_size=512))
def test_never_raises(status: int, body: bytes) -> None:
    failure = classify_failure(status, body, {"Retry-After": body.decode("latin-1")})

    assert isinstance(failure.kind, FailureKind)
    assert len(failure.detail) <= 230
