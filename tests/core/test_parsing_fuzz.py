"""Property tests: no input string makes the parser fail in any way but InvalidRequest."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.models import ModelSpec, ParsedPrompt, PromptOptions
from bot.core.parsing import MAX_PROMPT_CHARS, parse_prompt
from bot.core.sizes import resolve_size
from bot.errors import InvalidRequest

MODELS = [
    ModelSpec(name="flux2-like", family="flux2"),
    ModelSpec(name="sd-like", family="sd", max_side=2048),
    ModelSpec(name="schnell-like", family="schnell", accepts_size=False),
]

numbers = st.one_of(
    st.integers(min_value=-10, max_value=5000).map(str),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(["0", "4294967295", "4294967296", "1.5", "1e9", "٣", "𝟙𝟞", "1_000", "+5", "9" * 5000]),
)
ratio_like = st.builds(
    lambda a, b, sep: f"{a}{sep}{b}", numbers, numbers, st.sampled_from([":", "x", "×", "X", "/"])
)
flag_like = st.builds(
    lambda dash, name, eq: f"{dash}{name}{eq}",
    st.sampled_from(["--", "—", "–", "-", "---"]),
    st.sampled_from(["ar", "aspect", "size", "seed", "steps", "no", "raw", "AR", "foo", "", "5", "ár"]),
    st.sampled_from(["", "=", "=16:9", "=7", "=x"]),
)
json_ish = st.one_of(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
        lambda children: (
            st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
        ),
        max_leaves=8,
    )
    .map(lambda value: json.dumps({"scene": value}))
    .flatmap(lambda text: st.sampled_from([text, text[:-1], text + " 16:9", text + " x", "{" + text]))
    .filter(lambda text: text.startswith("{")),
    st.fixed_dictionaries(
        {},
        optional={
            "width": numbers | st.integers(),
            "height": numbers | st.integers(),
            "aspect_ratio": ratio_like,
            "seed": numbers | st.integers(),
            "steps": numbers | st.integers(),
        },
    ).map(json.dumps),
    st.sampled_from(["{", "{}", '{"a":' * 3000, "{" + "[" * 3000, '{"a": 1e999}', '{"a": NaN}']),
)
word = st.one_of(
    st.text(min_size=1, max_size=12), ratio_like, flag_like, numbers, st.sampled_from(["—", "--", "{"])
)
prompts = st.one_of(
    st.text(),
    st.lists(word, max_size=12).map(" ".join),
    st.builds(lambda head, tail: head + " " + " ".join(tail), json_ish, st.lists(word, max_size=4)),
    json_ish,
)


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(prompts)
def test_parser_returns_a_prompt_or_raises_invalid_request(text: str) -> None:
    try:
        parsed = parse_prompt(text)
    except InvalidRequest as error:
        assert error.code and error.message
        return
    assert isinstance(parsed, ParsedPrompt)
    assert parsed.text and len(parsed.text) <= MAX_PROMPT_CHARS
    assert parsed.text == parsed.text.strip()


@settings(max_examples=300)
@given(
    prompts,
    st.builds(
        PromptOptions,
        ratio=st.none() | ratio_like,
        seed=st.none() | st.integers(),
        steps=st.none() | st.integers(),
        negative=st.none() | st.text(max_size=20),
    ),
)
def test_options_never_break_the_parser(text: str, options: PromptOptions) -> None:
    try:
        parsed = parse_prompt(text, options)
    except InvalidRequest:
        return
    if options.seed is not None:
        assert parsed.seed == options.seed
    if options.steps is not None:
        assert parsed.steps == options.steps


@settings(max_examples=600)
@given(prompts, st.sampled_from(MODELS), st.sampled_from([0.25, 0.5, 1.0, 2.0, 4.0]))
def test_sizes_from_any_valid_parse_stay_within_limits(
    text: str, model: ModelSpec, megapixels: float
) -> None:
    try:
        parsed = parse_prompt(text)
    except InvalidRequest:
        return
    size = resolve_size(parsed, model, megapixels)
    assert model.min_side <= size.width <= model.max_side
    assert model.min_side <= size.height <= model.max_side
    if parsed.size is None and model.accepts_size:
        assert size.width % 16 == 0 and size.height % 16 == 0
