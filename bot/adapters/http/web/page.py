"""The page itself: one server-rendered template in the browser's language, and a fixed set of static files."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from bot.i18n import CATALOGUES, resolve_locale, translate

_HERE = Path(__file__).parent
_STATIC_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
#: texts the script draws itself (the template renders the rest); the chats' keys it shares are listed here
_SCRIPT_KEYS = (
    "error.generic",
    "result.seed",
    "web.size.readout",
    "web.refs.remove",
    "web.refs.too_many",
    "web.refs.not_image",
    "web.result.copied",
    "web.result.final_prompt",
    "web.result.reroll",
    "web.result.reuse_seed",
    "web.history.no_image",
    "web.steps.placeholder",
    "web.accounts.neurons",
    "web.error.network",
    "web.error.session",
)


class Page:
    """Renders ``index.html`` and serves ``static/`` (read once: the files are small and never change at run time)."""

    def __init__(self) -> None:
        self._env = Environment(
            loader=FileSystemLoader(_HERE / "templates"), autoescape=select_autoescape(), auto_reload=False
        )
        self._template = self._env.get_template("index.html")
        self.static = {
            path.name: (path.read_bytes(), _STATIC_TYPES[path.suffix])
            for path in sorted((_HERE / "static").iterdir())
            if path.suffix in _STATIC_TYPES
        }

    def render(self, locale: str, *, max_references: int) -> str:
        """The page in ``locale``: no key, no session data, the same for every visitor speaking that language."""

        def t(key: str, **params: object) -> str:
            return translate(key, locale, **params)

        texts = {key: CATALOGUES[locale].get(key) or CATALOGUES["en"][key] for key in _SCRIPT_KEYS}
        return self._template.render(lang=locale, t=t, texts=texts, max_references=max_references)


def browser_locale(accept_language: str | None) -> str:
    """The first language in ``Accept-Language`` that we have (``de-CH,de;q=0.9`` -> ``de``), else English."""
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip()
        if tag and tag != "*":
            locale = resolve_locale(tag)
            if locale != "en" or tag.lower().startswith("en"):
                return locale
    return "en"
