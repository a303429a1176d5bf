"""The web UI's routes: the page, its static files, and the small JSON/SSE API only the page uses.

Sign-in trades an API key for a session cookie (``sessions.py``); every other call needs that cookie, and
every call that changes something also needs the session's CSRF token and a same-site origin
(``security.py``). The work itself goes through ``ImageService`` like every other adapter.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from bot.adapters.http.auth import ApiCredentials, api_user
from bot.adapters.http.context import HttpContext
from bot.adapters.http.sse import sse_response
from bot.adapters.http.web.forms import read_generation_form
from bot.adapters.http.web.generation import Generate, generation_events
from bot.adapters.http.web.page import Page, browser_locale
from bot.adapters.http.web.security import CSRF_HEADER, SECURITY_HEADERS, is_same_site_request
from bot.adapters.http.web.sessions import COOKIE_NAME, SessionSigner, WebSession
from bot.adapters.http.web.views import account_rows, job_view, models_view, ratios_view
from bot.core import MAX_REFERENCES
from bot.core.model_choice import FREE_NEURONS_PER_DAY
from bot.core.models import GenerationResult, ImageSize, UserRef
from bot.errors import ImagineError, NotPermitted
from bot.i18n import describe_error, translate

R = TypeVar("R", bound=Response)

HISTORY_LIMIT = 60


def web_router(context: HttpContext, now: Callable[[], float]) -> APIRouter:
    """All of the web UI, for ``create_app``'s routers: the page at ``/`` and its API under ``/web/api/``."""
    page = Page()
    settings = context.settings
    keys = settings.api_credentials
    signer = SessionSigner(keys, now)
    credentials = ApiCredentials(keys)
    router = APIRouter(include_in_schema=False)
    service = context.service
    ratios = ratios_view(service)  # fixed by the settings: computed once

    def user_of(session: WebSession, request: Request) -> UserRef:
        return replace(api_user(session.name), locale=browser_locale(request.headers.get("accept-language")))

    def session_of(request: Request) -> WebSession | None:
        return signer.read(request.cookies.get(COOKIE_NAME))

    def guard(request: Request, *, changes: bool) -> WebSession | Response:
        """The session, or the refusal: 403 for a cross-site or token-less change, 401 when not signed in."""
        locale = browser_locale(request.headers.get("accept-language"))
        if changes and not is_same_site_request(request, settings.public_base_url):
            return _error(403, translate("web.error.cross_site", locale), "cross_site")
        session = session_of(request)
        if session is None:
            return _error(401, translate("web.error.session", locale), "no_session")
        token = request.headers.get(CSRF_HEADER, "")
        if changes and not hmac.compare_digest(token.encode(), session.csrf.encode()):
            return _error(403, translate("web.error.cross_site", locale), "csrf")
        return session

    def session_body(session: WebSession, request: Request) -> dict[str, Any]:
        return {
            "name": session.name,
            "admin": service.is_admin(user_of(session, request)),
            "csrf": session.csrf,
            "ratios": ratios,
            "models": models_view(service),
            "max_references": MAX_REFERENCES,
        }

    def present(result: GenerationResult, image_id: str) -> dict[str, Any]:
        return job_view(
            result.job_id,
            image_id,
            result.mime,
            result.original_prompt,
            result.final_prompt,
            result.size,
            result.seed,
            result.model,
        )

    def stream(user: UserRef, generate: Generate) -> Response:
        events = generation_events(context, generate, present, user.locale)
        return _secured(sse_response(events))

    @router.get("/", response_class=HTMLResponse)
    async def index(request: Request) -> Response:
        locale = browser_locale(request.headers.get("accept-language"))
        html = page.render(locale, max_references=MAX_REFERENCES)
        return _secured(HTMLResponse(html, headers={"Cache-Control": "no-store", "Vary": "Accept-Language"}))

    @router.get("/web/static/{name}")
    async def static(name: str) -> Response:
        if name not in page.static:
            return _error(404, "Not found.", "not_found")
        data, media_type = page.static[name]
        return _secured(Response(data, media_type=media_type, headers={"Cache-Control": "no-cache"}))

    @router.get("/web/api/session")
    async def current_session(request: Request) -> Response:
        checked = guard(request, changes=False)
        if not isinstance(checked, WebSession):
            return checked
        return _secured(JSONResponse(session_body(checked, request)))

    @router.post("/web/api/session")
    async def sign_in(request: Request) -> Response:
        locale = browser_locale(request.headers.get("accept-language"))
        if not is_same_site_request(request, settings.public_base_url):
            return _error(403, translate("web.error.cross_site", locale), "cross_site")
        try:
            body = await request.json()
            offered = str(body["key"]) if isinstance(body, dict) else ""
        except (ValueError, KeyError):
            offered = ""
        if not credentials:
            return _error(401, translate("web.signin.closed", locale), "no_keys_configured")
        name = credentials.name_for(offered) if offered else None
        if name is None:
            return _error(401, translate("web.signin.invalid", locale), "invalid_api_key")
        cookie, session = signer.issue(name)
        response = _secured(JSONResponse(session_body(session, request)))
        response.set_cookie(
            COOKIE_NAME,
            cookie,
            max_age=session.expires - int(now()),
            path="/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https" or (settings.public_base_url or "").startswith("https:"),
        )
        return response

    @router.delete("/web/api/session")
    async def sign_out(request: Request) -> Response:
        checked = guard(request, changes=True)
        if not isinstance(checked, WebSession):
            return checked
        response = _secured(JSONResponse({"signed_out": True}))
        response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="strict")
        return response

    @router.post("/web/api/generate")
    async def generate(request: Request) -> Response:
        checked = guard(request, changes=True)
        if not isinstance(checked, WebSession):
            return checked
        user = user_of(checked, request)
        try:
            generation = await read_generation_form(
                request, user, int(settings.max_reference_mb * 1024 * 1024)
            )
        except ImagineError as error:
            return _error(400, describe_error(error, user.locale), "invalid_request")
        return stream(user, lambda progress: service.generate(generation, progress))

    @router.post("/web/api/jobs/{job_id}/reroll")
    async def reroll(job_id: str, request: Request) -> Response:
        checked = guard(request, changes=True)
        if not isinstance(checked, WebSession):
            return checked
        user = user_of(checked, request)
        return stream(user, lambda progress: service.reroll(job_id, user, progress))

    @router.get("/web/api/history")
    async def history(request: Request) -> Response:
        checked = guard(request, changes=False)
        if not isinstance(checked, WebSession):
            return checked
        jobs = await service.history(user_of(checked, request), HISTORY_LIMIT)
        links = await context.archive.links_for_jobs([job.id for job in jobs])
        views = []
        for job in jobs:
            link = links.get(job.id)
            view = job_view(
                job.id,
                link.id if link else None,
                link.mime if link else "",
                job.original_prompt,
                job.final_prompt,
                ImageSize(job.width, job.height),
                job.seed,
                job.model,
            )
            views.append(view | {"created_at": job.created_at})
        return _secured(JSONResponse({"jobs": views}))

    @router.get("/web/api/accounts")
    async def accounts(request: Request) -> Response:
        checked = guard(request, changes=False)
        if not isinstance(checked, WebSession):
            return checked
        user = user_of(checked, request)
        try:
            statuses = await service.account_statuses(user)
        except NotPermitted as error:
            return _error(403, describe_error(error, user.locale), "admin_only")
        rows = account_rows(statuses, user.locale)
        return _secured(JSONResponse({"accounts": rows, "free_neurons": FREE_NEURONS_PER_DAY}))

    return router


def _secured(response: R) -> R:
    response.headers.update(SECURITY_HEADERS)
    return response


def _error(status: int, message: str, code: str) -> Response:
    return _secured(
        JSONResponse({"error": {"message": message, "type": "web_error", "code": code}}, status_code=status)
    )
