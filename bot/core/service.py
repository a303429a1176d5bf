"""The one pipeline both chats call: admit → decode → queue → optimise → generate with failover → result.

Admission (allow-list, limits, queue room; ``bot.core.admission``) comes before any download or decode.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from bot.core.accounts import AccountPool, Served
from bot.core.admission import Admission
from bot.core.cancel import CancelRelay, Tickets
from bot.core.clock import Clock
from bot.core.decode_budget import DecodeBudget
from bot.core.limits import AccessPolicy, RateLimiter, UsageSlots
from bot.core.lines import LineTicket
from bot.core.model_choice import ModelCaps, ModelChoice, ModelMenu
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
from bot.core.parsing import normalise_ratio, parse_prompt
from bot.core.persistence import AcceptedRequest, JobStore, RequestState, StoredJob
from bot.core.queue import JobQueue
from bot.core.reference_limits import MAX_REFERENCES
from bot.core.requests import Redo, RequestJournal
from bot.core.sizes import resolve_size, resolve_steps
from bot.errors import (
    AllAccountsUnavailable,
    Cancelled,
    ContentFiltered,
    DeadlineExceeded,
    InvalidReference,
    InvalidRequest,
    JobNotFound,
    NotPermitted,
    TakenOver,
    UpstreamRejected,
)
from bot.logs import current_request_id
from bot.providers.base import FailureKind, ImageProvider, UpstreamFailure
from bot.providers.catalogue import model_spec
from bot.providers.references import decode_cost, normalise_reference
from bot.settings import Settings

log = logging.getLogger(__name__)

SEED_RANGE = 2**32

#: where a ❌ still stops a request (once delivering, the image is on its way)
_CANCELLABLE = frozenset({RequestState.WAITING, RequestState.RUNNING})

ProgressCallback = Callable[[Progress], Awaitable[None]]
#: fetches the image a 🎨 vary starts from (the adapter knows where it is); called only once admitted
FetchImage = Callable[[], Awaitable[bytes]]


@dataclass(frozen=True)
class ServiceConfig:
    """The slice of the settings the pipeline needs."""

    flux_model: str
    reference_model: str
    num_steps: int | None = None
    megapixels: float = 1.0
    max_reference_bytes: int = 10 * 1024 * 1024
    decode_memory_bytes: int = 128 * 1024 * 1024
    max_transient_attempts: int = 3
    deadline_seconds: float = 180.0
    max_images: int = 4

    @classmethod
    def from_settings(cls, settings: Settings) -> ServiceConfig:
        return cls(
            flux_model=settings.flux_model,
            reference_model=settings.flux_reference_model,
            num_steps=settings.flux_num_steps,
            megapixels=settings.image_megapixels,
            max_reference_bytes=int(settings.max_reference_mb * 1024 * 1024),
            decode_memory_bytes=int(settings.reference_decode_memory_mb * 1024 * 1024),
            max_transient_attempts=settings.max_transient_attempts,
            deadline_seconds=settings.generation_deadline_seconds,
            max_images=settings.max_images_per_request,
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
    #: images to make (``--n``), each with its own seed and admitted image
    count: int = 1
    #: a 🎨 vary's starting image, fetched once the request is admitted (it becomes the only reference)
    fetch: FetchImage | None = None
    #: how another replica makes it again if this one dies (``bot.core.requests``)
    redo: Redo | None = None


@dataclass
class _Taken:
    """What a running request holds: one admitted image per image, and its model's daily images if capped."""

    slots: list[UsageSlots] = field(default_factory=list)
    model: list[UsageSlots] = field(default_factory=list)


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
        models: ModelMenu | None = None,
        model_caps: ModelCaps | None = None,
        requests: RequestJournal | None = None,
        cancels: CancelRelay | None = None,
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
        self.models = models or ModelMenu.build({}, config.flux_model)
        self._model_caps = model_caps
        self._tickets = Tickets()
        self._decode_budget = DecodeBudget(config.decode_memory_bytes)
        #: None: requests are not recorded and do not survive a crash (unit tests)
        self.requests = requests
        #: None: a ❌ reaches only this process's requests
        self._cancels = cancels

    def is_admin(self, user: UserRef) -> bool:
        return self.access.is_admin(user)

    @property
    def queue_depth(self) -> int:
        """Generations admitted and waiting for a slot (all users), for ``/metrics``."""
        return self._queue.waiting

    @asynccontextmanager
    async def admission(
        self,
        user: UserRef,
        *,
        count: int = 1,
        bypass_limits: bool = False,
        request_id: str | None = None,
    ) -> AsyncIterator[Admission]:
        """Admit ``user`` for ``count`` images before any download: allow-list → a place in line → limits (all
        or none).

        Raises ``AccessDenied``, ``QueueFull`` or ``LimitReached`` without consuming anything, and
        ``AlreadyAccepted`` when ``request_id`` was registered before (the same chat update again). Images and the
        place in line not used by a ``generate`` are handed back when the block ends, however it ends.
        ``bypass_limits`` is for the operator's CLI only. See ``bot.core.admission``.
        """
        if count < 1:
            raise ValueError("count must be at least 1")
        if bypass_limits:
            admitted = Admission(user, [UsageSlots() for _ in range(count)], self._limiter)
        else:
            self.access.check(user)
            # The place in line first: the check and the registration are one atomic step across replicas, so
            # no two replicas both see room, and a full line never touches the ledger (nothing to refund). A
            # refusal by the limits gives the place back, which is cheaper than charging and refunding.
            ticket = await self._queue.register(user.key, request_id)
            try:
                slots = await self._limiter.acquire(user.key, exempt=self.is_admin(user), count=count)
            except BaseException:
                await _quietly(self._queue.abandon(ticket), "giving back a place in line")
                raise
            if self.requests is not None:  # on the row from now on: a sweeper refunds it if this replica dies
                await self.requests.charged(ticket.id, slots.event_ids)
            admitted = Admission(user, slots.split(), self._limiter, ticket=ticket, queue=self._queue)
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
        request, originals = _handed_over(request)  # rebinding frees the caller's copy of the photos
        return (await self._start(request, originals, progress, admission, many=False))[0]

    async def generate_all(
        self,
        request: GenerationRequest,
        progress: ProgressCallback | None = None,
        *,
        admission: Admission | None = None,
    ) -> list[GenerationResult]:
        """``/imagine`` with ``--n``: that many images, made at once in one queue slot (admit with
        ``count=images_asked(...)``). Images that fail while others succeed are handed back; only when all
        fail is the error raised. ``generate`` makes one image whatever ``--n`` says."""
        request, originals = _handed_over(request)
        return await self._start(request, originals, progress, admission, many=True)

    def images_asked(self, request: GenerationRequest) -> int:
        """How many images ``request`` asks for (``--n``), checked against ``MAX_IMAGES_PER_REQUEST``."""
        return self._count(parse_prompt(request.text, request.options))

    async def cancel(self, request_id: str, user: UserRef) -> bool:
        """Cancel a request that waits in line or works, for its requester or an admin, on whichever replica.

        True: it ends with ``Cancelled`` and nothing is counted; its own status line says so, also when another
        replica runs it (asked through the cancel relay). False: it is not waiting or running (done, being
        delivered, or unknown).
        """
        ticket = self._tickets.get(request_id)
        if ticket is not None:
            self._check_may_cancel(ticket.user_key, user)
            ticket.cancel()
            return True
        if self.requests is None or self._cancels is None:
            return False
        row = await self.requests.lookup(request_id)
        # "delivering": the image is on its way; held here without a ticket: it is between steps (too late)
        if row is None or row.state not in _CANCELLABLE or row.replica == self.requests.replica:
            return False
        self._check_may_cancel(row.user_key, user)
        await self._cancels.ask(request_id)
        return True

    def _check_may_cancel(self, owner_key: str, user: UserRef) -> None:
        if owner_key != user.key and not self.is_admin(user):
            raise NotPermitted("only the requester or an admin may cancel this request")

    @asynccontextmanager
    async def hearing_cancels(self) -> AsyncIterator[None]:
        """While open, cancel this replica's requests when a ❌ for them lands on another replica."""
        if self._cancels is None:
            yield
            return
        async with self._cancels.listen(self._cancel_here):
            yield

    def _cancel_here(self, request_id: str) -> None:
        ticket = self._tickets.get(request_id)
        if ticket is not None:  # another replica's, or ended meanwhile: nothing to do here
            log.info("request %s: cancelled from another replica", request_id)
            ticket.cancel()

    async def _start(
        self,
        request: GenerationRequest,
        originals: _Originals,
        progress: ProgressCallback | None,
        admission: Admission | None,
        *,
        many: bool,
    ) -> list[GenerationResult]:
        started = time.perf_counter()
        if not request.request_id:
            registered = admission.request_id if admission is not None else None
            request = replace(request, request_id=registered or new_request_id())
        if admission is None and not request.bypass_limits:
            self.access.check(request.user)
        parsed = parse_prompt(request.text, request.options)
        count = self._count(parsed) if many else 1
        redo = Redo("imagine", request.user, request.text, request.options, reply=request.reply)
        plan = replace(self._plan(parsed, len(originals)), count=count, redo=redo)
        if admission is not None:
            return await self._run(request, plan, progress, started, admission, originals)
        async with self.admission(
            request.user, count=count, bypass_limits=request.bypass_limits, request_id=request.request_id
        ) as own:
            return await self._run(request, plan, progress, started, own, originals)

    def _count(self, parsed: ParsedPrompt) -> int:
        count = parsed.count or 1
        if count > self.config.max_images:
            raise InvalidRequest(
                f"At most {self.config.max_images} images per request; you asked for {count}.",
                code="too_many_images",
                count=count,
                limit=self.config.max_images,
            )
        return count

    async def reroll(
        self,
        job_id: str,
        user: UserRef,
        progress: ProgressCallback | None = None,
        request_id: str = "",
        *,
        admission: Admission | None = None,
        reply: Mapping[str, Any] | None = None,
    ) -> GenerationResult:
        """Generate a stored job again with a new seed: same final prompt, size, model and references.

        ``reply``: where another replica answers if this one dies (see ``GenerationRequest.reply``)."""
        started = time.perf_counter()
        job = await self._owned_job(job_id, user)
        parsed = ParsedPrompt(text=job.final_prompt, is_json=job.is_json, negative=job.negative, raw=True)
        size = ImageSize(job.width, job.height)
        plan = _Plan(parsed, model_spec(job.model), size, job.steps, job.references, job.original_prompt)
        plan = replace(plan, redo=Redo("reroll", user, job_id=job_id, reply=reply))
        request = GenerationRequest(
            user=user, text=job.original_prompt, request_id=request_id or new_request_id(), reply=reply
        )
        if admission is not None:
            return (await self._run(request, plan, progress, started, admission))[0]
        async with self.admission(user, request_id=request.request_id) as own:
            return (await self._run(request, plan, progress, started, own))[0]

    async def vary(
        self,
        job_id: str,
        user: UserRef,
        fetch: FetchImage,
        progress: ProgressCallback | None = None,
        request_id: str = "",
        *,
        admission: Admission | None = None,
        reply: Mapping[str, Any] | None = None,
    ) -> GenerationResult:
        """🎨: the stored job's final prompt and size, its shown image (``fetch``) as the only reference, a new seed.

        ``fetch`` runs only after the ownership, allow-list and limit checks passed.
        """
        started = time.perf_counter()
        job = await self._owned_job(job_id, user)
        model, steps = model_spec(job.model), job.steps
        if model.max_references < 1:
            model = model_spec(self.config.reference_model)
            steps = resolve_steps(None, self.config.num_steps, model)
            if model.max_references < 1:
                raise InvalidReference(
                    "The configured models cannot use reference images.", code="unsupported", limit=0
                )
        parsed = ParsedPrompt(text=job.final_prompt, is_json=job.is_json, negative=job.negative, raw=True)
        size = ImageSize(job.width, job.height)
        plan = _Plan(parsed, model, size, steps, (), job.original_prompt, fetch=fetch)
        plan = replace(plan, redo=Redo("vary", user, job_id=job_id, reply=reply))
        request = GenerationRequest(
            user=user, text=job.original_prompt, request_id=request_id or new_request_id(), reply=reply
        )
        if admission is not None:
            return (await self._run(request, plan, progress, started, admission))[0]
        async with self.admission(user, request_id=request.request_id) as own:
            return (await self._run(request, plan, progress, started, own))[0]

    async def _owned_job(self, job_id: str, user: UserRef) -> StoredJob:
        job = await self._jobs.get(job_id)
        if job is None:
            raise JobNotFound(job_id)
        if job.user_key != user.key and not self.is_admin(user):
            raise NotPermitted("only the requester or an admin may re-roll or vary this image")
        return job

    async def models_left_today(self) -> list[tuple[ModelChoice, int | None]]:
        """Each model on offer and how many images the bot may still make with it today (None: no cap)."""
        if self._model_caps is None:
            return [(choice, None) for choice in self.models.choices]
        return [(choice, await self._model_caps.left_today(choice)) for choice in self.models.choices]

    async def refund_undelivered(self, result: GenerationResult) -> None:
        """Hand back the image of ``result`` to the user's limits: it was made but could not be delivered."""
        await _quietly(self._limiter.refund(UsageSlots(result.usage_ids)), "refunding an undelivered image")

    async def history(self, user: UserRef, limit: int = 50) -> list[StoredJob]:
        """The user's latest jobs, newest first (the web page's history)."""
        return await self._jobs.recent_for_user(user.key, limit)

    def planned_size(self, ratio: str, reference_count: int = 0, model: str | None = None) -> ImageSize:
        """The size an image with this ratio, number of references and model is drawn at (the web page's readout)."""
        parsed = ParsedPrompt("", ratio=normalise_ratio(ratio), model=model)
        return resolve_size(
            parsed,
            self._choose_model(self.models.resolve(parsed.model).spec, parsed, reference_count),
            self.config.megapixels,
        )

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
        model = self._choose_model(self.models.resolve(parsed.model).spec, parsed, reference_count)
        size = resolve_size(parsed, model, self.config.megapixels)
        steps = resolve_steps(parsed.steps, self.config.num_steps, model)
        optimise = not (parsed.raw or parsed.is_json)
        return _Plan(parsed, model, size, steps, (), parsed.text, optimise, parsed.seed)

    async def _prepare_references(self, references: tuple[bytes, ...]) -> tuple[bytes, ...]:
        """Decode and shrink each reference (admitted requests only: decoding is the expensive part).

        Every header is read before any pixel is decoded, so one refused file costs the others nothing.
        """
        limit, budget = self.config.max_reference_bytes, self._decode_budget
        costs = await asyncio.to_thread(
            lambda: [decode_cost(data, max_bytes=limit, budget=budget.total_bytes) for data in references]
        )
        return tuple(await asyncio.gather(*map(self._prepare_reference, references, costs)))

    async def _prepare_reference(self, data: bytes, cost: int) -> bytes:
        """One reference, decoded once its peak memory fits the budget."""
        async with self._decode_budget.reserve(cost):
            return await _to_thread_to_the_end(
                normalise_reference, data, max_bytes=self.config.max_reference_bytes
            )

    def _choose_model(self, model: ModelSpec, parsed: ParsedPrompt, reference_count: int) -> ModelSpec:
        """The chosen model (``FLUX_MODEL`` by default), unless the request needs references or a size it cannot take."""
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
        originals: _Originals | None = None,
    ) -> list[GenerationResult]:
        current_request_id.set(request.request_id)
        with self._tickets.open(request.request_id, request.user.key) as ticket:
            try:
                results = await self._taken(request, plan, progress, started, admission, originals)
            except asyncio.CancelledError:
                await self._ended(request, ok=False)
                if not ticket.takes_back():
                    raise  # shutting down, or the caller gave up: not ours to turn into a reply
                log.info("request %s cancelled by its user or an admin", request.request_id)
                raise Cancelled(request.request_id) from None
            except Exception:
                await self._ended(request, ok=False)
                raise
        await self._made(request)
        return results

    async def _made(self, request: GenerationRequest) -> None:
        """The images exist: a request answered elsewhere is marked as being delivered (``TakenOver`` if it is
        not ours any more); one answered over its own connection ends here."""
        if self.requests is None:
            return
        if request.reply is None:
            await self.requests.finish(request.request_id, ok=True)
        elif not await self.requests.delivering(request.request_id):
            raise TakenOver(request.request_id)

    async def _ended(self, request: GenerationRequest, *, ok: bool) -> None:
        # An adapter that answers in a chat ends the request itself once the user has read the error
        # (``finish_request``): until then another replica would still tell them after a crash.
        if self.requests is not None and request.reply is None:
            await self.requests.finish(request.request_id, ok=ok)

    async def finish_request(self, request_id: str, *, delivered: bool) -> None:
        """The user of a chat request has their answer (images, or a sentence): the request ends."""
        if self.requests is not None:
            await self.requests.finish(request_id, ok=delivered)

    async def resume(
        self,
        accepted: AcceptedRequest,
        progress: ProgressCallback | None = None,
        *,
        references: tuple[bytes, ...] = (),
        fetch: FetchImage | None = None,
    ) -> list[GenerationResult]:
        """Make a request another replica accepted and could not finish, with the charge it already made
        (the quota is counted once; a failure hands it back as usual). ``references``: the request's photos,
        downloaded again by the adapter; ``fetch``: a 🎨 vary's starting image."""
        redo = Redo.from_payload(accepted.payload)
        slots = [UsageSlots((event,)) for event in accepted.usage_ids]
        if not slots:  # an operator's request: nothing was charged
            slots = [UsageSlots() for _ in range(self.images_asked(_as_request(redo, accepted.id)))]
        # Its row is its place in the user's line: it keeps it (running, or waiting where it was), never queues
        # behind itself.
        ticket = LineTicket(accepted.id, accepted.user_key)
        admission = Admission(redo.user, slots, self._limiter, ticket=ticket, queue=self._queue)
        try:
            if redo.kind == "reroll" and redo.job_id is not None:
                return [await self.reroll(redo.job_id, redo.user, progress, accepted.id, admission=admission,
                                          reply=redo.reply)]  # fmt: skip
            if redo.kind == "vary" and redo.job_id is not None:
                if fetch is None:  # the adapter kept no way to fetch the image it starts from
                    raise InvalidReference("The image is no longer available.", code="download_failed")
                return [await self.vary(redo.job_id, redo.user, fetch, progress, accepted.id, admission=admission,
                                        reply=redo.reply)]  # fmt: skip
            request = replace(_as_request(redo, accepted.id), references=references)
            return await self.generate_all(request, progress, admission=admission)
        finally:
            await _quietly(admission.release(), "handing back unused admissions")

    async def _taken(
        self,
        request: GenerationRequest,
        plan: _Plan,
        progress: ProgressCallback | None,
        started: float,
        admission: Admission,
        originals: _Originals | None,
    ) -> list[GenerationResult]:
        taken = _Taken([admission.take(request.user) for _ in range(plan.count)])
        try:
            if not request.bypass_limits:
                taken.model = await self._take_model_images(plan)
            if plan.fetch is not None:
                plan = replace(
                    plan, references=await self._prepare_references((await plan.fetch(),)), fetch=None
                )
            if originals:
                # The plan holds the shrunk references; the originals (up to MAX_REFERENCE_MB each) are freed
                # now rather than stay alive through the queue and the upstream call.
                plan = replace(plan, references=await self._prepare_references(originals.take()))
            charged = tuple(event for slot in taken.slots for event in slot.event_ids)
            results, failed = await self._admitted(request, plan, progress, started, admission, charged)
        except BaseException as error:
            # A failed or cancelled generation does not count against the user's limits; a failure counts against
            # the failure budget (not when nothing could be tried: every account out, or a cancellation).
            if isinstance(error, Exception) and not isinstance(error, AllAccountsUnavailable | Cancelled):
                self._limiter.note_failure(request.user.key)
            await _quietly(self._give_back(taken, plan.count), "refunding a failed generation")
            raise
        if failed:  # some of the --n images failed: those are not counted either (but cost failure budget)
            self._limiter.note_failure(request.user.key, count=failed)
            await _quietly(self._give_back(taken, failed), "refunding failed images")
        return [
            replace(result, usage_ids=slot.event_ids)
            for result, slot in zip(results, taken.slots, strict=False)
        ]

    async def _take_model_images(self, plan: _Plan) -> list[UsageSlots]:
        choice = self.models.find(plan.model.name)
        if choice is None or self._model_caps is None:
            return []
        return await self._model_caps.acquire(choice, plan.count)

    async def _give_back(self, taken: _Taken, count: int) -> None:
        back = [taken.slots.pop() for _ in range(min(count, len(taken.slots)))]
        for slot in back:
            await self._limiter.refund(slot)
        if self._model_caps is not None:
            await self._model_caps.refund([taken.model.pop() for _ in range(min(count, len(taken.model)))])

    async def _admitted(
        self,
        request: GenerationRequest,
        plan: _Plan,
        progress: ProgressCallback | None,
        started: float,
        admission: Admission,
        charged: tuple[int, ...] = (),
    ) -> tuple[list[GenerationResult], int]:
        timings: dict[str, float] = {}

        async def on_queued(position: int) -> None:
            await _notify(progress, Progress(ProgressStage.QUEUED, position))

        ticket = admission.take_ticket()
        if (
            ticket is None
        ):  # admitted without a place (the operator's CLI): take it now, under the request's id
            ticket = await self._queue.register(request.user.key, request.request_id)
        await self._accept(request, plan, ticket, charged)
        async with self._queue.slot(
            request.user.key, on_queued, ticket=ticket, request_id=request.request_id
        ):
            timings["queue_ms"] = _ms_since(started)
            try:
                async with asyncio.timeout(self.config.deadline_seconds):
                    return await self._generate(request, plan, progress, timings, started)
            except TimeoutError:
                raise DeadlineExceeded(f"no image within {self.config.deadline_seconds:.0f}s") from None

    async def _accept(
        self, request: GenerationRequest, plan: _Plan, ticket: LineTicket, charged: tuple[int, ...]
    ) -> None:
        """Record the request before the first sign of life the user sees (queued, optimising, generating).

        Its row is the one its place in line registered (same id): it gets the charge, the payload and the lease.
        """
        if self.requests is None or plan.redo is None:
            return
        if ticket.id != request.request_id:  # a second row would hold the user's line against its own place
            log.warning(
                "request %s: its place in line is %s; it is not recorded", request.request_id, ticket.id
            )
            return
        await self.requests.accept(request.request_id, plan.redo, charged)

    async def _generate(
        self,
        request: GenerationRequest,
        plan: _Plan,
        progress: ProgressCallback | None,
        timings: dict[str, float],
        started: float,
    ) -> tuple[list[GenerationResult], int]:
        """Optimise once, then make ``plan.count`` images at once; returns the images and how many failed."""
        prompt = OptimisedPrompt(plan.parsed.text, optimised=False)
        if plan.optimise and self._optimiser is not None:
            await _notify(progress, Progress(ProgressStage.OPTIMISING))
            step = time.perf_counter()
            prompt = await self._optimiser.optimise(
                plan.parsed.text, size=plan.size, request_id=request.request_id
            )
            timings["optimise_ms"] = _ms_since(step)
        await _notify(progress, Progress(ProgressStage.GENERATING))
        if plan.count == 1:
            return [await self._one(request, plan, prompt, _seeds(plan)[0], timings, started)], 0
        outcomes = await asyncio.gather(
            *(self._one(request, plan, prompt, seed, dict(timings), started) for seed in _seeds(plan)),
            return_exceptions=True,
        )
        results = [outcome for outcome in outcomes if isinstance(outcome, GenerationResult)]
        errors = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
        if not results:
            raise errors[0]
        for error in errors:
            log.warning("request %s: one of %d images failed: %s", request.request_id, plan.count, error)
        return results, len(errors)

    async def _one(
        self,
        request: GenerationRequest,
        plan: _Plan,
        prompt: OptimisedPrompt,
        seed: int,
        timings: dict[str, float],
        started: float,
    ) -> GenerationResult:
        job = ProviderJob(
            model=plan.model,
            prompt=prompt.text[: plan.model.max_prompt_chars],
            size=plan.size,
            seed=seed,
            steps=plan.steps,
            negative=plan.parsed.negative if plan.model.accepts_negative else None,
            references=plan.references,
        )
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
            seed=seed,
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


def _as_request(redo: Redo, request_id: str) -> GenerationRequest:
    return GenerationRequest(
        redo.user, redo.text, options=redo.options, request_id=request_id, reply=redo.reply
    )


def _seeds(plan: _Plan) -> list[int]:
    """The user's seed and the ones after it, or a fresh random seed per image."""
    if plan.seed is not None:
        return [(plan.seed + index) % SEED_RANGE for index in range(plan.count)]
    return [secrets.randbelow(SEED_RANGE) for _ in range(plan.count)]


def _user_error(failure: UpstreamFailure) -> Exception:
    if failure.kind is FailureKind.CONTENT_FILTER:
        return ContentFiltered(failure.detail)
    if failure.kind is FailureKind.BAD_INPUT and "image" in failure.detail.lower():
        return InvalidReference(
            "One of the reference images could not be read by the model.", code="unreadable"
        )
    return UpstreamRejected(failure.detail)


class _Originals:
    """A request's downloaded photos, handed from frame to frame until decoded, then let go (``take``).

    Every frame on the way would otherwise keep them alive for the whole generation.
    """

    def __init__(self, references: tuple[bytes, ...]) -> None:
        self._references = references

    def __len__(self) -> int:
        return len(self._references)

    def take(self) -> tuple[bytes, ...]:
        references, self._references = self._references, ()
        return references


def _handed_over(request: GenerationRequest) -> tuple[GenerationRequest, _Originals]:
    """``request`` without its photos, and the photos in a holder that gives them up once."""
    return replace(request, references=()), _Originals(request.references)


async def _to_thread_to_the_end(function: Callable[..., bytes], *args: object, **kwargs: object) -> bytes:
    """``asyncio.to_thread``, but a cancelled caller still waits for the thread: a decode cannot be stopped,
    and the memory it holds must stay counted in the budget until it is really freed."""
    work = asyncio.ensure_future(asyncio.to_thread(function, *args, **kwargs))
    try:
        return await asyncio.shield(work)
    except asyncio.CancelledError:
        await asyncio.wait([work])
        raise


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
