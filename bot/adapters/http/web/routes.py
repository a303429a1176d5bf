"""The web UI's routes: the page, its static files, and the small JSON/SSE API only the page uses.

Sign-in trades an API key for a session cookie (``sessions.py``); every other call needs that cookie, and
every call that changes something also needs the session's CSRF token and a same-site origin
(``security.py``). The work itself goes through ``ImageService`` like every other adapter.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from bot.adapters.http.web.generation import stream_generation
from bot.adapters.http.web.page import Page, browser_locale
from bot.adapters.http.web.security import CSRF_HEADER, SECURITY_HEADERS, is_same_site_request
from bot.adapters.http.web.sessions import COOKIE_NAME, SessionSigner, WebSession
from bot.core import MAX_REFERENCES
from bot.core.models import (
    GenerationRequest,
    GenerationResult,
    ImageSize,
    ParsedPrompt,
    PromptOptions,
    UserRef,
)
from bot.core.parsing import MAX_SEED
from bot.core.service import ImageService
from bot.core.sizes import resolve_size
from bot.errors import ImagineError, InvalidReference, InvalidRequest, NotPermitted
from bot.i18n import describe_error, translate
from bot.i18n.texts import reference_too_large
from bot.providers.catalogue import model_spec

R = TypeVar("R", bound=Response)

RATIO_PRESETS = ("1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3")
#: Workers AI's daily free allocation per account; the accounts panel draws today's use against it
FREE_NEURONS_PER_DAY = 10_000
HISTORY_LIMIT = 60
#: parts beyond this are not even parsed (the page sends at most MAX_REFERENCES)
_MAX_FILES = 8


class ResultImages(Protocol):
    """Where finished images live; the page links to them (``GET /image/{id}``)."""

    async def save(self, job_id: str, data: bytes, mime: str) -> None: ...

    def url(self, job_id: str) -> str | None:
        """The image's address, or None when it is not (or no longer) stored."""
        ...


@dataclass
class WebContext:
    service: ImageService
    images: ResultImages
    #: configured API keys, name -> key
    keys: Mapping[str, str]
    now: Callable[[], float]
    public_base_url: str | None = None
    max_reference_bytes: int = 10 * 1024 * 1024
    secure_cookies: bool = False
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)


def web_router(context: WebContext) -> APIRouter:
    """All of the web UI, to be included in the HTTP adapter's app."""
    page = Page()
    signer = SessionSigner(context.keys, context.now)
    router = APIRouter(include_in_schema=False)
    service = context.service

    def user_of(session: WebSession, request: Request) -> UserRef:
        return UserRef("api", session.name, locale=browser_locale(request.headers.get("accept-language")))

    def session_of(request: Request) -> WebSession | None:
        return signer.read(request.cookies.get(COOKIE_NAME))

    def guard(request: Request, *, changes: bool) -> WebSession | Response:
        """The session, or the refusal: 403 for a cross-site or token-less change, 401 when not signed in."""
        locale = browser_locale(request.headers.get("accept-language"))
        if changes and not is_same_site_request(request, context.public_base_url):
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
        model = model_spec(service.config.flux_model)
        ratios = []
        for ratio in RATIO_PRESETS:
            size = resolve_size(ParsedPrompt("x", ratio=ratio), model, service.config.megapixels)
            ratios.append({"ratio": ratio, "width": size.width, "height": size.height})
        return {
            "name": session.name,
            "admin": service.is_admin(user),
            "csrf": session.csrf,
            "ratios": ratios,
            "max_references": MAX_REFERENCES,
        }

    async def present(result: GenerationResult) -> dict[str, Any]:
        await context.images.save(result.job_id, result.image, result.mime)
        return _job_view(
            result.job_id,
            context.images.url(result.job_id),
            result.original_prompt,
            result.final_prompt,
            result.size,
            result.seed,
            result.model,
            result.file_extension,
        )

    def stream(request: Request, user: UserRef, run: Callable[..., Any]) -> StreamingResponse:
        events = stream_generation(run, present, user.locale, context.tasks)
        return _secured(
            StreamingResponse(
                events,
                media_type="text/event-stream",
                headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
            )
        )

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
        if not is_same_site_request(request, context.public_base_url):
            return _error(403, translate("web.error.cross_site", locale), "cross_site")
        try:
            body = await request.json()
            offered = str(body["key"]) if isinstance(body, dict) else ""
        except (ValueError, KeyError):
            offered = ""
        name = _match_key(offered, context.keys)
        if name is None:
            return _error(401, translate("web.signin.invalid", locale), "invalid_api_key")
        cookie, session = signer.issue(name)
        response = _secured(JSONResponse(session_body(session, request)))
        response.set_cookie(
            COOKIE_NAME,
            cookie,
            max_age=session.expires - int(context.now()),
            path="/",
            httponly=True,
            samesite="strict",
            secure=context.secure_cookies or request.url.scheme == "https",
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
            generation = await _read_request(request, user, context.max_reference_bytes)
        except ImagineError as error:
            return _error(400, describe_error(error, user.locale), "invalid_request")
        return stream(request, user, lambda progress: service.generate(generation, progress))

    @router.post("/web/api/jobs/{job_id}/reroll")
    async def reroll(job_id: str, request: Request) -> Response:
        checked = guard(request, changes=True)
        if not isinstance(checked, WebSession):
            return checked
        user = user_of(checked, request)
        return stream(request, user, lambda progress: service.reroll(job_id, user, progress))

    @router.get("/web/api/history")
    async def history(request: Request) -> Response:
        checked = guard(request, changes=False)
        if not isinstance(checked, WebSession):
            return checked
        jobs = await service.history(user_of(checked, request), HISTORY_LIMIT)
        views = [
            _job_view(
                job.id,
                context.images.url(job.id),
                job.original_prompt,
                job.final_prompt,
                ImageSize(job.width, job.height),
                job.seed,
                job.model,
                "png",
            )
            | {"created_at": job.created_at}
            for job in jobs
        ]
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


def _match_key(offered: str, keys: Mapping[str, str]) -> str | None:
    """The name of the key ``offered`` equals, compared in constant time against every key."""
    found = None
    for name, key in keys.items():
        if hmac.compare_digest(offered.encode(), key.encode()) and offered:
            found = name
    return found


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
            seed=_seed(str(form.get("seed") or "").strip()),
            raw=bool(form.get("raw")),
        )
        text = str(form.get("prompt") or "")
        return GenerationRequest(user=user, text=text, references=tuple(references), options=options)
    finally:
        await form.close()


def _too_many(count: int) -> InvalidReference:
    return InvalidReference(
        f"At most {MAX_REFERENCES} reference images can be used; you sent {count}.",
        code="too_many",
        count=count,
        limit=MAX_REFERENCES,
    )


def _seed(text: str) -> int | None:
    if not text:
        return None
    if not text.isdigit() or len(text) > 12:
        raise InvalidRequest(f"The seed must be a whole number from 0 to {MAX_SEED}.", code="bad_seed")
    return int(text)


def _job_view(
    job_id: str,
    url: str | None,
    prompt: str,
    final: str,
    size: ImageSize,
    seed: int,
    model: str,
    extension: str,
) -> dict[str, Any]:
    return {
        "id": job_id,
        "image_url": url,
        "prompt": prompt,
        "final_prompt": final,
        "width": size.width,
        "height": size.height,
        "seed": seed,
        "model": model,
        "filename": f"imagine-{seed}.{extension}",
    }


def _secured(response: R) -> R:
    response.headers.update(SECURITY_HEADERS)
    return response


def _error(status: int, message: str, code: str) -> Response:
    return _secured(
        JSONResponse({"error": {"message": message, "type": "web_error", "code": code}}, status_code=status)
    )
