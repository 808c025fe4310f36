"""The HTTP API of ingest against the app, with a fake publisher: rate limits (429), an
unacknowledging broker (503), and batches, answered one result per item."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from corridor.kafka import PublishError
from tests.unit.ingest_api_checks import KTZ, assert_problem, ce_ids, events_total
from tests.unit.test_ingest_support import (
    NOW,
    FakePublisher,
    bearer,
    event_body,
    make_client,
    timeout_error,
)

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
