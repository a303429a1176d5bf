"""Browser sessions: an API key is exchanged once for a signed, HttpOnly cookie; the key never reaches the page.

The cookie is stateless (``name.expires.nonce.mac``), signed with a secret derived from the key it was issued
for. So every process holding the same ``API_KEYS`` accepts it (replicas need no shared session table), and
removing or rotating a key ends its sessions at once. The CSRF token is derived from the same secret and the
cookie's nonce, so it needs no storage either.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass

COOKIE_NAME = "imagine_session"
LIFETIME_SECONDS = 12 * 3600


@dataclass(frozen=True)
class WebSession:
    """A signed-in browser: the key's name (the core user is ``api:<name>``) and its CSRF token."""

    name: str
    expires: int
    csrf: str


class SessionSigner:
    """Issues and checks session cookies for the configured keys (``name -> key``)."""

    def __init__(
        self, keys: Mapping[str, str], now: Callable[[], float], lifetime: int = LIFETIME_SECONDS
    ) -> None:
        # Per-key signing secrets, derived once; the keys themselves are not kept.
        self._secrets = {
            name: hashlib.sha256(b"imagine-web-session\x00" + key.encode()).digest()
            for name, key in keys.items()
        }
        self._now = now
        self._lifetime = lifetime

    def issue(self, name: str) -> tuple[str, WebSession]:
        """A fresh cookie value for the key called ``name`` (which must be configured)."""
        expires = int(self._now()) + self._lifetime
        nonce = secrets.token_urlsafe(16)
        payload = f"{_encode(name)}.{expires}.{nonce}"
        secret = self._secrets[name]
        return f"{payload}.{_mac(secret, payload)}", WebSession(name, expires, _csrf(secret, nonce))

    def read(self, cookie: str | None) -> WebSession | None:
        """The session in ``cookie``, or None when it is missing, forged, expired or its key is gone."""
        if not cookie or cookie.count(".") != 3:
            return None
        encoded, expires_text, nonce, mac = cookie.split(".")
        name = _decode(encoded)
        secret = self._secrets.get(name) if name is not None else None
        if name is None or secret is None or not expires_text.isdigit():
            return None
        if not hmac.compare_digest(mac, _mac(secret, f"{encoded}.{expires_text}.{nonce}")):
            return None
        if int(expires_text) <= self._now():
            return None
        return WebSession(name, int(expires_text), _csrf(secret, nonce))


def _mac(secret: bytes, payload: str) -> str:
    return hmac.new(secret, payload.encode(), hashlib.sha256).hexdigest()


def _csrf(secret: bytes, nonce: str) -> str:
    return hmac.new(secret, b"csrf\x00" + nonce.encode(), hashlib.sha256).hexdigest()[:32]


def _encode(name: str) -> str:
    return base64.urlsafe_b64encode(name.encode()).decode().rstrip("=")


def _decode(text: str) -> str | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
