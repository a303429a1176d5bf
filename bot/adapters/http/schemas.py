"""Shapes of what the HTTP side answers, declared for ``/openapi.json`` (and checked by the fuzzer against it)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorBody(BaseModel):
    """OpenAI's error shape."""

    error: ErrorDetail


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: each status answers an ``ErrorBody``."""
    return {status: {"model": ErrorBody} for status in statuses}


class AccountHealthView(BaseModel):
    """One Cloudflare account as ``/health`` shows it: the label carries the account id's last 4 characters."""

    label: str
    state: str
    until: str | None = None


class Health(BaseModel):
    """cf-flux2's health fields, plus each account's state and which adapters are up. No secrets."""

    model_config = ConfigDict(extra="forbid")

    status: str
    version: str
    mode: str
    model: str
    total_accounts: int
    accounts_configured: list[str]
    accounts: list[AccountHealthView]
    adapters: dict[str, bool]
