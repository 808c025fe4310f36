"""One explicit Prometheus registry per process, its ``/metrics`` route and HTTP metrics."""

from __future__ import annotations

import time
import uuid

from fastapi import APIRouter, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from corridor.logging import correlation_id
from corridor.saturation import SATURATION

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def make_registry() -> CollectorRegistry:
    """A fresh registry with the process, platform, GC and saturation collectors."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    registry.register(SATURATION)
    return registry


def metrics_router(registry: CollectorRegistry) -> APIRouter:
    router = APIRouter()

    @router.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        await SATURATION.measure_loop_lag()
        body = await run_in_threadpool(generate_latest, registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return router


class HttpMetrics:
    """Requests and their duration, labelled by the route template (bounded cardinality)."""

    def __init__(self, registry: CollectorRegistry, service: str) -> None:
        self.duration = Histogram(
            f"corridor_{service}_http_request_duration_seconds",
            "HTTP request duration, by method, route template and status code.",
            ["method", "route", "status"],
            registry=registry,
            buckets=LATENCY_BUCKETS,
        )
        self.requests = Counter(
            f"corridor_{service}_http_requests_total",
            "HTTP requests, by method, route template and status code.",
            ["method", "route", "status"],
            registry=registry,
        )

    def middleware(self, app: ASGIApp) -> ASGIApp:
        """Pure ASGI middleware (cheaper than ``BaseHTTPMiddleware`` on the hot path).

        It also sets the correlation id of the request from ``X-Request-ID`` (or a new
        one) for the logs, and echoes it in the response.
        """

        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            started = time.perf_counter()
            request_id = _header(scope, b"x-request-id") or uuid.uuid4().hex
            token = correlation_id.set(request_id)
            status = 500

            async def send_wrapper(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                    message["headers"] = [
                        *message.get("headers", []),
                        (b"x-request-id", request_id.encode()),
                    ]
                await send(message)

            try:
                await app(scope, receive, send_wrapper)
            finally:
                correlation_id.reset(token)
                route = getattr(scope.get("route"), "path", "unmatched")
                if route != "/metrics":
                    labels = (scope["method"], route, str(status))
                    self.duration.labels(*labels).observe(time.perf_counter() - started)
                    self.requests.labels(*labels).inc()

        return wrapped


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")[:128]
    return None
