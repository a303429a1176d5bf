"""Session cookies: signed with a secret derived from the key, so forging, editing, expiry and a removed key all
end a session, and nothing of the key is in the cookie."""

from __future__ import annotations

from bot.adapters.http.web.sessions import SessionSigner

KEYS = {"demo": "sk-demo-1234567890", "other": "sk-other-0987654321"}


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_cookie_names_its_key_and_carries_a_csrf_token_but_not_the_key() -> None:
    signer = SessionSigner(KEYS, Clock())
    cookie, session = signer.issue("demo")
    assert KEYS["demo"] not in cookie
    read = signer.read(cookie)
    assert read == session
    assert read is not None and read.name == "demo" and len(read.csrf) == 32


def test_each_session_has_its_own_csrf_token() -> None:
    signer = SessionSigner(KEYS, Clock())
    assert signer.issue("demo")[1].csrf != signer.issue("demo")[1].csrf


def test_an_edited_or_forged_cookie_is_refused() -> None:
    signer = SessionSigner(KEYS, Clock())
    cookie, _ = signer.issue("demo")
    name, expires, nonce, mac = cookie.split(".")
    other_name = signer.issue("other")[0].split(".")[0]
    assert signer.read(f"{other_name}.{expires}.{nonce}.{mac}") is None  # claims to be another key
    assert signer.read(f"{name}.{int(expires) + 3600}.{nonce}.{mac}") is None  # stretched
    assert signer.read(f"{name}.{expires}.{nonce}.{'0' * len(mac)}") is None
    assert signer.read("garbage") is None
    assert signer.read("") is None
    assert signer.read(None) is None


def test_a_cookie_expires() -> None:
    clock = Clock()
    signer = SessionSigner(KEYS, clock, lifetime=60)
    cookie, _ = signer.issue("demo")
    clock.now += 59
    assert signer.read(cookie) is not None
    clock.now += 1
    assert signer.read(cookie) is None


def test_removing_or_rotating_a_key_ends_its_sessions_in_every_process() -> None:
    clock = Clock()
    cookie, _ = SessionSigner(KEYS, clock).issue("demo")
    assert SessionSigner(dict(KEYS), clock).read(cookie) is not None  # another replica, same keys
    assert SessionSigner({"other": KEYS["other"]}, clock).read(cookie) is None
    assert SessionSigner({"demo": "sk-demo-rotated", "other": KEYS["other"]}, clock).read(cookie) is None
