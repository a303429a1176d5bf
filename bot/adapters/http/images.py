"""``POST /v1/images/generations`` and ``/v1/images/edits``: OpenAI's image API (and cf-flux2's extras) on the core.

Both take JSON or multipart, as the ``openai`` SDK and the seeds' clients send them; every OpenAI field is
accepted (those that do not apply to FLUX are ignored, never a 400).
"""

from __future__ import annotations

import base64
import json
import time
from contextlib import AsyncExitStack
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.datastructures import UploadFile

from bot.adapters.http.auth import ApiUser
from bot.adapters.http.context import Context, HttpContext
from bot.adapters.http.errors import invalid
from bot.adapters.http.fetch import PublicImageFetcher
from bot.adapters.http.generation import (
    check_prompt,
    fetch_references,
    generate_images,
    image_link,
    model_option,
    output_format,
)
from bot.adapters.http.inputs import (
    ReferenceInput,
    check_count,
    checked_upload,
    parse_size_field,
    reference_from_string,
    too_many_images,
)
from bot.adapters.http.metrics import metrics_of
from bot.adapters.http.schemas import error_responses
from bot.core import MAX_REFERENCES
from bot.core.models import GenerationRequest, GenerationResult, PromptOptions, UserRef
from bot.core.parsing import MAX_SEED, MAX_STEPS

router = APIRouter(prefix="/v1/images", tags=["openai"])

#: the schema's bound; ``MAX_IMAGES_PER_REQUEST`` (default 4) is the core's and may be lower
MAX_IMAGES_PER_REQUEST = 10
#: multipart parts beyond this are not even parsed (4 images, a mask, and the text fields)
_MAX_FORM_FILES = MAX_REFERENCES + 4
_MAX_FORM_FIELDS = 64
_ERRORS = error_responses(400, 401, 403, 413, 429, 502, 503, 504)


class ImageRequest(BaseModel):
    """The fields this server uses; any other field (``quality``, ``style``, ``background``, ...) is accepted."""

    model_config = ConfigDict(extra="allow")

    prompt: str | dict[str, Any] | None = Field(
        default=None, description="Text, or a JSON object (structured prompt)"
    )
    input: str | dict[str, Any] | None = Field(default=None, description="cf-flux2's name for `prompt`")
    model: str | None = None
    n: int | None = Field(default=1, ge=1, le=MAX_IMAGES_PER_REQUEST)
    size: str | None = Field(
        default=None,
        description="WIDTHxHEIGHT (snapped to what the model can draw), a ratio like 16:9, or auto",
    )
    response_format: Literal["b64_json", "url"] | None = "b64_json"
    user: str | None = None
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)
    steps: int | None = Field(default=None, ge=1, le=MAX_STEPS)
    num_steps: int | None = Field(default=None, ge=1, le=MAX_STEPS)
    negative_prompt: str | None = None
    aspect_ratio: str | None = None
    aspectRatio: str | None = None
    width: int | None = Field(default=None, ge=1, le=10_000)
    height: int | None = Field(default=None, ge=1, le=10_000)
    images: list[str | dict[str, Any]] | None = Field(
        default=None, description="Reference images: data URLs, base64, URLs, or {image_url}"
    )


class ImageData(BaseModel):
    b64_json: str | None = None
    url: str | None = None
    revised_prompt: str | None = None


class ImagesResponse(BaseModel):
    """OpenAI's shape, plus ``model``, ``seed``, ``size`` and ``account_used`` (cf-flux2's)."""

    created: int
    data: list[ImageData]
    model: str
    seed: int
    size: str
    output_format: str
    account_used: int


#: what ``parse_size_field`` takes (empty means auto too)
SIZE_PATTERN = r"^\s*(?:[Aa][Uu][Tt][Oo]|\d{1,5}\s*[xX×*]\s*\d{1,5}|\d{1,3}\s*:\s*\d{1,3})?\s*$"
_PROMPT_DOC = {"anyOf": [{"type": "string", "pattern": "\\S"}, {"type": "object"}]}


def _request_body_doc(*, edits: bool) -> dict[str, Any]:
    """The request body as documented: JSON or multipart; ``prompt`` required (``input`` is its alias)."""
    schema = ImageRequest.model_json_schema()
    properties = schema["properties"]
    properties["prompt"] = {**_PROMPT_DOC, "description": properties["prompt"].get("description", "")}
    properties["size"] = {
        "type": "string",
        "pattern": SIZE_PATTERN,
        "description": properties["size"]["description"],
    }
    properties["images"] = {**properties["images"], "maxItems": MAX_REFERENCES}
    schema["required"] = ["prompt", "images"] if edits else ["prompt"]
    if edits:
        properties["images"]["minItems"] = 1
    multipart: dict[str, Any] = {
        "type": "object",
        "properties": {
            "prompt": {"type": "string", "pattern": "\\S"},
            "model": {"type": "string"},
            "n": {"type": "integer", "minimum": 1, "maximum": MAX_IMAGES_PER_REQUEST},
            "size": {"type": "string", "pattern": SIZE_PATTERN},
            "response_format": {"type": "string", "enum": ["b64_json", "url"]},
            "seed": {"type": "integer", "minimum": 0, "maximum": MAX_SEED},
            "image": {
                "type": "array",
                "items": {"type": "string", "format": "binary"},
                "maxItems": MAX_REFERENCES,
            },
            "mask": {"type": "string", "format": "binary"},
        },
    }
    multipart["required"] = ["prompt", "image"] if edits else ["prompt"]
    if edits:
        multipart["properties"]["image"]["minItems"] = 1
    else:
        for index in range(MAX_REFERENCES):
            multipart["properties"][f"input_image_{index}"] = {"type": "string", "format": "binary"}
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schema}, "multipart/form-data": {"schema": multipart}},
        }
    }


async def read_request(request: Request, *, max_bytes: int) -> tuple[ImageRequest, list[ReferenceInput]]:
    """The fields and the uploaded files of a JSON or multipart request (files checked for size only)."""
    content_type = request.headers.get("content-type", "").lower()
    uploads: list[ReferenceInput] = []
    if content_type.startswith("multipart/form-data") or content_type.startswith(
        "application/x-www-form-urlencoded"
    ):
        fields: dict[str, Any] = {}
        async with request.form(max_files=_MAX_FORM_FILES, max_fields=_MAX_FORM_FIELDS) as form:
            images = [
                value
                for name, value in form.multi_items()
                if isinstance(value, UploadFile)
                and (name in ("image", "image[]") or name.startswith("input_image_"))
            ]
            if len(images) > MAX_REFERENCES:
                raise too_many_images(len(images))
            for upload in images:
                uploads.append(checked_upload(await upload.read(max_bytes + 1), max_bytes=max_bytes))
            # ``mask`` and other files are accepted and ignored
            fields = {name: value for name, value in form.multi_items() if not isinstance(value, UploadFile)}
    else:
        try:
            fields = json.loads(await request.body() or b"null")
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise invalid("The request body is not valid JSON.", code="invalid_json") from None
        if not isinstance(fields, dict):
            raise invalid("The request body must be a JSON object.", code="invalid_json")
    try:
        body = ImageRequest.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        param = ".".join(str(part) for part in first.get("loc", ())) or None
        raise invalid(f"Invalid value for '{param}': {first.get('msg', 'invalid')}.", param=param) from None
    return body, uploads


def references_of(
    body: ImageRequest, uploads: list[ReferenceInput], *, max_bytes: int
) -> list[ReferenceInput]:
    """Uploaded files, then ``images`` (data URLs, base64 or URLs; ``{"image_url": ...}`` as the SDK sends)."""
    inputs = list(uploads)
    for item in body.images or []:
        value: Any = item
        if isinstance(item, dict):
            value = item.get("image_url") or item.get("url")
            if isinstance(value, dict):
                value = value.get("url")
        if not isinstance(value, str) or not value.strip():
            raise invalid("Each entry of 'images' must be an image URL or data URL.", param="image")
        inputs.append(reference_from_string(value, max_bytes=max_bytes))
    return check_count(inputs)


def generation_request(context: HttpContext, user: UserRef, body: ImageRequest) -> GenerationRequest:
    """The core request: the prompt (a JSON object is sent as JSON text) and what the fields ask for."""
    prompt = body.prompt if body.prompt is not None else body.input
    if isinstance(prompt, dict):
        prompt = json.dumps(prompt, ensure_ascii=False)
    if prompt is None or not prompt.strip():
        raise invalid("A prompt is required.", param="prompt", code="missing_prompt")
    asked = parse_size_field(body.size)
    if asked.size is None and asked.ratio is None and body.width and body.height:
        asked = parse_size_field(f"{body.width}x{body.height}")
    ratio = body.aspect_ratio or body.aspectRatio or asked.ratio
    options = PromptOptions(
        ratio=ratio if asked.size is None else None,
        size=asked.size,
        seed=body.seed,
        steps=body.steps or body.num_steps,
        negative=body.negative_prompt,
        model=model_option(context, body.model),
        count=body.n or 1,
    )
    return GenerationRequest(user=user, text=prompt, options=options)


async def respond(
    context: HttpContext, request: Request, body: ImageRequest, results: list[GenerationResult]
) -> ImagesResponse:
    data = []
    for result in results:
        if body.response_format == "url":
            data.append(
                ImageData(url=await image_link(context, request, result), revised_prompt=result.final_prompt)
            )
        else:
            encoded = base64.b64encode(result.image).decode("ascii")
            data.append(ImageData(b64_json=encoded, revised_prompt=result.final_prompt))
    first = results[0]
    return ImagesResponse(
        created=int(time.time()),
        data=data,
        model=first.model,
        seed=first.seed,
        size=str(first.size),
        output_format=output_format(first.mime),
        account_used=first.account_index,
    )


async def _images(context: HttpContext, request: Request, user: UserRef, *, route: str) -> ImagesResponse:
    max_bytes = context.service.config.max_reference_bytes
    body, uploads = await read_request(request, max_bytes=max_bytes)
    inputs = references_of(body, uploads, max_bytes=max_bytes)
    if route == "edits" and not inputs:
        raise invalid("An image to edit is required ('image').", param="image", code="missing_image")
    core_request = generation_request(context, user, body)
    check_prompt(core_request)
    count = context.service.images_asked(core_request)
    async with AsyncExitStack() as stack:
        admission = await stack.enter_async_context(context.service.admission(user, count=count))
        fetcher = PublicImageFetcher(max_bytes=max_bytes)
        references = await fetch_references(fetcher, inputs)
        core_request = GenerationRequest(
            user=user, text=core_request.text, references=references, options=core_request.options
        )
        del references, inputs, uploads  # the core keeps only the shrunk copies
        results = await generate_images(
            context, metrics_of(request), route, core_request, admission=admission
        )
    return await respond(context, request, body, results)


@router.post(
    "/generations",
    response_model=ImagesResponse,
    responses=_ERRORS,
    summary="Create images",
    openapi_extra=_request_body_doc(edits=False),
)
async def create_images(request: Request, context: Context, user: ApiUser) -> ImagesResponse:
    """OpenAI's ``images.generate``; references as JSON ``images`` or cf-flux2's ``input_image_0..3`` parts."""
    return await _images(context, request, user, route="generations")


@router.post(
    "/edits",
    response_model=ImagesResponse,
    responses=_ERRORS,
    summary="Create images from reference images",
    openapi_extra=_request_body_doc(edits=True),
)
async def edit_images(request: Request, context: Context, user: ApiUser) -> ImagesResponse:
    """OpenAI's ``images.edit``: ``image``, ``image[]`` or a repeated ``image`` (up to 4) become references; ``mask`` is ignored."""
    return await _images(context, request, user, route="edits")
