"""Every route and dependency of the HTTP side runs on the event loop, never in FastAPI's thread pool.

FastAPI runs a plain ``def`` endpoint or dependency in a worker thread: one thread hop per request, which under
load cost more than the rest of a request (``bench/http_api.py``). This keeps a new ``def`` from slipping in.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from tests.adapters.http.conftest import RunningApi


def _api_routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    """The app's routes, through the routers it includes (FastAPI keeps those as one entry each)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _api_routes(included.routes)


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    if dependant.call is not None:
        yield dependant.call
    for sub in dependant.dependencies:
        yield from _calls(sub)


def _runs_on_the_loop(call: Callable[..., Any]) -> bool:
    if inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call):
        return True
    method = getattr(call, "__call__", None)  # noqa: B004 - an instance used as a dependency (HTTPBearer)
    return not inspect.isfunction(call) and inspect.iscoroutinefunction(method)


async def test_no_route_or_dependency_runs_in_the_thread_pool(api: RunningApi) -> None:
    routes = list(_api_routes(api.adapter.app.routes))
    assert any(route.path == "/v1/images/generations" for route in routes)
    in_threads = sorted(
        {
            f"{route.path}: {getattr(call, '__qualname__', repr(call))}"
            for route in routes
            for call in _calls(route.dependant)
            if not _runs_on_the_loop(call)
        }
    )
    assert in_threads == []


def test_the_check_tells_a_plain_function_from_a_coroutine() -> None:
    def plain() -> None: ...

    async def coroutine() -> None: ...

    assert not _runs_on_the_loop(plain)
    assert _runs_on_the_loop(coroutine)
