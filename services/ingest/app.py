"""Composition root of ingest: builds the principal registry, the rules, the database, the
publisher and the FastAPI app; connects nothing at import time."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol, cast

from fastapi import FastAPI
from sqlalchemy.engine import make_url
from starlette.middleware import Middleware

from corridor import db
from corridor.auth import rate_limit_storage
from corridor.clock import utcnow
from corridor.kafka import KafkaMetrics, Publisher, ensure_topics
from corridor.metrics import make_registry
from corridor.security import build_security
from corridor.topology import load_topology
from corridor.web import create_app as create_service_app
from services.ingest.api import EventsApi
from services.ingest.batching import EventPublisher, TurnBatcher
from services.ingest.bookings import Shipments, Store
from services.ingest.db import MIGRATIONS, SqlStore
from services.ingest.domain import Rules
from services.ingest.handlers import Ingest
from services.ingest.limits import BodySizeLimit, RateLimiter
from services.ingest.metrics import IngestMetrics
from services.ingest.openapi import document
from services.ingest.settings import IngestSettings
from services.ingest.standards.api import StandardsApi
from services.ingest.standards.capture import CaptureJobs
from services.ingest.standards.jobs import CaptureJobStore

GC_THRESHOLDS = (20_000, 20, 20)


def tune_garbage_collector() -> None:
    """Ingest allocates many short-lived objects per request beside long-lived ones (the
    registry, topology, routes, caches, SQLAlchemy's metadata); with the default
    thresholds the collector scans the long-lived ones far too often (a third of the hot
    path's CPU). The young generation is collected less often, and what is alive once the
    service has started is frozen out of the collections (``freeze_after_start``)."""
    global FREEZE_AFTER_START
    gc.set_threshold(*GC_THRESHOLDS)
    FREEZE_AFTER_START = True


# Set by ``tune_garbage_collector`` (the service process), never in the tests' processes.
FREEZE_AFTER_START = False


class ServicePublisher(EventPublisher, Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def ping(self) -> bool: ...


def create_app(
    settings: IngestSettings | None = None,
    *,
    publisher: ServicePublisher | None = None,
    store: Store | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> FastAPI:
    """The ingest app. Tests pass a fake ``publisher`` (then no topic is created) and may
    pass a fake ``store`` (then no database is opened)."""
    settings = settings or IngestSettings()
    topology = load_topology()
    registry = make_registry()
    # Raises (and so stops the start) on a broken registry, or on demo keys in production.
    security = build_security(settings, topology, registry, "ingest", clock)
    engine = None
    if store is None:
        _sqlite_directory(settings.database_url)
        engine = db.make_engine(settings.database_url)
        store = SqlStore(engine)
    service_store: Store = store
    if publisher is None:
        kafka_publisher = Publisher(
            settings.kafka, "corridor-ingest", KafkaMetrics(registry, "ingest")
        )
        publisher, create_topics = kafka_publisher, True
    else:
        create_topics = False
    service_publisher: ServicePublisher = publisher
    shipments = Shipments(
        service_store,
        ttl=settings.booking_cache_seconds,
        miss_ttl=settings.booking_miss_cache_seconds,
        size=settings.booking_cache_size,
    )
    rules = Rules(
        topology,
        security.rules,
        max_future=timedelta(seconds=settings.max_future_seconds),
    )
    denials = security.authenticator.denials
    ingest = Ingest(
        TurnBatcher(service_publisher),
        rules,
        security.rules,
        shipments,
        IngestMetrics(registry),
        denials,
        clock,
    )
    # EPCIS capture jobs live in ingest's database (none when a test fakes the store).
    jobs = None
    if engine is not None:
        jobs = CaptureJobs(
            ingest,
            CaptureJobStore(engine),
            topology,
            security.rules.registry,
            clock,
            registry,
            retention=timedelta(days=settings.capture_job_retention_days),
        )
    limiter = RateLimiter(
        rate_limit_storage(settings.rate_limit_storage),
        settings.rate_limit_per_second,
        settings.rate_limit_burst,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if engine is not None:
            await db.migrate(engine, MIGRATIONS)
        if create_topics:
            await ensure_topics(settings.kafka, client_id="corridor-ingest")
        await service_publisher.start()
        if jobs is not None:
            await jobs.start()
        if FREEZE_AFTER_START:
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            if jobs is not None:
                await jobs.stop()
            await service_publisher.stop()
            if engine is not None:
                await cast(SqlStore, service_store).close()
                await engine.dispose()

    app = create_service_app(
        service="ingest",
        title="corridor ingest",
        description="Carriers (railways, ports, shipping lines) post shipment events with "
        "their API key; valid events are published to `cargo.events.v1` and acknowledged "
        "only once the broker has acknowledged them. Errors are RFC 9457 problem+json.",
        registry=registry,
        checks=lambda: {"database": service_store.ping},
        # Kafka away: carriers get 503 with Retry-After from ingest itself (counted), not an
        # uncounted error from a load balancer with no ready pod (corridor.health).
        degraded=lambda: {"broker": service_publisher.ping},
        lifespan=lifespan,
        # The service reports through Prometheus; FastAPI's OpenTelemetry hook would only
        # look up (absent) providers on every request, ~5% of the hot path's CPU.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    # Innermost (appended, not inserted): the HTTP metrics middleware still sees the 413s.
    app.user_middleware.append(Middleware(BodySizeLimit, max_bytes=settings.max_body_bytes))
    # First in the routing table: the hot path is matched before anything else.
    app.state.authenticator = security.authenticator
    api = EventsApi(ingest, security.authenticator, limiter, settings.retry_after_seconds)
    standards = StandardsApi(api, topology, jobs)
    app.router.routes[:0] = api.routes() + standards.routes()
    document(app)
    return app


def _sqlite_directory(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(str(parsed.database)).parent.mkdir(parents=True, exist_ok=True)
