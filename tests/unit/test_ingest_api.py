"""The HTTP API of ingest against the app, with a fake publisher: what is accepted and
published, the refusals before validation (401, 403, 413, 415), metrics, docs and the rest
of the service.

Each validation failure (422): test_ingest_api_validation. Rate limits, an unacknowledging
broker (429, 503) and batches: test_ingest_api_batches.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from corridor.v1 import common_pb2, events_pb2
from services.ingest.records import timestamp
from tests.unit.ingest_api_checks import KTZ, assert_problem, ce_ids, events_total
from tests.unit.test_ingest_support import (
    NOW,
    WAGON_NO_8,
    FakePublisher,
    bearer,
    booking_body,
    event_body,
    make_client,
)

# Accepted events and what is published


def test_a_valid_event_is_accepted_once_published() -> None:
    publisher = FakePublisher()
    response = make_client(publisher).post("/v1/events", json=event_body(), headers=KTZ)
    assert response.status_code == 202
    assert response.json() == {"event_id": "ktz-000001", "status": "accepted"}
    [record] = publisher.records
    assert record.topic == "cargo.events.v1"
    assert record.key == "MCM-2026-00042"
    headers = dict(record.headers)
    assert headers["ce_id"] == b"ktz/ktz-000001"
    assert headers["ce_type"] == b"corridor.v1.CargoEvent"
    assert headers["ce_source"] == b"/corridor/ingest"
    assert headers["ce_time"] == b"2026-11-02T12:00:00Z"
    event = events_pb2.CargoEvent.FromString(record.value)
    assert event.carrier == "ktz"
    assert event.event_type == common_pb2.EVENT_TYPE_DEPARTED
    assert event.classifier == common_pb2.CLASSIFIER_ACT
    assert event.mode == common_pb2.MODE_RAIL
    assert event.recorded_at == timestamp(NOW)
    assert event.occurred_at == timestamp(NOW - timedelta(hours=1))
    assert (event.container_no, event.wagon_no, event.location) == ("MSCU6639870", "", "KZAKL")
    assert not event.HasField("booking")


def test_the_carrier_comes_from_the_key_never_from_the_body() -> None:
    publisher = FakePublisher()
    body = event_body(carrier="mcm")
    response = make_client(publisher).post("/v1/events", json=body, headers=KTZ)
    assert_problem(response, 422, "carrier")
    assert publisher.records == []


def test_a_booking_is_published_with_its_details() -> None:
    publisher = FakePublisher()
    body = booking_body(classifier="PLN")
    response = make_client(publisher).post("/v1/events", json=body, headers=bearer("mcm"))
    assert response.status_code == 202, response.text
    event = events_pb2.CargoEvent.FromString(publisher.records[0].value)
    assert event.classifier == common_pb2.CLASSIFIER_PLN
    assert event.mode == common_pb2.MODE_UNSPECIFIED
    assert event.booking.origin == "CNHRS"
    assert event.booking.container_type == common_pb2.CONTAINER_TYPE_40HC
    assert event.booking.gross_weight_kg == 24_000
    assert event.booking.hs_code == "8479"
    assert event.booking.promised_delivery_at == timestamp(NOW + timedelta(days=14))


def test_a_wagon_load_is_published_with_its_wagon_number() -> None:
    publisher = FakePublisher()
    body = event_body(container_no=None, wagon_no=WAGON_NO_8, event_type="CUSTOMS_HOLD")
    body["reason"] = "document check"
    response = make_client(publisher).post("/v1/events", json=body, headers=KTZ)
    assert response.status_code == 202, response.text
    event = events_pb2.CargoEvent.FromString(publisher.records[0].value)
    assert (event.container_no, event.wagon_no, event.reason) == ("", WAGON_NO_8, "document check")


def test_posting_the_same_event_twice_publishes_it_with_the_same_identity() -> None:
    publisher = FakePublisher()
    client = make_client(publisher)
    for _ in range(2):
        assert client.post("/v1/events", json=event_body(), headers=KTZ).status_code == 202
    assert ce_ids(publisher.records) == ["ktz/ktz-000001"] * 2


# 401, 403, 413, 415


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"authorization": "Bearer nope"},
        {"authorization": "Basic demo-ktz"},
        {"authorization": "demo-ktz"},
    ],
)
def test_no_or_an_unknown_key_is_unauthorized(headers: dict[str, str]) -> None:
    client = make_client()
    for path, body in (
        ("/v1/events", event_body()),
        ("/v1/events/batch", {"events": [event_body()]}),
    ):
        response = client.post(path, json=body, headers=headers)
        assert_problem(response, 401, "Authorization")
        assert response.headers["www-authenticate"] == "Bearer"


def test_a_location_the_carrier_does_not_operate_is_forbidden() -> None:
    publisher = FakePublisher()
    body = event_body(location="GEPTI")
    problem = assert_problem(
        make_client(publisher).post("/v1/events", json=body, headers=KTZ), 403, "location"
    )
    assert problem["errors"][0]["code"] == "not_operated"
    assert publisher.records == []


def test_booking_without_the_right_is_forbidden() -> None:
    body = booking_body()
    response = make_client().post("/v1/events", json=body, headers=bearer("ktz"))
    problem = assert_problem(response, 403, "event_type")
    assert problem["errors"][0]["code"] == "may_not_book"


def test_a_body_over_one_mebibyte_is_too_large() -> None:
    body = event_body(reason="x" * (1024 * 1024))
    response = make_client().post("/v1/events", json=body, headers=KTZ)
    assert_problem(response, 413)


def test_a_chunked_body_over_one_mebibyte_is_too_large() -> None:
    def chunks() -> Any:
        for _ in range(20):
            yield b"x" * 65_536

    headers = {**KTZ, "content-type": "application/json"}
    response = make_client().post("/v1/events/batch", content=chunks(), headers=headers)
    assert_problem(response, 413)


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/xml", "application/jsonx"]
)
def test_a_body_that_is_not_json_is_unsupported(content_type: str | None) -> None:
    headers = dict(KTZ)
    if content_type:
        headers["content-type"] = content_type
    content = json.dumps(event_body()).encode()
    response = make_client().post("/v1/events", content=content, headers=headers)
    assert_problem(response, 415, "Content-Type")


def test_json_with_a_charset_is_accepted() -> None:
    headers = {**KTZ, "content-type": "application/json; charset=utf-8"}
    content = json.dumps(event_body()).encode()
    assert make_client().post("/v1/events", content=content, headers=headers).status_code == 202


# Metrics, docs, the rest of the service


def test_events_are_counted_by_carrier_type_and_outcome() -> None:
    client = make_client()
    client.post("/v1/events", json=event_body(), headers=KTZ)
    client.post("/v1/events", json=event_body(location="GEPTI"), headers=KTZ)
    client.post("/v1/events", json=booking_body(), headers=bearer("mcm"))
    counts = events_total(client)
    assert counts[("ktz", "DEPARTED", "accepted")] == 1
    assert counts[("ktz", "DEPARTED", "rejected")] == 1
    assert counts[("mcm", "BOOKED", "accepted")] == 1
    text = client.get("/metrics").text
    duration = (
        'corridor_ingest_http_request_duration_seconds_count{method="POST",route="/v1/events"'
    )
    assert duration + ',status="202"} 2.0' in text


def test_the_openapi_documents_both_endpoints_their_bodies_and_errors() -> None:
    client = make_client()
    spec = client.get("/openapi.json").json()
    single = spec["paths"]["/v1/events"]["post"]
    batch = spec["paths"]["/v1/events/batch"]["post"]
    assert single["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/EventIn"
    )
    assert batch["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/BatchIn"
    )
    assert set(single["responses"]) == {"202", "401", "403", "413", "415", "422", "429", "503"}
    assert "application/problem+json" in single["responses"]["503"]["content"]
    assert "Retry-After" in single["responses"]["503"]["headers"]
    event_schema = spec["components"]["schemas"]["EventIn"]
    assert event_schema["additionalProperties"] is False
    assert {"event_id", "event_type", "occurred_at", "shipment_id", "location"} <= set(
        event_schema["required"]
    )
    assert spec["components"]["securitySchemes"]["carrierKey"]["scheme"] == "bearer"
    assert client.get("/docs").status_code == 200


def test_other_methods_on_the_event_paths_are_not_allowed() -> None:
    assert_problem(make_client().get("/v1/events"), 405)


def test_readiness_follows_the_publisher() -> None:
    with make_client() as client:
        assert client.get("/readyz").json()["checks"] == {"broker": True, "database": True}
