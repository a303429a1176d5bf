"""Every language speaks every message: same keys as English, same placeholders, and real errors translate cleanly."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.parsing import parse_prompt
from bot.errors import (
    AccessDenied,
    AllAccountsUnavailable,
    ContentFiltered,
    ImagineError,
    InvalidReference,
    InvalidRequest,
    JobNotFound,
    LimitReached,
    NotPermitted,
    QueueFull,
    UpstreamRejected,
    UpstreamUnavailable,
)
from bot.i18n import CATALOGUES, describe_error, resolve_locale, translate
from bot.providers.references import normalise_reference

LANGUAGES = sorted(code for code in CATALOGUES if code != "en")
# English as the catalogue holds it: the chats' texts (en.py) and the web page's (web.py)
ENGLISH = CATALOGUES["en"]
REQUIRED = {"zh-Hant", "zh-Hans", "ja", "ru", "es", "fr", "de"}
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}


def test_the_required_languages_are_registered() -> None:
    assert set(LANGUAGES) >= REQUIRED


@pytest.mark.parametrize("code", LANGUAGES)
def test_every_english_key_is_translated_with_the_same_placeholders(code: str) -> None:
    catalogue = CATALOGUES[code]
    missing = sorted(set(ENGLISH) - set(catalogue))
    assert not missing, f"{code} lacks {missing}"
    for key, english in ENGLISH.items():
        assert placeholders(catalogue[key]) == placeholders(english), f"{code} {key}"
        assert catalogue[key].strip(), f"{code} {key} is empty"


@pytest.mark.parametrize("code", LANGUAGES)
def test_extra_keys_are_only_parser_error_codes(code: str) -> None:
    extra = set(CATALOGUES[code]) - set(ENGLISH)
    assert all(key.startswith("invalid.") for key in extra), sorted(extra)


@pytest.mark.parametrize("code", LANGUAGES)
def test_messages_are_translated_not_copied(code: str) -> None:
    # Labels like "Prompt" or "Original" may legitimately stay; sentences may not.
    copied = [
        key
        for key, english in ENGLISH.items()
        if CATALOGUES[code][key] == english and len(english) > 25 and "{" not in english
    ]
    assert not copied, f"{code} copies English for {copied}"


def _parser_errors() -> list[InvalidRequest]:
    bad_prompts = [
        "",
        "x" * 3000,
        "a cat --foo",
        "a cat --seed",
        "a cat --seed abc",
        "a cat --raw=yes",
        "a cat --ar x",
        "a cat --ar 9:1",
        "a cat --size 10x10",
        "a cat --steps 99",
        '{"scene": ',
        '{"scene": "a cat"} and more',
    ]
    errors: list[InvalidRequest] = []
    for text in bad_prompts:
        with pytest.raises(InvalidRequest) as raised:
            parse_prompt(text)
        errors.append(raised.value)
    for data, max_bytes in (
        (b"not an image at all", 1000),
        (b"x" * 2000, 1000),
        (b"\x89PNG\r\n\x1a\n", 1000),
    ):
        with pytest.raises(InvalidReference) as raised_reference:
            normalise_reference(data, max_bytes=max_bytes)
        errors.append(raised_reference.value)
    errors.append(InvalidReference("too many", code="too_many", count=5, limit=4))
    return errors


def _domain_errors() -> list[ImagineError]:
    later = NOW + timedelta(hours=3)
    return [
        AccessDenied("x"),
        LimitReached(scope="minute", limit=3, retry_after=20, resets_at=NOW),
        LimitReached(scope="day", limit=20, retry_after=3600, resets_at=later),
        QueueFull(waiting=3),
        JobNotFound("j"),
        NotPermitted("n"),
        ContentFiltered("nsfw"),
        AllAccountsUnavailable(retry_at=later, reason="spent"),
        AllAccountsUnavailable(retry_at=None, reason="misconfigured"),
        UpstreamRejected("bad"),
        UpstreamUnavailable("slow"),
        *_parser_errors(),
    ]


@pytest.mark.parametrize("code", ["en", *LANGUAGES])
def test_every_error_reads_as_one_finished_sentence(code: str) -> None:
    for error in _domain_errors():
        text = describe_error(error, code, now=NOW)
        assert text and "{" not in text and "}" not in text.replace('"}', ""), (code, error, text)
        assert not text.startswith(("error.", "invalid.")), (code, text)


@pytest.mark.parametrize("code", LANGUAGES)
def test_parser_errors_are_told_in_the_users_language(code: str) -> None:
    translated = [error for error in _parser_errors() if f"invalid.{error.code}" in CATALOGUES[code]]
    assert len(translated) == len(_parser_errors()), "every parser error code seen here has a translation"
    for error in translated:
        assert describe_error(error, code) != error.message


def test_language_codes_from_chat_platforms_resolve() -> None:
    assert [resolve_locale(c) for c in ("zh-TW", "zh-hk", "zh-CN", "zh", "ja", "ru-RU", "pt-BR", None)] == [
        "zh-Hant",
        "zh-Hant",
        "zh-Hans",
        "zh-Hans",
        "ja",
        "ru",
        "en",
        "en",
    ]


def test_help_text_formats_in_every_language() -> None:
    for code in ["en", *LANGUAGES]:
        limits = translate("help.limits", code, per_day=20, per_minute=3)
        text = translate("help.text", code, max_refs=4, limits=limits)
        assert "/imagine" in text and "16:9" in text and "20" in text and "{" not in text, code
