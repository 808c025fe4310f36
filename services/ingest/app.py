"""Composition root of ingest: builds the publisher and the FastAPI app; connects nothing
at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from corridor.kafka import KafkaMetrics, Publisher, ensure_topics
from corridor.metrics import make_registry
from corridor.web import create_app as create_service_app
from services.ingest.settings import IngestSettings


def create_app(settings: IngestSettings | None = None) -> FastAPI:
    settings = settings or IngestSettings()
    registry = make_registry()
    publisher = Publisher(settings.kafka, "corridor-ingest", KafkaMetrics(registry, "ingest"))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await ensure_topics(settings.kafka, client_id="corridor-ingest")
        await publisher.start()
        try:
            yield
        finally:
            await publisher.stop()

    return create_service_app(
        service="ingest",
        title="corridor ingest",
        description="Carriers post shipment events; valid ones are published to cargo.events.v1.",
        registry=registry,
        checks=lambda: {"broker": publisher.ping},
        lifespan=lifespan,
    )
