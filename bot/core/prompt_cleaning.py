"""An LLM's answer cut down to the prompt it contains. Pure functions: text in, text out, never an exception.

Chat models wrap prompts in chatter however firmly they are told not to: "Sure! Here's your prompt:", quotes,
code fences, a reasoning model's ``<think>`` block, and a closing "This prompt captures…" or "Note: …".
"""

from __future__ import annotations

import re

#: the longest prompt the Workers AI image models take
MAX_PROMPT_CHARS = 2048

_THINK = re.compile(r"<think(?:ing)?>.*?(?:</think(?:ing)?>|\Z)", re.S | re.I)
_FENCE = re.compile(r"```(.*?)(?:```|\Z)", re.S)
_LANGUAGE_TAG = re.compile(r"[\w+-]{0,20}")
_OPENER = r"(?:sure|certainly|of course|okay|ok|absolutely|alright|great|got it)\b[!.,]?"
_PREAMBLE_LINE = re.compile(
    rf"(?:{_OPENER}\s*)?(?:(?:here(?:'s| is| are)\b.*|.{{0,80}}\bprompt\b.{{0,40}}):|{_OPENER})", re.I
)
_LABEL = re.compile(
    rf"^(?:{_OPENER}\s*)?(?:here(?:'s| is)\b[^:\n]{{0,100}}:|(?:[\w-]+\s+){{0,3}}prompt\s*:)[\s*_]*", re.I
)
_TRAILER_LINE = re.compile(
    r"[\s*_(\[>#-]*(?:notes?\s*[:\-—]|explanation\b|rationale\b|why this works\b"
    r"|key (?:changes|elements|additions|details)\b|changes made\b"
    r"|this (?:prompt|version|description|rewrite)\b|the (?:prompt|rewritten prompt|description) above\b"
    r"|i (?:have|'ve|added|kept|included|used|made|chose|focused)\b|(?:i )?hope (?:this|you)\b"
    r"|feel free\b|let me know\b)",
    re.I,
)
_TRAILER_INLINE = re.compile(
    r"(?<=[.!?\"”)])\s+[(*_\[]*\s*(?:notes?\s*:|explanation\s*:|this (?:prompt|version|description)\b)", re.I
)
_WRAPPERS = (
    ('"', '"'),
    ("'", "'"),
    ("“", "”"),
    ("‘", "’"),
    ("«", "»"),
    ("„", "“"),
    ("「", "」"),
    ("『", "』"),
    ("`", "`"),
    ("**", "**"),
    ("*", "*"),
)
_APOSTROPHES = ("'", "’")
# A quote mark between two letters is an apostrophe ("a cat's toy"), not the end of a quotation.
_STRAY_QUOTE = {mark: re.compile(rf"(?<!\w){mark}|{mark}(?!\w)") for mark in _APOSTROPHES}
_REFUSAL = re.compile(
    r"(?:i'?m sorry|i am sorry|sorry\b|my apologies|i apologi[sz]e|as an ai\b|unfortunately,? i\b"
    r"|i'?m (?:unable|not able|afraid i)\b|i am (?:unable|not able)\b"
    r"|i (?:can ?not|can'?t|won'?t|will not|must decline|must refuse|do not feel|don'?t feel)\b"
    r"|(?:could|can) you (?:please )?(?:provide|clarify|share|tell)\b|please provide\b)",
    re.I,
)


def clean_answer(answer: str, *, limit: int = MAX_PROMPT_CHARS) -> str:
    """The prompt inside an LLM's answer, at most ``limit`` characters; ``""`` when nothing usable is left."""
    text = _THINK.sub("", answer)
    text = _fenced(text) or text
    lines = _without_trailer(_without_preamble(text.splitlines()))
    text = " ".join(" ".join(lines).split())
    match = _TRAILER_INLINE.search(text)
    if match:
        text = text[: match.start()]
    for _ in range(3):  # a label inside quotes, quotes inside a label: peel until nothing changes
        peeled = _unwrapped(_LABEL.sub("", text, count=1).strip())
        if peeled == text:
            break
        text = peeled
    text = _capped(text, limit).strip()
    return text if any(ch.isalnum() for ch in text) else ""


def is_refusal(text: str) -> bool:
    """True when a cleaned answer is the model declining or asking back rather than a prompt."""
    return _REFUSAL.match(text.replace("’", "'").lstrip(" *_\"'“")) is not None


def _fenced(text: str) -> str:
    match = _FENCE.search(text)
    if match is None:
        return ""
    first, newline, rest = match.group(1).partition("\n")
    inner = rest if newline and _LANGUAGE_TAG.fullmatch(first.strip()) else match.group(1)
    return inner.strip()


def _without_preamble(lines: list[str]) -> list[str]:
    start = 0
    while start < len(lines):
        line = lines[start].strip().strip("*_#> ")
        if line and not _PREAMBLE_LINE.fullmatch(line):
            break
        start += 1
    rest = lines[start:]
    if rest:
        rest[0] = rest[0].strip().lstrip("*_#> ")
    return rest


def _without_trailer(lines: list[str]) -> list[str]:
    for index, line in enumerate(lines[1:], start=1):
        if _TRAILER_LINE.match(line):
            return lines[:index]
    return lines


def _unwrapped(text: str) -> str:
    for opening, closing in _WRAPPERS:
        # '"A cat on a mat".': the full stop outside the quotes goes with them
        body = text[:-1] if text[-1:] in ".!" and text[:-1].endswith(closing) else text
        if len(body) > len(opening) + len(closing) and body.startswith(opening) and body.endswith(closing):
            inner = body[len(opening) : -len(closing)]
            if closing in _APOSTROPHES:
                inner_marks = bool(_STRAY_QUOTE[closing].search(inner)) or opening in inner.replace(
                    closing, ""
                )
            else:
                inner_marks = closing in inner or opening in inner
            if not inner_marks:
                return inner.strip()
    return text


def _capped(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit]
    floor = limit * 6 // 10
    sentence_end = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "))
    if sentence_end >= floor:
        return cut[: sentence_end + 1]
    space = cut.rfind(" ")
    if space >= floor:
        return cut[:space].rstrip(" ,;:-")
    return cut
