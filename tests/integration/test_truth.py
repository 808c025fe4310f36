"""The truth test (issue 11): generated journeys with known sections, dwell, delays and
charges — late, shuffled, silent, mode-less, same-instant posts among them — run through
the real tracker and tariff (their apps, consumers and databases) fed from the real embedded
broker, on SQLite and PostgreSQL. Their answers must equal the generator's truth exactly:
the tracker's API, its latest state on the shipments topic, ``/v1/corridor``, the tariff's
charges and the charges topic.

The pipeline runs once per database (a module fixture); each test compares one aspect over
every journey and names the journeys (and their group of options) that differ.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from prometheus_client.parser import text_string_to_metric_families

from corridor.devstack import EmbeddedBroker
from corridor.journeys import Journey, Truth
from corridor.settings import KafkaSettings
from corridor.topology import load_topology
from corridor.v1 import charges_pb2, shipments_pb2
from services.tariff.app import create_app as create_tariff
from services.tariff.settings import TariffSettings
from tests.conftest import unique
from tests.integration.test_tariff_charges import read_to_end, running
from tests.integration.test_tracker_consumer import (
    event_record,
    publish,
    running_tracker,
    settings_for,
)
from tests.truth_support import (
    SILENCE,
    Group,
    build_journeys,
    expected_corridor,
    expected_storage,
    posting_phases,
    reported_after_delivery,
)
from tests.unit.test_tracker_samples import cargo_event

pytestmark = pytest.mark.integration

TOPOLOGY = load_topology()
TARIFF_READER = {"Authorization": "Bearer demo-mcm"}
WITHIN = 45.0  # seconds for each service to take in every record
Body = dict[str, Any]


@dataclass
class Observed:
    """What the services answered once they had taken in every post."""

    chosen: list[tuple[Group, Journey]]
    tracker_done: bool
    tariff_done: bool
    read_at: datetime
    shipments: dict[str, Body]  # GET /v1/shipments/{id}
    states: dict[str, shipments_pb2.ShipmentState]  # the latest on the shipments topic
    corridor: Body
    charges: dict[str, Body]  # GET /v1/shipments/{id}/charges
    charge_records: dict[str, list[charges_pb2.Charge]]  # in topic order
    cards: dict[str, Body]  # the card in force on each booking date, as published
    quotes: dict[str, Body]  # POST /v1/quotes for each booking

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


def took_all(
    client: httpx.AsyncClient, count: int, name: str, **labels: str
) -> Callable[[], Awaitable[bool]]:
    """A probe: the service's metric ``name`` (summed over its other labels) reached ``count``."""

    async def probe() -> bool:
        text = (await client.get("/metrics")).text
        return metric_sum(text, name, **labels) >= count

    return probe


def metric_sum(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def backend(request: pytest.FixtureRequest) -> Callable[[], Awaitable[str]] | None:
    """How to get a fresh database: ``None`` for SQLite files, else PostgreSQL's factory.
    Synchronous: an async fixture cannot ask for another one dynamically."""
    if request.param == "sqlite":
        return None
    factory: Callable[[], Awaitable[str]] = request.getfixturevalue("new_postgres_database")
    return factory


async def databases(backend: Callable[[], Awaitable[str]] | None, root: Path) -> tuple[str, str]:
    """The tracker's and the tariff's databases (each service migrates its own)."""
    if backend is None:
        return (
            f"sqlite+aiosqlite:///{root / 'tracker.db'}",
            f"sqlite+aiosqlite:///{root / 'tariff.db'}",
        )
    return str(await backend()), str(await backend())


@pytest.fixture(scope="module")
async def observed(
    backend: Callable[[], Awaitable[str]] | None,
    broker: EmbeddedBroker,
    tmp_path_factory: pytest.TempPathFactory,
) -> Observed:
    kafka = KafkaSettings(
        bootstrap_servers=broker.bootstrap_servers, topic_partitions=3, publish_timeout_seconds=5
    )
    tracker_db, tariff_db = await databases(backend, tmp_path_factory.mktemp("truth"))
    now = datetime.now(UTC)
    chosen = build_journeys(TOPOLOGY, now)
    phases = posting_phases(chosen)
    tracker_settings = settings_for(kafka, tracker_db, batch_size=100)
    topic = tracker_settings.events_topic
    tariff_settings = TariffSettings(
        database_url=tariff_db,
        kafka=kafka,
        events_topic=topic,
        charges_topic=unique("cargo.charges.truth"),
        consumer_group=unique("tariff-truth"),
        outbox_interval_seconds=0.5,
    )
    ids = [journey.truth.shipment_id for _, journey in chosen]
    delivered = {j.truth.shipment_id for _, j in chosen if j.truth.delivered}
    async with (
        running_tracker(tracker_settings) as tracker,
        running(create_tariff(tariff_settings)) as tariff,
    ):
        published_records = 0
        tracker_done = tariff_done = True
        for phase in phases:
            records = [
                event_record(topic, p, cargo_event(p, p.recorded_at).SerializeToString())
                for p in phase
            ]
            await publish(kafka, records)
            published_records += len(records)

            counted = took_all(tracker, published_records, "corridor_tracker_events_total")
            consumed = took_all(
                tariff, published_records, "corridor_tariff_consumed_records_total", topic=topic
            )
            # A service already behind gets a short wait: the test reports it, not stalls.
            tracker_done = await settle(counted, WITHIN if tracker_done else 5) and tracker_done
            tariff_done = await settle(consumed, WITHIN if tariff_done else 5) and tariff_done

        shipments: dict[str, Body] = {}
        charges: dict[str, Body] = {}
        states: dict[str, shipments_pb2.ShipmentState] = {}
        charge_records: dict[str, list[charges_pb2.Charge]] = {}

        async def published() -> bool:
            """Every shipment's stored version is on the shipments topic, and every charge
            revision the tariff shows is on the charges topic."""
            for shipment_id in ids:
                shipments[shipment_id] = (await tracker.get(f"/v1/shipments/{shipment_id}")).json()
                charges[shipment_id] = (
                    await tariff.get(f"/v1/shipments/{shipment_id}/charges", headers=TARIFF_READER)
                ).json()
            states.clear()
            for r in await read_to_end(kafka.bootstrap_servers, tracker_settings.shipments_topic):
                state = shipments_pb2.ShipmentState.FromString(r.value)
                known = states.get(state.shipment_id)
                if known is None or state.version > known.version:
                    states[state.shipment_id] = state
            charge_records.clear()
            for r in await read_to_end(kafka.bootstrap_servers, tariff_settings.charges_topic):
                charge = charges_pb2.Charge.FromString(r.value)
                charge_records.setdefault(charge.shipment_id, []).append(charge)
            return all(
                shipment_id in states
                and states[shipment_id].version == shipments[shipment_id].get("version")
                and len(charges[shipment_id].get("charges", ()))
                <= len(charge_records.get(shipment_id, ()))
                and (shipment_id not in delivered or charge_records.get(shipment_id))
                for shipment_id in ids
            )

        await settle(published, 30)
        read_at = datetime.now(UTC)
        corridor = (await tracker.get("/v1/corridor")).json()
        cards: dict[str, Body] = {}
        quotes: dict[str, Body] = {}
        for _, journey in chosen:
            truth = journey.truth
            on = truth.booked_at.astimezone(UTC).date().isoformat()
            if on not in cards:
                published_cards = (await tariff.get("/v1/tariffs", params={"on": on})).json()
                [cards[on]] = [c for c in published_cards["cards"] if c["status"] == "in_force"]
            quote = await tariff.post(
                "/v1/quotes",
                json={
                    "origin": truth.origin,
                    "destination": truth.destination,
                    "container_type": truth.container_type,
                    "gross_weight_kg": str(int(truth.gross_weight_kg)),
                    "shipping_date": on,
                },
            )
            quotes[truth.shipment_id] = quote.json()
    return Observed(
        chosen,
        tracker_done,
        tariff_done,
        read_at,
        shipments,
        states,
        corridor,
        charges,
        charge_records,
        cards,
        quotes,
    )


def moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def from_proto(stamp: Timestamp, present: bool = True) -> datetime | None:
    return stamp.ToDatetime(tzinfo=UTC) if present else None


def report(differences: list[str]) -> str:
    return f"{len(differences)} differ:\n" + "\n".join(differences[:40])


def shown_dwell(d: Body) -> tuple[Any, ...]:
    arrived, departed = moment(d["arrived_at"]), moment(d["departed_at"])
    return (d["node"], d["kind"], arrived, departed, d["dwell_seconds"])


def expected_sections(truth: Truth) -> list[tuple[Any, ...]]:
    return [(s.country, s.entered_at, s.exited_at, s.transit_seconds) for s in truth.sections]


def expected_dwells(truth: Truth) -> list[tuple[Any, ...]]:
    return [(d.node, d.kind, d.arrived_at, d.departed_at, d.seconds) for d in truth.dwells]


def test_every_post_is_taken_in_and_counts(observed: Observed) -> None:
    assert observed.tracker_done, "the tracker did not take in every record in time"
    assert observed.tariff_done, "the tariff did not take in every record in time"
    differences = [
        f"{group}/{truth.shipment_id}: counts {body.get('counts')}, expected {truth.events} events"
        for group, truth in observed.truths()
        if (body := observed.shipments[truth.shipment_id]).get("counts", {}).get("events")
        != truth.events
        or body["counts"]["set_aside"] != 0
    ]
    assert not differences, report(differences)


def test_the_tracker_s_status_is_the_truth(observed: Observed) -> None:
    differences = [
        f"{group}/{truth.shipment_id}: {body.get('status')} != {truth.status}"
        for group, truth in observed.truths()
        if (body := observed.shipments[truth.shipment_id]).get("status") != truth.status
    ]
    assert not differences, report(differences)


def test_the_tracker_s_sections_are_the_truth(observed: Observed) -> None:
    differences = []
    for group, truth in observed.truths():
        body = observed.shipments[truth.shipment_id]
        shown = [
            (s["country"], moment(s["entered_at"]), moment(s["exited_at"]), s["transit_seconds"])
            for s in body.get("sections", ())
        ]
        if shown != expected_sections(truth):
            differences.append(
                f"{group}/{truth.shipment_id}: {[s[0] for s in shown]} "
                f"vs {[s.country for s in truth.sections]}"
            )
    assert not differences, report(differences)


def test_the_tracker_s_dwells_are_the_truth(observed: Observed) -> None:
    differences = []
    for group, truth in observed.truths():
        body = observed.shipments[truth.shipment_id]
        shown = [shown_dwell(d) for d in body.get("dwells", ())]
        if shown != expected_dwells(truth):
            differences.append(
                f"{group}/{truth.shipment_id}: {[(d[0], d[4]) for d in shown]} "
                f"vs {[(d.node, d.seconds) for d in truth.dwells]}"
            )
    assert not differences, report(differences)


def test_the_tracker_s_delivery_and_last_event_are_the_truth(observed: Observed) -> None:
    differences = []
    for group, truth in observed.truths():
        body = observed.shipments[truth.shipment_id]
        last = body.get("last_event") or {}
        seen = (body.get("current_location"), last.get("location"), moment(last.get("occurred_at")))
        expected = (truth.current_location, truth.current_location, truth.last_event_at)
        if truth.delivered and last.get("event_type") != "DELIVERED":
            differences.append(f"{group}/{truth.shipment_id}: last event {last}, not delivered")
        if seen != expected:
            differences.append(f"{group}/{truth.shipment_id}: {seen} != {expected}")
    assert not differences, report(differences)


def test_the_tracker_s_delay_is_the_truth(observed: Observed) -> None:
    compared, differences = 0, []
    for group, truth in observed.truths():
        expected = truth.delayed(observed.read_at)
        if expected is None:
            continue  # not delivered, promise ahead: only an estimate could say
        compared += 1
        shown = observed.shipments[truth.shipment_id].get("delayed")
        if shown is not expected:
            differences.append(f"{group}/{truth.shipment_id}: delayed {shown} != {expected}")
    delivered = sum(journey.truth.delivered for _, journey in observed.chosen)
    assert compared > delivered, "some journeys not delivered should be past their promise"
    assert not differences, report(differences)


def test_the_tracker_s_silence_is_the_truth(observed: Observed) -> None:
    differences = [
        f"{group}/{truth.shipment_id}: silent {body.get('silent')} != {expected}"
        for group, truth in observed.truths()
        if (body := observed.shipments[truth.shipment_id]).get("silent")
        is not (expected := truth.silent(observed.read_at, SILENCE))
    ]
    assert any(truth.silent(observed.read_at, SILENCE) for _, truth in observed.truths())
    assert not differences, report(differences)


def test_the_latest_state_on_the_shipments_topic_is_the_truth(observed: Observed) -> None:
    differences = []
    for group, truth in observed.truths():
        state = observed.states.get(truth.shipment_id)
        if state is None:
            differences.append(f"{group}/{truth.shipment_id}: no state published")
            continue
        sections = [
            (
                s.country,
                from_proto(s.entered_at),
                from_proto(s.exited_at, s.HasField("exited_at")),
                s.transit_seconds,
            )
            for s in state.sections
        ]
        dwells = [
            (
                d.node,
                from_proto(d.arrived_at),
                from_proto(d.departed_at, d.HasField("departed_at")),
                d.dwell_seconds,
            )
            for d in state.dwells
        ]
        seen = (
            shipments_pb2.ShipmentStatus.Name(state.status),
            state.current_location,
            sections,
            dwells,
            state.counts.events,
            state.silent,
        )
        expected = (
            f"SHIPMENT_STATUS_{truth.status}",
            truth.current_location,
            expected_sections(truth),
            [(d[0], d[2], d[3], d[4]) for d in expected_dwells(truth)],
            truth.events,
            truth.silent(observed.read_at, SILENCE),
        )
        delayed = truth.delayed(observed.read_at)
        if seen != expected or (delayed is not None and state.delayed is not delayed):
            fields = ("status", "location", "sections", "dwells", "events", "silent")
            wrong = [f for f, a, b in zip(fields, seen, expected, strict=True) if a != b]
            differences.append(f"{group}/{truth.shipment_id}: {wrong or ['delayed']} differ")
    assert not differences, report(differences)


def test_the_corridor_figures_are_recomputed_from_the_truth(observed: Observed) -> None:
    body = observed.corridor
    as_of = datetime.fromisoformat(body["as_of"])
    truths = [truth for _, truth in observed.truths()]
    expected = expected_corridor(truths, as_of, timedelta(days=body["window_days"]), TOPOLOGY)
    assert body["shipments_by_status"] == expected["shipments_by_status"]
    assert body["shipments_by_node"] == expected["shipments_by_node"]
    shown = {s["country"]: {k: v for k, v in s.items() if k != "country"} for s in body["sections"]}
    assert shown == expected["sections"]
    moving = [t for t in truths if not t.delivered]
    assert body.get("shipments_silent") == sum(t.silent(as_of, SILENCE) for t in moving)
    known = [t.delayed(as_of) for t in moving]
    assert sum(d is True for d in known) <= body.get("shipments_delayed", -1)
    assert body["shipments_delayed"] <= sum(d is not False for d in known)


def expected_charge(observed: Observed, truth: Truth) -> tuple[Decimal, list[tuple[Any, ...]]]:
    """The total and the storage lines: the booked quote plus storage for the dwell."""
    card = observed.cards[truth.booked_at.astimezone(UTC).date().isoformat()]
    assert card["currency"] in ("USD", "EUR"), "the expectation rounds to cents"
    storage = expected_storage(truth, card, TOPOLOGY)
    quoted = Decimal(observed.quotes[truth.shipment_id]["total"])
    return quoted + sum((line[3] for line in storage), Decimal(0)), storage


def test_the_tariff_s_charges_are_the_booked_quote_plus_storage_for_the_true_dwell(
    observed: Observed,
) -> None:
    differences = []
    storage_lines = 0
    for group, truth in observed.truths():
        body = observed.charges[truth.shipment_id]
        quote = observed.quotes[truth.shipment_id]
        if (body.get("booked_quote") or {}).get("total") != quote["total"]:
            differences.append(f"{group}/{truth.shipment_id}: booked quote {body} vs {quote}")
        if not truth.delivered:
            if body.get("charges"):
                differences.append(f"{group}/{truth.shipment_id}: charged, never delivered")
            continue
        if not body.get("charges"):
            differences.append(f"{group}/{truth.shipment_id}: delivered, not charged")
            continue
        total, storage = expected_charge(observed, truth)
        storage_lines += len(storage)
        last = body["charges"][-1]  # every revision in order: the last counts
        shown = [
            (s["node"], s["operator"], s["days"], Decimal(s["amount"]))
            for s in last["surcharges"]
            if s["kind"] == "storage"
        ]
        seen = (Decimal(last["total"]), shown, moment(last["delivered_at"]))
        if seen != (total, storage, truth.delivered_at):
            differences.append(
                f"{group}/{truth.shipment_id}: {last['total']} {shown} "
                f"(revision {last.get('revision')}) != {total} {storage}"
            )
    assert storage_lines >= 5, "the journeys should exercise storage"
    revised = [j for _, j in observed.chosen if reported_after_delivery(j)]
    assert len(revised) >= 3, "the journeys should report movements after their delivery"
    assert not differences, report(differences)


def test_the_latest_charge_on_the_charges_topic_is_the_truth(observed: Observed) -> None:
    differences = []
    for group, truth in observed.truths():
        records = observed.charge_records.get(truth.shipment_id, [])
        if not truth.delivered:
            if records:
                differences.append(f"{group}/{truth.shipment_id}: charged, never delivered")
            continue
        if not records:
            differences.append(f"{group}/{truth.shipment_id}: no charge published")
            continue
        total, storage = expected_charge(observed, truth)
        last = records[-1]  # one key, one partition: the topic's order is the tariff's
        shown = [
            (s.node, s.operator, s.days, Decimal(s.amount))
            for s in last.surcharges
            if s.kind == "storage"
        ]
        if (Decimal(last.total), shown) != (total, storage):
            differences.append(
                f"{group}/{truth.shipment_id}: {last.total} {shown} != {total} {storage} "
                f"({len(records)} published)"
            )
    assert not differences, report(differences)
