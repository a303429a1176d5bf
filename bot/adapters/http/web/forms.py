"""The page's generate form as a core request: cheap checks (count, declared size, number fields) first."""

from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request

from bot.core import MAX_REFERENCES
from bot.core.models import GenerationRequest, PromptOptions, UserRef
from bot.core.parsing import MAX_SEED, MAX_STEPS
from bot.errors import InvalidReference, InvalidRequest
from bot.i18n.texts import reference_too_large

#: parts beyond this are not even parsed (the page sends at most MAX_REFERENCES)
_MAX_FILES = 8


async def read_generation_form(
    request: Request, user: UserRef, max_reference_bytes: int
) -> GenerationRequest:
    """The form as a core request; the count and size of references are checked before any is read whole."""
    try:
        form = await request.form(max_files=_MAX_FILES, max_fields=10)
    except HTTPException:  # more parts than any page sends: say so in the same words as for five images
        raise _too_many(_MAX_FILES + 1) from None
    try:
        uploads = [item for item in form.getlist("references") if isinstance(item, UploadFile)]
        if len(uploads) > MAX_REFERENCES:
            raise _too_many(len(uploads))
        references = []
        for upload in uploads:
            if upload.size is not None and upload.size > max_reference_bytes:
                raise reference_too_large(upload.size, max_reference_bytes)
            references.append(await upload.read())
        options = PromptOptions(
            ratio=str(form.get("ratio") or "") or None,
            seed=_number(
                str(form.get("seed") or "").strip(),
                "bad_seed",
                f"The seed must be a whole number from 0 to {MAX_SEED}.",
            ),
            steps=_number(
                str(form.get("steps") or "").strip(),
                "bad_steps",
                f"Steps must be a whole number from 1 to {MAX_STEPS}.",
            ),
            model=str(form.get("model") or "") or None,
            raw=bool(form.get("raw")),
        )
        text = str(form.get("prompt") or "")
        return GenerationRequest(user=user, text=text, references=tuple(references), options=options)
    finally:
        await form.close()


def _too_many(count: int) -> InvalidReference:
    return InvalidReference(
        f"At most {MAX_REFERENCES} reference images can be used; you sent {count}.",
        code="too_many",
        count=count,
        limit=MAX_REFERENCES,
    )


def _number(text: str, code: str, message: str) -> int | None:
    """A whole number typed in a field (empty: None); the core checks its range with the same sentence."""
    if not text:
        return None
    if not text.isdigit() or len(text) > 12:
        raise InvalidRequest(message, code=code)
    return int(text)
