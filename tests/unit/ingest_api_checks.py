"""Checks shared by the tests of ingest's HTTP API: a problem answer, the CloudEvents ids
of what was published, the events counter (this module holds no test)."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from corridor.kafka import OutgoingRecord
from tests.unit.test_ingest_support import bearer

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
