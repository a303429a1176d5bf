"""``POST /v1/chat/completions`` as an image channel (Flux-API-Worker's): the last user message is the request.

Its text is parsed exactly like a chat command (ratio suffix, flags, JSON prompt); ``image_url`` parts become
references. The answer is markdown with the image link, the final prompt, size and seed. With ``stream: true``
the core's progress (place in line, optimising, painting) arrives as it happens, with keep-alives in between.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, aclosing
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sse_starlette import EventSourceResponse

from bot.adapters.http.auth import ApiUser
from bot.adapters.http.context import Context, HttpContext
from bot.adapters.http.errors import ApiError, invalid, openai_error, unexpected
from bot.adapters.http.fetch import PublicImageFetcher
from bot.adapters.http.generation import (
    check_prompt,
    fetch_references,
    generate_images,
    image_link,
    model_option,
)
from bot.adapters.http.inputs import ReferenceInput, check_count, reference_from_string
from bot.adapters.http.metrics import metrics_of
from bot.adapters.http.schemas import error_responses
from bot.adapters.http.sse import Finished, follow_progress, json_data, sse_response
from bot.core.admission import Admission
from bot.core.models import GenerationRequest, GenerationResult, Progress, PromptOptions
from bot.core.service import ProgressCallback
from bot.errors import ImagineError
from bot.i18n import translate
from bot.i18n.texts import progress_text

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1", tags=["openai"])

DONE = "[DONE]"
#: the alt text of the image in the markdown (the prompt, cut)
_ALT_CHARS = 80


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(BaseModel):
    """The fields this server uses; any other (``temperature``, ``max_tokens``, ...) is accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    model: str | None = None
    messages: list[ChatMessage] = Field(
        min_length=1,
        description="The last message with role `user` is the request",
        json_schema_extra={"contains": {"type": "object", "properties": {"role": {"const": "user"}}}},
    )
    stream: bool | None = False
    user: str | None = None


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str
    #: OpenRouter's shape, read by LobeChat
    images: list[dict[str, Any]] = Field(default_factory=list)


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: str = "stop"


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage = Field(default_factory=Usage)


def last_user_message(body: ChatRequest, *, max_bytes: int) -> tuple[str, list[ReferenceInput]]:
    """The text and the images of the last ``user`` message (content a string or an array of parts)."""
    message = next((m for m in reversed(body.messages) if m.role == "user"), None)
    if message is None or message.content is None:
        raise invalid(
            "The request needs a user message with the prompt.", param="messages", code="missing_prompt"
        )
    if isinstance(message.content, str):
        return message.content, []
    texts: list[str] = []
    images: list[ReferenceInput] = []
    for part in message.content:
        kind = part.get("type")
        if kind == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"].strip())
        elif kind == "image_url":
            url = part.get("image_url")
            url = url.get("url") if isinstance(url, dict) else url
            if not isinstance(url, str) or not url.strip():
                raise invalid("An image_url part has no URL.", param="messages", code="invalid_image")
            images.append(reference_from_string(url, max_bytes=max_bytes))
    return " ".join(text for text in texts if text), check_count(images)


def markdown(results: list[GenerationResult], links: list[str]) -> str:
    """The image(s), then the prompt as sent, the user's own words when rewritten, size, seed and model."""
    first = results[0]
    alt = first.original_prompt.replace("]", " ").replace("\n", " ")[:_ALT_CHARS]
    lines = [f"![{alt}]({link})" for link in links]
    lines.append("")
    lines.append(f"**{translate('result.prompt', 'en')}:** {first.final_prompt}")
    if first.optimised and first.original_prompt != first.final_prompt:
        lines.append(f"**{translate('result.your_prompt', 'en')}:** {first.original_prompt}")
    seeds = ", ".join(str(result.seed) for result in results)
    model = first.model.rsplit("/", 1)[-1]
    lines.append(
        f"**{translate('result.size', 'en')}:** {first.size} · **{translate('result.seed', 'en')}:** {seeds} · **{translate('result.model', 'en')}:** {model}"
    )
    return "\n".join(lines)


class _Completion:
    """One chat completion's request, admitted: fetches references, generates, and renders the answer."""

    def __init__(
        self,
        context: HttpContext,
        request: Request,
        core: GenerationRequest,
        inputs: list[ReferenceInput],
        admission: Admission,
        model: str,
    ) -> None:
        self.context = context
        self.request = request
        self.core = core
        self.inputs = inputs
        self.admission = admission
        self.model = model
        self.id = f"chatcmpl-{secrets.token_hex(12)}"
        self.created = int(time.time())

    async def run(self, progress: ProgressCallback | None) -> tuple[list[GenerationResult], list[str]]:
        fetcher = PublicImageFetcher(max_bytes=self.context.service.config.max_reference_bytes)
        references = await fetch_references(fetcher, self.inputs)
        self.inputs = []
        core = GenerationRequest(
            user=self.core.user, text=self.core.text, references=references, options=self.core.options
        )
        del references
        results = await generate_images(
            self.context, metrics_of(self.request), "chat", core, admission=self.admission, progress=progress
        )
        links = [await image_link(self.context, self.request, result) for result in results]
        return results, links

    def chunk(self, delta: dict[str, Any], finish: str | None = None) -> str:
        return json_data(
            {
                "id": self.id,
                "object": "chat.completion.chunk",
                "created": self.created,
                "model": self.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
        )

    async def events(self, stack: AsyncExitStack) -> AsyncIterator[str]:
        """The stream: role, progress lines as they happen, the markdown, stop, ``[DONE]``; an error ends it."""
        try:
            yield self.chunk({"role": "assistant", "content": ""})
            # aclosing: a client that leaves mid-stream cancels its generation now (limit handed back), not at GC
            async with aclosing(follow_progress(self.run)) as items:
                async for item in items:
                    if isinstance(item, Progress):
                        yield self.chunk({"content": f"_{progress_text(item, 'en')}_\n\n"})
                    elif isinstance(item, Finished):
                        results, links = item.value
                        yield self.chunk({"content": markdown(results, links)})
            yield self.chunk({}, finish="stop")
            yield DONE
        except ApiError as error:
            yield json_data(error.body())
        except ImagineError as error:
            yield json_data(openai_error(error).body())
        except Exception:
            log.exception("chat completion stream failed")
            yield json_data(unexpected().body())
        finally:
            await stack.aclose()  # hands back images admitted but not made


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    responses={
        200: {
            "content": {
                # each event: data is a chat.completion.chunk as JSON, an error object, or [DONE]
                "text/event-stream": {
                    "schema": {
                        "type": "object",
                        "properties": {"data": {"type": "string"}},
                        "required": ["data"],
                    }
                }
            }
        },
        **error_responses(400, 401, 403, 413, 429, 502, 503, 504),
    },
    summary="Create an image through the chat API",
)
async def chat_completions(
    body: ChatRequest, request: Request, context: Context, user: ApiUser
) -> ChatCompletion | EventSourceResponse | JSONResponse:
    """Flux-API-Worker's channel: the last user message is the prompt; ``stream: true`` streams real progress."""
    max_bytes = context.service.config.max_reference_bytes
    text, inputs = last_user_message(body, max_bytes=max_bytes)
    core = GenerationRequest(
        user=user, text=text, options=PromptOptions(model=model_option(context, body.model))
    )
    check_prompt(core)
    count = context.service.images_asked(core)
    stack = AsyncExitStack()
    try:
        admission = await stack.enter_async_context(context.service.admission(user, count=count))
    except BaseException:
        await stack.aclose()
        raise
    completion = _Completion(
        context, request, core, inputs, admission, body.model or context.settings.flux_model
    )
    if body.stream:
        return sse_response(completion.events(stack), on_close=stack.aclose)
    async with stack:
        results, links = await completion.run(None)
    message = AssistantMessage(
        content=markdown(results, links),
        images=[{"type": "image_url", "image_url": {"url": link}} for link in links],
    )
    return ChatCompletion(
        id=completion.id,
        created=completion.created,
        model=completion.model,
        choices=[Choice(message=message)],
    )
