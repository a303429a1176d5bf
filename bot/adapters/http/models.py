"""``GET /v1/models``: the configured image models, and the aliases clients need to take their image path."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel

from bot.adapters.http.auth import ApiUser
from bot.adapters.http.context import Context
from bot.adapters.http.schemas import error_responses
from bot.core.model_choice import ModelMenu

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


def model_ids(menu: ModelMenu) -> list[str]:
    """The models on offer (``FLUX_MODEL`` first, then ``FLUX_MODELS``): id and alias each, then OpenAI's names."""
    ids: list[str] = []
    for choice in menu.choices:
        for name in (choice.spec.name, choice.alias):
            if name not in ids:
                ids.append(name)
    return ids + [alias for alias in ALIASES if alias not in ids]


@router.get("/models", response_model=ModelList, responses=error_responses(401), summary="List models")
async def list_models(context: Context, _: ApiUser) -> ModelList:
    """OpenAI's list shape. Any of these may be sent as ``model``; another name means the default model."""
    return ModelList(data=[Model(id=name) for name in model_ids(context.service.models)])
