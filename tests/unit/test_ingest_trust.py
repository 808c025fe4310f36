"""Who may write what, at ingest: each write rule of docs/security.md over HTTP, with a fake
publisher and the in-memory store (the database path is in the integration tests)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from corridor.parties import booked_route
from corridor.principals import DEMO_PRINCIPALS_FILE, key_hash
from corridor.topology import load_topology
from corridor.v1 import events_pb2
from tests.unit.ingest_api_checks import assert_problem
from tests.unit.test_ingest_support import (
    NOW,
    FakePublisher,
    MemoryStore,
    bearer,
    booking_body,
    event_body,
    make_client,
)

MCM, KTZ, AKTAU = bearer("mcm"), bearer("ktz"), bearer("port-aktau")
SHIPMENT = "MCM-2026-00042"  # booked CNHRS -> GEPTI: by the direct line to Aktau
TOPOLOGY = load_topology()


def registry_with(tmp_path: Path, *entries: dict[str, Any]) -> Path:
    """The demo registry plus ``entries``."""
    raw = yaml.safe_load(DEMO_PRINCIPALS_FILE.read_text())
    raw["principals"] += list(entries)
    path = tmp_path / "principals.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def booked_client(origin: str = "CNHRS", **settings: Any) -> tuple[Any, FakePublisher]:
    publisher = FakePublisher()
    client = make_client(publisher, **settings)
    booking = booking_body(location=origin, booking={"origin": origin})
    response = client.post("/v1/events", json=booking, headers=MCM)
    assert response.status_code == 202, response.text
    return client, publisher


def denied(client: Any) -> dict[tuple[str, str], float]:
    return {
        (s.labels["role"], s.labels["reason"]): s.value
        for family in text_string_to_metric_families(client.get("/metrics").text)
        for s in family.samples
        if s.name == "corridor_ingest_denied_requests_total"
    }


def test_the_attack_of_the_issue_is_refused_as_not_a_party() -> None:
    """Aktau's port delivers at Aktau a shipment booked Almaty -> Poti, routed via Kuryk."""
    assert "KZAAU" not in booked_route(TOPOLOGY, "KZALA", "GEPTI")
    client, publisher = booked_client(origin="KZALA")
    delivered = event_body(event_id="aktau-1", event_type="DELIVERED", location="KZAAU", mode=None)
    problem = assert_problem(client.post("/v1/events", json=delivered, headers=AKTAU), 403)
    assert problem["type"] == "/problems/not_a_party"
    assert [e["code"] for e in problem["errors"]] == ["not_a_party"]
    assert len(publisher.records) == 1  # the booking only
    assert denied(client)[("carrier", "not_a_party")] == 1


def test_a_carrier_at_a_node_of_the_booked_route_takes_part() -> None:
    assert "KZKUR" in booked_route(TOPOLOGY, "KZALA", "GEPTI")
    client, _ = booked_client(origin="KZALA")
    response = client.post("/v1/events", json=event_body(location="KZKUR"), headers=KTZ)
    assert response.status_code == 202, response.text


def test_a_carrier_named_on_a_leg_takes_part_anywhere() -> None:
    publisher = FakePublisher()
    client = make_client(publisher)
    assert "KZAAU" not in booked_route(TOPOLOGY, "KZALA", "GEPTI")  # via Kuryk
    booking = booking_body(
        location="KZALA", booking={"origin": "KZALA", "legs": [{"carrier": "port-aktau"}]}
    )
    assert client.post("/v1/events", json=booking, headers=MCM).status_code == 202
    arrived = event_body(event_id="aktau-1", event_type="ARRIVED", location="KZAAU")
    assert client.post("/v1/events", json=arrived, headers=AKTAU).status_code == 202


def test_an_event_for_a_shipment_ingest_knows_no_booking_of_is_accepted_for_the_consumers() -> None:
    publisher = FakePublisher()
    body = event_body(event_id="aktau-1", event_type="ARRIVED", location="KZAAU")
    response = make_client(publisher).post("/v1/events", json=body, headers=AKTAU)
    assert response.status_code == 202, response.text
    assert len(publisher.records) == 1


def test_an_event_dated_before_the_booking_minus_the_tolerance_is_refused() -> None:
    client, _ = booked_client(booking_tolerance_seconds=3600)  # booked an hour ago
    early = event_body(occurred_at=(NOW - timedelta(hours=2, seconds=1)).isoformat())
    problem = assert_problem(client.post("/v1/events", json=early, headers=KTZ), 422)
    assert [(e["field"], e["code"]) for e in problem["errors"]] == [
        ("occurred_at", "before_booking")
    ]
    in_time = event_body(occurred_at=(NOW - timedelta(hours=1, minutes=59)).isoformat())
    assert client.post("/v1/events", json=in_time, headers=KTZ).status_code == 202


def test_an_event_older_than_the_maximum_age_is_refused_without_a_booking() -> None:
    old = event_body(occurred_at=(NOW - timedelta(days=31)).isoformat())
    response = make_client().post("/v1/events", json=old, headers=KTZ)
    problem = assert_problem(response, 422, "occurred_at")
    assert problem["errors"][0]["code"] == "too_old"


def test_delivered_is_accepted_only_at_the_booked_destination() -> None:
    client, _ = booked_client()
    wrong = event_body(event_id="mcm-2", event_type="DELIVERED", location="GETBS", mode=None)
    problem = assert_problem(client.post("/v1/events", json=wrong, headers=MCM), 422, "location")
    assert problem["errors"][0]["code"] == "not_destination"
    right = event_body(event_id="mcm-3", event_type="DELIVERED", location="GEPTI", mode=None)
    assert client.post("/v1/events", json=right, headers=MCM).status_code == 202


def test_only_the_booker_or_an_operator_amends_a_booking(tmp_path: Path) -> None:
    acme = {
        "id": "acme",
        "role": "carrier",
        "nodes": ["*"],
        "may_book": True,
        "keys": [{"sha256": key_hash("acme-key")}],
    }
    rival = {**acme, "id": "rival", "keys": [{"sha256": key_hash("rival-key")}]}
    client = make_client(principals_file=registry_with(tmp_path, acme, rival))
    first = booking_body(event_id="acme-1")
    headers = {"authorization": "Bearer acme-key"}
    assert client.post("/v1/events", json=first, headers=headers).status_code == 202
    other = booking_body(event_id="rival-1", booking={"destination": "TRKSY"})
    response = client.post("/v1/events", json=other, headers={"authorization": "Bearer rival-key"})
    assert assert_problem(response, 403)["type"] == "/problems/not_the_booker"
    amended = booking_body(event_id="mcm-9", booking={"destination": "TRKSY"})
    amended["occurred_at"] = NOW.isoformat()
    assert client.post("/v1/events", json=amended, headers=MCM).status_code == 202
    # The operator's amendment counts: DELIVERED now belongs at Kars.
    kars = event_body(event_id="acme-2", event_type="DELIVERED", location="TRKSY", mode=None)
    assert client.post("/v1/events", json=kars, headers=headers).status_code == 202


def test_an_older_amendment_does_not_replace_the_latest_booking() -> None:
    client, _ = booked_client()
    older = booking_body(event_id="mcm-0", booking={"destination": "TRKSY"})
    older["occurred_at"] = (NOW - timedelta(days=2)).isoformat()
    assert client.post("/v1/events", json=older, headers=MCM).status_code == 202
    poti = event_body(event_id="mcm-5", event_type="DELIVERED", location="GEPTI", mode=None)
    assert client.post("/v1/events", json=poti, headers=MCM).status_code == 202


def test_a_reused_event_id_with_other_content_is_a_conflict_and_the_same_content_a_retry() -> None:
    publisher = FakePublisher()
    client = make_client(publisher)
    assert client.post("/v1/events", json=event_body(), headers=KTZ).status_code == 202
    assert client.post("/v1/events", json=event_body(), headers=KTZ).status_code == 202
    changed = event_body(location="KZDSK")
    problem = assert_problem(client.post("/v1/events", json=changed, headers=KTZ), 409)
    assert problem["type"] == "/problems/event-id-reused"
    assert [e["field"] for e in problem["errors"]] == ["event_id"]
    assert len(publisher.records) == 2  # published twice (a retry), the conflict never
    # Another carrier has its own event ids.
    other = event_body(location="AZBAK")
    assert client.post("/v1/events", json=other, headers=bearer("ady")).status_code == 202


def test_a_corrected_resubmission_of_a_refused_event_is_not_a_conflict() -> None:
    client = make_client()
    wrong = event_body(container_no="MSCU6639871")
    assert_problem(client.post("/v1/events", json=wrong, headers=KTZ), 422, "container_no")
    assert client.post("/v1/events", json=event_body(), headers=KTZ).status_code == 202


def test_a_conflicting_item_of_a_batch_is_rejected_and_the_others_published() -> None:
    publisher = FakePublisher()
    client = make_client(publisher)
    assert client.post("/v1/events", json=event_body(), headers=KTZ).status_code == 202
    batch = {"events": [event_body(location="KZDSK"), event_body(event_id="ktz-2")]}
    results = client.post("/v1/events/batch", json=batch, headers=KTZ).json()["results"]
    assert [r["status"] for r in results] == ["rejected", "accepted"]
    assert results[0]["errors"][0]["code"] == "event_id_reused"


def test_a_batch_judges_its_events_against_its_own_booking() -> None:
    client = make_client()
    batch = {
        "events": [
            booking_body(),
            event_body(event_id="mcm-2", location="KZAAU", mode=None),
            event_body(event_id="mcm-3", event_type="DELIVERED", location="GETBS", mode=None),
        ]
    }
    results = client.post("/v1/events/batch", json=batch, headers=MCM).json()["results"]
    assert [r["status"] for r in results] == ["accepted", "accepted", "rejected"]
    assert results[2]["errors"][0]["code"] == "not_destination"


def test_named_parties_and_legs_are_published_with_the_booking() -> None:
    publisher = FakePublisher()
    body = booking_body(
        booking={
            "parties": {"shipper": "shipper-xian", "consignee": "consignee-tbilisi"},
            "legs": [{"carrier": "asco", "origin": "KZKUR", "destination": "AZBAK"}],
        }
    )
    assert make_client(publisher).post("/v1/events", json=body, headers=MCM).status_code == 202
    booking = events_pb2.CargoEvent.FromString(publisher.records[0].value).booking
    assert (booking.parties.shipper, booking.parties.consignee) == (
        "shipper-xian",
        "consignee-tbilisi",
    )
    assert booking.parties.forwarder == ""
    assert [(g.carrier, g.origin, g.destination) for g in booking.legs] == [
        ("asco", "KZKUR", "AZBAK")
    ]


@pytest.mark.parametrize(
    ("booking", "field"),
    [
        ({"parties": {"shipper": "nobody"}}, "booking.parties.shipper"),
        ({"parties": {"consignee": "ktz"}}, "booking.parties.consignee"),
        ({"parties": {"forwarder": "customs-kz"}}, "booking.parties.forwarder"),
        ({"parties": {"broker": "shipper-xian"}}, "booking.parties.broker"),
        ({"legs": [{"carrier": "nobody"}]}, "booking.legs.0.carrier"),
        ({"legs": [{"carrier": "corridor-ops"}]}, "booking.legs.0.carrier"),
        ({"legs": [{"carrier": "ady", "origin": "XXXXX"}]}, "booking.legs.0.origin"),
    ],
)
def test_an_unknown_party_or_leg_carrier_is_refused_naming_the_field(
    booking: dict[str, Any], field: str
) -> None:
    response = make_client().post("/v1/events", json=booking_body(booking=booking), headers=MCM)
    assert_problem(response, 422, field)


def test_principals_that_do_not_post_are_forbidden() -> None:
    client = make_client()
    for principal in ("shipper-xian", "customs-kz", "partner-insurer", "corridor-ops"):
        response = client.post("/v1/events", json=event_body(), headers=bearer(principal))
        problem = assert_problem(response, 403, "Authorization")
        assert problem["errors"][0]["code"] == "may_not_post"
    assert denied(client)[("party", "may_not_post")] == 1


def test_the_database_down_is_unavailable_and_safe_to_retry() -> None:
    store = MemoryStore()
    store.fail = True
    response = make_client(store=store).post("/v1/events", json=event_body(), headers=KTZ)
    problem = assert_problem(response, 503)
    assert response.headers["retry-after"] == "2"
    assert problem["errors"][0]["code"] == "unavailable"


def test_bookings_are_looked_up_once_and_then_cached() -> None:
    store = MemoryStore()
    client = make_client(store=store)
    for n in range(5):
        body = event_body(event_id=f"ktz-{n}")
        assert client.post("/v1/events", json=body, headers=KTZ).status_code == 202
    # One look-up (then cached as unknown), one ledger claim per event.
    assert store.calls == 1 + 5
