"""The truth test's pipeline: the real tracker and tariff (their apps with consumers,
publishers and databases) on the real embedded broker, fed the journeys' posts as ingest
publishes them (``recorded_at`` as each post was received), and everything they answer
afterwards, read once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from corridor import db
from corridor.journeys import Journey, Post, Truth
from corridor.settings import KafkaSettings
from corridor.topology import Topology
from corridor.v1 import charges_pb2, shipments_pb2
from services.tariff.app import create_app as create_tariff
from services.tariff.settings import TariffSettings
from services.tracker.db.tables import segment_times
from tests.conftest import unique
from tests.integration.test_tracker_consumer import (
    event_record,
    publish,
    running_tracker,
    settings_for,
)
from tests.support import read_records
from tests.tariff_support import running
from tests.truth_support.expected import expected_storage
from tests.truth_support.journeys import Group
from tests.unit.test_tracker_samples import cargo_event

TARIFF_READER = {"Authorization": "Bearer demo-mcm"}
WITHIN = 45.0  # seconds for each service to take in the records of a phase
Body = dict[str, Any]


@dataclass
class Observed:
    """What the services answered once they had taken in every post."""

    chosen: list[tuple[Group, Journey]]
    tracker_done: bool
    tariff_done: bool
    read_at: datetime
    shipments: dict[str, Body] = field(default_factory=dict)  # GET /v1/shipments/{id}
    # The latest state of each shipment on the shipments topic.
    states: dict[str, shipments_pb2.ShipmentState] = field(default_factory=dict)
    corridor: Body = field(default_factory=dict)  # GET /v1/corridor
    charges: dict[str, Body] = field(default_factory=dict)  # GET /v1/shipments/{id}/charges
    # The charges on the charges topic, per shipment in topic order.
    charge_records: dict[str, list[charges_pb2.Charge]] = field(default_factory=dict)
    # The card in force on each booking date, as published; POST /v1/quotes per booking.
    cards: dict[str, Body] = field(default_factory=dict)
    quotes: dict[str, Body] = field(default_factory=dict)
    # The tracker's stored segment runs (its ETA statistics), per shipment in order.
    segment_runs: dict[str, list[tuple[str, str, datetime, datetime]]] = field(default_factory=dict)

    def truths(self) -> list[tuple[str, Truth]]:
        return [(group.name, journey.truth) for group, journey in self.chosen]


async def settle(probe: Callable[[], Awaitable[bool]], within: float) -> bool:
    """Poll ``probe`` until it is true or ``within`` seconds passed; whether it became true."""
    deadline = time.monotonic() + within
    while not await probe():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.2)
    return True


def metric_sum(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def took_all(
    client: httpx.AsyncClient, count: int, name: str, **labels: str
) -> Callable[[], Awaitable[bool]]:
    """A probe: the service's metric ``name`` (summed over its other labels) reached ``count``."""

    async def probe() -> bool:
        text = (await client.get("/metrics")).text
        return metric_sum(text, name, **labels) >= count

    return probe


def booking_date(truth: Truth) -> str:
    return truth.booked_at.astimezone(UTC).date().isoformat()


async def databases(backend: Callable[[], Awaitable[str]] | None, root: Path) -> tuple[str, str]:
    """The tracker's and the tariff's databases (each service migrates its own)."""
    if backend is None:
        return (
            f"sqlite+aiosqlite:///{root / 'tracker.db'}",
            f"sqlite+aiosqlite:///{root / 'tariff.db'}",
        )
    return str(await backend()), str(await backend())


def expected_charge(
    observed: Observed, truth: Truth, topology: Topology
) -> tuple[Decimal, list[tuple[Any, ...]]]:
    """The total and the storage lines: the booked quote (``POST /v1/quotes``) plus storage
    for the true dwell under the card in force on the booking date (``GET /v1/tariffs``)."""
    card = observed.cards[booking_date(truth)]
    assert card["currency"] in ("USD", "EUR"), "the expectation rounds to cents"
    storage = expected_storage(truth, card, topology)
    quoted = Decimal(observed.quotes[truth.shipment_id]["total"])
    return quoted + sum((line[3] for line in storage), Decimal(0)), storage


class Pipeline:
    """Both services on one events topic, each with its own database and consumer group."""

    def __init__(self, kafka: KafkaSettings, tracker_db: str, tariff_db: str) -> None:
        self.kafka = kafka
        self.tracker_settings = settings_for(kafka, tracker_db, batch_size=100)
        self.topic = self.tracker_settings.events_topic
        self.tariff_settings = TariffSettings(
            database_url=tariff_db,
            kafka=kafka,
            events_topic=self.topic,
            charges_topic=unique("cargo.charges.truth"),
            consumer_group=unique("tariff-truth"),
            outbox_interval_seconds=0.5,
        )

    async def run(
        self, chosen: list[tuple[Group, Journey]], phases: tuple[list[Post], ...]
    ) -> Observed:
        """Post each phase and wait (bounded) until both services took it in; then read."""
        async with (
            running_tracker(self.tracker_settings) as tracker,
            running(create_tariff(self.tariff_settings)) as tariff,
        ):
            published, tracker_done, tariff_done = 0, True, True
            for phase in phases:
                records = [
                    event_record(self.topic, p, cargo_event(p, p.recorded_at).SerializeToString())
                    for p in phase
                ]
                await publish(self.kafka, records)
                published += len(records)
                counted = took_all(tracker, published, "corridor_tracker_events_total")
                consumed = took_all(
                    tariff, published, "corridor_tariff_consumed_records_total", topic=self.topic
                )
                # A service already behind gets a short wait: the test reports it, not stalls.
                tracker_done = await settle(counted, WITHIN if tracker_done else 5) and tracker_done
                tariff_done = await settle(consumed, WITHIN if tariff_done else 5) and tariff_done
            return await self._read(chosen, tracker, tariff, tracker_done, tariff_done)

    async def _read(
        self,
        chosen: list[tuple[Group, Journey]],
        tracker: httpx.AsyncClient,
        tariff: httpx.AsyncClient,
        tracker_done: bool,
        tariff_done: bool,
    ) -> Observed:
        seen = Observed(chosen, tracker_done, tariff_done, datetime.now(UTC))
        ids = [journey.truth.shipment_id for _, journey in chosen]
        delivered = {j.truth.shipment_id for _, j in chosen if j.truth.delivered}

        async def published() -> bool:
            """Every shipment's stored version is on the shipments topic, and every charge
            revision the tariff shows is on the charges topic."""
            await self._read_services(seen, ids, tracker, tariff)
            await self._read_topics(seen)
            return all(
                shipment_id in seen.states
                and seen.states[shipment_id].version == seen.shipments[shipment_id].get("version")
                and len(seen.charges[shipment_id].get("charges", ()))
                <= len(seen.charge_records.get(shipment_id, ()))
                and (shipment_id not in delivered or seen.charge_records.get(shipment_id))
                for shipment_id in ids
            )

        await settle(published, 30)
        seen.read_at = datetime.now(UTC)
        seen.corridor = (await tracker.get("/v1/corridor")).json()
        for _, journey in chosen:
            truth = journey.truth
            on = booking_date(truth)
            if on not in seen.cards:
                cards = (await tariff.get("/v1/tariffs", params={"on": on})).json()["cards"]
                [seen.cards[on]] = [c for c in cards if c["status"] == "in_force"]
            quote = {
                "origin": truth.origin,
                "destination": truth.destination,
                "container_type": truth.container_type,
                "gross_weight_kg": str(int(truth.gross_weight_kg)),
                "shipping_date": on,
            }
            seen.quotes[truth.shipment_id] = (await tariff.post("/v1/quotes", json=quote)).json()
        seen.segment_runs = await self._segment_runs()
        return seen

    async def _segment_runs(self) -> dict[str, list[tuple[str, str, datetime, datetime]]]:
        engine = db.make_engine(self.tracker_settings.database_url)
        runs: dict[str, list[tuple[str, str, datetime, datetime]]] = {}
        try:
            async with engine.connect() as conn:
                st = segment_times
                query = select(
                    st.c.shipment_id,
                    st.c.origin,
                    st.c.destination,
                    st.c.departed_at,
                    st.c.arrived_at,
                ).order_by(st.c.shipment_id, st.c.seq)
                for row in await conn.execute(query):
                    run = (row.origin, row.destination, row.departed_at, row.arrived_at)
                    runs.setdefault(row.shipment_id, []).append(run)
        finally:
            await engine.dispose()
        return runs

    async def _read_services(
        self,
        seen: Observed,
        ids: list[str],
        tracker: httpx.AsyncClient,
        tariff: httpx.AsyncClient,
    ) -> None:
        for shipment_id in ids:
            seen.shipments[shipment_id] = (await tracker.get(f"/v1/shipments/{shipment_id}")).json()
            path = f"/v1/shipments/{shipment_id}/charges"
            seen.charges[shipment_id] = (await tariff.get(path, headers=TARIFF_READER)).json()

    async def _read_topics(self, seen: Observed) -> None:
        bootstrap = self.kafka.bootstrap_servers
        seen.states.clear()
        for r in await read_records(bootstrap, self.tracker_settings.shipments_topic):
            state = shipments_pb2.ShipmentState.FromString(r.value)
            known = seen.states.get(state.shipment_id)
            if known is None or state.version > known.version:
                seen.states[state.shipment_id] = state
        seen.charge_records.clear()
        for r in await read_records(bootstrap, self.tariff_settings.charges_topic):
            charge = charges_pb2.Charge.FromString(r.value)
            seen.charge_records.setdefault(charge.shipment_id, []).append(charge)
