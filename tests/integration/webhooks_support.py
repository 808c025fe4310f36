"""What the webhooks tests share: the service's settings on unique topics, the app run
with its lifespan, and the records the tracker and ingest would publish (a booking through
the one event contract, a ``ShipmentState``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from corridor.contract.codec import encode
from corridor.contract.enums import EVENT_TYPE
from corridor.contract.event import BookingData, CargoEventData
from corridor.contract.timestamps import timestamp
from corridor.kafka import (
    CE_TYPE_CARGO_EVENT,
    CE_TYPE_SHIPMENT_STATE,
    Publisher,
    cloudevent_record,
)
from corridor.settings import KafkaSettings
from corridor.v1 import shipments_pb2
from services.webhooks.app import create_app
from services.webhooks.settings import WebhooksSettings
from tests.conftest import unique

START = datetime.now(UTC) - timedelta(days=2)
SECRET = "partner-secret-0001"


def webhooks_settings(database_url: str, kafka: KafkaSettings, **override: Any) -> WebhooksSettings:
    values: dict[str, Any] = {
        "environment": "local",
        "database_url": database_url,
        "kafka": kafka,
        "shipments_topic": unique("cargo.shipments.test"),
        "events_topic": unique("cargo.events.test"),
        "consumer_group": unique("webhooks-test"),
        "retry_base_seconds": 0.2,
        "retry_cap_seconds": 0.5,
        "sender_interval_seconds": 0.1,
        "max_attempts": 5,
        "delivery_timeout_seconds": 5.0,
        "shutdown_grace_seconds": 2.0,
    }
    return WebhooksSettings(**(values | override))


@asynccontextmanager
async def running(settings: WebhooksSettings) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan (database, broker, consumer, sender) and a client."""
    app: FastAPI = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://webhooks") as client:
            yield client


def auth(principal: str) -> dict[str, str]:
    return {"Authorization": f"Bearer demo-{principal}"}


async def subscribe(
    client: httpx.AsyncClient, principal: str, url: str, **filter_: list[str]
) -> str:
    response = await client.post(
        "/v1/subscriptions",
        json={"callback_url": url, "secret": SECRET, "filter": filter_},
        headers=auth(principal),
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def publish_booking(
    publisher: Publisher,
    settings: WebhooksSettings,
    shipment_id: str,
    *,
    carrier: str = "mcm",
    shipper: str = "",
    consignee: str = "",
) -> None:
    event = CargoEventData(
        unique("book"),
        carrier,
        "BOOKED",
        "ACT",
        START,
        shipment_id,
        "CNHRS",
        START,
        "CSQU3054383",
        booking=BookingData(
            "CNHRS", "GEPTI", "40HC", 22_000.0, shipper=shipper, consignee=consignee
        ),
    )
    await publisher.publish(
        cloudevent_record(
            settings.events_topic,
            shipment_id,
            encode(event),
            ce_id=f"{carrier}/{event.event_id}",
            ce_type=CE_TYPE_CARGO_EVENT,
            source="/corridor/ingest",
            ce_time=START,
        )
    )


def state(
    shipment_id: str, version: int, status: str = "IN_TRANSIT", location: str = "KZAKL"
) -> shipments_pb2.ShipmentState:
    kind = "BOOKED" if status == "BOOKED" else "DEPARTED"
    message = shipments_pb2.ShipmentState(
        shipment_id=shipment_id,
        status=shipments_pb2.ShipmentStatus.Value("SHIPMENT_STATUS_" + status),
        container_no="CSQU3054383",
        origin="CNHRS",
        destination="GEPTI",
        current_location=location,
        version=version,
    )
    message.last_event.CopyFrom(
        shipments_pb2.LastEvent(
            event_id=f"e-{version}",
            carrier="mcm",
            event_type=EVENT_TYPE.by_name[kind],  # type: ignore[arg-type]
            location=location,
            occurred_at=timestamp(START + timedelta(hours=version)),
        )
    )
    message.updated_at.CopyFrom(timestamp(START + timedelta(hours=version)))
    return message


async def publish_states(
    publisher: Publisher, settings: WebhooksSettings, *states: shipments_pb2.ShipmentState
) -> None:
    await publisher.publish_many(
        [
            cloudevent_record(
                settings.shipments_topic,
                s.shipment_id,
                s.SerializeToString(),
                ce_id=f"{s.shipment_id}/{s.version}",
                ce_type=CE_TYPE_SHIPMENT_STATE,
                source="/corridor/tracker",
                ce_time=START,
            )
            for s in states
        ]
    )
