"""Composition root of tariff: cards, engine, publisher, consumer and the FastAPI app.

Rate cards are loaded and validated when the app is created: an invalid card raises
``CardError`` and the service does not start. Nothing connects at import time; the
database, the broker and the consumer start in the lifespan.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import async_sessionmaker

from corridor import db
from corridor.health import ReadinessCheck
from corridor.kafka import TOPICS, ConsumerLoop, KafkaMetrics, Publisher, TopicSpec, ensure_topics
from corridor.metrics import make_registry
from corridor.security import build_security
from corridor.topology import load_topology
from corridor.web import create_app as create_service_app
from services.tariff import api
from services.tariff.consumer import EventConsumer
from services.tariff.db import MIGRATIONS
from services.tariff.handlers import Clock, Tariff, utc_now
from services.tariff.metrics import TariffMetrics
from services.tariff.outbox import Outbox
from services.tariff.rates import load_card_book
from services.tariff.settings import TariffSettings

log = logging.getLogger(__name__)

DESCRIPTION = (
    "The corridor's unified through-rate: quotes from versioned rate cards, and one charge "
    "per delivered shipment (booked quote plus storage beyond the free days), revised when a "
    "later fact changes it, published to cargo.charges.v1."
)


def create_app(settings: TariffSettings | None = None, *, clock: Clock = utc_now) -> FastAPI:
    settings = settings or TariffSettings()
    topology = load_topology()
    book = load_card_book(settings.cards_dir, topology)
    registry = make_registry()
    # Raises (the service does not start) on a broken registry, or demo keys in production.
    security = build_security(settings, topology, registry, "tariff", clock)
    metrics = TariffMetrics(registry)
    kafka_metrics = KafkaMetrics(registry, "tariff")
    engine = db.make_engine(settings.database_url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    tariff = Tariff(sessions, book, topology, metrics, security.rules, clock)
    checks: dict[str, ReadinessCheck] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await db.migrate(engine, MIGRATIONS)
        specs = {spec.name: spec for spec in TOPICS}
        for name in (settings.events_topic, settings.charges_topic):
            specs.setdefault(name, TopicSpec(name))
        await ensure_topics(settings.kafka, specs.values(), client_id="corridor-tariff")
        publisher = Publisher(settings.kafka, "corridor-tariff", kafka_metrics)
        await publisher.start()
        outbox = Outbox(sessions, publisher, settings.charges_topic, clock)
        consumer = EventConsumer(tariff, outbox)
        loops: list[ConsumerLoop] = []

        def new_loop() -> ConsumerLoop:
            loop = ConsumerLoop(
                settings.kafka,
                settings.consumer_group,
                [settings.events_topic],
                consumer.handle,
                publisher,
                kafka_metrics,
                client_id=f"corridor-tariff-{settings.instance}",
            )
            loops[:] = [loop]
            return loop

        async def consuming() -> bool:
            return bool(loops) and loops[0].healthy

        checks.update(broker=publisher.ping, database=lambda: db.ping(engine), consumer=consuming)
        stop = asyncio.Event()
        await tariff.sweep()
        tasks = [
            asyncio.create_task(_supervise("consumer", lambda: new_loop().run(stop), stop)),
            asyncio.create_task(outbox.run(stop, settings.outbox_interval_seconds)),
        ]
        try:
            yield
        finally:
            stop.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 15)
            for task in tasks:
                task.cancel()
            await publisher.stop()
            await engine.dispose()

    app = create_service_app(
        service="tariff",
        title="corridor tariff",
        description=DESCRIPTION,
        registry=registry,
        checks=lambda: _checks_or_starting(checks),
        lifespan=lifespan,
    )
    app.state.tariff = tariff
    app.state.authenticator = security.authenticator
    app.include_router(api.router)
    return app


def _checks_or_starting(checks: Mapping[str, ReadinessCheck]) -> Mapping[str, ReadinessCheck]:
    async def starting() -> bool:
        return False

    return checks or {"starting": starting}


async def _supervise(name: str, run: Callable[[], Awaitable[None]], stop: asyncio.Event) -> None:
    """Run ``run`` until ``stop``; restart it with a bounded back-off if it fails (e.g. the
    broker is unreachable when the consumer starts)."""
    backoff = 0.5
    while not stop.is_set():
        try:
            await run()
        except Exception:
            log.exception("%s failed; restarting", name)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), backoff)
            backoff = min(backoff * 2, 10.0)
        else:
            return
