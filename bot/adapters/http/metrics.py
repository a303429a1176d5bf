"""``GET /metrics``: Prometheus text through ``prometheus-client`` (a registry per app, so tests stay apart)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from bot.adapters.http.context import Context
from bot.core.models import AccountHealth, GenerationResult
from bot.errors import ImagineError

router = APIRouter()

_LATENCY_BUCKETS = (0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 180)


class Metrics:
    """The HTTP side's counters and the core's state, read when scraped."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.images = Counter(
            "imagine_images", "Images delivered over the HTTP API", ["route"], registry=self.registry
        )
        self.upstream_calls = Counter(
            "imagine_upstream_calls",
            "Upstream calls made for HTTP API generations, by the account that served and the outcome",
            ["account", "outcome"],
            registry=self.registry,
        )
        self.failures = Counter(
            "imagine_failures", "HTTP API generations that failed, by kind", ["kind"], registry=self.registry
        )
        self.generation_seconds = Histogram(
            "imagine_generation_seconds",
            "Time from request to image (queue, optimiser and upstream included)",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.queue_seconds = Histogram(
            "imagine_queue_wait_seconds",
            "Time waiting for a generation slot",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "imagine_queue_depth", "Generations waiting for a slot", registry=self.registry
        )
        self.in_flight = Gauge(
            "imagine_http_in_flight", "HTTP API generations running", registry=self.registry
        )
        self.account_images = Gauge(
            "imagine_account_images_today",
            "Images each account made today (UTC)",
            ["account"],
            registry=self.registry,
        )
        self.account_neurons = Gauge(
            "imagine_account_neurons_today",
            "Neurons each account used today (UTC)",
            ["account"],
            registry=self.registry,
        )
        self.account_up = Gauge(
            "imagine_account_healthy", "1 when the account can serve now", ["account"], registry=self.registry
        )

    def delivered(self, route: str, result: GenerationResult) -> None:
        """Count one image made for ``route``."""
        self.images.labels(route=route).inc()
        account = f"#{result.account_index}"
        self.upstream_calls.labels(account=account, outcome="ok").inc()
        if result.upstream_calls > 1:  # the calls before the one that served failed over
            self.upstream_calls.labels(account="other", outcome="failed_over").inc(result.upstream_calls - 1)
        total = result.timings_ms.get("total_ms")
        if total is not None:
            self.generation_seconds.observe(total / 1000)
        queued = result.timings_ms.get("queue_ms")
        if queued is not None:
            self.queue_seconds.observe(queued / 1000)

    def failed(self, error: BaseException) -> None:
        """Count one failed generation by its kind (the domain error's class)."""
        kind = type(error).__name__ if isinstance(error, ImagineError) else "unexpected"
        self.failures.labels(kind=kind).inc()


def metrics_of(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


@router.get(
    "/metrics",
    tags=["system"],
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
)
async def metrics_text(request: Request, context: Context) -> Response:
    """Counters since start, plus the queue and each account's state read now."""
    metrics = metrics_of(request)
    metrics.queue_depth.set(context.service.queue_depth)
    metrics.in_flight.set(len(context.in_flight))
    for status in await context.service.account_statuses():
        label = f"#{status.index}"
        metrics.account_images.labels(account=label).set(status.images_today)
        metrics.account_neurons.labels(account=label).set(status.neurons_today)
        metrics.account_up.labels(account=label).set(int(status.health is AccountHealth.HEALTHY))
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
