"""Composition root of tracker: engine, publisher, consumer and the FastAPI app; connects
nothing at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from corridor import db
from corridor.kafka import KafkaMetrics, Publisher, ensure_topics
from corridor.metrics import make_registry
from corridor.web import create_app as create_service_app
from services.tracker.settings import TrackerSettings


def create_app(settings: TrackerSettings | None = None) -> FastAPI:
    settings = settings or TrackerSettings()
    registry = make_registry()
    publisher = Publisher(settings.kafka, "corridor-tracker", KafkaMetrics(registry, "tracker"))
    engine = db.make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await ensure_topics(settings.kafka, client_id="corridor-tracker")
        await publisher.start()
        try:
            yield
        finally:
            await publisher.stop()
            await engine.dispose()

    return create_service_app(
        service="tracker",
        title="corridor tracker",
        description="",
        registry=registry,
        checks=lambda: {"broker": publisher.ping, "database": lambda: db.ping(engine)},
        lifespan=lifespan,
    )
