"""Accepted events as ``cargo.events.v1`` records: CargoEvent bytes, keyed by shipment,
with CloudEvents headers. Encoded by the event contract (``corridor.contract``), whose
rules ingest's own (``schemas.py``, ``domain.py``) include: what ingest accepts, every
consumer can read."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp

from corridor.contract import codec
from corridor.contract.event import BookingData, CargoEventData
from corridor.contract.timestamps import timestamp as timestamp  # also imported from here
from corridor.kafka import CE_TYPE_CARGO_EVENT, EVENTS_TOPIC, OutgoingRecord, cloudevent_record
from services.ingest.domain import ReportedBooking, ReportedEvent

SOURCE = "/corridor/ingest"


def ce_id(carrier: str, event_id: str) -> str:
    """The identity of an event in the whole system: consumers apply each once."""
    return f"{carrier}/{event_id}"


def event_data(event: ReportedEvent, carrier: str) -> CargoEventData:
    """A judged event as the contract's value (``recorded_at`` is added at publication)."""
    return CargoEventData(
        event.event_id,
        carrier,
        event.event_type,
        event.classifier,
        event.occurred_at,
        event.shipment_id,
        event.location,
        None,
        event.container_no or "",
        event.wagon_no or "",
        event.mode or "",
        event.reason or "",
        None if event.booking is None else _booking(event.booking),
    )


def _booking(booking: ReportedBooking) -> BookingData:
    parties = booking.parties or {}
    return BookingData(
        booking.origin,
        booking.destination,
        booking.container_type,
        booking.gross_weight_kg,
        booking.cargo_description or "",
        booking.hs_code or "",
        booking.promised_delivery_at,
        parties.get("shipper", ""),
        parties.get("consignee", ""),
        parties.get("forwarder", ""),
        booking.legs,
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
    content = codec.encode(event_data(event, carrier))
    return Prepared(event, content, hashlib.blake2b(content, digest_size=16).hexdigest())


def _recorded_at_field(stamp: Timestamp) -> bytes:
    value = stamp.SerializeToString()
    return _RECORDED_AT_TAG + bytes([len(value)]) + value  # a Timestamp is < 128 bytes


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
