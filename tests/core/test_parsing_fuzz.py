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


# --- ratios as people type them (issue #10, finding 16) --------------------------------------------------------

SEED_RATIOS = ["1:1", "1:2", "3:2", "3:4", "16:9", "9:16"]
FULL_WIDTH = str.maketrans("0123456789:", "０１２３４５６７８９：")
cjk_prose = st.text(alphabet="一只猫可爱的貓咪かわいいねこ고양이", min_size=1, max_size=8)
latin_prose = st.lists(
    st.sampled_from(["a", "cute", "cat", "in", "the", "snow"]), min_size=1, max_size=5
).map(" ".join)


def typed(ratio: str, form: str) -> str:
    width, height = ratio.split(":")
    return {
        "plain": ratio,
        "full-width": ratio.translate(FULL_WIDTH),
        "full-width colon": f"{width}：{height}",
        "spaced": f"{width} : {height}",
    }[form]


@settings(max_examples=300)
@given(
    st.one_of(cjk_prose, latin_prose),
    st.sampled_from(SEED_RATIOS),
    st.sampled_from(["plain", "full-width", "full-width colon", "spaced"]),
    st.sampled_from([" ", " -ar ", " --ar ", " —ar "]),
)
def test_a_typed_ratio_after_any_prose_is_the_ratio(prose: str, ratio: str, form: str, joint: str) -> None:
    parsed = parse_prompt(f"{prose}{joint}{typed(ratio, form)}")
    assert (parsed.text, parsed.ratio) == (prose, ratio)


@settings(max_examples=200)
@given(cjk_prose, st.sampled_from(SEED_RATIOS), st.sampled_from(["plain", "full-width", "full-width colon"]))
def test_a_ratio_glued_to_cjk_text_is_the_ratio(prose: str, ratio: str, form: str) -> None:
    parsed = parse_prompt(prose + typed(ratio, form))
    assert (parsed.text, parsed.ratio) == (prose, ratio)


@settings(max_examples=200)
@given(latin_prose, st.integers(0, 23), st.integers(0, 59), st.sampled_from(["am", "pm", "o'clock", "sharp"]))
def test_a_time_of_day_followed_by_words_stays_prose(prose: str, hour: int, minute: int, word: str) -> None:
    text = f"{prose} at {hour}:{minute:02d} {word}"
    parsed = parse_prompt(text)
    assert (parsed.text, parsed.ratio) == (text, None)
