"""The one mapping from the domain error tree to OpenAI-shaped HTTP errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.adapters.http.errors import SDK_MAX_RETRY_AFTER, ApiError, openai_error
from bot.errors import (
    AccessDenied,
    AllAccountsUnavailable,
    ContentFiltered,
    DeadlineExceeded,
    ImagineError,
    InvalidReference,
    InvalidRequest,
    LimitReached,
    QueueFull,
    UpstreamRejected,
    UpstreamUnavailable,
)
from bot.i18n import describe_error

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def mapped(error: ImagineError) -> ApiError:
    return openai_error(error, now=NOW)


@pytest.mark.parametrize(
    ("error", "status", "code", "param"),
    [
        (InvalidRequest("Bad ratio.", code="ratio_out_of_range"), 400, "ratio_out_of_range", "size"),
        (InvalidRequest("Too long.", code="prompt_too_long"), 400, "prompt_too_long", "prompt"),
        (InvalidRequest("Bad size.", code="size", param="size"), 400, "size", "size"),
        (InvalidReference("Not an image.", code="not_an_image"), 400, "not_an_image", "image"),
        (AccessDenied("no"), 403, "not_allowed", None),
        (ContentFiltered("nsfw"), 400, "content_policy_violation", None),
        (UpstreamRejected("schema"), 502, "upstream_error", None),
        (UpstreamUnavailable("5xx"), 502, "upstream_unavailable", None),
        (DeadlineExceeded("slow"), 504, "timeout", None),
        (QueueFull(waiting=3), 429, "rate_limit_exceeded", None),
    ],
)
def test_each_domain_error_has_one_status_code_and_param(
    error: ImagineError, status: int, code: str, param: str | None
) -> None:
    answer = mapped(error)
    assert (answer.status, answer.code, answer.param) == (status, code, param)
    assert answer.message == describe_error(error, "en", now=NOW)  # the chats' sentence
    assert "insufficient_quota" not in str(answer.body())


def test_a_user_limit_says_when_to_retry_and_the_sdk_may_wait_for_it() -> None:
    answer = mapped(LimitReached(scope="minute", limit=3, retry_after=12.2, resets_at=NOW))
    assert answer.status == 429 and answer.code == "rate_limit_exceeded"
    assert answer.headers == {"retry-after": "13"}


def test_a_daily_limit_hours_away_tells_the_sdk_not_to_retry() -> None:
    answer = mapped(
        LimitReached(scope="day", limit=20, retry_after=5 * 3600, resets_at=NOW + timedelta(hours=5))
    )
    assert answer.headers["retry-after"] == str(5 * 3600)
    assert answer.headers["x-should-retry"] == "false"


def test_every_account_spent_is_a_429_until_the_soonest_return() -> None:
    soon = mapped(AllAccountsUnavailable(retry_at=NOW + timedelta(seconds=30), reason="cooling"))
    assert soon.status == 429 and soon.headers == {"retry-after": "30"}
    later = mapped(
        AllAccountsUnavailable(retry_at=NOW + timedelta(seconds=SDK_MAX_RETRY_AFTER + 1), reason="spent")
    )
    assert later.headers["x-should-retry"] == "false"
    broken = mapped(AllAccountsUnavailable(retry_at=None, reason="misconfigured"))
    assert broken.status == 503 and broken.headers["x-should-retry"] == "false"


def test_deadline_and_filter_are_not_retried_by_the_sdk() -> None:
    assert mapped(DeadlineExceeded("slow")).headers["x-should-retry"] == "false"
    assert mapped(ContentFiltered("nsfw")).headers["x-should-retry"] == "false"
