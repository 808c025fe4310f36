"""Composition root of tracker: engine, publisher, consumer and the FastAPI app; connects
nothing at import time.

Start-up: migrate the database, create the topics, start the publisher, queue the states a
previous run may not have published, then start the consumer loop, the gauge refresher and
the clock (what time alone changes: ``handlers/clock.py``). Shutdown (SIGTERM through
uvicorn's lifespan): stop the consumer loop after its current batch and the clock after its
current round, publish what is pending, record it, then close the publisher and the engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from corridor import db
from corridor.clock import utcnow
from corridor.kafka import (
    TOPICS,
    ConsumerLoop,
    KafkaMetrics,
    Progress,
    Publisher,
    TopicSpec,
    ensure_topics,
)
from corridor.metrics import make_registry
from corridor.security import build_security
from corridor.topology import load_topology
from corridor.web import create_app as create_service_app
from services.tracker import api, web
from services.tracker.consumer import EventsHandler
from services.tracker.db import queries
from services.tracker.db.unit import SqlUnitOfWork
from services.tracker.domain.clock import ClockRules
from services.tracker.handlers import Tracker
from services.tracker.metrics import TrackerMetrics
from services.tracker.publication import StatePublisher
from services.tracker.settings import TrackerSettings

log = logging.getLogger(__name__)

MIGRATIONS = str(Path(__file__).with_name("migrations"))
PRUNE_EVERY_SECONDS = 3600.0
# The young generation is collected after 100,000 net allocations: a batch of 2,000 events
# allocates objects that die with it, and at 20,000 each batch's were scanned and promoted
# several times (about 5 % of the apply's time, bench.tracker).
GC_THRESHOLDS = (100_000, 20, 20)
STOP_TIMEOUT_SECONDS = 20.0
MAX_CLOCK_ROUNDS = 100  # per tick; each round is bounded by clock_batch_size


def tune_garbage_collector() -> None:
    """The tracker keeps thousands of long-lived views (its cache) and allocates many
    short-lived objects per batch; with the default thresholds the collector scans the
    long-lived ones far too often. Objects alive after start-up are frozen out of the
    collections, and the young generation is collected less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLDS[0], GC_THRESHOLDS[1], GC_THRESHOLDS[2])


def topic_specs(settings: TrackerSettings) -> list[TopicSpec]:
    """The system's topics, plus the configured ones when they are overridden."""
    specs = {spec.name: spec for spec in TOPICS}
    specs.setdefault(settings.events_topic, TopicSpec(settings.events_topic))
    specs.setdefault(
        settings.shipments_topic,
        TopicSpec(settings.shipments_topic, {"cleanup.policy": "compact"}),
    )
    return list(specs.values())


def _sqlite_directory(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(str(parsed.database)).parent.mkdir(parents=True, exist_ok=True)


async def housekeeping(
    tracker: Tracker,
    engine: AsyncEngine,
    metrics: TrackerMetrics,
    settings: TrackerSettings,
    stop: asyncio.Event,
) -> None:
    """Every few seconds: the shipment gauges from the database (not per event), states
    still to publish, published versions to record; every hour: statistics older than the
    retention pruned."""
    loop = asyncio.get_running_loop()
    pruned_at = loop.time()
    while not stop.is_set():
        try:
            async with engine.connect() as conn:
                by_status = await queries.counts_by_status(conn)
                by_node = await queries.in_flight_by_node(conn)
                late = await queries.late_in_flight(conn)
            metrics.set_counts(by_status, by_node, late.delayed, late.silent)
            await tracker.maintain()
            if loop.time() - pruned_at >= PRUNE_EVERY_SECONDS:
                await tracker.prune(timedelta(days=settings.stats_retention_days))
                pruned_at = loop.time()
        except Exception:
            log.warning("housekeeping failed", exc_info=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), settings.gauge_refresh_seconds)


async def clock_ticks(tracker: Tracker, settings: TrackerSettings, stop: asyncio.Event) -> None:
    """Every ``clock_tick_seconds``: rounds of the clock while they come back full (more
    due than one round takes), within one interval; then what changed is published. A
    failure is logged and the next tick tries again: it never stops the service."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        deadline = loop.time() + settings.clock_tick_seconds
        try:
            for _ in range(MAX_CLOCK_ROUNDS):
                result = await tracker.tick(settings.clock_batch_size)
                if not result.full or stop.is_set() or loop.time() >= deadline:
                    break
            await tracker.publish_pending()
        except Exception:
            log.warning("clock tick failed", exc_info=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), max(0.0, deadline - loop.time()))


def clock_rules(settings: TrackerSettings) -> ClockRules:
    return ClockRules(
        silent_factor=settings.silent_factor,
        silent_floor=timedelta(hours=settings.silent_floor_hours),
        eta_refresh=timedelta(seconds=settings.eta_refresh_seconds),
    )


def create_app(settings: TrackerSettings | None = None) -> FastAPI:
    settings = settings or TrackerSettings()
    registry = make_registry()
    topology = load_topology()
    kafka_metrics = KafkaMetrics(registry, "tracker")
    metrics = TrackerMetrics(registry, topology)
    # Refuses to start on a broken principal registry, or demo keys in production.
    security = build_security(settings, topology, registry, "tracker", utcnow)
    publisher = Publisher(settings.kafka, "corridor-tracker", kafka_metrics)
    _sqlite_directory(settings.database_url)
    engine = db.make_engine(settings.database_url)
    tracker = Tracker(
        SqlUnitOfWork(engine, security.rules, settings.view_cache_size),
        security.rules,
        metrics=metrics,
        publish=StatePublisher(publisher, settings.shipments_topic),
        eta_min_samples=settings.eta_min_samples,
        eta_recent_samples=settings.eta_recent_samples,
        stats_refresh_seconds=settings.stats_refresh_seconds,
        view_cache_size=settings.view_cache_size,
        clock_rules=clock_rules(settings),
    )
    consumer = ConsumerLoop(
        settings.kafka,
        settings.consumer_group,
        [settings.events_topic],
        EventsHandler(tracker, topology),
        publisher,
        kafka_metrics,
        client_id=f"corridor-tracker-{settings.instance}",
        max_records=settings.batch_size,
        progress=Progress(
            settings.consumer_ready_grace_seconds, settings.consumer_live_grace_seconds
        ),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await db.migrate(engine, MIGRATIONS)
        await ensure_topics(settings.kafka, topic_specs(settings), client_id="corridor-tracker")
        await publisher.start()
        stop = asyncio.Event()
        tasks: list[asyncio.Task[None]] = []
        try:
            recovered = await tracker.recover()
            if recovered:
                log.info("republishing states", extra={"shipments": recovered})
                await tracker.publish_pending()
            tasks = [
                asyncio.create_task(consumer.run(stop), name="tracker-consumer"),
                asyncio.create_task(housekeeping(tracker, engine, metrics, settings, stop)),
                asyncio.create_task(clock_ticks(tracker, settings, stop), name="tracker-clock"),
            ]
            yield
        finally:
            stop.set()
            if tasks:
                _, late = await asyncio.wait(tasks, timeout=STOP_TIMEOUT_SECONDS)
                for task in late:
                    task.cancel()
                for outcome in await asyncio.gather(*tasks, return_exceptions=True):
                    if isinstance(outcome, Exception):
                        log.error("task failed", exc_info=outcome)
            try:
                await tracker.publish_pending()
                await tracker.flush_marks()
            except Exception:
                log.warning("could not publish or record pending states", exc_info=True)
            await publisher.stop()
            await engine.dispose()

    app = create_service_app(
        service="tracker",
        title="corridor tracker",
        description="Every shipment's journey across the corridor: state, timeline, sections, "
        "dwell, ETA, and corridor KPIs. Fed by cargo.events.v1; publishes cargo.shipments.v1.",
        registry=registry,
        checks=lambda: {"database": lambda: db.ping(engine)},
        # Reads need the database only: the API keeps serving while Kafka is away or the
        # consumer catches up (a stuck consumer is restarted through /healthz).
        degraded=lambda: {"broker": publisher.ping, "consumer": consumer.is_ready},
        liveness=lambda: {"consumer": consumer.alive},
        lifespan=lifespan,
    )
    reads = api.Reads(engine, security.rules)
    api.install(app, reads, security.authenticator)
    web.install(app, reads, security.authenticator, window_config(settings))
    return app


def window_config(settings: TrackerSettings) -> web.WindowConfig:
    secure = settings.window_secure_cookies
    return web.WindowConfig(
        tariff_url=settings.tariff_url,
        poll_seconds=settings.window_poll_seconds,
        board_limit=settings.window_board_limit,
        secure_cookies=settings.environment != "local" if secure is None else secure,
        kafka=settings.kafka,
    )
