"""OpenAI-compatible chat completions: an external LLM, or Workers AI's own endpoint on the account pool.

Both raise ``UpstreamFailure`` (classified like image calls) and return the answer's text as the model wrote it;
what to make of that text is the prompt optimiser's business.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from pydantic import SecretStr

from bot.providers.base import FailureKind, UpstreamFailure
from bot.providers.bodies import MAX_TEXT_ANSWER_BYTES, request_capped
from bot.providers.classify import classify_failure, malformed_answer
from bot.providers.workers_ai import WorkersAIClient

if TYPE_CHECKING:
    from bot.core.accounts import AccountPool
    from bot.settings import AccountConfig

ChatMessages = Sequence[Mapping[str, str]]

#: enough for a 2048-character prompt and a reasoning model's preamble; Workers AI's default (256) is not
WORKERS_AI_MAX_TOKENS = 1024
# "v1", "v1beta", "v4": a path segment like this means the base already names an API version.
_VERSION_SEGMENT = re.compile(r"^v\d+[a-z0-9]*$")


def chat_completions_url(base: str) -> str:
    """The chat-completions URL for ``EXTERNAL_API_BASE``.

    A bare host gets ``/v1/chat/completions`` (what the seed Worker appended); a base that already names an API
    version anywhere in its path (``…/v1``, ``…/openai/v1``, ``…/v1beta/openai``) gets ``/chat/completions``.
    """
    parts = urlsplit(base.strip())
    path = parts.path.rstrip("/")
    if not path.endswith("/chat/completions"):
        versioned = any(_VERSION_SEGMENT.match(segment) for segment in path.split("/"))
        path += "/chat/completions" if versioned else "/v1/chat/completions"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def _host_and_port(url: str) -> str:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    host = parts.hostname or "?"
    return f"{host}:{port}" if port else host


def chat_body(model: str | None, messages: ChatMessages, **extra: Any) -> dict[str, Any]:
    """A chat-completions request body; ``model`` None leaves it out (single-model servers such as llama.cpp)."""
    body: dict[str, Any] = {"messages": [dict(message) for message in messages], **extra}
    if model:
        body["model"] = model
    return body


def chat_answer_text(response: httpx.Response) -> str:
    """The assistant's text in a successful answer; ``UpstreamFailure`` (transient) when there is none to read.

    An empty string is a valid outcome here (content ``null``): the optimiser decides it is useless.
    """
    try:
        document = json.loads(response.content)
    except (ValueError, RecursionError):
        raise malformed_answer(response, "answer is not JSON") from None
    if not isinstance(document, dict):
        raise malformed_answer(response, "answer is not a JSON object")
    if document.get("success") is False or "error" in document:  # an error envelope with a 200 status
        raise classify_failure(response.status_code, response.content, response.headers)
    choices = document.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        message = choices[0].get("message")
        text = _text_of(message.get("content")) if isinstance(message, dict) else None
        if text is not None:
            return text
    result = document.get("result")  # Workers AI's native envelope, should a gateway answer with it
    if isinstance(result, dict) and isinstance(result.get("response"), str):
        return str(result["response"])
    raise malformed_answer(response, "answer without choices[0].message.content")


def _text_of(content: object) -> str | None:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: [{"type": "text", "text": "..."}]
        texts = [part.get("text") for part in content if isinstance(part, dict)]
        return "".join(text for text in texts if isinstance(text, str))
    return None


class ExternalChat:
    """An OpenAI-compatible server (``EXTERNAL_API_BASE``). Uses the caller's client with its own timeout."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        base: str,
        *,
        model: str | None,
        api_key: SecretStr | None,
        timeout: float,
    ) -> None:
        self._http = http
        self.url = chat_completions_url(base)
        self._model = model
        self._key = api_key.get_secret_value() if api_key is not None else ""
        self._timeout = timeout
        # hostname and port only: the netloc may carry user:key@ (sent as basic auth, never shown)
        self.label = f"{model or 'default model'} at {_host_and_port(self.url)}"

    async def complete(self, messages: ChatMessages, *, request_id: str) -> str:
        """One chat completion; raises ``UpstreamFailure`` with the key scrubbed from every detail."""
        headers = {"Authorization": f"Bearer {self._key}"} if self._key else {}
        try:
            response = await request_capped(
                self._http,
                "POST",
                self.url,
                max_bytes=MAX_TEXT_ANSWER_BYTES,
                json=chat_body(self._model, messages),
                headers=headers,
                timeout=self._timeout,
            )
            if not response.is_success:
                raise classify_failure(response.status_code, response.content, response.headers)
            return chat_answer_text(response)
        except httpx.TimeoutException as exc:
            raise UpstreamFailure(FailureKind.TRANSIENT, f"timeout ({type(exc).__name__})") from None
        except httpx.HTTPError as exc:
            raise self._scrubbed(
                UpstreamFailure(FailureKind.TRANSIENT, f"{type(exc).__name__}: {str(exc)[:200]}")
            ) from None
        except UpstreamFailure as failure:
            raise self._scrubbed(failure) from None

    def _scrubbed(self, failure: UpstreamFailure) -> UpstreamFailure:
        if not self._key or self._key not in failure.detail:
            return failure
        return UpstreamFailure(
            failure.kind, failure.detail.replace(self._key, "***"), status=failure.status, code=failure.code
        )


@dataclass(frozen=True)
class _Answer:
    text: str
    neurons: float | None


class WorkersAIChat:
    """Workers AI's ``/ai/v1/chat/completions`` on the configured accounts, with the image calls' failover.

    A spent or misconfigured account found here is skipped by image calls too, and the other way round.
    """

    def __init__(
        self,
        client: WorkersAIClient,
        pool: AccountPool,
        *,
        model: str,
        timeout: float,
        max_transient: int = 2,
    ) -> None:
        self._client = client
        self._pool = pool
        self._model = model
        self._timeout = timeout
        self._max_transient = max_transient
        self.label = f"Workers AI {model}"

    async def complete(self, messages: ChatMessages, *, request_id: str) -> str:
        """One chat completion on the first account that can serve it."""
        body = chat_body(self._model, messages, max_tokens=WORKERS_AI_MAX_TOKENS)

        async def on(account: AccountConfig) -> _Answer:
            response = await self._client.chat_completion(account, body, request_timeout=self._timeout)
            return _Answer(chat_answer_text(response), _neurons(response))

        served = await self._pool.run(
            on, max_transient=self._max_transient, neurons_of=lambda a: a.neurons, counts_as_image=False
        )
        return served.value.text


def _neurons(response: httpx.Response) -> float | None:
    try:
        value = float(response.headers.get("cf-ai-neurons", ""))
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None
