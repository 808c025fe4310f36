"""Composition root of ingest: builds the registry, rules, publisher and the FastAPI app;
connects nothing at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Protocol

from fastapi import FastAPI
from starlette.middleware import Middleware

from corridor.kafka import KafkaMetrics, Publisher, ensure_topics, utcnow
from corridor.metrics import make_registry
from corridor.topology import load_topology
from corridor.web import create_app as create_service_app
from services.ingest.api import EventsApi
from services.ingest.batching import TurnBatcher
from services.ingest.carriers import load_registry
from services.ingest.domain import Rules
from services.ingest.handlers import EventPublisher, Ingest, IngestMetrics
from services.ingest.limits import BodySizeLimit, RateLimiter
from services.ingest.openapi import document
from services.ingest.settings import IngestSettings


class ServicePublisher(EventPublisher, Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def ping(self) -> bool: ...


def create_app(
    settings: IngestSettings | None = None,
    *,
    publisher: ServicePublisher | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> FastAPI:
    """The ingest app. Tests pass a fake ``publisher`` (then no topic is created)."""
    settings = settings or IngestSettings()
    topology = load_topology()
    # Raises (and so stops the start) on a broken registry, or on demo keys in production.
    carriers = load_registry(settings.carriers_file, topology, settings.environment)
    registry = make_registry()
    if publisher is None:
        kafka_publisher = Publisher(
            settings.kafka, "corridor-ingest", KafkaMetrics(registry, "ingest")
        )
        publisher, create_topics = kafka_publisher, True
    else:
        create_topics = False
    service_publisher: ServicePublisher = publisher
    ingest = Ingest(
        TurnBatcher(service_publisher),
        Rules(topology, timedelta(seconds=settings.max_future_seconds)),
        IngestMetrics(registry),
        clock,
    )
    limiter = RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if create_topics:
            await ensure_topics(settings.kafka, client_id="corridor-ingest")
        await service_publisher.start()
        try:
            yield
        finally:
            await service_publisher.stop()

    app = create_service_app(
        service="ingest",
        title="corridor ingest",
        description="Carriers (railways, ports, shipping lines) post shipment events with "
        "their API key; valid events are published to `cargo.events.v1` and acknowledged "
        "only once the broker has acknowledged them. Errors are RFC 9457 problem+json.",
        registry=registry,
        checks=lambda: {"broker": service_publisher.ping},
        lifespan=lifespan,
        # The service reports through Prometheus; FastAPI's OpenTelemetry hook would only
        # look up (absent) providers on every request, ~5% of the hot path's CPU.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    # Innermost (appended, not inserted): the HTTP metrics middleware still sees the 413s.
    app.user_middleware.append(Middleware(BodySizeLimit, max_bytes=settings.max_body_bytes))
    # First in the routing table: the hot path is matched before anything else.
    api = EventsApi(ingest, carriers, limiter, settings.retry_after_seconds)
    app.router.routes[:0] = api.routes()
    document(app)
    return app
