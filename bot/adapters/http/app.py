"""The ASGI app: routers, error handlers and middleware, built from an ``HttpContext``.

Other routers plug in with ``app.include_router``; they reach the core through ``get_context``, authenticate
with ``require_api_user``, stream with ``bot.adapters.http.sse`` and fail with ``ApiError``/domain errors,
which the handlers here turn into OpenAI-shaped answers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi

from bot.adapters.http import metrics, system
from bot.adapters.http.auth import ApiCredentials
from bot.adapters.http.context import HttpContext
from bot.adapters.http.errors import install_error_handlers
from bot.adapters.http.middleware import ApiCORS, BodyLimit
from bot.adapters.http.schemas import ErrorBody
from bot.core import MAX_REFERENCES

log = logging.getLogger(__name__)

#: paths browser chat clients call cross-origin with a Bearer key
API_PREFIXES = ("/v1/", "/image/")
#: room for the fields around the images, and for multipart boundaries
BODY_MARGIN_BYTES = 1024 * 1024


def body_limit(max_reference_mb: float) -> int:
    """Every reference at its cap, as base64 in JSON (4/3 larger), plus a margin."""
    return int(MAX_REFERENCES * max_reference_mb * 1024 * 1024 * 4 / 3) + BODY_MARGIN_BYTES


def create_app(context: HttpContext, *, routers: Iterable[APIRouter] = ()) -> FastAPI:
    """The app for ``context``: the system routes, then ``routers`` (the API, the web UI)."""
    settings = context.settings
    app = FastAPI(
        title="imagine-bot",
        version=context.version,
        summary="FLUX images through an OpenAI-compatible API, on the same core as the chat bots.",
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.context = context
    app.state.metrics = metrics.Metrics()
    app.state.credentials = ApiCredentials(settings.api_credentials)
    if not app.state.credentials:
        log.warning(
            "no API key is configured (API_KEYS, API_KEY or API_MASTER_KEY): every API route answers 401"
        )
    install_error_handlers(app)
    app.include_router(system.router)
    app.include_router(metrics.router)
    for router in routers:
        app.include_router(router)
    if settings.cors_origins:
        app.add_middleware(ApiCORS, origins=settings.cors_origins, prefixes=API_PREFIXES)
    app.add_middleware(BodyLimit, max_bytes=body_limit(settings.max_reference_mb))
    app.openapi = lambda: openapi_schema(app)  # type: ignore[method-assign]
    return app


def openapi_schema(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema, saying what the server really answers: a request it cannot validate is a 400 in
    OpenAI's error shape (``install_error_handlers``), never FastAPI's 422."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        routes=app.routes,
        description=app.description,
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name, definition in (
        ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}").pop("$defs", {}).items()
    ):
        components.setdefault(name, definition)
    components.setdefault(
        "ErrorBody", ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    )
    error = {
        "description": "Invalid request",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            if responses.pop("422", None) is not None:
                responses.setdefault("400", error)
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    app.openapi_schema = schema
    return schema
