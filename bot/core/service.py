"""The one pipeline both chats call: admit → decode → queue → optimise → generate with failover → result.

Admission (allow-list, limits, queue room; ``bot.core.admission``) comes before any download or decode.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace

from bot.core.accounts import AccountPool, Served
from bot.core.admission import Admission
from bot.core.clock import Clock
from bot.core.limits import AccessPolicy, RateLimiter, UsageSlots
from bot.core.models import (
    AccountStatus,
    GenerationRequest,
    GenerationResult,
    ImageSize,
    ModelSpec,
    ParsedPrompt,
    Progress,
    ProgressStage,
    ProviderImage,
    ProviderJob,
    QuotaStatus,
    UserRef,
)
from bot.core.optimiser import OptimisedPrompt, PromptOptimiser
from bot.core.parsing import parse_prompt
from bot.core.persistence import JobStore, StoredJob
from bot.core.queue import JobQueue
from bot.core.reference_limits import MAX_REFERENCES
from bot.core.sizes import resolve_size, resolve_steps
from bot.errors import (
    AllAccountsUnavailable,
    ContentFiltered,
    DeadlineExceeded,
    InvalidReference,
    JobNotFound,
    NotPermitted,
    UpstreamRejected,
)
from bot.logs import current_request_id
from bot.providers.base import FailureKind, ImageProvider, UpstreamFailure
from bot.providers.catalogue import model_spec
from bot.providers.references import normalise_reference
from bot.settings import Settings

log = logging.getLogger(__name__)

SEED_RANGE = 2**32

ProgressCallback = Callable[[Progress], Awaitable[None]]


@dataclass(frozen=True)
class ServiceConfig:
    """The slice of the settings the pipeline needs."""

    flux_model: str
    reference_model: str
    num_steps: int | None = None
    megapixels: float = 1.0
    max_reference_bytes: int = 10 * 1024 * 1024
    max_transient_attempts: int = 3
    deadline_seconds: float = 180.0

    @classmethod
    def from_settings(cls, settings: Settings) -> ServiceConfig:
        return cls(
            flux_model=settings.flux_model,
            reference_model=settings.flux_reference_model,
            num_steps=settings.flux_num_steps,
            megapixels=settings.image_megapixels,
            max_reference_bytes=int(settings.max_reference_mb * 1024 * 1024),
            max_transient_attempts=settings.max_transient_attempts,
            deadline_seconds=settings.generation_deadline_seconds,
        )


@dataclass(frozen=True)
class _Plan:
    """A request resolved against a model: everything but the seed and the final prompt."""

    parsed: ParsedPrompt
    model: ModelSpec
    size: ImageSize
    steps: int | None
    references: tuple[bytes, ...]
    #: the user's prompt without flags or ratio suffix, as shown in replies and stored for re-rolls
    original: str
    #: rewrite the prompt first (not for JSON prompts, --raw, or re-rolls, which reuse the final prompt)
    optimise: bool = False
    #: the user's seed; None picks a fresh one
    seed: int | None = None


class ImageService:
    """Platform-free entry point. Adapters build a ``GenerationRequest`` and map ``ImagineError``s to replies."""

    def __init__(
        self,
        config: ServiceConfig,
        *,
        access: AccessPolicy,
        limiter: RateLimiter,
        queue: JobQueue,
        pool: AccountPool,
        provider: ImageProvider,
        jobs: JobStore,
        clock: Clock,
        optimiser: PromptOptimiser | None = None,
    ) -> None:
        self.config = config
        self.access = access
        self._limiter = limiter
        self._queue = queue
        self._pool = pool
        self._provider = provider
        self._jobs = jobs
        self._clock = clock
        # None: optimisation is off, and no "optimising" stage is reported to the user
        self._optimiser = optimiser

    def is_admin(self, user: UserRef) -> bool:
        return self.access.is_admin(user)

    @asynccontextmanager
    async def admission(
        self, user: UserRef, *, count: int = 1, bypass_limits: bool = False
    ) -> AsyncIterator[Admission]:
        """Admit ``user`` for ``count`` images before any download: allow-list → queue room → limits (all or none).

        Raises ``AccessDenied``, ``QueueFull`` or ``LimitReached`` without consuming anything. Images not used
        by a successful ``generate`` are handed back when the block ends, however it ends. ``bypass_limits`` is
        for the operator's CLI only. See ``bot.core.admission``.
        """
        if count < 1:
            raise ValueError("count must be at least 1")
        if bypass_limits:
            admitted = Admission(user, [UsageSlots() for _ in range(count)], self._limiter)
        else:
            self.access.check(user)
            # In-memory and cheaper than the ledger write, so it goes first: a full queue consumes nothing.
            self._queue.check_room(user.key)
            slots = await self._limiter.acquire(user.key, exempt=self.is_admin(user), count=count)
            admitted = Admission(user, slots.split(), self._limiter)
        try:
            yield admitted
        finally:
            await _quietly(admitted.release(), "handing back unused admissions")

    async def generate(
        self,
        request: GenerationRequest,
        progress: ProgressCallback | None = None,
        *,
        admission: Admission | None = None,
    ) -> GenerationResult:
        """Run one ``/imagine`` end to end; raises an ``ImagineError`` subclass the adapter turns into a reply.

        Without ``admission`` the request admits itself (one image) after the prompt checks; adapters that
        download references get admitted first (``admission``) and pass it here.
        """
        started = time.perf_counter()
        request = request if request.request_id else replace(request, request_id=new_request_id())
        if admission is None and not request.bypass_limits:
            self.access.check(request.user)
        parsed = parse_prompt(request.text, request.options)
        plan = self._plan(parsed, len(request.references))
        if admission is not None:
            return await self._run(request, plan, progress, started, admission)
        async with self.admission(request.user, bypass_limits=request.bypass_limits) as own:
            return await self._run(request, plan, progress, started, own)

    async def reroll(
        self,
        job_id: str,
        user: UserRef,
        progress: ProgressCallback | None = None,
        request_id: str = "",
        *,
        admission: Admission | None = None,
    ) -> GenerationResult:
        """Generate a stored job again with a new seed: same final prompt, size, model and references."""
        started = time.perf_counter()
        job = await self._jobs.get(job_id)
        if job is None:
            raise JobNotFound(job_id)
        if job.user_key != user.key and not self.is_admin(user):
            raise NotPermitted("only the requester or an admin may re-roll this image")
        parsed = ParsedPrompt(text=job.final_prompt, is_json=job.is_json, negative=job.negative, raw=True)
        size = ImageSize(job.width, job.height)
        plan = _Plan(parsed, model_spec(job.model), size, job.steps, job.references, job.original_prompt)
        request = GenerationRequest(
            user=user, text=job.original_prompt, request_id=request_id or new_request_id()
        )
        if admission is not None:
            return await self._run(request, plan, progress, started, admission)
        async with self.admission(user) as own:
            return await self._run(request, plan, progress, started, own)

    async def refund_undelivered(self, result: GenerationResult) -> None:
        """Hand back the image of ``result`` to the user's limits: it was made but could not be delivered."""
        await _quietly(self._limiter.refund(UsageSlots(result.usage_ids)), "refunding an undelivered image")

    async def history(self, user: UserRef, limit: int = 50) -> list[StoredJob]:
        """The user's latest jobs, newest first (the web page's history)."""
        return await self._jobs.recent_for_user(user.key, limit)

    async def quota(self, user: UserRef) -> QuotaStatus:
        return await self._limiter.quota(user.key, is_admin=self.is_admin(user))

    async def account_statuses(self, user: UserRef | None = None) -> list[AccountStatus]:
        """Account states; pass ``user`` to require admin rights (chat commands), None for the CLI."""
        if user is not None and not self.is_admin(user):
            raise NotPermitted("only admins may see the accounts")
        return await self._pool.statuses()

    def _plan(self, parsed: ParsedPrompt, reference_count: int) -> _Plan:
        """Everything but the pixels: cheap, so it runs before admission (no references yet)."""
        if reference_count > MAX_REFERENCES:
            raise InvalidReference(
                f"At most {MAX_REFERENCES} reference images can be used; you sent {reference_count}.",
                code="too_many",
                count=reference_count,
                limit=MAX_REFERENCES,
            )
        model = self._choose_model(parsed, reference_count)
        size = resolve_size(parsed, model, self.config.megapixels)
        steps = resolve_steps(parsed.steps, self.config.num_steps, model)
        optimise = not (parsed.raw or parsed.is_json)
        return _Plan(parsed, model, size, steps, (), parsed.text, optimise, parsed.seed)

    async def _prepare_references(self, references: tuple[bytes, ...]) -> tuple[bytes, ...]:
        """Decode and shrink each reference (admitted requests only: decoding is the expensive part)."""
        prepared = await asyncio.gather(
            *(
                asyncio.to_thread(normalise_reference, data, max_bytes=self.config.max_reference_bytes)
                for data in references
            )
        )
        return tuple(prepared)

    def _choose_model(self, parsed: ParsedPrompt, reference_count: int) -> ModelSpec:
        """``FLUX_MODEL``, unless the request needs references or a size it cannot take."""
        model = model_spec(self.config.flux_model)
        wants_shape = parsed.size is not None or parsed.ratio not in (None, "1:1")
        if reference_count > model.max_references or (wants_shape and not model.accepts_size):
            fallback = model_spec(self.config.reference_model)
            if reference_count > fallback.max_references:
                raise InvalidReference(
                    "The configured models cannot use reference images.", code="unsupported", limit=0
                )
            return fallback
        return model

    async def _run(
        self,
        request: GenerationRequest,
        plan: _Plan,
        progress: ProgressCallback | None,
        started: float,
        admission: Admission,
    ) -> GenerationResult:
        current_request_id.set(request.request_id)
        slot = admission.take(request.user)
        try:
            if request.references:
                plan = replace(plan, references=await self._prepare_references(request.references))
                # The plan holds the shrunk references; let the originals (up to MAX_REFERENCE_MB each) be
                # freed now rather than stay alive through the queue and the upstream call.
                request = replace(request, references=())
            result = await self._admitted(request, plan, progress, started)
        except BaseException as error:
            # A failed generation does not count against the user's limits, only against their failure budget
            # (not when nothing could be tried: every account out, or the request was cancelled).
            if isinstance(error, Exception) and not isinstance(error, AllAccountsUnavailable):
                self._limiter.note_failure(request.user.key)
            await _quietly(self._limiter.refund(slot), "refunding a failed generation")
            raise
        return replace(result, usage_ids=slot.event_ids)

    async def _admitted(
        self, request: GenerationRequest, plan: _Plan, progress: ProgressCallback | None, started: float
    ) -> GenerationResult:
        timings: dict[str, float] = {}

        async def on_queued(position: int) -> None:
            await _notify(progress, Progress(ProgressStage.QUEUED, position))

        async with self._queue.slot(request.user.key, on_queued):
            timings["queue_ms"] = _ms_since(started)
            try:
                async with asyncio.timeout(self.config.deadline_seconds):
                    return await self._generate(request, plan, progress, timings, started)
            except TimeoutError:
                raise DeadlineExceeded(f"no image within {self.config.deadline_seconds:.0f}s") from None

    async def _generate(
        self,
        request: GenerationRequest,
        plan: _Plan,
        progress: ProgressCallback | None,
        timings: dict[str, float],
        started: float,
    ) -> GenerationResult:
        prompt = OptimisedPrompt(plan.parsed.text, optimised=False)
        if plan.optimise and self._optimiser is not None:
            await _notify(progress, Progress(ProgressStage.OPTIMISING))
            step = time.perf_counter()
            prompt = await self._optimiser.optimise(
                plan.parsed.text, size=plan.size, request_id=request.request_id
            )
            timings["optimise_ms"] = _ms_since(step)
        chosen_seed = plan.seed if plan.seed is not None else secrets.randbelow(SEED_RANGE)
        job = ProviderJob(
            model=plan.model,
            prompt=prompt.text[: plan.model.max_prompt_chars],
            size=plan.size,
            seed=chosen_seed,
            steps=plan.steps,
            negative=plan.parsed.negative if plan.model.accepts_negative else None,
            references=plan.references,
        )
        await _notify(progress, Progress(ProgressStage.GENERATING))
        step = time.perf_counter()
        served = await self._call_provider(job, request.request_id)
        timings["generate_ms"] = _ms_since(step)
        job_id = await self._remember(request, plan, job, prompt.text)
        timings["total_ms"] = _ms_since(started)
        log.info(
            "request %s served by account %s in %d call(s), %.0f ms",
            request.request_id,
            served.account.label,
            served.calls,
            timings["total_ms"],
        )
        return GenerationResult(
            job_id=job_id,
            image=served.value.data,
            mime=served.value.mime,
            size=plan.size,
            seed=chosen_seed,
            model=plan.model.name,
            account_index=served.account.index,
            original_prompt=plan.original,
            final_prompt=job.prompt,
            optimised=prompt.optimised,
            optimisation_skipped_reason=prompt.skipped_reason,
            negative=job.negative,
            steps=job.steps,
            reference_count=len(plan.references),
            upstream_calls=served.calls,
            timings_ms=timings,
        )

    async def _call_provider(self, job: ProviderJob, request_id: str) -> Served[ProviderImage]:
        try:
            return await self._pool.run(
                lambda account: self._provider.generate(account, job),
                max_transient=self.config.max_transient_attempts,
                neurons_of=lambda image: image.neurons,
            )
        except UpstreamFailure as failure:
            log.warning("request %s failed without failover: %s", request_id, failure)
            raise _user_error(failure) from None

    async def _remember(self, request: GenerationRequest, plan: _Plan, job: ProviderJob, final: str) -> str:
        job_id = new_job_id()
        await self._jobs.save(
            StoredJob(
                id=job_id,
                user_key=request.user.key,
                chat_id=request.user.chat_id,
                original_prompt=plan.original,
                final_prompt=final,
                is_json=plan.parsed.is_json,
                negative=plan.parsed.negative,
                width=plan.size.width,
                height=plan.size.height,
                steps=plan.steps,
                model=plan.model.name,
                seed=job.seed,
                created_at=self._clock.time(),
                references=plan.references,
            )
        )
        return job_id


def _user_error(failure: UpstreamFailure) -> Exception:
    if failure.kind is FailureKind.CONTENT_FILTER:
        return ContentFiltered(failure.detail)
    if failure.kind is FailureKind.BAD_INPUT and "image" in failure.detail.lower():
        return InvalidReference(
            "One of the reference images could not be read by the model.", code="unreadable"
        )
    return UpstreamRejected(failure.detail)


async def _quietly(work: Awaitable[None], what: str) -> None:
    """Bookkeeping that must neither be cut short by a cancellation nor cost the user a reply or an image."""
    try:
        await asyncio.shield(work)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.warning("%s failed", what, exc_info=True)


async def _notify(progress: ProgressCallback | None, event: Progress) -> None:
    if progress is None:
        return
    try:
        await progress(event)
    except Exception:  # a failed status edit must never fail the generation
        log.debug("progress callback failed", exc_info=True)


def _ms_since(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0


def new_request_id() -> str:
    """A short id that follows one request through the log."""
    return uuid.uuid4().hex[:12]


def new_job_id() -> str:
    """A short, URL- and callback-data-safe id for a stored job (fits Telegram's 64-byte callback data)."""
    return secrets.token_urlsafe(9)
