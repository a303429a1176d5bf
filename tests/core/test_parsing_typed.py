"""Ratios and sizes as people really type them (issue #10, finding 16): CJK keyboards and hurried hands."""

from __future__ import annotations

import pytest

from bot.core.models import ImageSize, ParsedPrompt
from bot.core.parsing import normalise_ratio, parse_prompt

TYPED = [
    ("一只猫 16：9", ParsedPrompt("一只猫", ratio="16:9")),  # full-width colon
    ("一只猫16:9", ParsedPrompt("一只猫", ratio="16:9")),  # no space after CJK text
    ("一只猫１６：９", ParsedPrompt("一只猫", ratio="16:9")),  # full-width digits too
    ("かわいい猫3:2", ParsedPrompt("かわいい猫", ratio="3:2")),
    ("一隻可愛的貓咪 3:2", ParsedPrompt("一隻可愛的貓咪", ratio="3:2")),  # the seeds' own example
    ("a cat 16 : 9", ParsedPrompt("a cat", ratio="16:9")),
    ("a cat 16 ： 9 --seed 4", ParsedPrompt("a cat", ratio="16:9", seed=4)),
    ("a cat -ar 16:9", ParsedPrompt("a cat", ratio="16:9")),
    ("a cat -ar 16 : 9 -seed 7", ParsedPrompt("a cat", ratio="16:9", seed=7)),
    ("a cat --ar １６：９", ParsedPrompt("a cat", ratio="16:9")),
    ("a cat 1920×1080", ParsedPrompt("a cat", size=ImageSize(1920, 1080))),
    ("a cat 1920 x 1080", ParsedPrompt("a cat", size=ImageSize(1920, 1080))),
    ("一只猫1920×1080", ParsedPrompt("一只猫", size=ImageSize(1920, 1080))),
    ("一只猫 １９２０×１０８０", ParsedPrompt("一只猫", size=ImageSize(1920, 1080))),
    # still prose
    ("a fox at 10:30 pm", ParsedPrompt("a fox at 10:30 pm")),
    ("a fox at 10 : 30 pm", ParsedPrompt("a fox at 10 : 30 pm")),
    ("a robot model t1000:1", ParsedPrompt("a robot model t1000:1")),  # glued to Latin text: a name
    ("a 3 x 4 grid of cats", ParsedPrompt("a 3 x 4 grid of cats")),
    ("a monster truck 4 x 4", ParsedPrompt("a monster truck 4 x 4")),
    ("a cat -cute", ParsedPrompt("a cat -cute")),
    ("a cat 16：9 on a 4:3 screen", ParsedPrompt("a cat 16：9 on a 4:3 screen")),
]


@pytest.mark.parametrize(("text", "expected"), TYPED, ids=[text for text, _ in TYPED])
def test_typed_ratios_and_sizes(text: str, expected: ParsedPrompt) -> None:
    assert parse_prompt(text) == expected


def test_full_width_ratios_are_normalised_where_a_ratio_is_expected() -> None:
    assert normalise_ratio("３２：１８") == "16:9"
    assert normalise_ratio(" 16 : 9 ") == "16:9"
