from __future__ import annotations

import logging

import pytest

from bot.logs import Redactor, configure_logging, current_request_id

TELEGRAM_SHAPED = "123456789:AAH" + "x" * 32


def test_redactor_removes_known_secrets_and_token_shapes() -> None:
    redact = Redactor(["cf-secret-token"])
    text = redact(
        f"POST https://api.telegram.org/bot{TELEGRAM_SHAPED}/getMe Authorization: Bearer abcdefgh12345 "
        "token=cf-secret-token"
    )
    assert TELEGRAM_SHAPED not in text and "cf-secret-token" not in text and "abcdefgh12345" not in text
    assert text.count("***") == 3


def test_configured_logging_redacts_messages_and_tracebacks(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("INFO", ["cf-secret-token"])
        log = logging.getLogger("test")
        log.info("using %s", "cf-secret-token")
        try:
            raise RuntimeError("failed with cf-secret-token")
        except RuntimeError:
            log.exception("boom")
        err = capsys.readouterr().err
        assert "cf-secret-token" not in err
        assert "using ***" in err and "failed with ***" in err
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)


def test_log_lines_carry_the_current_request_id(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("INFO", [])
        token = current_request_id.set("req123abc")
        logging.getLogger("bot.test").info("calling upstream")
        current_request_id.reset(token)
        logging.getLogger("bot.test").info("between requests")
        lines = capsys.readouterr().err.splitlines()
        assert "[req123abc]" in lines[0] and "calling upstream" in lines[0]
        assert "[-]" in lines[1]
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
