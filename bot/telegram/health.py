"""HTTP endpoints for operators: /metrics for Prometheus, /healthz and /readyz for load balancers.

- `/healthz` (liveness): 200 while the process serves HTTP and the index can be read;
  503 when reading it fails (a restart may help). During start-up, before the engine is
  loaded, it is 200: the process is alive and still loading.
- `/readyz` (readiness): 200 once the engine is loaded and the bot takes updates; 503
  while starting and again from the moment a graceful stop begins, so a load balancer
  stops sending webhooks to a replica that is going away.
- `/metrics`: the Prometheus text format of `Metrics`.

The same routes are served on `ISNAD_METRICS_LISTEN` and, in webhook mode, on the
webhook listener, so a load balancer can check the very port it forwards to.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web

from bot.telegram.metrics import CONTENT_TYPE, Metrics

log = logging.getLogger(__name__)


class Health:
    """What the endpoints report; the app flips `ready` and sets `index_check`."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self.ready = False
        self.index_check: Callable[[], Any] | None = None  # raises when the index cannot be read

    async def healthz(self, request: web.Request) -> web.Response:
        check = self.index_check
        if check is None:
            return web.Response(text="ok (starting)\n")
        try:
            await asyncio.to_thread(check)
        except Exception as exc:
            log.warning("health check: the index cannot be read: %s", type(exc).__name__)
            return web.Response(status=503, text=f"index unreadable: {type(exc).__name__}\n")
        return web.Response(text="ok\n")

    async def readyz(self, request: web.Request) -> web.Response:
        if self.ready:
            return web.Response(text="ready\n")
        return web.Response(status=503, text="not ready\n")

    async def metrics_page(self, request: web.Request) -> web.Response:
        body = self.metrics.exposition()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

    def add_routes(self, app: web.Application, with_metrics: bool = True) -> None:
        """Attach /healthz, /readyz (and /metrics) to an aiohttp app."""
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/readyz", self.readyz)
        if with_metrics:
            app.router.add_get("/metrics", self.metrics_page)


def parse_listen(value: str, name: str) -> tuple[str, int]:
    """HOST:PORT (IPv6 hosts in brackets) as a host and a port."""
    from indexing.errors import ConfigError

    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"{name} must be HOST:PORT, e.g. 127.0.0.1:9464")
    return host.strip("[]"), int(port)


async def start_server(health: Health, listen: str) -> web.AppRunner:
    """Serve /metrics, /healthz and /readyz on ISNAD_METRICS_LISTEN."""
    host, port = parse_listen(listen, "ISNAD_METRICS_LISTEN")
    app = web.Application()
    health.add_routes(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("metrics and health on http://%s:%d/metrics", host, port)
    return runner
