"""The prompt parser: what users type, what comes out, and every way it refuses."""

from __future__ import annotations

import pytest

from bot.core.models import ImageSize, ParsedPrompt, PromptOptions
from bot.core.parsing import normalise_ratio, parse_prompt
from bot.errors import InvalidRequest

JSON_PROMPT = '{"scene": "a lighthouse at dusk", "style": "oil painting"}'
JSON_WITH_KEYS = '{"scene": "harbour", "width": 1280, "height": 720, "seed": 42, "steps": 30}'

PARSES = [
    # the six seed ratios as a trailing token
    ("a cute cat 1:1", ParsedPrompt("a cute cat", ratio="1:1")),
    ("a cute cat 1:2", ParsedPrompt("a cute cat", ratio="1:2")),
    ("a cute cat 3:2", ParsedPrompt("a cute cat", ratio="3:2")),
    ("a cute cat 3:4", ParsedPrompt("a cute cat", ratio="3:4")),
    ("a cute cat 16:9", ParsedPrompt("a cute cat", ratio="16:9")),
    ("a cute cat 9:16", ParsedPrompt("a cute cat", ratio="9:16")),
    # ratios are reduced; the range ends are accepted
    ("a cute cat 32:18", ParsedPrompt("a cute cat", ratio="16:9")),
    ("tall tower 1:4", ParsedPrompt("tall tower", ratio="1:4")),
    ("long train 4:1", ParsedPrompt("long train", ratio="4:1")),
    # only a trailing token or a flag is a ratio
    ("a fox at 10:30 pm", ParsedPrompt("a fox at 10:30 pm")),
    ("a 16:9 screen on a desk", ParsedPrompt("a 16:9 screen on a desk")),
    ("a cat --ar 16:9", ParsedPrompt("a cat", ratio="16:9")),
    ("a cat --aspect 2:3", ParsedPrompt("a cat", ratio="2:3")),
    ("a cat --ar=21:9", ParsedPrompt("a cat", ratio="7:3")),
    ("a cat --AR 3:2", ParsedPrompt("a cat", ratio="3:2")),
    # em dash (and en dash) as phones autocorrect "--"
    ("a cat —ar 16:9 —seed 7", ParsedPrompt("a cat", ratio="16:9", seed=7)),
    ("a cat –steps 12 –raw", ParsedPrompt("a cat", steps=12, raw=True)),
    ("a cat —no dogs", ParsedPrompt("a cat", negative="dogs")),
    ("a cat — a very good cat", ParsedPrompt("a cat — a very good cat")),
    ("a cat —cute", ParsedPrompt("a cat —cute")),
    # explicit sizes
    ("a cat 1920x1080", ParsedPrompt("a cat", size=ImageSize(1920, 1080))),
    ("a cat 1024×768", ParsedPrompt("a cat", size=ImageSize(1024, 768))),
    ("a cat 768X1024", ParsedPrompt("a cat", size=ImageSize(768, 1024))),
    ("a cat --size 512x512", ParsedPrompt("a cat", size=ImageSize(512, 512))),
    ("a monster truck 4x4", ParsedPrompt("a monster truck 4x4")),
    ("a 1920x1080 wallpaper of hills", ParsedPrompt("a 1920x1080 wallpaper of hills")),
    # seed, steps, raw, negative
    ("a cat --seed 0", ParsedPrompt("a cat", seed=0)),
    ("a cat --seed 4294967295", ParsedPrompt("a cat", seed=4294967295)),
    ("a cat --steps 1", ParsedPrompt("a cat", steps=1)),
    ("a cat --steps 50", ParsedPrompt("a cat", steps=50)),
    ("a cat --raw", ParsedPrompt("a cat", raw=True)),
    ("a cat --no dogs, blur --seed 3", ParsedPrompt("a cat", negative="dogs, blur", seed=3)),
    ("a cat --no  text   watermark", ParsedPrompt("a cat", negative="text   watermark")),
    ("a cat --no dogs 16:9", ParsedPrompt("a cat", negative="dogs", ratio="16:9")),
    ("a cat --no 16:9", ParsedPrompt("a cat", negative="16:9")),
    ("a cat --seed 5 16:9", ParsedPrompt("a cat", seed=5, ratio="16:9")),
    ("a cat --ar 1:1 16:9", ParsedPrompt("a cat", ratio="16:9")),
    ("a cat --seed 1 --seed 2", ParsedPrompt("a cat", seed=2)),
    # words between flags stay prompt text; spacing inside the text is kept
    ("a cat --seed 5 in the snow", ParsedPrompt("a cat in the snow", seed=5)),
    ("  line one\n  line two  --raw ", ParsedPrompt("line one\n  line two", raw=True)),
    # JSON prompts: kept as written
    (JSON_PROMPT, ParsedPrompt(JSON_PROMPT, is_json=True)),
    (f"  {JSON_PROMPT}\n", ParsedPrompt(JSON_PROMPT, is_json=True)),
    (f"{JSON_PROMPT} 16:9", ParsedPrompt(JSON_PROMPT, is_json=True, ratio="16:9")),
    (f"{JSON_PROMPT} --seed 9 --ar 3:2", ParsedPrompt(JSON_PROMPT, is_json=True, seed=9, ratio="3:2")),
    (
        f'{JSON_PROMPT[:-1]}, "extra": "--seed 5 16:9"}}',
        ParsedPrompt(f'{JSON_PROMPT[:-1]}, "extra": "--seed 5 16:9"}}', is_json=True),
    ),
    (
        JSON_WITH_KEYS,
        ParsedPrompt(JSON_WITH_KEYS, is_json=True, size=ImageSize(1280, 720), seed=42, steps=30),
    ),
    (
        '{"scene": "x", "aspect_ratio": "32:18"}',
        ParsedPrompt('{"scene": "x", "aspect_ratio": "32:18"}', is_json=True, ratio="16:9"),
    ),
    ('{"scene": "x", "seed": 1} --seed 2', ParsedPrompt('{"scene": "x", "seed": 1}', is_json=True, seed=2)),
    ('{"scene": "x", "seed": null}', ParsedPrompt('{"scene": "x", "seed": null}', is_json=True)),
]


@pytest.mark.parametrize(("text", "expected"), PARSES, ids=[text[:40] for text, _ in PARSES])
def test_parses(text: str, expected: ParsedPrompt) -> None:
    assert parse_prompt(text) == expected


OVERRIDES = [
    ("a cat --ar 16:9", PromptOptions(ratio="3:2"), ParsedPrompt("a cat", ratio="3:2")),
    ("a cat 1920x1080", PromptOptions(ratio="1:2"), ParsedPrompt("a cat", ratio="1:2")),
    (
        "a cat --size 512x512",
        PromptOptions(size=ImageSize(768, 512)),
        ParsedPrompt("a cat", size=ImageSize(768, 512)),
    ),
    ("a cat --seed 1", PromptOptions(seed=0), ParsedPrompt("a cat", seed=0)),
    ("a cat --steps 10", PromptOptions(steps=20), ParsedPrompt("a cat", steps=20)),
    ("a cat --no dogs", PromptOptions(negative=" birds "), ParsedPrompt("a cat", negative="birds")),
    ("a cat --no dogs", PromptOptions(negative=""), ParsedPrompt("a cat", negative="dogs")),
    ("a cat", PromptOptions(raw=True), ParsedPrompt("a cat", raw=True)),
    ("a cat", PromptOptions(ratio="32:18"), ParsedPrompt("a cat", ratio="16:9")),
    (
        JSON_WITH_KEYS,
        PromptOptions(seed=7),
        ParsedPrompt(JSON_WITH_KEYS, True, None, ImageSize(1280, 720), 7, 30),
    ),
]


@pytest.mark.parametrize(("text", "options", "expected"), OVERRIDES)
def test_options_win_over_text(text: str, options: PromptOptions, expected: ParsedPrompt) -> None:
    assert parse_prompt(text, options) == expected


REFUSALS = [
    ("", "empty_prompt"),
    ("   \n ", "empty_prompt"),
    ("--seed 5 --ar 16:9", "empty_prompt"),
    ("16:9", "empty_prompt"),
    ("x" * 2049, "prompt_too_long"),
    ("a cat 1:5", "ratio_out_of_range"),
    ("a cat 5:1", "ratio_out_of_range"),
    ("a cat 0:1", "ratio_out_of_range"),
    ("a cat 1:0", "ratio_out_of_range"),
    ("a cat --ar 0:0", "ratio_out_of_range"),
    ("a cat --ar wide", "bad_ratio"),
    ("a cat --ar 16x9", "bad_ratio"),
    ("a cat --seed abc", "bad_seed"),
    ("a cat --seed -1", "bad_seed"),
    ("a cat --seed 4294967296", "bad_seed"),
    ("a cat --seed 1.5", "bad_seed"),
    ("a cat --seed " + "9" * 5000, "bad_seed"),
    ("a cat --steps 0", "bad_steps"),
    ("a cat --steps 51", "bad_steps"),
    ("a cat --steps many", "bad_steps"),
    ("a cat --seed", "missing_value"),
    ("a cat --seed --raw", "missing_value"),
    ("a cat --no", "missing_value"),
    ("a cat --no --seed 3", "missing_value"),
    ("a cat --ar", "missing_value"),
    ("a cat --raw=yes", "bad_flag"),
    ("a cat 100x100", "bad_size"),
    ("a cat 1921x1080", "bad_size"),
    ("a cat --size 2048x2048", "bad_size"),
    ("a cat --size 255x512", "bad_size"),
    ("a cat --size big", "bad_size"),
    ("a cat --foo", "unknown_flag"),
    ("a cat --seed 3 --quality high", "unknown_flag"),
    ("{not json", "bad_json"),
    ('{"scene": "x",\n "style": }', "bad_json"),
    ('{"scene": "x"} and a dog', "bad_json"),
    ('{"a":' * 100_000, "bad_json"),
    ('{"scene": "x", "width": 1024}', "bad_size"),
    ('{"scene": "x", "width": 100, "height": 100}', "bad_size"),
    ('{"scene": "x", "width": "wide", "height": 100}', "bad_size"),
    ('{"scene": "x", "width": true, "height": 512}', "bad_size"),
    ('{"scene": "x", "aspect_ratio": "9:1"}', "ratio_out_of_range"),
    ('{"scene": "x", "seed": -4}', "bad_seed"),
    ('{"scene": "x", "seed": 1.5}', "bad_seed"),
    ('{"scene": "x", "steps": 99}', "bad_steps"),
    ('{"scene": "' + "x" * 2100 + '"}', "prompt_too_long"),
]


@pytest.mark.parametrize(("text", "code"), REFUSALS, ids=[text[:40] for text, _ in REFUSALS])
def test_refuses_with_a_stable_code(text: str, code: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_prompt(text)
    assert caught.value.code == code
    message = caught.value.message
    assert message.endswith(".") and "\n" not in message and len(message) < 200


BAD_OPTIONS = [
    (PromptOptions(ratio="1:9"), "ratio_out_of_range"),
    (PromptOptions(size=ImageSize(4000, 4000)), "bad_size"),
    (PromptOptions(seed=-1), "bad_seed"),
    (PromptOptions(steps=0), "bad_steps"),
]


@pytest.mark.parametrize(("options", "code"), BAD_OPTIONS)
def test_options_are_validated_like_flags(options: PromptOptions, code: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_prompt("a cat", options)
    assert caught.value.code == code


def test_unknown_flag_error_names_the_flag() -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_prompt("a cat --quality high")
    assert "--quality" in caught.value.message


def test_bad_json_error_says_where() -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_prompt('{"scene": "x",\n "style": }')
    assert "line 2" in caught.value.message
    assert caught.value.params == {"line": 2, "column": 11}


def test_echoed_values_are_shortened() -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_prompt("a cat --seed " + "z" * 3000)
    assert len(caught.value.message) < 150


@pytest.mark.parametrize(
    ("ratio", "normal"), [("16:9", "16:9"), ("32:18", "16:9"), ("2:2", "1:1"), (" 4:16 ", "1:4")]
)
def test_normalise_ratio(ratio: str, normal: str) -> None:
    assert normalise_ratio(ratio) == normal


@pytest.mark.parametrize(
    ("text", "prompt", "ratio", "seed"),
    [
        ("a cat 16:9 --seed 7", "a cat", "16:9", 7),
        ("a cat 16:9 --no dogs", "a cat", "16:9", None),
        ("a cat --seed 7 16:9", "a cat", "16:9", 7),
        ("a fox at 10:30 pm --seed 7", "a fox at 10:30 pm", None, 7),
    ],
)
def test_a_ratio_ending_the_prose_before_flags_counts(
    text: str, prompt: str, ratio: str | None, seed: int | None
) -> None:
    parsed = parse_prompt(text)
    assert (parsed.text, parsed.ratio, parsed.seed) == (prompt, ratio, seed)
