"""The HTTP API of ingest against the app, with a fake publisher: each validation failure
of an event or a booking is a 422 naming its field, and nothing is published."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.unit.ingest_api_checks import KTZ, assert_problem
from tests.unit.test_ingest_support import (
    NOW,
    WAGON_NO_8,
    FakePublisher,
    bearer,
    booking_body,
    event_body,
    make_client,
)

INVALID_EVENTS = [
    pytest.param({"container_no": "MSCU6639871"}, "container_no", id="container-check-digit"),
    pytest.param(
        {"container_no": None, "wagon_no": "51800201"}, "wagon_no", id="wagon-check-digit"
    ),
    pytest.param({"container_no": None}, "container_no", id="no-equipment"),
    pytest.param({"wagon_no": WAGON_NO_8}, "container_no", id="both-equipments"),
    pytest.param({"location": "DEHAM"}, "location", id="unknown-node"),
    pytest.param(
        {"occurred_at": (NOW + timedelta(days=2)).isoformat()}, "occurred_at", id="future"
    ),
    pytest.param({"occurred_at": "2026-11-02T10:00:00"}, "occurred_at", id="no-offset"),
    pytest.param({"occurred_at": "yesterday"}, "occurred_at", id="not-a-time"),
    pytest.param({"occurred_at": 1793620800}, "occurred_at", id="epoch-number"),
    pytest.param({"event_type": "BOOKED"}, "booking", id="booking-missing"),
    pytest.param({"event_type": "EXCEPTION"}, "reason", id="reason-missing"),
    pytest.param({"event_type": "LOST"}, "event_type", id="unknown-type"),
    pytest.param({"classifier": "GUESS"}, "classifier", id="unknown-classifier"),
    pytest.param({"mode": "AIR"}, "mode", id="unknown-mode"),
    pytest.param({"event_id": ""}, "event_id", id="empty-event-id"),
    pytest.param({"event_id": "e" * 129}, "event_id", id="long-event-id"),
    pytest.param({"shipment_id": "MCM 42"}, "shipment_id", id="shipment-id-charset"),
    pytest.param({"shipment_id": "S" * 65}, "shipment_id", id="long-shipment-id"),
    pytest.param({"unexpected": 1}, "unexpected", id="unknown-field"),
    pytest.param({"booking": {"origin": "CNHRS"}}, "booking.destination", id="booking-shape"),
]


@pytest.mark.parametrize(("changes", "field"), INVALID_EVENTS)
def test_an_invalid_event_is_refused_naming_the_field(changes: dict[str, Any], field: str) -> None:
    publisher = FakePublisher()
    body = event_body(**{k: v for k, v in changes.items() if v is not None})
    for key in [k for k, v in changes.items() if v is None]:
        body.pop(key)
    response = make_client(publisher).post("/v1/events", json=body, headers=KTZ)
    problem = assert_problem(response, 422)
    assert field in [e["field"] for e in problem["errors"]], problem
    assert publisher.records == []


INVALID_BOOKINGS = [
    pytest.param({"origin": "CNSHA"}, "booking.origin", id="unknown-origin"),
    pytest.param({"destination": "DEHAM"}, "booking.destination", id="unknown-destination"),
    pytest.param({"container_type": "53HC"}, "booking.container_type", id="unknown-type"),
    pytest.param({"container_type": "WAGON"}, "booking.container_type", id="wagon-with-container"),
    pytest.param({"gross_weight_kg": 0}, "booking.gross_weight_kg", id="no-weight"),
    pytest.param({"gross_weight_kg": 1e9}, "booking.gross_weight_kg", id="absurd-weight"),
    pytest.param({"hs_code": "84x9"}, "booking.hs_code", id="hs-code"),
    pytest.param({"promised_delivery_at": "soon"}, "booking.promised_delivery_at", id="promise"),
    pytest.param({"colour": "red"}, "booking.colour", id="unknown-field"),
]


@pytest.mark.parametrize(("changes", "field"), INVALID_BOOKINGS)
def test_an_invalid_booking_is_refused_naming_the_field(
    changes: dict[str, Any], field: str
) -> None:
    response = make_client().post(
        "/v1/events", json=booking_body(booking=changes), headers=bearer("mcm")
    )
    problem = assert_problem(response, 422)
    assert field in [e["field"] for e in problem["errors"]], problem


@pytest.mark.parametrize("content", [b"", b"{", b"[]", b"null", b'"event"', b"\xff\xfe"])
def test_a_body_that_is_not_an_event_object_is_invalid(content: bytes) -> None:
    headers = {**KTZ, "content-type": "application/json"}
    assert_problem(make_client().post("/v1/events", content=content, headers=headers), 422)


def test_a_booking_on_another_event_is_refused() -> None:
    body = event_body(booking=booking_body()["booking"])
    assert_problem(make_client().post("/v1/events", json=body, headers=KTZ), 422, "booking")
