"""The edge: what a CargoEvent record must hold to be applied, and the ShipmentState out."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import ConsumerRecord

from corridor.contract.validation import ContractError
from corridor.journeys import Post
from corridor.v1 import common_pb2, events_pb2, shipments_pb2
from services.tracker.consumer import EventsHandler, decode
from services.tracker.domain import Classifier, Event, EventType, TrackedShipment, fold
from services.tracker.handlers import BatchResult
from services.tracker.handlers.conflicts import conflict
from services.tracker.ports import StorageRefused
from services.tracker.publication import shipment_state, state_record
from tests.unit.test_tracker_samples import RULES, TOPOLOGY, cargo_event, domain_event, journey

Change = Callable[[events_pb2.CargoEvent], None]


def valid() -> events_pb2.CargoEvent:
    return cargo_event(journey(5, "EDGE-1")[0])  # the booking


def _set(name: str, value: object) -> Change:
    def change(message: events_pb2.CargoEvent) -> None:
        setattr(message, name, value)

    return change


def _clear(name: str) -> Change:
    def change(message: events_pb2.CargoEvent) -> None:
        message.ClearField(name)  # type: ignore[arg-type]

    return change


def _booking(name: str, value: object) -> Change:
    def change(message: events_pb2.CargoEvent) -> None:
        setattr(message.booking, name, value)

    return change


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (_set("event_id", ""), "missing event_id"),
        (_set("carrier", ""), "missing carrier"),
        (_set("shipment_id", ""), "missing shipment_id"),
        (_set("event_type", 0), "missing event_type"),
        (_set("event_type", 99), "unknown event_type 99"),
        (_set("classifier", 0), "missing classifier"),
        (_set("classifier", 7), "unknown classifier 7"),
        (_set("mode", 9), "unknown mode 9"),
        (_clear("occurred_at"), "missing occurred_at"),
        (_set("location", ""), "missing location"),
        (_set("location", "XXZZZ"), "unknown node 'XXZZZ' in location"),
        (_clear("booking"), "missing booking on BOOKED"),
        (_booking("destination", "FRPAR"), "unknown node 'FRPAR' in booking.destination"),
        (_booking("container_type", 42), "unknown booking.container_type 42"),
        (_booking("container_type", 0), "missing booking.container_type"),
        (_set("carrier", "c" * 33), "carrier longer than 32 characters"),
        (_set("shipment_id", "s" * 65), "shipment_id longer than 64 characters"),
        (_set("event_id", "x" * 129), "event_id longer than 128 characters"),
        (_set("reason", "r" * 501), "reason longer than 500 characters"),
        (_set("reason", "nul \x00 byte"), "control character U+0000 in reason"),
        (_set("event_id", "a\x1fb"), "control character U+001F in event_id"),
    ],
)
def test_a_record_that_cannot_be_applied_is_rejected_with_a_precise_reason(
    change: Change, reason: str
) -> None:
    message = valid()
    change(message)
    with pytest.raises(ContractError) as caught:
        decode(message.SerializeToString(), TOPOLOGY)
    assert str(caught.value) == reason


def test_bytes_that_are_not_a_cargo_event_are_rejected_as_undecodable() -> None:
    with pytest.raises(ContractError, match="undecodable CargoEvent"):
        decode(b"\xff\xff\xff not protobuf", TOPOLOGY)
    with pytest.raises(ContractError, match="no value"):
        decode(None, TOPOLOGY)


def test_a_time_out_of_range_is_rejected() -> None:
    message = valid()
    message.occurred_at.seconds = -(10**9)
    with pytest.raises(ContractError, match="occurred_at out of range"):
        decode(message.SerializeToString(), TOPOLOGY)


def test_a_valid_record_becomes_the_domain_event_with_microsecond_times() -> None:
    message = valid()
    message.occurred_at.nanos = 123_456_789
    event = decode(message.SerializeToString(), TOPOLOGY)
    assert event.occurred_at.microsecond == 123_456
    assert event.occurred_at.tzinfo is not None
    assert event.event_type is EventType.BOOKED
    assert event.classifier is Classifier.ACT
    assert event.booking is not None
    assert event.booking.container_type == common_pb2.ContainerType.Name(
        message.booking.container_type
    ).removeprefix("CONTAINER_TYPE_")


def test_the_published_state_carries_the_view_its_estimate_and_version() -> None:
    posts = journey(8, "EDGE-2")
    events = [domain_event(p) for p in posts[:12]]
    view = fold("EDGE-2", events, RULES)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    eta = now + timedelta(days=3)
    shipment = TrackedShipment(view, eta, True, 7, 2, now)
    record = state_record("cargo.shipments.v1", shipment)
    assert record.key == "EDGE-2"
    headers = dict(record.headers)
    assert headers["ce_id"] == b"EDGE-2/7"
    assert headers["ce_type"] == b"corridor.v1.ShipmentState"
    state = shipments_pb2.ShipmentState.FromString(record.value)
    assert state == shipment_state(shipment)
    assert state.status == shipments_pb2.SHIPMENT_STATUS_IN_TRANSIT
    assert state.version == 7
    assert (state.counts.events, state.counts.duplicates) == (view.events, 2)
    assert state.delayed is True
    assert state.eta.ToDatetime(tzinfo=UTC) == eta
    assert state.origin == view.origin
    assert state.destination == view.destination
    assert state.current_location == view.current_location
    assert [s.country for s in state.sections] == [s.country for s in view.sections]
    assert [d.node for d in state.dwells] == [d.node for d in view.dwells]
    assert view.last_event is not None
    assert state.last_event.event_id == view.last_event.event_id
    closed = [s for s in state.sections if s.HasField("exited_at")]
    assert [s.transit_seconds for s in closed] == [
        s.transit_seconds for s in view.sections if s.exited_at is not None
    ]


class FakeTracker:
    """Refuses (as the database would) any batch holding a poisoned event; records what it
    applied."""

    def __init__(self, poisoned: set[str], error: Exception) -> None:
        self.poisoned = poisoned
        self.error = error
        self.applied: list[list[str]] = []
        self.published = 0

    async def apply(self, batch: list[Event]) -> BatchResult:
        if any(e.event_id in self.poisoned for e in batch):
            raise self.error
        self.applied.append([e.event_id for e in batch])
        return BatchResult(applied=list(batch))

    def count_dead_letters(self, count: int) -> None:
        pass

    async def publish_pending(self) -> None:
        self.published += 1


def records_of(posts: list[Post]) -> list[ConsumerRecord[bytes, bytes]]:
    return [
        ConsumerRecord(
            "t", 0, offset, 0, 0, None, cargo_event(p).SerializeToString(), None, 0, 0, ()
        )
        for offset, p in enumerate(posts)
    ]


async def test_an_event_the_database_refuses_is_dead_lettered_and_the_others_applied() -> None:
    posts = journey(9, "EDGE-3")[:4]
    refused = StorageRefused("invalid byte sequence")
    tracker = FakeTracker({posts[2].event_id}, refused)
    letters = await EventsHandler(tracker, TOPOLOGY)(records_of(posts))
    assert [letter.record.offset for letter in letters] == [2]
    assert letters[0].reason.startswith("cannot be applied: ")
    assert tracker.applied == [[p.event_id] for i, p in enumerate(posts) if i != 2]
    assert tracker.published == 1


async def test_a_failure_that_may_pass_is_raised_for_the_batch_to_be_retried() -> None:
    posts = journey(9, "EDGE-4")[:3]
    down = ConnectionRefusedError("connection refused")
    tracker = FakeTracker({posts[0].event_id}, down)
    with pytest.raises(ConnectionRefusedError):
        await EventsHandler(tracker, TOPOLOGY)(records_of(posts))
    assert tracker.applied == []


def test_the_parties_and_legs_a_booking_names_are_decoded() -> None:
    message = valid()
    message.booking.parties.shipper = "shipper-xian"
    message.booking.parties.consignee = "consignee-tbilisi"
    message.booking.legs.add(carrier="port-aktau", origin="KZAAU", destination="")
    event = decode(message.SerializeToString(), TOPOLOGY)
    assert event.booking is not None
    assert event.booking.parties == {"shipper": "shipper-xian", "consignee": "consignee-tbilisi"}
    assert [(g.carrier, g.origin, g.destination) for g in event.booking.legs] == [
        ("port-aktau", "KZAAU", "")
    ]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda b: setattr(b.parties, "shipper", "Not An Id"), "booking.parties.shipper is"),
        (lambda b: b.legs.add(carrier=""), "missing booking.legs[0].carrier"),
        (lambda b: b.legs.add(carrier="gr", origin="XXZZZ"), "unknown node 'XXZZZ' in booking"),
    ],
)
def test_a_booking_naming_a_malformed_party_or_leg_is_rejected(
    change: Callable[[events_pb2.Booking], object], reason: str
) -> None:
    message = valid()
    change(message.booking)
    with pytest.raises(ContractError, match=re.escape(reason)):
        decode(message.SerializeToString(), TOPOLOGY)


def test_a_copy_is_harmless_only_when_its_content_is_the_same() -> None:
    event = domain_event(journey(6, "EDGE-5")[3])
    retried = event._replace(recorded_at=event.occurred_at + timedelta(hours=1))
    assert conflict(event, retried) is None
    moved = event._replace(location="KZALA", occurred_at=event.occurred_at + timedelta(days=1))
    reason = conflict(event, moved)
    assert reason is not None
    assert reason.startswith("conflicting duplicate: ")
    assert reason.endswith("occurred_at, location")


async def test_a_conflicting_duplicate_is_dead_lettered_with_its_reason() -> None:
    posts = journey(9, "EDGE-6")[:3]
    records = records_of(posts)

    class Conflicted(FakeTracker):
        async def apply(self, batch: list[Event]) -> BatchResult:
            result = await super().apply(batch)
            result.conflicting = [(batch[1], "conflicting duplicate: test")]
            return result

    tracker = Conflicted(set(), RuntimeError())
    letters = await EventsHandler(tracker, TOPOLOGY)(records)
    assert [(letter.record.offset, letter.reason) for letter in letters] == [
        (1, "conflicting duplicate: test")
    ]
