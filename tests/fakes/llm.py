"""A local OpenAI-compatible chat-completions server with scriptable answers, for the prompt optimiser::

    async with FakeLLM() as llm:
        llm.default(answer("A red fox in fresh snow, golden hour"))
        llm.script(error(500), MALFORMED, answer("late", delay=30))  # the next three calls, then the default
        ... point EXTERNAL_API_BASE at llm.base_url (a bare host) or f"{llm.base_url}/v1" ...
        assert llm.requests[0].path == "/v1/chat/completions"

It serves ``POST /v1/chat/completions`` only; any other path is recorded and answered 404, so a test sees
where a wrongly built URL went.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections import deque
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from aiohttp import web

from tests.fakes.loopback import serve_on_loopback

CHAT_PATH = "/v1/chat/completions"


@dataclass(frozen=True)
class Reply:
    """What the fake does with one call: wait ``delay`` s, then answer ``text`` as a completion, or ``body``."""

    text: str = "A fox in the snow, soft golden light, wide shot, calm mood"
    delay: float = 0.0
    status: int = 200
    body: bytes | None = None  # sent verbatim instead of a completion (errors, broken JSON)


def answer(text: str, *, delay: float = 0.0) -> Reply:
    """A normal completion whose message content is ``text``."""
    return Reply(text=text, delay=delay)


def error(status: int, message: str = "upstream trouble") -> Reply:
    """An OpenAI-style error body with ``status``."""
    document = {"error": {"message": message, "type": "server_error" if status >= 500 else "invalid_request"}}
    return Reply(status=status, body=json.dumps(document).encode())


#: a 200 whose body is cut off in the middle of the JSON
MALFORMED = Reply(body=b'{"id": "x", "choices": [{"message": {"role": "assistant", "content": "A fo')


def chat_completion(text: str, model: str | None) -> dict[str, Any]:
    """An OpenAI chat-completion document with one choice."""
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model or "fake-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 50, "completion_tokens": len(text.split()), "total_tokens": 99},
    }


@dataclass
class LLMRequest:
    """One request as the fake saw it."""

    path: str
    authorization: str | None  # the Authorization header, verbatim (None when absent)
    model: str | None
    messages: list[dict[str, Any]]
    body: dict[str, Any]

    @property
    def system(self) -> str:
        return "".join(str(m.get("content")) for m in self.messages if m.get("role") == "system")

    @property
    def user(self) -> str:
        return "".join(str(m.get("content")) for m in self.messages if m.get("role") == "user")


class FakeLLM:
    """The fake server on 127.0.0.1 (ephemeral port). ``base_url`` is a bare host: ``http://127.0.0.1:PORT``."""

    def __init__(self, default: Reply | None = None) -> None:
        self.requests: list[LLMRequest] = []
        self._default = default or Reply()
        self._script: deque[Reply] = deque()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    def script(self, *replies: Reply) -> None:
        """Queue replies for the next calls; afterwards the default applies."""
        self._script.extend(replies)

    def default(self, reply: Reply) -> None:
        """What every call gets once the script is used up."""
        self._default = reply

    @property
    def chat_requests(self) -> list[LLMRequest]:
        """Requests that reached the chat-completions path."""
        return [r for r in self.requests if r.path == CHAT_PATH]

    async def __aenter__(self) -> FakeLLM:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Listen on 127.0.0.1 on a free port."""
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner, port = await serve_on_loopback(app)
        self.base_url = f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        """Wake sleeping handlers and stop listening."""
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.read())
        except ValueError:
            body = None
        document: dict[str, Any] = body if isinstance(body, dict) else {}
        messages = document.get("messages")
        self.requests.append(
            LLMRequest(
                path=request.path,
                authorization=request.headers.get("Authorization"),
                model=document.get("model"),
                messages=messages if isinstance(messages, list) else [],
                body=document,
            )
        )
        if request.method != "POST" or request.path != CHAT_PATH:
            return web.json_response({"error": {"message": f"no route {request.path}"}}, status=404)
        if not isinstance(messages, list) or not messages:
            return web.json_response({"error": {"message": "messages is required"}}, status=400)
        reply = self._script.popleft() if self._script else self._default
        if reply.delay > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), reply.delay)
        if reply.body is not None:
            return web.Response(status=reply.status, body=reply.body, content_type="application/json")
        return web.json_response(chat_completion(reply.text, document.get("model")), status=reply.status)
