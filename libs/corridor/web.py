"""The FastAPI application every service starts from: errors, health, metrics, ids."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from types import FrameType
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from corridor import tracing
from corridor.health import LivenessCheck, ReadinessCheck, health_router
from corridor.metrics import HttpMetrics, metrics_router
from corridor.problems import install_problem_handlers
from corridor.settings import KafkaSettings
from corridor.shutdown import HTTP_DRAIN_SECONDS, StopWatchdog, stop_budget_seconds

if TYPE_CHECKING:
    import uvicorn

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def create_app(
    *,
    service: str,
    title: str,
    description: str,
    registry: CollectorRegistry,
    checks: Callable[[], Mapping[str, ReadinessCheck]],
    liveness: Callable[[], Mapping[str, LivenessCheck]] = dict,
    degraded: Callable[[], Mapping[str, ReadinessCheck]] = dict,
    lifespan: Lifespan | None = None,
    **kwargs: Any,
) -> FastAPI:
    app = FastAPI(title=title, description=description, lifespan=lifespan, **kwargs)
    install_problem_handlers(app)
    app.include_router(health_router(checks, liveness, degraded))
    app.include_router(metrics_router(registry))
    http_metrics = HttpMetrics(registry, service)
    app.add_middleware(_Wrap, wrap=http_metrics.middleware)
    return app


class _Wrap:
    """Adapts a function ``app -> app`` to Starlette's middleware class protocol."""

    def __init__(self, app: Any, wrap: Callable[[Any], Any]) -> None:
        self._app = wrap(app)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self._app(scope, receive, send)


def budgeted_server(config: uvicorn.Config, watchdog: StopWatchdog) -> uvicorn.Server:
    """uvicorn's server, with ``watchdog`` armed by the first stop signal (SIGTERM, SIGINT)."""
    import uvicorn

    class BudgetedServer(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            watchdog.arm()
            super().handle_exit(sig, frame)

    return BudgetedServer(config)


def serve(service: str, factory: str, host: str, port: int, log_level: str) -> None:
    """Run one service under uvicorn (uvloop, httptools), logging JSON, stopping within
    its budget (corridor.shutdown), traced when TRACING_ENABLED (corridor.tracing)."""
    import uvicorn

    from corridor.logging import configure_logging

    configure_logging(service, log_level)
    config = uvicorn.Config(
        factory,
        factory=True,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=HTTP_DRAIN_SECONDS,
    )
    budget = stop_budget_seconds(KafkaSettings())
    tracing.configure(service, tracing.TracingSettings())
    try:
        budgeted_server(config, StopWatchdog(budget)).run()
    finally:
        tracing.shutdown()
