"""The web UI (issue 11): one page, no build step, on the HTTP adapter's app. See ``routes.web_router``."""

from bot.adapters.http.web.routes import RATIO_PRESETS, web_router

__all__ = ["RATIO_PRESETS", "web_router"]
