"""The LLM optimiser: answer cleaning, the instructions, cache and single flight, and every fallback."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.models import ImageSize
from bot.core.prompt_cleaning import MAX_PROMPT_CHARS, clean_answer, is_refusal
from bot.core.prompt_optimiser import LLMPromptOptimiser, build_messages, describe_frame
from bot.errors import AllAccountsUnavailable, UpstreamUnavailable
from bot.providers.base import FailureKind, UpstreamFailure

SQUARE = ImageSize(1024, 1024)
WIDE = ImageSize(1024, 576)

# --- cleaning ------------------------------------------------------------------------------------

FOX = "A red fox in fresh snow, golden hour light."


@pytest.mark.parametrize(
    "answer",
    [
        FOX,
        f'"{FOX}"',
        f"“{FOX}”",
        f"'{FOX}'",
        f"«{FOX}»",
        f"  \n{FOX}\n\n",
        f"Here is your prompt: {FOX}",
        f'Sure! Here\'s an optimized prompt for FLUX:\n\n"{FOX}"',
        f"Certainly.\n\n{FOX}",
        f"Prompt: {FOX}",
        f"**Enhanced Prompt:** {FOX}",
        f"Optimised prompt:\n{FOX}",
        f"```\n{FOX}\n```",
        f"```text\n{FOX}\n```\nThis prompt keeps the fox.",
        f"<think>The user wants a fox; add light.</think>\n{FOX}",
        f"{FOX}\n\nThis prompt keeps every subject and adds lighting.",
        f"{FOX}\n\nNote: I translated the original text.",
        f"{FOX} Note: I added the golden hour.",
        f"{FOX}\n(Note: the ratio is 16:9.)",
        f"{FOX}\nI added warm lighting to set the mood.",
        f'Here is the rewritten prompt:\n"{FOX}"\n\nFeel free to adjust it!',
    ],
)
def test_chatter_around_the_prompt_is_removed(answer: str) -> None:
    assert clean_answer(answer) == FOX


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("A red fox,\nsoft light,\nwide shot", "A red fox, soft light, wide shot"),
        ('A sign that reads "OPEN" above a door', 'A sign that reads "OPEN" above a door'),
        ('"A" and "B" written on a wall', '"A" and "B" written on a wall'),
        ("'A cat's toy on a rug'", "A cat's toy on a rug"),
        ('"A cat on a mat".', "A cat on a mat"),
        ("A note: cats sleep a lot", "A note: cats sleep a lot"),  # "note" mid-prompt is prose
    ],
)
def test_prompt_text_itself_is_kept(answer: str, expected: str) -> None:
    assert clean_answer(answer) == expected


@pytest.mark.parametrize("answer", ["", "   ", '""', "```\n```", "...", "<think>a fox, maybe", "Prompt:"])
def test_nothing_left_is_empty(answer: str) -> None:
    assert clean_answer(answer) == ""


def test_long_answers_are_cut_at_a_word_within_the_limit() -> None:
    answer = "A fox in snow. " + "very " * 1000 + "end"

    cleaned = clean_answer(answer)

    assert len(cleaned) <= MAX_PROMPT_CHARS
    assert len(cleaned) > MAX_PROMPT_CHARS * 0.9
    assert cleaned.endswith("very")
    assert len(clean_answer("x" * 5000, limit=100)) == 100


@given(st.text(max_size=3000), st.integers(min_value=1, max_value=2048))
def test_cleaning_never_raises_and_respects_the_limit(answer: str, limit: int) -> None:
    cleaned = clean_answer(answer, limit=limit)
    assert len(cleaned) <= limit
    assert cleaned == cleaned.strip()
    assert cleaned == "" or any(ch.isalnum() for ch in cleaned)


@pytest.mark.parametrize(
    "text",
    [
        "I'm sorry, but I can't help with that request.",
        "I’m sorry, I cannot create that.",
        "I cannot generate content of that kind.",
        "Sorry, that request goes against my guidelines.",
        "As an AI language model, I can't do that.",
        "I apologize, but I won't write that.",
        "Unfortunately, I am not able to help.",
        "Could you please provide more details about the scene?",
    ],
)
def test_refusals_are_recognised(text: str) -> None:
    assert is_refusal(clean_answer(text))


@pytest.mark.parametrize(
    "text", [FOX, "A sorry-looking dog in the rain", "An 'I can do it' poster on a wall", "Icarus falling"]
)
def test_prompts_are_not_refusals(text: str) -> None:
    assert not is_refusal(text)


# --- instructions --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "words"),
    [
        (SQUARE, "1024×1024 pixels, a square 1:1 frame"),
        (WIDE, "1024×576 pixels, a 16:9 landscape"),
        (ImageSize(1248, 832), "a 3:2 landscape"),
        (ImageSize(768, 1024), "a 3:4 portrait"),
        (ImageSize(576, 1024), "a 9:16 portrait"),
        (ImageSize(1000, 700), "a 1.43:1 landscape"),
    ],
)
def test_the_frame_is_described_by_ratio_and_orientation(size: ImageSize, words: str) -> None:
    assert words in describe_frame(size)


def test_messages_carry_the_instructions_and_the_users_text_verbatim() -> None:
    system, user = build_messages("  un renard roux dans la neige  ", WIDE)

    assert system["role"] == "system"
    assert "English" in system["content"]
    assert "FLUX" in system["content"]
    assert "16:9 landscape" in system["content"]
    assert user == {"role": "user", "content": "  un renard roux dans la neige  "}


# --- the optimiser -------------------------------------------------------------------------------

Complete = Callable[[Sequence[Mapping[str, str]]], Awaitable[str]]


class StubChat:
    """A ChatModel whose behaviour is a coroutine function; counts calls and cancellations."""

    label = "stub LLM"

    def __init__(self, behaviour: Complete | str = FOX) -> None:
        self.behaviour = behaviour
        self.calls: list[Sequence[Mapping[str, str]]] = []
        self.cancelled = 0
        self.release = asyncio.Event()

    async def complete(self, messages: Sequence[Mapping[str, str]], *, request_id: str) -> str:
        self.calls.append(messages)
        try:
            if isinstance(self.behaviour, str):
                return self.behaviour
            return await self.behaviour(messages)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise


def raising(error: BaseException) -> Complete:
    async def behaviour(messages: Sequence[Mapping[str, str]]) -> str:
        raise error

    return behaviour


def sleeping(seconds: float, text: str = FOX) -> Complete:
    async def behaviour(messages: Sequence[Mapping[str, str]]) -> str:
        await asyncio.sleep(seconds)
        return text

    return behaviour


class Now:
    def __init__(self) -> None:
        self.value = 1000.0

    def __call__(self) -> float:
        return self.value


async def test_a_good_answer_is_cleaned_and_used() -> None:
    chat = StubChat(f'Here is your prompt: "{FOX}"')
    optimiser = LLMPromptOptimiser(chat, timeout=5)

    result = await optimiser.optimise("fox in snow", size=WIDE, request_id="r1")

    assert (result.text, result.optimised, result.skipped_reason) == (FOX, True, None)
    assert chat.calls[0][1]["content"] == "fox in snow"
    assert "16:9" in chat.calls[0][0]["content"]


async def test_answers_are_capped_at_max_chars() -> None:
    optimiser = LLMPromptOptimiser(StubChat("word " * 100), timeout=5, max_chars=50)

    result = await optimiser.optimise("words", size=SQUARE, request_id="r1")

    assert result.optimised
    assert len(result.text) <= 50


async def test_identical_requests_share_one_rewrite_until_the_cache_expires() -> None:
    now = Now()
    chat = StubChat()
    optimiser = LLMPromptOptimiser(chat, timeout=5, cache_seconds=60, now=now)

    first = await optimiser.optimise("fox", size=SQUARE, request_id="r1")
    second = await optimiser.optimise("fox", size=SQUARE, request_id="r2")
    await optimiser.optimise("fox", size=WIDE, request_id="r3")  # another frame: another rewrite
    now.value += 61
    await optimiser.optimise("fox", size=SQUARE, request_id="r4")

    assert first == second
    assert len(chat.calls) == 3


async def test_the_cache_keeps_only_the_newest_entries() -> None:
    chat = StubChat()
    optimiser = LLMPromptOptimiser(chat, timeout=5, cache_entries=2)

    for prompt in ("a", "b", "c", "a"):
        await optimiser.optimise(prompt, size=SQUARE, request_id="r")

    assert len(chat.calls) == 4  # "a" was pushed out by "c"


async def test_concurrent_identical_requests_await_one_call() -> None:
    chat = StubChat(sleeping(0.2))
    optimiser = LLMPromptOptimiser(chat, timeout=5)

    results = await asyncio.gather(
        *(optimiser.optimise("fox", size=SQUARE, request_id=f"r{i}") for i in range(10))
    )

    assert len(chat.calls) == 1
    assert {r.text for r in results} == {FOX}


async def test_one_waiter_giving_up_does_not_cancel_the_others() -> None:
    chat = StubChat(sleeping(0.2))
    optimiser = LLMPromptOptimiser(chat, timeout=5)
    quitter = asyncio.create_task(optimiser.optimise("fox", size=SQUARE, request_id="r1"))
    stayer = asyncio.create_task(optimiser.optimise("fox", size=SQUARE, request_id="r2"))
    await asyncio.sleep(0.05)

    quitter.cancel()
    result = await stayer

    assert quitter.cancelled()
    assert result.text == FOX
    assert (len(chat.calls), chat.cancelled) == (1, 0)


async def test_the_call_stops_when_nobody_waits_and_a_newcomer_starts_afresh() -> None:
    chat = StubChat(sleeping(30))
    optimiser = LLMPromptOptimiser(chat, timeout=60)
    waiter = asyncio.create_task(optimiser.optimise("fox", size=SQUARE, request_id="r1"))
    await asyncio.sleep(0.05)

    waiter.cancel()
    await asyncio.sleep(0.05)
    chat.behaviour = FOX
    result = await optimiser.optimise("fox", size=SQUARE, request_id="r2")

    assert chat.cancelled == 1
    assert result.text == FOX
    assert len(chat.calls) == 2


async def test_slower_than_the_timeout_falls_back_in_time() -> None:
    chat = StubChat(sleeping(30))
    optimiser = LLMPromptOptimiser(chat, timeout=0.3)
    started = time.perf_counter()

    result = await optimiser.optimise("fox in snow", size=SQUARE, request_id="r1")

    assert time.perf_counter() - started < 10
    assert (result.text, result.optimised, result.skipped_reason) == ("fox in snow", False, "timed out")
    assert chat.cancelled == 1


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (UpstreamFailure(FailureKind.TRANSIENT, "HTTP 500", status=500), "the optimiser answered 500"),
        (UpstreamFailure(FailureKind.MISCONFIGURED, "HTTP 401", status=401), "the optimiser answered 401"),
        (UpstreamFailure(FailureKind.TRANSIENT, "HTTP 200: not JSON", status=200), "answer was unreadable"),
        (UpstreamFailure(FailureKind.TRANSIENT, "timeout (ReadTimeout)"), "timed out"),
        (UpstreamFailure(FailureKind.TRANSIENT, "ConnectError: refused"), "could not be reached"),
        (AllAccountsUnavailable(retry_at=datetime.now(UTC), reason="spent"), "no Cloudflare account"),
        (UpstreamUnavailable("2 transient failures"), "kept failing"),
        (RuntimeError("a bug"), "the optimiser failed"),
        (KeyError("choices"), "the optimiser failed"),
    ],
)
async def test_every_failure_falls_back_with_a_reason(error: Exception, reason: str) -> None:
    optimiser = LLMPromptOptimiser(StubChat(raising(error)), timeout=5)

    result = await optimiser.optimise("fox", size=SQUARE, request_id="r1")

    assert (result.text, result.optimised) == ("fox", False)
    assert result.skipped_reason is not None
    assert reason in result.skipped_reason


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("I'm sorry, but I can't help with that.", "the optimiser refused"),
        ('""', "the optimiser's answer was empty"),
        ("", "the optimiser's answer was empty"),
    ],
)
async def test_useless_answers_fall_back(answer: str, reason: str) -> None:
    optimiser = LLMPromptOptimiser(StubChat(answer), timeout=5)

    result = await optimiser.optimise("fox", size=SQUARE, request_id="r1")

    assert (result.text, result.optimised, result.skipped_reason) == ("fox", False, reason)


async def test_failures_are_not_cached_and_are_logged_with_the_request_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    chat = StubChat(raising(UpstreamFailure(FailureKind.TRANSIENT, "HTTP 503", status=503)))
    optimiser = LLMPromptOptimiser(chat, timeout=5)

    with caplog.at_level(logging.WARNING, logger="bot.core.prompt_optimiser"):
        await optimiser.optimise("secret fox", size=SQUARE, request_id="req-42")
    chat.behaviour = FOX
    second = await optimiser.optimise("secret fox", size=SQUARE, request_id="req-43")

    assert second.optimised
    assert len(chat.calls) == 2
    (record,) = caplog.records
    assert "req-42" in record.getMessage()
    assert "answered 503" in record.getMessage()
    assert "secret fox" not in record.getMessage()  # the user's text stays out of the log
