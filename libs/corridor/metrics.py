"""One explicit Prometheus registry per process, its ``/metrics`` route and HTTP metrics."""

from __future__ import annotations

import time
import uuid

from fastapi import APIRouter, Response
from opentelemetry import trace
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.openmetrics import exposition as openmetrics
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from corridor import tracing
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
    async def metrics(request: Request) -> Response:
        await SATURATION.measure_loop_lag()
        # OpenMetrics when asked for (Prometheus does, with exemplar storage on): the only
        # format that carries the exemplars (trace ids) of the latency histograms.
        if "application/openmetrics-text" in request.headers.get("accept", ""):
            body = await run_in_threadpool(openmetrics.generate_latest, registry)
            return Response(body, media_type=openmetrics.CONTENT_TYPE_LATEST)
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
            if not tracing.enabled():
                await observed(scope, receive, send)
                return
            with tracing.tracer().start_as_current_span(
                f"{scope['method']}",
                context=tracing.from_http(scope.get("headers", ())),
                kind=tracing.SERVER,
            ):
                await observed(scope, receive, send)

        async def observed(scope: Scope, receive: Receive, send: Send) -> None:
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
                    exemplar = _traced(scope["method"], route, status)
                    self.duration.labels(*labels).observe(time.perf_counter() - started, exemplar)
                    self.requests.labels(*labels).inc()

        return wrapped


def _traced(method: str, route: str, status: int) -> dict[str, str] | None:
    """Name the request's span after its route, and the exemplar of its sample (its trace
    id), when it is traced."""
    if not tracing.enabled():
        return None
    span = trace.get_current_span()
    span.update_name(f"{method} {route}")
    span.set_attributes(
        {"http.request.method": method, "http.route": route, "http.response.status_code": status}
    )
    if status >= 500:
        span.set_status(trace.StatusCode.ERROR)
    trace_id = tracing.trace_id()
    return {"trace_id": trace_id} if trace_id else None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")[:128]
    return None
