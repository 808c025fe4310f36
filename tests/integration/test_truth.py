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

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from corridor.devstack import EmbeddedBroker
from corridor.settings import KafkaSettings
from corridor.topology import load_topology
from corridor.v1 import shipments_pb2
from tests.truth_support.expected import (
    expected_corridor,
    expected_dwells,
    expected_sections,
    expected_through,
    moment,
    published_dwells,
    published_sections,
    shown_dwells,
    shown_sections,
)
from tests.truth_support.journeys import (
    SILENCE,
    build_journeys,
    posting_phases,
    reported_after_delivery,
)
from tests.truth_support.pipeline import Observed, Pipeline, databases, expected_charge

pytestmark = pytest.mark.integration

TOPOLOGY = load_topology()


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


@pytest.fixture(scope="module")
async def observed(
    backend: Callable[[], Awaitable[str]] | None,
    broker: EmbeddedBroker,
    tmp_path_factory: pytest.TempPathFactory,
) -> Observed:
    """The journeys run once through both services on this database, and their answers."""
    kafka = KafkaSettings(
        bootstrap_servers=broker.bootstrap_servers, topic_partitions=3, publish_timeout_seconds=5
    )
    tracker_db, tariff_db = await databases(backend, tmp_path_factory.mktemp("truth"))
    chosen = build_journeys(TOPOLOGY, datetime.now(UTC))
    return await Pipeline(kafka, tracker_db, tariff_db).run(chosen, posting_phases(chosen))


def report(differences: list[str]) -> str:
    return f"{len(differences)} differ:\n" + "\n".join(differences[:40])


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
    differences = [
        f"{group}/{truth.shipment_id}: {[s[0] for s in shown]} "
        f"vs {[s.country for s in truth.sections]}"
        for group, truth in observed.truths()
        if (shown := shown_sections(observed.shipments[truth.shipment_id]))
        != expected_sections(truth)
    ]
    assert not differences, report(differences)


def test_the_tracker_s_dwells_are_the_truth(observed: Observed) -> None:
    differences = [
        f"{group}/{truth.shipment_id}: {[(d[0], d[4]) for d in shown]} "
        f"vs {[(d.node, d.seconds) for d in truth.dwells]}"
        for group, truth in observed.truths()
        if (shown := shown_dwells(observed.shipments[truth.shipment_id])) != expected_dwells(truth)
    ]
    assert not differences, report(differences)


def test_the_tracker_s_segment_runs_are_the_truth(observed: Observed) -> None:
    """The runs the tracker stored for its ETA statistics (its database, read back)."""
    differences = [
        f"{group}/{truth.shipment_id}: {[r[:2] for r in shown]} "
        f"vs {[(r.origin, r.destination) for r in truth.segments]}"
        for group, truth in observed.truths()
        if (shown := observed.segment_runs.get(truth.shipment_id, []))
        != [(r.origin, r.destination, r.departed_at, r.arrived_at) for r in truth.segments]
    ]
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
        seen = (
            shipments_pb2.ShipmentStatus.Name(state.status),
            state.current_location,
            published_sections(state),
            published_dwells(state),
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


def test_the_corridor_s_through_transit_is_recomputed_from_the_truth(observed: Observed) -> None:
    body = observed.corridor
    as_of = datetime.fromisoformat(body["as_of"])
    truths = [truth for _, truth in observed.truths()]
    window = timedelta(days=body["window_days"])
    bands = [(b["name"], b["low_days"], b["high_days"]) for b in body.get("through_targets", ())]
    assert bands == [(name, low, high) for name, (low, high) in TOPOLOGY.through_targets.items()]
    shown = {
        (f["origin_country"], f["destination"]): {
            k: v for k, v in f.items() if k not in ("origin_country", "destination")
        }
        for f in body.get("through", ())
    }
    assert shown == expected_through(truths, as_of, window, TOPOLOGY)


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
        total, storage = expected_charge(observed, truth, TOPOLOGY)
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
        total, storage = expected_charge(observed, truth, TOPOLOGY)
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
