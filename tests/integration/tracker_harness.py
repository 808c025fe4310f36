"""The tracker's query API as its app composes it, on a fresh database, with a tracker
applying journeys to it: the harness of the API, access, trust and through-transit tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine

from corridor import db
from corridor.journeys import Post
from corridor.metrics import make_registry
from corridor.principals import demo_key
from corridor.security import build_security
from corridor.web import create_app
from services.tracker import api
from services.tracker.app import MIGRATIONS
from services.tracker.db.unit import SqlUnitOfWork
from services.tracker.domain import ShipmentView, fold
from services.tracker.handlers import Tracker
from services.tracker.metrics import TrackerMetrics
from services.tracker.settings import TrackerSettings
from tests.unit.test_tracker_samples import RULES, START, TOPOLOGY, domain_event

NOW = START + timedelta(days=20)


class Corridor:
    """A database with shipments applied through the tracker, and a client of the API that
    reads as ``reader`` (a demo principal; ``None``: no credential)."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        tracker: Tracker,
        registry: CollectorRegistry,
        engine: AsyncEngine,
    ) -> None:
        self.client = client
        self.tracker = tracker
        self.engine = engine
        self.registry = registry
        self.views: dict[str, ShipmentView] = {}
        self.reader: str | None = "corridor-ops"

    async def track(self, posts: list[Post]) -> ShipmentView:
        events = [domain_event(p) for p in posts]
        await self.tracker.apply(events)
        shipment_id = events[0].shipment_id
        view = fold(shipment_id, events, RULES)
        self.views[shipment_id] = view
        return view

    async def get(self, path: str, *, as_: str | None = "", **params: Any) -> httpx.Response:
        """``as_``: the demo principal to read as (default ``reader``; ``None``: no key)."""
        reader = self.reader if as_ == "" else as_
        headers = {} if reader is None else {"Authorization": f"Bearer {demo_key(reader)}"}
        return await self.client.get(path, params=params, headers=headers)


@asynccontextmanager
async def open_corridor(database_url: str) -> AsyncIterator[Corridor]:
    """The tracker's API as its app composes it (trust rules, authenticator) on a fresh
    database, the clock at ``NOW``; a tracker with metrics in the same registry."""
    engine = db.make_engine(database_url)
    await db.migrate(engine, MIGRATIONS)
    registry = make_registry()
    app: FastAPI = create_app(
        service="tracker_test",
        title="tracker",
        description="",
        registry=registry,
        checks=lambda: {},
    )
    settings = TrackerSettings(environment="local")
    security = build_security(settings, TOPOLOGY, registry, "tracker", lambda: NOW)
    api.install(app, api.Reads(engine, security.rules, clock=lambda: NOW), security.authenticator)
    metrics = TrackerMetrics(registry, TOPOLOGY)
    unit = SqlUnitOfWork(engine, security.rules)
    tracker = Tracker(unit, security.rules, metrics=metrics, stats_refresh_seconds=0)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://tracker") as client:
            yield Corridor(client, tracker, registry, engine)
    finally:
        await engine.dispose()
