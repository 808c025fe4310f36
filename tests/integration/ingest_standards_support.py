"""Shared by the integration tests of EPCIS 2.0 and DCSA T&T v2.2 through the real ingest
app (this module holds no test): bookings, capture jobs waited for, the ingest app run in
process, and the ``CargoEvent``s of a shipment read back from ``cargo.events.v1``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from corridor.contract.codec import decode
from corridor.contract.event import CargoEventData
from corridor.kafka import EVENTS_TOPIC, header
from corridor.settings import KafkaSettings
from corridor.topology import load_topology
from services.ingest.app import create_app
from services.ingest.settings import IngestSettings
from tests.conftest import unique
from tests.integration.test_ingest_publish import mine, running
from tests.support import eventually, read_records
from tests.unit.test_ingest_support import bearer, booking_body

NODES = frozenset(load_topology().nodes)
Body = dict[str, Any]


def bol(shipment_id: str) -> list[Body]:
    return [{"type": "bol", "bizTransaction": f"urn:epcglobal:cbv:bt:4870000000005:{shipment_id}"}]


def bkg(shipment_id: str) -> list[Body]:
    return [{"documentReferenceType": "BKG", "documentReferenceValue": shipment_id}]


def ago(hours: float) -> datetime:
    return (datetime.now(UTC) - timedelta(hours=hours)).replace(microsecond=0)


async def book(client: httpx.AsyncClient, shipment_id: str, origin: str, destination: str) -> None:
    body = booking_body(
        event_id=unique("book"),
        shipment_id=shipment_id,
        location=origin,
        occurred_at=ago(8).isoformat(),
        booking={"origin": origin, "destination": destination, "promised_delivery_at": None},
    )
    response = await client.post("/v1/events", json=body, headers=bearer("mcm"))
    assert response.status_code == 202, response.text


async def capture(client: httpx.AsyncClient, carrier: str, document: Body, **headers: str) -> Body:
    """Post a capture; wait for its job to finish; the job."""
    response = await client.post("/epcis/capture", json=document, headers=bearer(carrier) | headers)
    assert response.status_code == 202, response.text
    location = response.headers["location"]
    assert location == f"/epcis/capture/{response.json()['captureID']}"

    async def finished() -> Body | None:
        job: Body = (await client.get(location, headers=bearer(carrier))).json()
        return None if job["running"] else job

    return await eventually(finished, within=20)


async def published(kafka: KafkaSettings, shipment_id: str, count: int) -> list[CargoEventData]:
    """Every event of the shipment on ``cargo.events.v1`` (at least ``count``), decoded by
    the one contract: once ``count`` are there, the topic is read to its end."""
    await read_records(kafka.bootstrap_servers, EVENTS_TOPIC, mine(shipment_id, count), within=30)
    records = await read_records(kafka.bootstrap_servers, EVENTS_TOPIC, within=30)
    ours = [r for r in records if r.key == shipment_id.encode()]
    events = [decode(r.value, NODES) for r in ours]
    assert [header(r, "ce_id") for r in ours] == [f"{e.carrier}/{e.event_id}" for e in events]
    return events


@asynccontextmanager
async def ingest(kafka: KafkaSettings, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(IngestSettings(kafka=kafka, database_url=database_url))
    async with running(app) as client:
        yield client
