"""Composition root of tariff: cards, engine, publisher, consumer and the FastAPI app.

Rate cards are loaded and validated when the app is created: an invalid card raises
``CardError`` and the service does not start. Nothing connects at import time; the
database, the broker and the consumer start in the lifespan. The consumer loop retries
every failure itself and its watchdog feeds ``/readyz`` and ``/healthz``, as the tracker's.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from corridor import db
from corridor.clock import Clock, utcnow
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
from services.tariff import api
from services.tariff.consumer import EventConsumer
from services.tariff.db import MIGRATIONS, sql_units
from services.tariff.handlers import Tariff
from services.tariff.metrics import TariffMetrics
from services.tariff.outbox import Outbox
from services.tariff.rates import load_card_book
from services.tariff.settings import TariffSettings

DESCRIPTION = (
    "The corridor's unified through-rate: quotes from versioned rate cards, and one charge "
    "per delivered shipment (booked quote plus storage beyond the free days), revised when a "
    "later fact changes it, published to cargo.charges.v1."
)


def create_app(settings: TariffSettings | None = None, *, clock: Clock = utcnow) -> FastAPI:
    settings = settings or TariffSettings()
    topology = load_topology()
    book = load_card_book(settings.cards_dir, topology)
    registry = make_registry()
    # Raises (the service does not start) on a broken registry, or demo keys in production.
    security = build_security(settings, topology, registry, "tariff", clock)
    metrics = TariffMetrics(registry)
    kafka_metrics = KafkaMetrics(registry, "tariff")
    engine = db.make_engine(settings.database_url)
    units = sql_units(engine)
    tariff = Tariff(units, book, topology, metrics, security.rules, clock)
    publisher = Publisher(settings.kafka, "corridor-tariff", kafka_metrics)
    outbox = Outbox(units, publisher, settings.charges_topic, clock)
    consumer = ConsumerLoop(
        settings.kafka,
        settings.consumer_group,
        [settings.events_topic],
        EventConsumer(tariff, outbox).handle,
        publisher,
        kafka_metrics,
        client_id=f"corridor-tariff-{settings.instance}",
        max_records=settings.batch_size,
        progress=Progress(
            settings.consumer_ready_grace_seconds, settings.consumer_live_grace_seconds
        ),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await db.migrate(engine, MIGRATIONS)
        specs = {spec.name: spec for spec in TOPICS}
        for name in (settings.events_topic, settings.charges_topic):
            specs.setdefault(name, TopicSpec(name))
        await ensure_topics(settings.kafka, specs.values(), client_id="corridor-tariff")
        await publisher.start()
        stop = asyncio.Event()
        await tariff.sweep()
        tasks = [
            asyncio.create_task(consumer.run(stop), name="tariff-consumer"),
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
        checks=lambda: {"database": lambda: db.ping(engine)},
        # Reads need the database only: the API keeps serving while Kafka is away or the
        # consumer catches up (a stuck consumer is restarted through /healthz).
        degraded=lambda: {"broker": publisher.ping, "consumer": consumer.is_ready},
        liveness=lambda: {"consumer": consumer.alive},
        lifespan=lifespan,
    )
    app.state.tariff = tariff
    app.state.authenticator = security.authenticator
    app.include_router(api.router)
    return app
