"""``GET /v1/models``: the configured image models, and the aliases clients need to take their image path."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel

from bot.adapters.http.auth import ApiUser
from bot.adapters.http.context import Context
from bot.adapters.http.schemas import error_responses
from bot.settings import Settings

router = APIRouter(prefix="/v1", tags=["openai"])

#: OpenAI image model names → ``FLUX_MODEL``: NextChat uses its image path only for ``dall-e-3``
ALIASES = ("dall-e-3", "dall-e-2", "gpt-image-1")
OWNER = "imagine-bot"


class Model(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = OWNER


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Model]


def model_ids(settings: Settings) -> list[str]:
    """``FLUX_MODEL`` and ``FLUX_REFERENCE_MODEL`` (full and short names), then the aliases; no duplicates."""
    ids: list[str] = []
    for model in (settings.flux_model, settings.flux_reference_model):
        for name in (model, model.rsplit("/", 1)[-1]):
            if name not in ids:
                ids.append(name)
    return ids + [alias for alias in ALIASES if alias not in ids]


@router.get("/models", response_model=ModelList, responses=error_responses(401), summary="List models")
async def list_models(context: Context, _: ApiUser) -> ModelList:
    """OpenAI's list shape; any of these ids (and any other) may be sent as ``model``."""
    return ModelList(data=[Model(id=name) for name in model_ids(context.settings)])
