"""The web UI (issue 11): one page, no build step, on the HTTP adapter's app. See ``routes.web_router``."""

from bot.adapters.http.web.routes import web_router
from bot.adapters.http.web.views import RATIO_PRESETS

__all__ = ["RATIO_PRESETS", "web_router"]
