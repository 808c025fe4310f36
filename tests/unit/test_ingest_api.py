"""The HTTP API of ingest against the app, with a fake publisher: every answer a carrier
can get, and what is published."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from corridor.kafka import OutgoingRecord, PublishError
from corridor.v1 import common_pb2, events_pb2
from services.ingest.records import timestamp
from tests.unit.test_ingest_support import (
    NOW,
    WAGON_NO_8,
    FakePublisher,
    bearer,
    booking_body,
    event_body,
    make_client,
    timeout_error,
)

KTZ = bearer("ktz")


def assert_problem(response: Any, status: int, *fields: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    assert problem["type"].startswith("/problems/")
    if fields:
        assert [e["field"] for e in problem["errors"]] == list(fields), problem
    return problem


def ce_ids(records: list[OutgoingRecord]) -> list[str]:
    return [dict(record.headers)["ce_id"].decode() for record in records]


def events_total(client: Any) -> dict[tuple[str, str, str], float]:
    text = client.get("/metrics").text
    return {
        (s.labels["carrier"], s.labels["event_type"], s.labels["outcome"]): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "corridor_ingest_events_total"
    }


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


# 422: each validation failure names its field


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


# 429 and 503


def test_a_carrier_over_its_rate_limit_is_told_when_to_retry() -> None:
    client = make_client(rate_limit_per_second=1, rate_limit_burst=2)
    statuses = [
        client.post("/v1/events", json=event_body(), headers=KTZ).status_code for _ in range(3)
    ]
    assert statuses == [202, 202, 429]
    response = client.post("/v1/events", json=event_body(), headers=KTZ)
    assert_problem(response, 429)
    assert int(response.headers["retry-after"]) >= 1
    other = client.post("/v1/events", json=event_body(location="AZBAK"), headers=bearer("ady"))
    assert other.status_code == 202
    assert events_total(client)[("ktz", "unknown", "rate_limited")] == 2


def test_a_batch_counts_each_event_against_the_rate_limit() -> None:
    client = make_client(rate_limit_per_second=1, rate_limit_burst=5)
    batch = {"events": [event_body(event_id=f"e-{n}") for n in range(10)]}
    assert client.post("/v1/events/batch", json=batch, headers=KTZ).status_code == 200
    assert_problem(client.post("/v1/events", json=event_body(), headers=KTZ), 429)


@pytest.mark.parametrize("failure", [timeout_error(), PublishError("not enough replicas")])
def test_an_unacknowledged_event_is_unavailable_and_safe_to_retry(failure: Any) -> None:
    publisher = FakePublisher()
    publisher.failures = [failure]
    client = make_client(publisher, retry_after_seconds=3)
    response = client.post("/v1/events", json=event_body(), headers=KTZ)
    problem = assert_problem(response, 503)
    assert response.headers["retry-after"] == "3"
    assert "same event_id" in problem["detail"]
    retried = client.post("/v1/events", json=event_body(), headers=KTZ)
    assert retried.status_code == 202
    assert events_total(client)[("ktz", "DEPARTED", "unavailable")] == 1


# Batches


def test_a_batch_answers_one_result_per_item_in_order_and_publishes_the_valid_ones() -> None:
    publisher = FakePublisher()
    events: list[Any] = [
        event_body(event_id="ok-1"),
        event_body(event_id="bad-digit", container_no="MSCU6639871"),
        event_body(event_id="elsewhere", location="GEPTI"),
        event_body(event_id="ok-2", occurred_at=(NOW - timedelta(days=2)).isoformat()),
        event_body(event_id="extra", surprise=True),
        42,
    ]
    response = make_client(publisher).post("/v1/events/batch", json={"events": events}, headers=KTZ)
    assert response.status_code == 200
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (2, 4)
    results = body["results"]
    assert [r["index"] for r in results] == list(range(6))
    assert [r["event_id"] for r in results] == [
        "ok-1",
        "bad-digit",
        "elsewhere",
        "ok-2",
        "extra",
        None,
    ]
    assert [r["status"] for r in results] == [
        "accepted",
        "rejected",
        "rejected",
        "accepted",
        "rejected",
        "rejected",
    ]
    assert results[0]["errors"] == []
    assert [(e["field"], e["code"]) for e in results[1]["errors"]] == [
        ("container_no", "check_digit")
    ]
    assert [(e["field"], e["code"]) for e in results[2]["errors"]] == [("location", "not_operated")]
    assert [(e["field"], e["code"]) for e in results[4]["errors"]] == [
        ("surprise", "extra_forbidden")
    ]
    assert [e["field"] for e in results[5]["errors"]] == [""]
    assert ce_ids(publisher.records) == ["ktz/ok-1", "ktz/ok-2"]


def test_a_batch_item_the_broker_did_not_acknowledge_is_rejected_as_unavailable() -> None:
    publisher = FakePublisher()
    publisher.failures = [None, timeout_error()]
    events = [event_body(event_id=f"e-{n}") for n in range(3)]
    response = make_client(publisher).post("/v1/events/batch", json={"events": events}, headers=KTZ)
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["accepted", "rejected", "accepted"]
    assert [(e["field"], e["code"]) for e in results[1]["errors"]] == [("", "unavailable")]


def test_a_batch_of_which_nothing_could_be_published_is_unavailable() -> None:
    publisher = FakePublisher()
    publisher.fail_all = timeout_error()
    events = [event_body(event_id=f"e-{n}") for n in range(3)] + [event_body(location="XXXXX")]
    response = make_client(publisher).post("/v1/events/batch", json={"events": events}, headers=KTZ)
    assert_problem(response, 503)
    assert response.headers["retry-after"] == "2"


def test_a_batch_of_only_invalid_events_is_answered_not_unavailable() -> None:
    publisher = FakePublisher()
    publisher.fail_all = timeout_error()
    events = [event_body(location="XXXXX")]
    response = make_client(publisher).post("/v1/events/batch", json={"events": events}, headers=KTZ)
    assert response.status_code == 200
    assert response.json()["rejected"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"events": []}, "events"),
        ({"events": [event_body()] * 1001}, "events"),
        ({}, "events"),
        ({"events": {"event_id": "x"}}, "events"),
        ({"events": [event_body()], "carrier": "ktz"}, "carrier"),
        ([event_body()], "body"),
    ],
)
def test_a_malformed_batch_is_refused_as_a_whole(body: Any, field: str) -> None:
    response = make_client().post("/v1/events/batch", json=body, headers=KTZ)
    problem = assert_problem(response, 422)
    assert field in [e["field"] for e in problem["errors"]]


def test_a_full_batch_of_a_thousand_events_is_accepted() -> None:
    publisher = FakePublisher()
    events = [event_body(event_id=f"e-{n}") for n in range(1000)]
    response = make_client(publisher).post("/v1/events/batch", json={"events": events}, headers=KTZ)
    assert response.json()["accepted"] == 1000
    assert len(publisher.records) == 1000


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
