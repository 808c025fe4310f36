"""Ingest against the real embedded broker: what a carrier posts is read back from
``cargo.events.v1`` by a real consumer, with its key, headers and protobuf payload."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import ConsumerRecord
from fastapi import FastAPI

from corridor.kafka import EVENTS_TOPIC, header
from corridor.settings import KafkaSettings
from corridor.v1 import common_pb2, events_pb2
from services.ingest.app import create_app
from services.ingest.records import timestamp
from services.ingest.settings import IngestSettings
from tests.conftest import unique
from tests.support import read_records
from tests.unit.test_ingest_support import (
    WAGON_NO_12,
    bearer,
    booking_body,
    event_body,
    scratch_database,
)

pytestmark = pytest.mark.integration


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan (topics, producer), called in-process over ASGI."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as client:
            yield client


def mine(shipment_id: str, count: int) -> Any:
    def enough(records: list[ConsumerRecord]) -> bool:
        return len([r for r in records if r.key == shipment_id.encode()]) >= count

    return enough


async def test_posted_events_are_read_back_with_key_headers_and_payload(
    kafka_settings: KafkaSettings,
) -> None:
    shipment_id = unique("SHP")
    hour_ago = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    booked = booking_body(
        event_id=unique("book"), shipment_id=shipment_id, occurred_at=hour_ago.isoformat()
    )
    departed = event_body(
        event_id=unique("dep"),
        shipment_id=shipment_id,
        occurred_at=(hour_ago + timedelta(minutes=30)).isoformat(),
    )
    batch = [
        event_body(
            event_id=unique("batch"),
            shipment_id=shipment_id,
            event_type=event_type,
            location="AZBAK",
            container_no=None,
            wagon_no=WAGON_NO_12,
            occurred_at=hour_ago.isoformat(),
            **more,
        )
        for event_type, more in (
            ("ARRIVED", {"mode": "RAIL"}),
            ("CUSTOMS_HOLD", {"reason": "inspection", "mode": None}),
            ("DEPARTED", {"classifier": "EST", "mode": "RAIL"}),
        )
    ]
    app = create_app(IngestSettings(kafka=kafka_settings, database_url=scratch_database()))
    before = datetime.now(UTC)
    async with running(app) as client:
        first = await client.post("/v1/events", json=booked, headers=bearer("mcm"))
        second = await client.post("/v1/events", json=departed, headers=bearer("ktz"))
        many = await client.post("/v1/events/batch", json={"events": batch}, headers=bearer("ady"))
    after = datetime.now(UTC)
    assert (first.status_code, second.status_code, many.status_code) == (202, 202, 200)
    assert many.json()["accepted"] == 3

    records = await read_records(
        kafka_settings.bootstrap_servers, EVENTS_TOPIC, mine(shipment_id, 5), within=30
    )
    ours = {str(header(r, "ce_id")): r for r in records if r.key == shipment_id.encode()}
    expected_ids = {
        f"mcm/{booked['event_id']}": booked,
        f"ktz/{departed['event_id']}": departed,
        **{f"ady/{body['event_id']}": body for body in batch},
    }
    assert set(ours) == set(expected_ids)
    # one shipment, one key: all its events on one partition, in posting order
    assert len({r.partition for r in ours.values()}) == 1
    for ce_id, record in ours.items():
        body = expected_ids[ce_id]
        carrier = ce_id.split("/")[0]
        event = events_pb2.CargoEvent.FromString(record.value)
        assert header(record, "ce_specversion") == "1.0"
        assert header(record, "ce_source") == "/corridor/ingest"
        assert header(record, "ce_type") == "corridor.v1.CargoEvent"
        assert header(record, "content-type") == "application/protobuf"
        recorded_at = event.recorded_at.ToDatetime(tzinfo=UTC)
        assert before <= recorded_at <= after
        ce_time = datetime.fromisoformat(str(header(record, "ce_time")).replace("Z", "+00:00"))
        assert ce_time == recorded_at
        assert event.carrier == carrier
        assert event.event_id == body["event_id"]
        assert event.shipment_id == shipment_id
        assert event.location == body["location"]
        assert event.event_type == common_pb2.EventType.Value(f"EVENT_TYPE_{body['event_type']}")
        assert event.classifier == common_pb2.Classifier.Value(
            f"CLASSIFIER_{body.get('classifier', 'ACT')}"
        )
        assert event.occurred_at == timestamp(datetime.fromisoformat(body["occurred_at"]))
        assert event.container_no == body.get("container_no", "")
        assert event.wagon_no == body.get("wagon_no", "")
        assert event.reason == body.get("reason", "")
    booking = events_pb2.CargoEvent.FromString(ours[f"mcm/{booked['event_id']}"].value).booking
    assert (booking.origin, booking.destination) == ("CNHRS", "GEPTI")
    assert booking.container_type == common_pb2.CONTAINER_TYPE_40HC
    assert booking.gross_weight_kg == 24_000


async def test_a_refused_event_is_not_published(kafka_settings: KafkaSettings) -> None:
    shipment_id = unique("SHP")
    app = create_app(IngestSettings(kafka=kafka_settings, database_url=scratch_database()))
    async with running(app) as client:
        refused = event_body(
            event_id=unique("no"),
            shipment_id=shipment_id,
            location="GEPTI",
            occurred_at=(datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        )
        marker = event_body(
            event_id=unique("yes"),
            shipment_id=shipment_id,
            occurred_at=(datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        )
        assert (
            await client.post("/v1/events", json=refused, headers=bearer("ktz"))
        ).status_code == 403
        assert (
            await client.post("/v1/events", json=marker, headers=bearer("ktz"))
        ).status_code == 202
    records = await read_records(
        kafka_settings.bootstrap_servers, EVENTS_TOPIC, mine(shipment_id, 1), within=30
    )
    assert [header(r, "ce_id") for r in records if r.key == shipment_id.encode()] == [
        f"ktz/{marker['event_id']}"
    ]
