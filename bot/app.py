"""Builds the object graph once from the settings; one owner per resource, closed together."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import httpx

from bot.core.accounts import AccountPool
from bot.core.bookkeeping import Bookkeeper, WriteBehindJobs
from bot.core.clock import Clock, SystemClock
from bot.core.housekeeping import Housekeeper
from bot.core.limits import AccessPolicy, RateLimiter
from bot.core.model_choice import ModelCaps, ModelMenu
from bot.core.optimiser import PromptOptimiser
from bot.core.persistence import Storage
from bot.core.prompt_optimiser import ChatModel, LLMPromptOptimiser
from bot.core.queue import JobQueue
from bot.core.requests import RequestJournal, replica_id
from bot.core.service import ImageService, ServiceConfig
from bot.providers.base import ImageProvider
from bot.providers.catalogue import model_spec
from bot.providers.llm import ExternalChat, WorkersAIChat
from bot.providers.workers_ai import WorkersAIClient
from bot.settings import Settings
from bot.storage.postgres import PostgresStorage
from bot.storage.sqlite import SqliteStorage

log = logging.getLogger(__name__)

#: connections beyond MAX_CONCURRENT_GENERATIONS, for prompt rewrites and token checks beside the images
HTTP_CONNECTION_HEADROOM = 20


@dataclass
class App:
    settings: Settings
    storage: Storage
    http: httpx.AsyncClient
    provider: ImageProvider
    pool: AccountPool
    service: ImageService
    clock: Clock
    #: accepted requests and their leases; ``run`` keeps them up (``async with app.requests``)
    requests: RequestJournal


def create_http_client(settings: Settings, *, timeout: float | None = None) -> httpx.AsyncClient:
    """An AsyncClient with the configured timeouts and proxy (``PROXY_URL``; else ``HTTPS_PROXY`` from the env)."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(
            timeout or settings.http_timeout_seconds, connect=settings.http_connect_timeout_seconds
        ),
        proxy=settings.proxy_url,
        headers={"User-Agent": "imagine-bot"},
        # httpx's default pool is 100 connections: with more generations allowed at once, the rest would
        # wait for a connection (and time out in the pool). Headroom for prompt rewrites and token checks.
        limits=httpx.Limits(
            max_connections=settings.max_concurrent_generations + HTTP_CONNECTION_HEADROOM,
            max_keepalive_connections=settings.max_concurrent_generations,
        ),
    )


def build_optimiser(settings: Settings, http: httpx.AsyncClient, pool: AccountPool) -> PromptOptimiser | None:
    """The prompt optimiser for these settings (None: prompts are used as written)."""
    if not settings.prompt_optimization:
        return None
    timeout = settings.prompt_optimization_timeout_seconds
    chat: ChatModel
    if settings.external_api_base:
        if not settings.external_model:
            log.warning("EXTERNAL_MODEL is not set: the LLM server must pick its own model")
        chat = ExternalChat(
            http,
            settings.external_api_base,
            model=settings.external_model,
            api_key=settings.external_api_key,
            timeout=timeout,
        )
    else:
        workers_ai = WorkersAIClient(http, settings.cf_api_base_url)
        chat = WorkersAIChat(workers_ai, pool, model=settings.prompt_optimization_cf_model, timeout=timeout)
    # The shared client is reused with a per-request timeout, so there is nothing more to close.
    max_chars = min(
        model_spec(m).max_prompt_chars for m in (settings.flux_model, settings.flux_reference_model)
    )
    log.info("prompt optimisation by %s, timeout %gs", chat.label, timeout)
    return LLMPromptOptimiser(chat, timeout=timeout, max_chars=max_chars)


def open_storage(settings: Settings) -> AbstractAsyncContextManager[Storage]:
    """The backend the settings name: PostgreSQL at ``DATABASE_URL``, else SQLite at ``DATABASE_PATH``."""
    if settings.database_url is not None:
        return PostgresStorage(
            settings.database_url.get_secret_value(), pool_size=settings.database_pool_size
        )
    return SqliteStorage(settings.database_path)


@asynccontextmanager
async def open_app(
    settings: Settings, *, clock: Clock | None = None, provider: ImageProvider | None = None
) -> AsyncIterator[App]:
    """Open the database and HTTP client, restore account state, and build the service."""
    clock = clock or SystemClock()
    async with AsyncExitStack() as stack:
        storage = await stack.enter_async_context(open_storage(settings))
        http = await stack.enter_async_context(create_http_client(settings))
        provider = provider or WorkersAIClient(http, settings.cf_api_base_url)
        # Entered after the database, so it is closed (its pending writes finished) before the database is.
        bookkeeper = Bookkeeper()
        stack.push_async_callback(bookkeeper.close)
        pool = AccountPool(
            settings.accounts,
            storage.accounts,
            clock,
            strategy=settings.account_strategy,
            capacity_cooldown=settings.capacity_cooldown_seconds,
            attempt_deadline=settings.http_timeout_seconds,
            midnight_grace=settings.midnight_grace_minutes * 60,
            misconfigured_recheck=settings.misconfigured_recheck_minutes * 60,
            bookkeeper=bookkeeper,
            feed=storage.feed,
            probe_patience=settings.account_probe_patience_seconds,
        )
        await pool.load()
        # Hear what other replicas learn about the accounts (a no-op on SQLite: one process knows it all).
        await stack.enter_async_context(pool.shared())
        # a job is written before its image goes out when the database keeps up, behind it when it does not
        jobs = WriteBehindJobs(storage.jobs, bookkeeper)
        ledger = storage.ledger
        await stack.enter_async_context(
            Housekeeper(storage.jobs, ledger, clock, albums=storage.albums, requests=storage.requests)
        )
        requests = RequestJournal(
            storage.requests,
            ledger,
            clock,
            replica=replica_id(settings.replica_id),
            lease=settings.request_lease_seconds,
            max_takeovers=settings.request_max_takeovers,
            # SQLite serves one process: an open request of another replica id is a previous run's
            single_process=storage.feed is None,
            bookkeeper=bookkeeper,
        )
        # The CLI's own requests: a generate that crashed has no one to answer (its charge was nothing anyway).
        requests.register("cli", None)
        queue = JobQueue(
            per_user=settings.max_jobs_per_user,
            max_waiting_per_user=settings.max_queued_per_user,
            global_limit=settings.max_concurrent_generations,
            lines=storage.lines,
            poll_every=settings.queue_poll_seconds,
            # the rows the line registers are this replica's leases from the start (bot.core.requests)
            replica=requests.replica,
            clock=clock,
        )
        # Hear when another replica's request leaves a user's line (a no-op on SQLite: one process).
        await stack.enter_async_context(queue.shared())
        service = ImageService(
            ServiceConfig.from_settings(settings),
            access=AccessPolicy.from_lists(settings.admin_ids, settings.allowed_ids),
            limiter=RateLimiter(
                ledger,
                clock,
                per_minute=settings.rate_limit_per_minute,
                per_day=settings.rate_limit_per_day,
                failures_per_minute=settings.failed_attempts_per_minute,
            ),
            queue=queue,
            pool=pool,
            provider=provider,
            jobs=jobs,
            clock=clock,
            optimiser=build_optimiser(settings, http, pool),
            models=ModelMenu.build(settings.flux_models, settings.flux_model, settings.model_daily_limits),
            model_caps=ModelCaps(ledger, clock),
            requests=requests,
            cancels=storage.cancels,
        )
        # Cancel this replica's requests when their ❌ lands on another replica (in-process on SQLite).
        await stack.enter_async_context(service.hearing_cancels())
        yield App(settings, storage, http, provider, pool, service, clock, requests)
