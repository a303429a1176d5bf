"""API keys: each configured key is a user of the core (``api:<name>``), so limits and allow-lists apply to it.

``require_api_user`` is the FastAPI dependency every API route (and any other router that accepts a key) uses.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from bot.adapters.http.errors import ApiError
from bot.core.models import UserRef

log = logging.getLogger(__name__)

API_PLATFORM = "api"

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="APIKey",
    description="A key from API_KEYS, API_KEY or API_MASTER_KEY, sent as `Authorization: Bearer <key>`.",
)


class ApiCredentials:
    """The configured keys, compared in constant time; never printed (``repr`` shows only the names)."""

    def __init__(self, keys: Mapping[str, str]) -> None:
        self._keys = [(name, key.encode()) for name, key in keys.items() if key]

    def __repr__(self) -> str:
        return f"ApiCredentials(names={[name for name, _ in self._keys]})"

    def __bool__(self) -> bool:
        return bool(self._keys)

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self._keys]

    def name_for(self, presented: str) -> str | None:
        """The name of the key ``presented`` matches, or None. Every key is compared, whatever matches first."""
        candidate = presented.strip().encode()
        found: str | None = None
        for name, key in self._keys:
            if hmac.compare_digest(candidate, key) and found is None:
                found = name
        return found


def api_user(name: str) -> UserRef:
    """The core's view of an API key holder (also of a web-UI session signed in with that key)."""
    return UserRef(platform=API_PLATFORM, user_id=name, display_name=name)


def credentials_of(request: Request) -> ApiCredentials:
    """The app's configured keys (set by ``create_app``)."""
    credentials: ApiCredentials = request.app.state.credentials
    return credentials


async def require_api_user(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> UserRef:
    """The user behind the request's Bearer key; a 401 in OpenAI's shape otherwise."""
    credentials = credentials_of(request)
    if not credentials:
        # Never open by default: without a configured key nobody gets in (the log at start-up says why).
        raise ApiError(
            401,
            "This server has no API key configured, so the API is closed. The operator sets API_KEYS.",
            type="invalid_request_error",
            code="invalid_api_key",
        )
    if bearer is None:
        raise ApiError(
            401,
            "Missing API key: send it as 'Authorization: Bearer <key>'.",
            code="invalid_api_key",
            headers={"www-authenticate": "Bearer"},
        )
    name = credentials.name_for(bearer.credentials)
    if name is None:
        raise ApiError(
            401, "Incorrect API key provided.", code="invalid_api_key", headers={"www-authenticate": "Bearer"}
        )
    return api_user(name)


ApiUser = Annotated[UserRef, Depends(require_api_user)]
