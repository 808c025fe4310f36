"""Ingest's bookings and ledger on a real database (SQLite and PostgreSQL) with the real
embedded broker, as two replicas sharing them: what one accepted binds the other."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from corridor import db
from corridor.kafka import EVENTS_TOPIC, header
from corridor.parties import BookingFacts, booked_route
from corridor.settings import KafkaSettings
from corridor.topology import load_topology
from services.ingest.app import create_app
from services.ingest.db import BookingRecord, LedgerEntry, SqlStore
from services.ingest.settings import IngestSettings
from tests.conftest import unique
from tests.integration.test_ingest_publish import mine, running
from tests.support import read_records
from tests.unit.test_ingest_support import bearer, booking_body, event_body

pytestmark = pytest.mark.integration


@pytest.fixture
async def replicas(
    kafka_settings: KafkaSettings, database_url: str
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """Two ingest replicas on one database and one broker; the second caches nothing."""
    async with AsyncExitStack() as stack:
        clients = []
        for cache in (2.0, 0.0):
            settings = IngestSettings(
                kafka=kafka_settings,
                database_url=database_url,
                booking_cache_seconds=cache,
                booking_miss_cache_seconds=cache,
            )
            clients.append(await stack.enter_async_context(running(create_app(settings))))
        yield clients[0], clients[1]


async def post(client: httpx.AsyncClient, body: dict[str, Any], who: str) -> httpx.Response:
    return await client.post("/v1/events", json=body, headers=bearer(who))


async def test_what_one_replica_accepted_binds_the_other(
    replicas: tuple[httpx.AsyncClient, httpx.AsyncClient],
    kafka_settings: KafkaSettings,
    database_url: str,
) -> None:
    a, b = replicas
    shipment_id = unique("SHP")
    hour_ago = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)

    def at(minutes: int, **body: Any) -> dict[str, Any]:
        moment = (hour_ago + timedelta(minutes=minutes)).isoformat()
        return {**body, "shipment_id": shipment_id, "occurred_at": moment}

    # Booked from Almaty to Poti: via Kuryk, so Aktau's port takes no part.
    assert "KZAAU" not in booked_route(load_topology(), "KZALA", "GEPTI")

    def booking(minutes: int, event_id: str, **changes: Any) -> dict[str, Any]:
        return booking_body(**at(minutes, event_id=event_id, location="KZALA"),
                            booking={"origin": "KZALA", **changes})  # fmt: skip

    booked = booking(0, unique("book"))
    assert (await post(a, booked, "mcm")).status_code == 202
    # The other replica knows the booking from the database: the attack of the issue.
    attack = event_body(**at(5, event_id=unique("aktau"), event_type="DELIVERED",
                             location="KZAAU", mode=None))  # fmt: skip
    refused = await post(b, attack, "port-aktau")
    assert refused.status_code == 403
    assert refused.json()["type"] == "/problems/not_a_party"
    departed = event_body(**at(10, event_id=unique("dep"), location="KZALA"))
    assert (await post(a, departed, "ktz")).status_code == 202
    # An event_id is used once per carrier, whichever replica is asked.
    assert (await post(b, departed, "ktz")).status_code == 202  # a retry
    reused = await post(b, {**departed, "location": "KZKUR"}, "ktz")
    assert reused.status_code == 409
    assert reused.json()["type"] == "/problems/event-id-reused"
    # The operator moves the destination; the amendment is seen by the other replica.
    amended = booking(20, unique("amend"), destination="TRKSY")
    assert (await post(a, amended, "mcm")).status_code == 202
    older = booking(15, unique("older"), destination="GEBUS")
    assert (await post(a, older, "mcm")).status_code == 202  # published, but does not count
    poti = event_body(**at(30, event_id=unique("poti"), event_type="DELIVERED",
                           location="GEPTI", mode=None))  # fmt: skip
    assert (await post(b, poti, "mcm")).status_code == 422
    kars = event_body(**at(31, event_id=unique("kars"), event_type="DELIVERED",
                           location="TRKSY", mode=None))  # fmt: skip
    assert (await post(b, kars, "mcm")).status_code == 202

    records = await read_records(
        kafka_settings.bootstrap_servers, EVENTS_TOPIC, mine(shipment_id, 6), within=30
    )
    published = [str(header(r, "ce_id")) for r in records if r.key == shipment_id.encode()]
    assert published == [
        f"mcm/{booked['event_id']}",
        f"ktz/{departed['event_id']}",
        f"ktz/{departed['event_id']}",
        f"mcm/{amended['event_id']}",
        f"mcm/{older['event_id']}",
        f"mcm/{kars['event_id']}",
    ]
    engine = db.make_engine(database_url)
    try:
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT booker, destination, event_id FROM ingest_bookings "
                        "WHERE shipment_id = :s"
                    ),
                    {"s": shipment_id},
                )
            ).one()
            ledger = (
                await conn.execute(
                    text("SELECT count(*) FROM ingest_events WHERE event_id = :e"),
                    {"e": attack["event_id"]},
                )
            ).scalar_one()
    finally:
        await engine.dispose()
    assert tuple(row) == ("mcm", "TRKSY", amended["event_id"])
    assert ledger == 0  # a refused event is never recorded


async def test_a_booking_by_another_booker_is_refused_across_replicas(
    replicas: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    a, b = replicas
    shipment_id = unique("SHP")
    moment = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    first = booking_body(event_id=unique("b"), shipment_id=shipment_id, occurred_at=moment)
    assert (await post(a, first, "mcm")).status_code == 202
    events = [
        event_body(event_id=unique("e"), shipment_id=shipment_id, occurred_at=moment)
        for _ in range(20)
    ]
    # Concurrent posts of one turn share one look-up and one ledger statement.
    batch = await b.post("/v1/events/batch", json={"events": events}, headers=bearer("ktz"))
    assert batch.json()["accepted"] == 20


async def test_ledger_claims_and_booking_writes_may_overlap(
    replicas: tuple[httpx.AsyncClient, httpx.AsyncClient], database_url: str
) -> None:
    """Claims, look-ups and booking writes run at the same time (each kind on its own
    connection of the store): none fails for another."""
    store = SqlStore(db.make_engine(database_url))  # the replicas migrated the schema
    now = datetime.now(UTC)
    try:
        for round_ in range(20):
            sid = unique("SHP")
            facts = BookingFacts("mcm", "CNHRS", "GEPTI", now)
            record = BookingRecord(sid, "mcm", True, f"{sid}-b", now, now, facts)
            entries = [LedgerEntry("ktz", f"{sid}-{n}", "d" * 32, now) for n in range(5)]
            claimed, _, found = await asyncio.gather(
                store.claim(entries), store.record_bookings([record]), store.bookings([sid])
            )
            assert claimed == [True] * 5, round_
            assert found == [None] or found[0] is not None
        assert (await store.bookings([sid]))[0] is not None
    finally:
        await store.close()
        await store.engine.dispose()
