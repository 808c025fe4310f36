"""The clock as the tracker's app composes it: the query API shows and filters ``silent``,
floors the ETA at now and counts delayed and silent shipments (SQLite and PostgreSQL); the
running tracker publishes a change that comes only from the clock on the state topic (the
real broker)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import ConsumerRecord
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from corridor import db
from corridor.clock import utcnow
from corridor.kafka import CE_TYPE_CARGO_EVENT, OutgoingRecord, cloudevent_record
from corridor.metrics import make_registry
from corridor.security import build_security
from corridor.settings import KafkaSettings
from corridor.v1 import common_pb2, events_pb2, shipments_pb2
from corridor.web import create_app
from services.tracker import api
from services.tracker.app import MIGRATIONS
from services.tracker.db.unit import SqlUnitOfWork
from services.tracker.domain import Event
from services.tracker.handlers import Tracker
from services.tracker.metrics import TrackerMetrics
from services.tracker.publication import timestamp
from services.tracker.settings import TrackerSettings
from tests.conftest import unique
from tests.integration.test_tracker_clock import (
    DECEMBER,
    MARCH,
    OPERATOR,
    FakeClock,
    event,
    held_at_boyuk_kesik,
)
from tests.integration.test_tracker_consumer import (
    publish,
    running_tracker,
    settings_for,
    shipment_where,
)
from tests.support import eventually, read_records
from tests.unit.tracker_clock_samples import TOPOLOGY

pytestmark = pytest.mark.integration

CHANGES = "corridor_tracker_clock_changes_total"


@dataclass
class Stack:
    client: httpx.AsyncClient
    tracker: Tracker
    clock: FakeClock
    registry: CollectorRegistry

    async def get(self, path: str, **params: Any) -> Any:
        response = await self.client.get(path, params=params, headers=OPERATOR)
        assert response.status_code == 200, response.text
        return response.json()


@asynccontextmanager
async def open_stack(database_url: str) -> AsyncIterator[Stack]:
    """The query API and a tracker on a fresh database, one fake clock for both."""
    engine = db.make_engine(database_url)
    await db.migrate(engine, MIGRATIONS)
    registry = make_registry()
    app: FastAPI = create_app(
        service="tracker_test", title="tracker", description="", registry=registry, checks=dict
    )
    clock = FakeClock(DECEMBER)
    security = build_security(
        TrackerSettings(environment="local"), TOPOLOGY, registry, "tracker", clock
    )
    api.install(app, api.Reads(engine, security.rules, clock=clock), security.authenticator)
    metrics = TrackerMetrics(registry, TOPOLOGY)
    tracker = Tracker(
        SqlUnitOfWork(engine, security.rules),
        security.rules,
        metrics=metrics,
        clock=clock,
        stats_refresh_seconds=0,
    )
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tracker") as client:
            yield Stack(client, tracker, clock, registry)
    finally:
        await engine.dispose()


async def test_the_api_shows_filters_and_counts_what_the_clock_changed(database_url: str) -> None:
    async with open_stack(database_url) as stack:
        quiet, fresh = unique("QUIET"), unique("FRESH")
        stack.clock.now = MARCH + timedelta(hours=2)
        await stack.tracker.apply(held_at_boyuk_kesik(quiet))
        stack.clock.now = DECEMBER - timedelta(hours=1)
        # On the last segment to Poti, promised for next year, heard of just now.
        booked = event(
            fresh,
            "BOOKED",
            DECEMBER - timedelta(days=2),
            "AZBAK",
            carrier="mcm",
            promised=DECEMBER + timedelta(days=365),
        )
        left = event(
            fresh,
            "DEPARTED",
            DECEMBER - timedelta(hours=20),
            "GETBS",
            carrier="gr",
            recorded_at=DECEMBER - timedelta(hours=1),
        )
        await stack.tracker.apply([booked, left])
        before = await stack.get(f"/v1/shipments/{quiet}")
        assert (before["delayed"], before["silent"]) == (False, False)
        assert (await stack.get("/v1/corridor"))["shipments_silent"] == 0

        stack.clock.now = DECEMBER
        await stack.tracker.tick(100)
        body = await stack.get(f"/v1/shipments/{quiet}")
        assert (body["delayed"], body["silent"]) == (True, True)
        assert datetime.fromisoformat(body["eta"]) > DECEMBER
        assert [
            s["shipment_id"] for s in (await stack.get("/v1/shipments", silent="true"))["items"]
        ] == [quiet]
        assert quiet not in {
            s["shipment_id"] for s in (await stack.get("/v1/shipments", silent="false"))["items"]
        }
        corridor = await stack.get("/v1/corridor")
        assert (corridor["shipments_delayed"], corridor["shipments_silent"]) == (1, 1)
        for change in ("silent", "delayed"):
            labels = {"change": change}
            assert stack.registry.get_sample_value(CHANGES, labels) == 1

        # Between two refreshes the ETA read is never before now.
        stack.clock.now = DECEMBER + timedelta(hours=30)
        shown = await stack.get(f"/v1/shipments/{fresh}")
        assert datetime.fromisoformat(shown["eta"]) == stack.clock.now


def cargo_event(item: Event) -> bytes:
    """What ingest publishes for ``item``."""
    message = events_pb2.CargoEvent(
        event_id=item.event_id,
        carrier=item.carrier,
        event_type=common_pb2.EventType.Value("EVENT_TYPE_" + item.event_type.value),
        classifier=common_pb2.Classifier.Value("CLASSIFIER_ACT"),
        occurred_at=timestamp(item.occurred_at),
        recorded_at=timestamp(item.recorded_at or item.occurred_at),
        shipment_id=item.shipment_id,
        location=item.location,
        mode=common_pb2.Mode.Value("MODE_" + (item.mode or "UNSPECIFIED")),
    )
    if item.booking is not None:
        b = item.booking
        message.booking.CopyFrom(
            events_pb2.Booking(
                origin=b.origin,
                destination=b.destination,
                container_type=common_pb2.ContainerType.Value("CONTAINER_TYPE_" + b.container_type),
                gross_weight_kg=b.gross_weight_kg,
                promised_delivery_at=timestamp(b.promised_delivery_at or DECEMBER),
                legs=[
                    events_pb2.BookingLeg(
                        carrier=g.carrier, origin=g.origin, destination=g.destination
                    )
                    for g in b.legs
                ],
            )
        )
    return message.SerializeToString()


def record(topic: str, item: Event, now: datetime) -> OutgoingRecord:
    return cloudevent_record(
        topic,
        item.shipment_id,
        cargo_event(item),
        ce_id=f"{item.carrier}/{item.event_id}",
        ce_type=CE_TYPE_CARGO_EVENT,
        source="/test/carriers",
        ce_time=now,
    )


async def test_the_running_tracker_publishes_a_state_changed_by_the_clock_alone(
    kafka_settings: KafkaSettings, database_url: str
) -> None:
    # Silent some seconds after the last news (the step's 11.5 h times a tiny factor).
    settings = settings_for(
        kafka_settings,
        database_url,
        silent_factor=0.0004,
        silent_floor_hours=0,
        clock_tick_seconds=0.2,
    )
    shipment_id = unique("CLK")
    async with running_tracker(settings) as client:
        now = utcnow()  # heard of now: silent some ten seconds later, by the clock alone
        events = [
            event(
                shipment_id,
                "BOOKED",
                now - timedelta(hours=2),
                "AZBAK",
                carrier="mcm",
                promised=now + timedelta(days=30),
                recorded_at=now,
            ),
            event(shipment_id, "DEPARTED", now - timedelta(minutes=1), "AZBAK", recorded_at=now),
        ]
        await publish(kafka_settings, [record(settings.events_topic, e, now) for e in events])
        body = await eventually(
            shipment_where(client, shipment_id, lambda b: b["silent"]), within=60
        )

    def silenced(found: list[ConsumerRecord]) -> bool:
        return any(shipments_pb2.ShipmentState.FromString(r.value).silent for r in found)

    states = await read_records(
        kafka_settings.bootstrap_servers, settings.shipments_topic, silenced
    )
    decoded = sorted(
        (shipments_pb2.ShipmentState.FromString(r.value) for r in states), key=lambda s: s.version
    )
    assert decoded[0].silent is False  # applied: just heard of
    last = decoded[-1]
    assert (last.silent, last.version, last.counts.events) == (True, body["version"], 2)
    assert body["version"] >= 2
