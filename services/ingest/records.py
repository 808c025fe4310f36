"""Accepted events as ``cargo.events.v1`` records: CargoEvent bytes, keyed by shipment,
with CloudEvents headers. The one place where ingest touches the generated protobuf code."""

from __future__ import annotations

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
    )


def cargo_event(event: ReportedEvent, carrier: str, recorded_at: Timestamp) -> bytes:
    message = events_pb2.CargoEvent(
        event_id=event.event_id,
        carrier=carrier,
        event_type=_EVENT_TYPES[event.event_type],
        classifier=_CLASSIFIERS[event.classifier],
        occurred_at=timestamp(event.occurred_at),
        recorded_at=recorded_at,
        shipment_id=event.shipment_id,
        container_no=event.container_no or "",
        wagon_no=event.wagon_no or "",
        location=event.location,
        mode=_MODES[event.mode] if event.mode else 0,  # type: ignore[arg-type]
        reason=event.reason or "",
        booking=None if event.booking is None else _booking(event.booking),
    )
    return message.SerializeToString()


def event_record(event: ReportedEvent, carrier: str, recorded_at: datetime) -> OutgoingRecord:
    return event_records([event], carrier, recorded_at)[0]


def event_records(
    events: list[ReportedEvent], carrier: str, recorded_at: datetime
) -> list[OutgoingRecord]:
    """One record per event, all received at ``recorded_at``."""
    stamp = timestamp(recorded_at)
    return [
        cloudevent_record(
            EVENTS_TOPIC,
            event.shipment_id,
            cargo_event(event, carrier, stamp),
            ce_id=ce_id(carrier, event.event_id),
            ce_type=CE_TYPE_CARGO_EVENT,
            source=SOURCE,
            ce_time=recorded_at,
        )
        for event in events
    ]
