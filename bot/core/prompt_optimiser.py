"""Prompt rewriting by an LLM: the instructions, a short cache shared by identical requests, and the fallback.

Whatever goes wrong, ``optimise`` answers within its timeout with the prompt as written and a short reason:
optimisation may delay a generation, never fail it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.core.models import ImageSize
from bot.core.optimiser import OptimisedPrompt
from bot.core.prompt_cleaning import MAX_PROMPT_CHARS, clean_answer, is_refusal
from bot.errors import AllAccountsUnavailable, UpstreamUnavailable
from bot.providers.base import UpstreamFailure

log = logging.getLogger(__name__)

CACHE_SECONDS = 600.0
CACHE_ENTRIES = 256

SYSTEM_PROMPT = """\
You turn a user's idea into one prompt for FLUX, a text-to-image model.
- Write the prompt in English. If the idea is in another language, translate it faithfully first.
- Keep every subject, person, animal, object, number, colour and named detail the user gives; never drop, swap \
or add main subjects. Words meant to appear in the image stay exactly as written, in quotes.
- Add what the user left open: medium or art style, lighting, composition and camera angle, colour palette, \
mood, and details of the setting.
- Compose for the frame: {frame}.
- Describe a single image in flowing sentences, under 120 words, without lists, headings or negations.
- Answer with the prompt itself and nothing else: no introduction, no quotation marks, no explanation."""

_KNOWN_RATIOS = ((1, 1), (5, 4), (4, 3), (3, 2), (16, 9), (2, 1), (21, 9), (3, 1), (4, 1))


class ChatModel(Protocol):
    """One chat completion; raises on any failure. ``label`` names it in logs (never a secret)."""

    label: str

    async def complete(self, messages: Sequence[Mapping[str, str]], *, request_id: str) -> str: ...


def describe_frame(size: ImageSize) -> str:
    """The frame in words for the LLM, e.g. ``1024×576 pixels, a 16:9 landscape (wider than tall) frame``."""
    width, height = size.width, size.height
    if width == height:
        return f"{width}×{height} pixels, a square 1:1 frame"
    wide, narrow = max(width, height), min(width, height)
    best = min(_KNOWN_RATIOS, key=lambda r: abs(r[0] / r[1] - wide / narrow))
    if abs(best[0] / best[1] - wide / narrow) <= 0.04 * wide / narrow:
        ratio = f"{best[0]}:{best[1]}" if width > height else f"{best[1]}:{best[0]}"
    else:
        ratio = f"{width / height:.2f}:1"
    shape = "landscape (wider than tall)" if width > height else "portrait (taller than wide)"
    return f"{width}×{height} pixels, a {ratio} {shape} frame"


def build_messages(prompt: str, size: ImageSize) -> list[dict[str, str]]:
    """The system instructions (with the frame) and the user's text, untouched."""
    return [
        {"role": "system", "content": SYSTEM_PROMPT.format(frame=describe_frame(size))},
        {"role": "user", "content": prompt},
    ]


class _Unusable(Exception):
    """The LLM answered, but nothing in the answer can be drawn."""


def failure_reason(error: BaseException) -> str:
    """A few words for the user on why the prompt was used as written."""
    if isinstance(error, TimeoutError):
        return "timed out"
    if isinstance(error, _Unusable):
        return str(error)
    if isinstance(error, UpstreamFailure):
        if error.detail.startswith("timeout"):
            return "timed out"
        if error.status is None:
            return "the optimiser could not be reached"
        if error.status >= 300:
            return f"the optimiser answered {error.status}"
        return "the optimiser's answer was unreadable"
    if isinstance(error, AllAccountsUnavailable):
        return "no Cloudflare account was available"
    if isinstance(error, UpstreamUnavailable):
        return "the optimiser kept failing"
    return "the optimiser failed"


class _TTLCache:
    """Recent rewrites by (prompt, size); oldest out first when full."""

    def __init__(self, seconds: float, entries: int, now: Callable[[], float]) -> None:
        self._seconds = seconds
        self._entries = entries
        self._now = now
        self._items: OrderedDict[tuple[str, int, int], tuple[float, str]] = OrderedDict()

    def get(self, key: tuple[str, int, int]) -> str | None:
        item = self._items.get(key)
        if item is None:
            return None
        if item[0] <= self._now():
            del self._items[key]
            return None
        return item[1]

    def put(self, key: tuple[str, int, int], value: str) -> None:
        self._items[key] = (self._now() + self._seconds, value)
        self._items.move_to_end(key)
        while len(self._items) > self._entries:
            self._items.popitem(last=False)


@dataclass
class _Flight:
    task: asyncio.Task[OptimisedPrompt]
    waiters: int = 0


class LLMPromptOptimiser:
    """A ``PromptOptimiser`` backed by a ``ChatModel``: never raises, never takes longer than ``timeout``."""

    def __init__(
        self,
        chat: ChatModel,
        *,
        timeout: float,
        max_chars: int = MAX_PROMPT_CHARS,
        cache_seconds: float = CACHE_SECONDS,
        cache_entries: int = CACHE_ENTRIES,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._chat = chat
        self._timeout = timeout
        self._max_chars = max_chars
        self._cache = _TTLCache(cache_seconds, cache_entries, now)
        self._flights: dict[tuple[str, int, int], _Flight] = {}

    async def optimise(self, prompt: str, *, size: ImageSize, request_id: str) -> OptimisedPrompt:
        """The rewritten prompt, or ``prompt`` itself with ``skipped_reason`` set."""
        key = (prompt, size.width, size.height)
        cached = self._cache.get(key)
        if cached is not None:
            log.info("request %s: optimised prompt from cache", request_id)
            return OptimisedPrompt(cached, optimised=True)
        flight = self._flights.get(key)
        if flight is None:
            flight = self._flights[key] = self._take_off(key, request_id)
        else:
            log.info("request %s: waits for an identical rewrite in flight", request_id)
        flight.waiters += 1
        try:
            # shield: one requester giving up (cancel, deadline) must not cancel the others' rewrite
            return await asyncio.shield(flight.task)
        finally:
            flight.waiters -= 1
            if flight.waiters == 0 and not flight.task.done():
                # nobody waits any more: stop spending time and neurons on it
                self._land(key, flight)
                flight.task.cancel()

    def _take_off(self, key: tuple[str, int, int], request_id: str) -> _Flight:
        flight = _Flight(asyncio.create_task(self._rewrite(key, request_id)))
        flight.task.add_done_callback(lambda _: self._land(key, flight))
        return flight

    def _land(self, key: tuple[str, int, int], flight: _Flight) -> None:
        if self._flights.get(key) is flight:
            del self._flights[key]

    async def _rewrite(self, key: tuple[str, int, int], request_id: str) -> OptimisedPrompt:
        prompt = key[0]
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._timeout):
                answer = await self._chat.complete(
                    build_messages(prompt, ImageSize(key[1], key[2])), request_id=request_id
                )
            text = clean_answer(answer, limit=self._max_chars)
            if not text:
                raise _Unusable("the optimiser's answer was empty")
            if is_refusal(text):
                raise _Unusable("the optimiser refused")
        except Exception as error:
            reason = failure_reason(error)
            detail = error.detail if isinstance(error, UpstreamFailure) else type(error).__name__
            log.warning(
                "request %s: prompt used as written, %s %s after %.0f ms (%s)",
                request_id,
                self._chat.label,
                reason,
                _ms_since(started),
                detail,
            )
            return OptimisedPrompt(prompt, optimised=False, skipped_reason=reason)
        self._cache.put(key, text)
        log.info(
            "request %s: prompt optimised by %s in %.0f ms (%d -> %d chars)",
            request_id,
            self._chat.label,
            _ms_since(started),
            len(prompt),
            len(text),
        )
        return OptimisedPrompt(text, optimised=True)


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
