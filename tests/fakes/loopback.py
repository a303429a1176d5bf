"""The one way the fakes listen: an aiohttp app on 127.0.0.1, on a free port."""

from __future__ import annotations

from aiohttp import web


async def serve_on_loopback(
    app: web.Application, *, shutdown_timeout: float = 2.0
) -> tuple[web.AppRunner, int]:
    """Start ``app`` on 127.0.0.1 with an ephemeral port; returns the runner (to ``cleanup()``) and the port."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=shutdown_timeout)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, int(runner.addresses[0][1])
