"""The tracker and the tariff read ``cargo.events.v1`` alike: both refuse exactly the same
records, for the same reason, and read what ingest publishes."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from bench.fuzz import bad_records
from corridor.contract.codec import decode
from corridor.contract.validation import ContractError
from corridor.parties import Leg
from corridor.topology import load_topology
from corridor.v1 import shipments_pb2
from services.ingest.domain import ReportedBooking, ReportedEvent
from services.ingest.records import event_data, event_records
from services.tariff.contracts import decode_event
from services.tracker.consumer import decode as tracker_decode
from tests.unit.test_contract import REFUSALS, refused
from tests.unit.test_tracker_samples import cargo_event, journey

TOPOLOGY = load_topology()
AT = datetime(2026, 6, 1, 8, 30, tzinfo=UTC)


Refusal = tuple[str, str, str] | None  # (field, reason, message); None: accepted


def refusals(value: bytes | None) -> tuple[Refusal, Refusal]:
    """How the tracker and the tariff each refuse ``value``."""
    seen: list[Refusal] = []
    for read in (lambda: tracker_decode(value, TOPOLOGY), lambda: decode_event(value, TOPOLOGY)):
        try:
            read()
        except ContractError as exc:
            seen.append((exc.field, exc.reason, str(exc)))
        else:
            seen.append(None)
    return seen[0], seen[1]


MALFORMED: list[bytes | None] = [
    None,
    b"",
    b"\xff\xff\xff not protobuf",
    shipments_pb2.ShipmentState(
        shipment_id="S-1", status=shipments_pb2.SHIPMENT_STATUS_DELIVERED
    ).SerializeToString(),
    *(refused(change) for change, *_ in REFUSALS),
    *(value for _, value in bad_records(80, random.Random(12))),
]


@pytest.mark.parametrize("value", MALFORMED)
def test_the_tracker_and_the_tariff_refuse_the_same_records_for_the_same_reason(
    value: bytes | None,
) -> None:
    tracker, tariff = refusals(value)
    assert tracker is not None
    assert tracker == tariff


def test_the_tracker_and_the_tariff_accept_the_same_records() -> None:
    for post in journey(3, "SAME-1"):
        assert refusals(cargo_event(post).SerializeToString()) == (None, None)


def test_what_ingest_publishes_every_consumer_reads_as_it_was_judged() -> None:
    booking = ReportedBooking(
        "CNAKL", "GEPTI", "40HC", 24_000.0, parties={"consignee": "cons-one"},
        legs=(Leg("ktz", "KZAAU"),),
    )  # fmt: skip
    events = [
        ReportedEvent("e-1", "BOOKED", AT, "S-1", "CNAKL", booking=booking),
        ReportedEvent("e-2", "DEPARTED", AT, "S-1", "CNAKL", container_no="MSCU6639870",
                      mode="RAIL"),
        ReportedEvent("e-3", "EXCEPTION", AT, "S-1", "KZAAU", classifier="EST", reason="late"),
    ]  # fmt: skip
    received = AT + timedelta(seconds=1)
    for event, record in zip(events, event_records(events, "mcm", received), strict=True):
        expected = event_data(event, "mcm")._replace(recorded_at=received)
        assert decode(record.value, TOPOLOGY.nodes) == expected
        assert refusals(record.value) == (None, None)
