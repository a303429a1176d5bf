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
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from bot.adapters.http.auth import ApiCredentials, api_user
from bot.adapters.http.context import HttpContext
from bot.adapters.http.sse import sse_response
from bot.adapters.http.web.generation import Generate, generation_events
from bot.adapters.http.web.page import Page, browser_locale
from bot.adapters.http.web.security import CSRF_HEADER, SECURITY_HEADERS, is_same_site_request
from bot.adapters.http.web.sessions import COOKIE_NAME, SessionSigner, WebSession
from bot.core import MAX_REFERENCES
from bot.core.model_choice import FREE_NEURONS_PER_DAY
from bot.core.models import (
    GenerationRequest,
    GenerationResult,
    ImageSize,
    PromptOptions,
    UserRef,
)
from bot.core.parsing import MAX_SEED, MAX_STEPS
from bot.core.service import ImageService
from bot.errors import ImagineError, InvalidReference, InvalidRequest, NotPermitted
from bot.i18n import describe_error, translate
from bot.i18n.texts import reference_too_large

R = TypeVar("R", bound=Response)

RATIO_PRESETS = ("1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3")
HISTORY_LIMIT = 60
#: parts beyond this are not even parsed (the page sends at most MAX_REFERENCES)
_MAX_FILES = 8
_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


def web_router(context: HttpContext, now: Callable[[], float]) -> APIRouter:
    """All of the web UI, for ``create_app``'s routers: the page at ``/`` and its API under ``/web/api/``."""
    page = Page()
    settings = context.settings
    keys = settings.api_credentials
    signer = SessionSigner(keys, now)
    credentials = ApiCredentials(keys)
    router = APIRouter(include_in_schema=False)
    service = context.service

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
        user = user_of(session, request)
        models = [
            {"alias": choice.alias, "name": choice.spec.name, "max_steps": choice.spec.max_steps}
            for choice in service.models.choices
        ]
        aliases = [choice.alias for choice in service.models.choices]
        ratios = [
            {"ratio": ratio, "sizes": {alias: _sizes(service, ratio, alias) for alias in aliases}}
            for ratio in RATIO_PRESETS
        ]
        return {
            "name": session.name,
            "admin": service.is_admin(user),
            "csrf": session.csrf,
            "ratios": ratios,
            "models": models,
            "max_references": MAX_REFERENCES,
        }

    def present(result: GenerationResult, image_id: str) -> dict[str, Any]:
        return _job_view(
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
            generation = await _read_request(request, user, int(settings.max_reference_mb * 1024 * 1024))
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
            view = _job_view(
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
        rows = [
            {
                "label": status.label,
                "state": status.health.value,
                "state_text": translate(f"accounts.state.{status.health.value}", user.locale),
                "until": status.until.isoformat() if status.until else None,
                "images": status.images_today,
                "neurons": status.neurons_today,
                "note": status.reason,
            }
            for status in statuses
        ]
        return _secured(JSONResponse({"accounts": rows, "free_neurons": FREE_NEURONS_PER_DAY}))

    return router


async def _read_request(request: Request, user: UserRef, max_reference_bytes: int) -> GenerationRequest:
    """The form as a core request; the count and size of references are checked before any is read whole."""
    try:
        form = await request.form(max_files=_MAX_FILES, max_fields=10)
    except HTTPException:  # more parts than any page sends: say so in the same words as for five images
        raise _too_many(_MAX_FILES + 1) from None
    try:
        uploads = [item for item in form.getlist("references") if isinstance(item, UploadFile)]
        if len(uploads) > MAX_REFERENCES:
            raise _too_many(len(uploads))
        references = []
        for upload in uploads:
            if upload.size is not None and upload.size > max_reference_bytes:
                raise reference_too_large(upload.size, max_reference_bytes)
            references.append(await upload.read())
        options = PromptOptions(
            ratio=str(form.get("ratio") or "") or None,
            seed=_number(
                str(form.get("seed") or "").strip(),
                "bad_seed",
                f"The seed must be a whole number from 0 to {MAX_SEED}.",
            ),
            steps=_number(
                str(form.get("steps") or "").strip(),
                "bad_steps",
                f"Steps must be a whole number from 1 to {MAX_STEPS}.",
            ),
            model=str(form.get("model") or "") or None,
            raw=bool(form.get("raw")),
        )
        text = str(form.get("prompt") or "")
        return GenerationRequest(user=user, text=text, references=tuple(references), options=options)
    finally:
        await form.close()


def _sizes(service: ImageService, ratio: str, model: str) -> list[dict[str, int] | None]:
    """The size drawn for ``ratio`` with 0, 1, ... MAX_REFERENCES references (None: the models take no more)."""
    sizes: list[dict[str, int] | None] = []
    for count in range(MAX_REFERENCES + 1):
        try:
            size = service.planned_size(ratio, count, model)
        except InvalidReference:
            sizes.append(None)
        else:
            sizes.append({"width": size.width, "height": size.height})
    return sizes


def _too_many(count: int) -> InvalidReference:
    return InvalidReference(
        f"At most {MAX_REFERENCES} reference images can be used; you sent {count}.",
        code="too_many",
        count=count,
        limit=MAX_REFERENCES,
    )


def _number(text: str, code: str, message: str) -> int | None:
    """A whole number typed in a field (empty: None); the core checks its range with the same sentence."""
    if not text:
        return None
    if not text.isdigit() or len(text) > 12:
        raise InvalidRequest(message, code=code)
    return int(text)


def _job_view(
    job_id: str,
    image_id: str | None,
    mime: str,
    prompt: str,
    final: str,
    size: ImageSize,
    seed: int,
    model: str,
) -> dict[str, Any]:
    """A job as the page shows it; ``image_url`` is None once its image left the store (or it never had one)."""
    return {
        "id": job_id,
        "image_url": f"/image/{image_id}" if image_id else None,
        "prompt": prompt,
        "final_prompt": final,
        "width": size.width,
        "height": size.height,
        "seed": seed,
        "model": model,
        "filename": f"imagine-{seed}.{_EXTENSIONS.get(mime, 'png')}",
    }


def _secured(response: R) -> R:
    response.headers.update(SECURITY_HEADERS)
    return response


def _error(status: int, message: str, code: str) -> Response:
    return _secured(
        JSONResponse({"error": {"message": message, "type": "web_error", "code": code}}, status_code=status)
    )
