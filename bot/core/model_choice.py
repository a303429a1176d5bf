"""Which models users may pick (``FLUX_MODELS``, with short aliases) and the bot-wide daily cap per model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.core.clock import Clock, as_datetime, next_utc_midnight, utc_day
from bot.core.limits import UsageSlots
from bot.core.models import ModelSpec
from bot.core.persistence import UsageLedger
from bot.errors import ConfigurationError, InvalidRequest, LimitReached
from bot.providers.catalogue import model_spec

#: every Cloudflare account's free allocation per UTC day
FREE_NEURONS_PER_DAY = 10_000


@dataclass(frozen=True)
class ModelChoice:
    """One model users may ask for by ``alias``; ``daily_cap`` images a UTC day for the whole bot (None: no cap)."""

    alias: str
    spec: ModelSpec
    daily_cap: int | None = None

    @property
    def images_per_account_day(self) -> int | None:
        """About how many 1024² images one account's free neurons make a day."""
        neurons = self.spec.neurons_per_image
        return int(FREE_NEURONS_PER_DAY // neurons) if neurons else None


class ModelMenu:
    """The models on offer, the default first. ``resolve`` takes an alias, a full model id or its last part."""

    def __init__(self, choices: Sequence[ModelChoice]) -> None:
        if not choices:
            raise ValueError("a model menu needs at least the default model")
        self.choices = tuple(choices)

    @property
    def default(self) -> ModelChoice:
        return self.choices[0]

    @classmethod
    def build(
        cls, models: Mapping[str, str], default_model: str, caps: Mapping[str, int] | None = None
    ) -> ModelMenu:
        """From ``FLUX_MODELS`` (alias → model id), ``FLUX_MODEL`` and ``MODEL_DAILY_LIMITS`` (name → cap)."""
        default_spec = model_spec(default_model)
        entries = [(alias.strip().lower(), model_spec(model)) for alias, model in models.items()]
        if all(spec.name != default_spec.name for _, spec in entries):
            entries.insert(0, (_short(default_spec.name), default_spec))
        entries.sort(key=lambda entry: entry[1].name != default_spec.name)  # stable: the default first
        menu = cls([ModelChoice(alias, spec) for alias, spec in entries])
        choices = list(menu.choices)
        for name, cap in (caps or {}).items():
            found = menu.find(name)
            if found is None:
                raise ConfigurationError("MODEL_DAILY_LIMITS", f"{name!r} is not one of the models on offer")
            index = choices.index(found)
            choices[index] = ModelChoice(found.alias, found.spec, cap if cap > 0 else None)
        return cls(choices)

    def resolve(self, name: str | None) -> ModelChoice:
        """The choice for what the user typed (None: the default); an unknown name lists the choices."""
        if name is None or not name.strip():
            return self.default
        found = self.find(name)
        if found is None:
            names = ", ".join(choice.alias for choice in self.choices)
            shown = name if len(name) <= 40 else name[:39] + "…"
            raise InvalidRequest(
                f"There is no model called '{shown}'; choose one of: {names}.",
                code="unknown_model",
                model=shown,
                choices=names,
            )
        return found

    def find(self, name: str) -> ModelChoice | None:
        """The choice an alias or model id names, if it is on offer."""
        wanted = name.strip().lower()
        for choice in self.choices:
            if wanted in (choice.alias, choice.spec.name.lower(), _short(choice.spec.name).lower()):
                return choice
        return None


def _short(model: str) -> str:
    return model.rsplit("/", 1)[-1]


class ModelCaps:
    """Counts each capped model's images per UTC day in the usage ledger, under ``model:<id>``."""

    def __init__(self, ledger: UsageLedger, clock: Clock) -> None:
        self._ledger = ledger
        self._clock = clock

    async def acquire(self, choice: ModelChoice, count: int = 1) -> list[UsageSlots]:
        """Take ``count`` of the model's images for today, all or none; ``LimitReached`` when they do not fit."""
        if choice.daily_cap is None:
            return []
        now = self._clock.time()
        events = await self._ledger.try_consume(
            _key(choice), now=now, day=utc_day(now), per_minute=None, per_day=choice.daily_cap, count=count
        )
        if events is None:
            reset = next_utc_midnight(now)
            raise LimitReached(
                scope="model",
                limit=choice.daily_cap,
                retry_after=reset - now,
                resets_at=as_datetime(reset),
                model=choice.alias,
            )
        return UsageSlots(events).split()

    async def refund(self, slots: Sequence[UsageSlots]) -> None:
        events = [event for slot in slots for event in slot.event_ids]
        if events:
            await self._ledger.refund(*events)

    async def left_today(self, choice: ModelChoice) -> int | None:
        """Images of this model the bot may still make today (None: no cap)."""
        if choice.daily_cap is None:
            return None
        now = self._clock.time()
        counts = await self._ledger.counts(_key(choice), now=now, day=utc_day(now))
        return max(0, choice.daily_cap - counts.today)


def _key(choice: ModelChoice) -> str:
    return f"model:{choice.spec.name}"
