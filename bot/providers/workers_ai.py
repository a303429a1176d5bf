"""Cloudflare Workers AI over its REST API: one image per call on one account, failures classified."""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import json
import logging
import math
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from PIL import Image

from bot.core.models import ModelSpec, ProviderImage, ProviderJob
from bot.providers.base import FailureKind, TokenCheck, TokenState, UpstreamFailure
from bot.providers.bodies import MAX_IMAGE_ANSWER_BYTES, MAX_TEXT_ANSWER_BYTES, request_capped
from bot.providers.catalogue import FLUX2, SCHNELL
from bot.providers.classify import classify_failure, malformed_answer
from bot.settings import AccountConfig

logger = logging.getLogger(__name__)

_FileField = tuple[str | None, bytes, str | None]
_EXTENSION = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}
_PILLOW_FORMAT = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP"}
#: no model draws more than 2500 px a side; anything bigger is not an answer to our request
_MAX_SIDE = 4096


def sniff_image_mime(data: bytes) -> str | None:
    """The MIME type of PNG, JPEG or WebP bytes, from their magic numbers; None for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


@dataclass(frozen=True)
class RequestBody:
    """The body of one ``/ai/run`` call: either ``json`` or multipart ``data`` + ``files``."""

    json: dict[str, Any] | None = None
    data: dict[str, str] | None = None
    files: list[tuple[str, _FileField]] | None = None

    def as_httpx_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``httpx.AsyncClient.request``."""
        if self.json is not None:
            return {"json": self.json}
        return {"data": self.data, "files": self.files}


def build_request_body(job: ProviderJob) -> RequestBody:
    """The body the job's model family expects (``workers-ai.md``, "Text-to-image models")."""
    spec = job.model
    if len(job.references) > spec.max_references:
        raise UpstreamFailure(
            FailureKind.BAD_INPUT,
            f"{len(job.references)} reference images; {spec.name} takes at most {spec.max_references}",
        )
    if spec.family == FLUX2:
        return _multipart_body(job)
    body: dict[str, Any] = {"prompt": job.prompt}
    steps = _steps(spec, job.steps)
    if spec.family == SCHNELL:  # its schema rejects width/height and has no seed
        if steps is not None:
            body["steps"] = steps
        return RequestBody(json=body)
    if spec.accepts_size:
        body.update(width=job.size.width, height=job.size.height)
    if spec.accepts_seed:
        body["seed"] = job.seed
    if steps is not None:
        body["num_steps"] = steps
    if spec.accepts_negative and job.negative:
        body["negative_prompt"] = job.negative
    return RequestBody(json=body)


def _multipart_body(job: ProviderJob) -> RequestBody:
    data = {"width": str(job.size.width), "height": str(job.size.height)}
    if job.model.accepts_seed:
        data["seed"] = str(job.seed)
    steps = _steps(job.model, job.steps)
    if steps is not None:
        data["steps"] = str(steps)
    # The prompt travels as a file-less part so httpx builds multipart even without references:
    # FLUX.2 refuses any other encoding.
    files: list[tuple[str, _FileField]] = [("prompt", (None, job.prompt.encode(), None))]
    for index, image in enumerate(job.references):
        mime = sniff_image_mime(image) or "application/octet-stream"
        files.append(
            (f"input_image_{index}", (f"reference-{index}.{_EXTENSION.get(mime, 'bin')}", image, mime))
        )
    return RequestBody(data=data, files=files)


def _steps(spec: ModelSpec, requested: int | None) -> int | None:
    if spec.max_steps is None:
        return None  # fixed-step model: sending steps would be rejected or ignored
    steps = requested if requested is not None else spec.default_steps
    return None if steps is None else min(max(steps, 1), spec.max_steps)


class WorkersAIClient:
    """The ``ImageProvider`` for Workers AI. The caller owns ``http`` and closes it."""

    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")

    async def generate(self, account: AccountConfig, job: ProviderJob) -> ProviderImage:
        """Run ``job`` on ``account``; raises ``UpstreamFailure`` with the failure classified."""
        body = build_request_body(job)
        started = time.perf_counter()
        status: int | None = None
        try:
            response = await self._send(
                account,
                "POST",
                f"/ai/run/{job.model.name}",
                max_bytes=MAX_IMAGE_ANSWER_BYTES,
                **body.as_httpx_kwargs(),
            )
            status = response.status_code
            image = await asyncio.to_thread(_image_from, response)
        except UpstreamFailure as failure:
            safe = _scrubbed(failure, account)
            _log_failure(account, job.model.name, safe, started)
            raise safe from None
        logger.info(
            "workers-ai %s %s -> %s req=%s neurons=%s %.0f ms",
            account.label,
            job.model.name,
            status,
            image.upstream_request_id or "-",
            "-" if image.neurons is None else f"{image.neurons:g}",
            _elapsed_ms(started),
        )
        return image

    async def chat_completion(
        self, account: AccountConfig, body: dict[str, Any], *, request_timeout: float | None = None
    ) -> httpx.Response:
        """POST ``body`` to the account's OpenAI-compatible chat endpoint; a failure raises ``UpstreamFailure``."""
        started = time.perf_counter()
        # httpx reads timeout=None as "no timeout at all": leave the client's default unless one is given
        extra: dict[str, Any] = {} if request_timeout is None else {"timeout": request_timeout}
        try:
            return await self._send(account, "POST", "/ai/v1/chat/completions", json=body, **extra)
        except UpstreamFailure as failure:
            scoped = _model_scoped(failure)
            _log_failure(account, f"chat {str(body.get('model'))[:80]}", scoped, started)
            raise scoped from None

    async def verify_token(self, account: AccountConfig) -> TokenCheck:
        """Ask Cloudflare whether the token is active: account-owned path first, then the user path."""
        first = await self._check_token(
            account, f"/accounts/{quote(account.account_id, safe='')}/tokens/verify"
        )
        if first.state is not TokenState.INVALID:
            return first
        second = await self._check_token(account, "/user/tokens/verify")
        return second if second.state is TokenState.ACTIVE else first

    async def _check_token(self, account: AccountConfig, absolute_path: str) -> TokenCheck:
        try:
            response = await self._request(account, "GET", absolute_path)
        except UpstreamFailure as failure:
            return TokenCheck(TokenState.UNREACHABLE, failure.detail)
        if response.is_success:
            status = _json_result(response.content).get("status")
            if status == "active":
                return TokenCheck(TokenState.ACTIVE)
            return TokenCheck(TokenState.INVALID, f"token status is {str(status)[:40]!r}")
        refusal = _scrubbed(
            classify_failure(response.status_code, response.content, response.headers), account
        )
        unreachable = refusal.kind.is_transient or refusal.kind is FailureKind.BUSY
        return TokenCheck(TokenState.UNREACHABLE if unreachable else TokenState.INVALID, refusal.detail)

    async def _send(
        self,
        account: AccountConfig,
        method: str,
        path: str,
        *,
        max_bytes: int = MAX_TEXT_ANSWER_BYTES,
        **kwargs: Any,
    ) -> httpx.Response:
        """One call under ``/accounts/{id}``; a non-2xx answer raises the classified ``UpstreamFailure``.

        The seam for further account-scoped endpoints (e.g. ``/ai/v1/chat/completions`` for prompt rewriting).
        """
        account_path = f"/accounts/{quote(account.account_id, safe='')}{path}"
        response = await self._request(account, method, account_path, max_bytes=max_bytes, **kwargs)
        if not response.is_success:
            raise _scrubbed(
                classify_failure(response.status_code, response.content, response.headers), account
            )
        return response

    async def _request(
        self,
        account: AccountConfig,
        method: str,
        absolute_path: str,
        *,
        max_bytes: int = MAX_TEXT_ANSWER_BYTES,
        **kwargs: Any,
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {account.token}"}
        url = self._base_url + absolute_path
        try:
            return await request_capped(
                self._http, method, url, max_bytes=max_bytes, headers=headers, **kwargs
            )
        except httpx.TimeoutException as exc:
            raise UpstreamFailure(FailureKind.UNREACHABLE, f"timeout ({type(exc).__name__})") from None
        except httpx.HTTPError as exc:
            # str(exc) of transport errors names the OS error, never the URL or headers
            detail = f"{type(exc).__name__}: {str(exc)[:200]}".replace(account.token, "***")
            raise UpstreamFailure(FailureKind.TRANSIENT, detail) from None


def _image_from(response: httpx.Response) -> ProviderImage:
    """The image of a 2xx answer (raw bytes or base64 JSON), checked to really be one. Runs in a thread."""
    body = response.content
    request_id = response.headers.get("cf-ai-req-id")
    mime = sniff_image_mime(body)
    if mime is None:
        body = _base64_image(response)
        mime = sniff_image_mime(body)
        if mime is None:
            raise malformed_answer(response, "result.image is not a PNG, JPEG or WebP image")
    problem = image_problem(body, mime)
    if problem is not None:
        raise malformed_answer(response, problem)
    return ProviderImage(
        data=body,
        mime=mime,
        neurons=_float_or_none(response.headers.get("cf-ai-neurons")),
        upstream_request_id=request_id,
    )


def _base64_image(response: httpx.Response) -> bytes:
    document = _json_document(response.content)
    if document is None:
        raise malformed_answer(response, "answer is neither an image nor JSON")
    if document.get("success") is False:
        raise classify_failure(response.status_code, response.content, response.headers)
    result = document.get("result")
    encoded = result.get("image") if isinstance(result, dict) else None
    if not isinstance(encoded, str) or not encoded:
        raise malformed_answer(response, "JSON answer without result.image")
    if encoded.startswith("data:"):
        encoded = encoded.partition(",")[2]
    try:
        # validate=True: anything outside the base64 alphabet is an error, not silently skipped
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise malformed_answer(response, "result.image is not valid base64") from None


def image_problem(data: bytes, mime: str) -> str | None:
    """Why ``data`` is not a usable ``mime`` image (None when it is): its header must parse as that format.

    Magic bytes alone are not enough: a proxy's HTML page behind a PNG signature passed them.
    """
    expected = _PILLOW_FORMAT[mime]
    try:
        with Image.open(io.BytesIO(data), formats=(expected,)) as image:
            width, height = image.size
            if expected == "PNG":
                image.verify()  # every chunk's CRC, without decoding pixels
    except Exception as exc:  # Pillow raises many types on broken input; all mean "not an image"
        return f"result is not a readable {expected} image ({type(exc).__name__})"
    if not (0 < width <= _MAX_SIDE and 0 < height <= _MAX_SIDE):
        return f"result image is {width}x{height}"
    return None


def _json_document(content: bytes) -> dict[str, Any] | None:
    try:
        document = json.loads(content)
    except (ValueError, RecursionError):
        return None
    return document if isinstance(document, dict) else None


def _json_result(content: bytes) -> dict[str, Any]:
    result = (_json_document(content) or {}).get("result")
    return result if isinstance(result, dict) else {}


def _scrubbed(failure: UpstreamFailure, account: AccountConfig) -> UpstreamFailure:
    if not account.token or account.token not in failure.detail:
        return failure
    return UpstreamFailure(
        failure.kind,
        failure.detail.replace(account.token, "***"),
        status=failure.status,
        code=failure.code,
        retry_after=failure.retry_after,
        upstream_request_id=failure.upstream_request_id,
    )


def _model_scoped(failure: UpstreamFailure) -> UpstreamFailure:
    """A text model that is paid-only (5035) or at capacity (3040) says nothing about the account's images:
    keep such failures from taking the account out of image rotation or cooling it down."""
    if failure.code == 5035:
        kind = FailureKind.NO_MODEL
    elif failure.code == 3040:
        kind = FailureKind.TRANSIENT
    else:
        return failure
    return UpstreamFailure(
        kind,
        failure.detail,
        status=failure.status,
        code=failure.code,
        retry_after=failure.retry_after,
        upstream_request_id=failure.upstream_request_id,
    )


def _float_or_none(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


def _elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _log_failure(account: AccountConfig, model: str, failure: UpstreamFailure, started: float) -> None:
    logger.warning(
        "workers-ai %s %s -> %s %s req=%s %.0f ms: %s",
        account.label,
        model,
        failure.status if failure.status is not None else "no answer",
        failure.kind.value,
        failure.upstream_request_id or "-",
        _elapsed_ms(started),
        failure.detail,
    )
