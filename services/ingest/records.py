"""Accepted events as ``cargo.events.v1`` records: CargoEvent bytes, keyed by shipment,
with CloudEvents headers. The one place where ingest touches the generated protobuf code."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from corridor.kafka import CE_TYPE_CARGO_EVENT, EVENTS_TOPIC, OutgoingRecord, cloudevent_record
from corridor.v1 import common_pb2, events_pb2
from services.ingest.domain import ReportedBooking, ReportedEvent

SOURCE = "/corridor/ingest"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EVENT_TYPES = {
    name.removeprefix("EVENT_TYPE_"): number
    for name, number in common_pb2.EventType.items()
    if number
}
_CLASSIFIERS = {
    name.removeprefix("CLASSIFIER_"): number
    for name, number in common_pb2.Classifier.items()
    if number
}
_MODES = {name.removeprefix("MODE_"): number for name, number in common_pb2.Mode.items() if number}
_CONTAINER_TYPES = {
    name.removeprefix("CONTAINER_TYPE_"): number
    for name, number in common_pb2.ContainerType.items()
    if number
}


def ce_id(carrier: str, event_id: str) -> str:
    """The identity of an event in the whole system: consumers apply each once."""
    return f"{carrier}/{event_id}"


def timestamp(moment: datetime) -> Timestamp:
    """Exact (integer) conversion; ``Timestamp.FromDatetime`` is slower and goes through
    ``astimezone``."""
    delta = moment - _EPOCH
    return Timestamp(seconds=delta.days * 86_400 + delta.seconds, nanos=delta.microseconds * 1000)


def _booking(booking: ReportedBooking) -> events_pb2.Booking:
    return events_pb2.Booking(
        origin=booking.origin,
        destination=booking.destination,
        container_type=_CONTAINER_TYPES[booking.container_type],
        gross_weight_kg=booking.gross_weight_kg,
        cargo_description=booking.cargo_description or "",
        hs_code=booking.hs_code or "",
        promised_delivery_at=None
        if booking.promised_delivery_at is None
        else timestamp(booking.promised_delivery_at),
        parties=None if not booking.parties else events_pb2.BookingParties(**booking.parties),
        legs=[
            events_pb2.BookingLeg(carrier=g.carrier, origin=g.origin, destination=g.destination)
            for g in booking.legs
        ],
    )


@dataclass(slots=True)
class Prepared:
    """An event as its protobuf bytes (``recorded_at`` not set yet) and the digest of its
    content: what the ledger compares when an ``event_id`` comes back."""

    event: ReportedEvent
    content: bytes
    digest: str


# ``CargoEvent.recorded_at`` (field 6, length-delimited): appended to the content bytes at
# publication. A protobuf message may carry its fields in any order, so the event is
# serialised once, for the digest and for the record alike.
_RECORDED_AT_TAG = bytes([6 << 3 | 2])


def prepare(event: ReportedEvent, carrier: str) -> Prepared:
    content = cargo_message(event, carrier).SerializeToString(deterministic=True)
    return Prepared(event, content, hashlib.blake2b(content, digest_size=16).hexdigest())


def _recorded_at_field(stamp: Timestamp) -> bytes:
    value = stamp.SerializeToString()
    return _RECORDED_AT_TAG + bytes([len(value)]) + value  # a Timestamp is < 128 bytes


def cargo_event(event: ReportedEvent, carrier: str, recorded_at: Timestamp) -> bytes:
    message = cargo_message(event, carrier)
    message.recorded_at.CopyFrom(recorded_at)
    return message.SerializeToString()


def cargo_message(event: ReportedEvent, carrier: str) -> events_pb2.CargoEvent:
    return events_pb2.CargoEvent(
        event_id=event.event_id,
        carrier=carrier,
        event_type=_EVENT_TYPES[event.event_type],
        classifier=_CLASSIFIERS[event.classifier],
        occurred_at=timestamp(event.occurred_at),
        shipment_id=event.shipment_id,
        container_no=event.container_no or "",
        wagon_no=event.wagon_no or "",
        location=event.location,
        mode=_MODES[event.mode] if event.mode else 0,  # type: ignore[arg-type]
        reason=event.reason or "",
        booking=None if event.booking is None else _booking(event.booking),
    )


def event_records(
    events: list[ReportedEvent], carrier: str, recorded_at: datetime
) -> list[OutgoingRecord]:
    """One record per event, all received at ``recorded_at``."""
    return prepared_records([prepare(e, carrier) for e in events], carrier, recorded_at)


def prepared_records(
    prepared: list[Prepared], carrier: str, recorded_at: datetime
) -> list[OutgoingRecord]:
    stamp = _recorded_at_field(timestamp(recorded_at))
    records = []
    for item in prepared:
        records.append(
            cloudevent_record(
                EVENTS_TOPIC,
                item.event.shipment_id,
                item.content + stamp,
                ce_id=ce_id(carrier, item.event.event_id),
                ce_type=CE_TYPE_CARGO_EVENT,
                source=SOURCE,
                ce_time=recorded_at,
            )
        )
    return records
