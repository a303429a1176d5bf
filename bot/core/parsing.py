"""Turn what a user typed into a ``ParsedPrompt``: prompt text, ratio, size, seed, steps and negative text.

What is understood (``—`` is accepted for ``--``, since phones autocorrect one into the other)::

    a cute cat 16:9                 a trailing ratio; only the last token counts ("a fox at 10:30 pm" has none)
    a cute cat 1920x1080            a trailing explicit size (also 1920×1080)
    一只猫16：9   a cat 16 : 9      as typed on CJK keyboards and in a hurry: full-width digits and colon,
                                    glued to the CJK text before it, spaces around the colon or the x
    a cat -ar 16:9                  one dash works for the flags too (prose like "-cute" stays prose)
    a cat --ar 16:9 --seed 7        flags after the prompt text: --ar/--aspect W:H, --size WxH, --seed N,
                                    --steps N, --no TEXT (negative prompt, up to the next flag), --raw,
                                    --model NAME (checked by the service), --n N (images, 1..MAX_COUNT)
    {"scene": "..."} --seed 7       a JSON object: kept verbatim; width/height/aspect_ratio/seed/steps honoured

Every problem is an ``InvalidRequest`` with one sentence for the user and a stable ``code``.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.core.models import ImageSize, ParsedPrompt, PromptOptions
from bot.errors import InvalidRequest

MAX_PROMPT_CHARS = 2048
MAX_SEED = 2**32 - 1
MAX_STEPS = 50
MIN_SIDE, MAX_SIDE = 256, 1920
MAX_PIXELS = 4 * 1024 * 1024
MAX_RATIO = 4  # from 1:4 to 4:1
#: the most images --n may ask for at all (an album holds 10); the operator's MAX_IMAGES_PER_REQUEST is lower
MAX_COUNT = 10

_VALUE_FLAGS = frozenset({"ar", "aspect", "size", "seed", "steps", "no", "model", "n"})
_FLAG_NAMES = "--ar, --size, --seed, --steps, --no, --model, --n and --raw"
_FLAG = re.compile(r"(--|[—–-])([^\W\d_][\w-]*)(?:=(.*))?")
_RATIO = re.compile(r"(\d{1,4}):(\d{1,4})")
_SIZE = re.compile(r"(\d{1,5})[xX×](\d{1,5})")
# Three digits or more: in "a monster truck 4x4" the last token is prose, in "a cat 1024x768" it is pixels.
_TRAILING_SIZE = re.compile(r"\d{3,5}[xX×]\d{3,5}")
# "一只猫16:9": a ratio or size glued to the wide (CJK) character before it; raw text, before NFKC
_GLUED = re.compile(r"(\d{1,4}[:：]\d{1,4}|\d{3,5}[xX×ｘＸ]\d{3,5})$")
# "16 : 9", "1920 x 1080": three words that are one ratio or size
_SPACED_RATIO = (re.compile(r"\d{1,4}"), frozenset({":", "："}), re.compile(r"\d{1,4}"))
_SPACED_SIZE = (re.compile(r"\d{3,5}"), frozenset({"x", "X", "×", "ｘ", "Ｘ"}), re.compile(r"\d{3,5}"))
_NO_OPTIONS = PromptOptions()


@dataclass
class _Found:
    """What the text asked for, filled in as flags are read."""

    ratio: str | None = None
    size: ImageSize | None = None
    seed: int | None = None
    steps: int | None = None
    negative: str | None = None
    raw: bool = False
    model: str | None = None
    count: int | None = None


def parse_prompt(text: str, options: PromptOptions = _NO_OPTIONS) -> ParsedPrompt:
    """Split ``text`` into the prompt and its settings; ``options`` win over the text."""
    stripped = text.strip()
    found = _Found()
    is_json = stripped.startswith("{")
    if is_json:
        obj, end = _decode_json(stripped)
        _apply_json_keys(obj, found)
        prompt, extra = stripped[:end], _apply_flags(stripped[end:], found)
        if extra:
            raise InvalidRequest(
                f"Only flags or a ratio may follow a JSON prompt, not {_shown(extra)}.", code="bad_json"
            )
    else:
        prompt = _apply_flags(stripped, found)
    _apply_options(options, found)
    _check_prompt(prompt)
    return ParsedPrompt(text=prompt, is_json=is_json, **vars(found))


def _canonical(text: str) -> str:
    """``"１６：９"``, ``"16 : 9"`` -> ``"16:9"``: full-width forms folded (NFKC), spaces dropped."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def normalise_ratio(text: str) -> str:
    """``"32:18"`` -> ``"16:9"``; raises ``InvalidRequest`` unless it is a ratio from 1:4 to 4:1."""
    match = _RATIO.fullmatch(_canonical(text))
    if match is None:
        raise InvalidRequest(f"{_shown(text)} is not an aspect ratio; write it like 16:9.", code="bad_ratio")
    width, height = int(match[1]), int(match[2])
    if not (width and height and width <= MAX_RATIO * height and height <= MAX_RATIO * width):
        raise InvalidRequest(
            f"The aspect ratio {text.strip()} is outside the supported range 1:4 to 4:1.",
            code="ratio_out_of_range",
            ratio=text.strip(),
        )
    divisor = math.gcd(width, height)
    return f"{width // divisor}:{height // divisor}"


def parse_size(text: str) -> ImageSize:
    """``"1920x1080"`` -> ``ImageSize(1920, 1080)``, checked against the generic limits."""
    match = _SIZE.fullmatch(_canonical(text))
    if match is None:
        raise InvalidRequest(f"{_shown(text)} is not an image size; write it like 1024x768.", code="bad_size")
    return check_size(ImageSize(int(match[1]), int(match[2])))


def check_size(size: ImageSize) -> ImageSize:
    """Return ``size`` if each side is 256..1920 pixels and it is at most 4 MP; else raise ``bad_size``."""
    sides_fit = all(MIN_SIDE <= side <= MAX_SIDE for side in (size.width, size.height))
    if not sides_fit or size.width * size.height > MAX_PIXELS:
        raise InvalidRequest(
            f"The size {size} is not allowed; each side must be {MIN_SIDE} to {MAX_SIDE} pixels.",
            code="bad_size",
            size=str(size),
        )
    return size


def _decode_json(text: str) -> tuple[dict[str, Any], int]:
    try:
        obj, end = json.JSONDecoder().raw_decode(text)
    except json.JSONDecodeError as exc:
        raise InvalidRequest(
            f"The JSON prompt is invalid at line {exc.lineno}, column {exc.colno}: {exc.msg}.",
            code="bad_json",
            line=exc.lineno,
            column=exc.colno,
        ) from None
    except (ValueError, RecursionError):  # numbers over Python's digit limit, absurd nesting
        raise InvalidRequest(
            "The JSON prompt is too deeply nested or has too long numbers.", code="bad_json"
        ) from None
    return obj, end


def _apply_json_keys(obj: dict[str, Any], found: _Found) -> None:
    width, height = obj.get("width"), obj.get("height")
    if (width is None) != (height is None):
        raise InvalidRequest("A JSON prompt needs both width and height, or neither.", code="bad_size")
    if width is not None:
        found.size = parse_size(f"{width}x{height}")
    for key, flag in (("aspect_ratio", "ar"), ("seed", "seed"), ("steps", "steps")):
        if obj.get(key) is not None:
            _set_flag(found, flag, str(obj[key]))


def _apply_flags(text: str, found: _Found) -> str:
    """Apply the flags and the trailing ratio or size in ``text``; return the prompt text left over."""
    spans = _word_spans(text)
    words = [text[start:end] for start, end in spans]
    trailing = _trailing_ratio_or_size(words)
    end = len(words) - (trailing is not None)
    prompt_words: list[int] = []
    index = 0
    while index < end:
        flag = _read_flag(words[index])
        index += 1
        if flag is None:
            prompt_words.append(index - 1)
        elif flag[0] == "raw":
            found.raw = True
        else:
            name, value = flag
            if value is None:
                value_words, index = _flag_value(words, index, end, name)
                value = _join(text, spans, value_words)
            _set_flag(found, name, value)
    if trailing is None and prompt_words:
        # "a cat 16:9 --seed 7": the last word of the prose, right before the flags, counts as trailing too.
        last = prompt_words[-1]
        if last + 1 < len(words) and _is_ratio_or_size(words[last]):
            trailing = words[prompt_words.pop()]
    if trailing is not None:
        _set_flag(found, "size" if _TRAILING_SIZE.fullmatch(_canonical(trailing)) else "ar", trailing)
    return _join(text, spans, prompt_words)


def _word_spans(text: str) -> list[tuple[int, int]]:
    """Where each word is, with a ratio or size glued to CJK text split off and a spaced one joined up.

    The prompt is rebuilt from these spans over the original text, so splitting or joining changes nothing
    in the prose itself: only which words can be a trailing ratio or a flag's value.
    """
    spans: list[tuple[int, int]] = []
    for match in re.finditer(r"\S+", text):
        start, end = match.span()
        glued = _GLUED.search(text, start, end)
        if glued is not None and glued.start() > start and _is_wide(text[glued.start() - 1]):
            spans += [(start, glued.start()), (glued.start(), end)]
        else:
            spans.append((start, end))
    return _joined_spaced(text, spans)


def _joined_spaced(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    joined: list[tuple[int, int]] = []
    index = 0
    while index < len(spans):
        three = [text[start:end] for start, end in spans[index : index + 3]]
        if len(three) == 3 and any(_is_spaced(three, shape) for shape in (_SPACED_RATIO, _SPACED_SIZE)):
            joined.append((spans[index][0], spans[index + 2][1]))
            index += 3
        else:
            joined.append(spans[index])
            index += 1
    return joined


def _is_spaced(words: Sequence[str], shape: tuple[re.Pattern[str], frozenset[str], re.Pattern[str]]) -> bool:
    left, separators, right = shape
    return bool(left.fullmatch(words[0]) and words[1] in separators and right.fullmatch(words[2]))


def _is_wide(char: str) -> bool:
    """CJK ideographs, kana, hangul, full-width forms: scripts written without spaces between words."""
    return unicodedata.east_asian_width(char) in ("W", "F")


def _is_ratio_or_size(word: str) -> bool:
    word = _canonical(word)
    return bool(_RATIO.fullmatch(word) or _TRAILING_SIZE.fullmatch(word))


def _trailing_ratio_or_size(words: Sequence[str]) -> str | None:
    if not words or not _is_ratio_or_size(words[-1]):
        return None
    before = _read_flag(words[-2]) if len(words) > 1 else None
    takes_it = before is not None and before[0] in _VALUE_FLAGS and before[1] is None
    return None if takes_it else words[-1]


def _read_flag(word: str) -> tuple[str, str | None] | None:
    """``(name, inline value)`` if ``word`` is a flag; ``None`` if it is prompt text."""
    match = _FLAG.fullmatch(word)
    if match is None:
        return None
    dash, name, inline = match[1], match[2].lower(), match[3]
    if name in _VALUE_FLAGS or name == "raw":
        if name == "raw" and inline is not None:
            raise InvalidRequest("The flag --raw takes no value.", code="bad_flag", flag="--raw")
        return name, inline
    if dash != "--":  # a dash in prose ("a cat —cute"), not a mistyped flag
        return None
    raise InvalidRequest(
        f"Unknown flag --{_shown(name, quote=False)}; the flags are {_FLAG_NAMES}.",
        code="unknown_flag",
        flag=f"--{name}",
    )


def _flag_value(words: Sequence[str], index: int, end: int, name: str) -> tuple[range, int]:
    """The words that make up a flag's value (all up to the next flag for ``--no``) and the index after."""
    stop = index
    while stop < end and _read_flag(words[stop]) is None and (name == "no" or stop == index):
        stop += 1
    if stop == index:
        raise InvalidRequest(f"The flag --{name} needs a value.", code="missing_value", flag=f"--{name}")
    return range(index, stop), stop


def _set_flag(found: _Found, name: str, value: str) -> None:
    if name in ("ar", "aspect"):
        found.ratio = normalise_ratio(value)
    elif name == "size":
        found.size = parse_size(value)
    elif name == "seed":
        found.seed = _parse_int(value, 0, MAX_SEED, "bad_seed", "The seed")
    elif name == "steps":
        found.steps = _parse_int(value, 1, MAX_STEPS, "bad_steps", "Steps")
    elif name == "model":
        found.model = value.strip()
    elif name == "n":
        found.count = _parse_int(value, 1, MAX_COUNT, "bad_count", "The number of images")
    elif not value.strip():
        raise InvalidRequest("The flag --no needs a value.", code="missing_value", flag="--no")
    else:
        found.negative = value.strip()


def _apply_options(options: PromptOptions, found: _Found) -> None:
    if options.ratio is not None:
        found.ratio = normalise_ratio(options.ratio)
        found.size = None  # the ratio picked in the command replaces a size written in the text
    if options.size is not None:
        found.size = check_size(options.size)
    if options.seed is not None:
        found.seed = _check_int(options.seed, 0, MAX_SEED, "bad_seed", "The seed")
    if options.steps is not None:
        found.steps = _check_int(options.steps, 1, MAX_STEPS, "bad_steps", "Steps")
    if options.negative and options.negative.strip():
        found.negative = options.negative.strip()
    found.raw = found.raw or options.raw
    if options.model:
        found.model = options.model
    if options.count is not None:
        found.count = _check_int(options.count, 1, MAX_COUNT, "bad_count", "The number of images")


def _parse_int(text: str, low: int, high: int, code: str, what: str) -> int:
    # A bounded digit count keeps int() away from its huge-number limit and from "1_000" or "+5".
    if not re.fullmatch(r"\d{1,12}", text):
        raise InvalidRequest(
            f"{what} must be a whole number from {low} to {high}, not {_shown(text)}.", code=code
        )
    return _check_int(int(text), low, high, code, what)


def _check_int(value: int, low: int, high: int, code: str, what: str) -> int:
    if not low <= value <= high:
        raise InvalidRequest(f"{what} must be a whole number from {low} to {high}, not {value}.", code=code)
    return value


def _check_prompt(prompt: str) -> None:
    if not prompt:
        raise InvalidRequest("Please describe the image you want: the prompt is empty.", code="empty_prompt")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise InvalidRequest(
            f"The prompt is {len(prompt)} characters long; the limit is {MAX_PROMPT_CHARS}.",
            code="prompt_too_long",
            length=len(prompt),
            limit=MAX_PROMPT_CHARS,
        )


def _join(text: str, spans: Sequence[tuple[int, int]], indices: Sequence[int]) -> str:
    """The words at ``indices``, keeping the original spacing inside each run of neighbouring words."""
    runs: list[list[int]] = []
    for index in indices:
        if runs and runs[-1][1] == index - 1:
            runs[-1][1] = index
        else:
            runs.append([index, index])
    return " ".join(text[spans[first][0] : spans[last][1]] for first, last in runs)


def _shown(value: str, *, quote: bool = True) -> str:
    """A user's value as echoed back: short, so a pasted essay does not fill the error message."""
    short = value if len(value) <= 40 else value[:39] + "…"
    return f"'{short}'" if quote else short
