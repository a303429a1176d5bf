"""The HTTP side: an OpenAI-compatible API, ``/health``, ``/metrics`` and stored images, on the same core.

Public surface for other routers (the web UI): ``create_app``, ``HttpContext``/``get_context``,
``require_api_user``/``ApiUser``, ``ApiError``/``openai_error``, and ``bot.adapters.http.sse``.
"""

from bot.adapters.http.app import create_app
from bot.adapters.http.auth import ApiCredentials, ApiUser, api_user, require_api_user
from bot.adapters.http.context import Context, HttpContext, get_context
from bot.adapters.http.errors import ApiError, openai_error
from bot.adapters.http.server import HttpAdapter, build_http_adapter

__all__ = [
    "ApiCredentials",
    "ApiError",
    "ApiUser",
    "Context",
    "HttpAdapter",
    "HttpContext",
    "api_user",
    "build_http_adapter",
    "create_app",
    "get_context",
    "openai_error",
    "require_api_user",
]
