"""``CargoEvent`` bytes <-> ``CargoEventData``: the one place the event's generated
protobuf code is read or written.

Decoding validates (``validation.validate``): a decoded value always keeps the contract.
Encoding does not; a producer validates what it builds first (ingest's own rules include
these). Read each field once: reading a protobuf field builds a Python object.
"""

from __future__ import annotations

from collections.abc import Container
from datetime import datetime

from google.protobuf.message import DecodeError
from google.protobuf.timestamp_pb2 import Timestamp

from corridor.contract import enums
from corridor.contract.event import BookingData, CargoEventData
from corridor.contract.timestamps import moment, timestamp
from corridor.contract.validation import ContractError, validate
from corridor.parties import Leg
from corridor.v1 import events_pb2

CargoEvent = events_pb2.CargoEvent


def decode(value: bytes | None, nodes: Container[str]) -> CargoEventData:
    """A record's value as a valid ``CargoEventData``; ``ContractError`` says why not."""
    return from_message(parse(value), nodes)


def parse(value: bytes | None) -> events_pb2.CargoEvent:
    """The protobuf message, unchecked (for what needs its bytes, as a content digest)."""
    if value is None:
        raise ContractError("", "no_value", "record has no value")
    try:
        return CargoEvent.FromString(value)
    except DecodeError as exc:
        raise ContractError("", "undecodable", f"undecodable CargoEvent: {exc}") from None


def from_message(message: events_pb2.CargoEvent, nodes: Container[str]) -> CargoEventData:
    if not message.HasField("occurred_at"):
        raise ContractError("occurred_at", "missing", "missing occurred_at")
    event = CargoEventData(
        message.event_id,
        message.carrier,
        _name(enums.EVENT_TYPE, message.event_type),
        _name(enums.CLASSIFIER, message.classifier),
        _moment(message.occurred_at, "occurred_at"),
        message.shipment_id,
        message.location,
        _moment(message.recorded_at, "recorded_at") if message.HasField("recorded_at") else None,
        message.container_no,
        message.wagon_no,
        _name(enums.MODE, message.mode),
        message.reason,
        _booking(message.booking) if message.HasField("booking") else None,
    )
    return validate(event, nodes)


def _booking(booking: events_pb2.Booking) -> BookingData:
    parties = booking.parties
    return BookingData(
        booking.origin,
        booking.destination,
        _name(enums.CONTAINER_TYPE, booking.container_type, "booking."),
        booking.gross_weight_kg,
        booking.cargo_description,
        booking.hs_code,
        _moment(booking.promised_delivery_at, "booking.promised_delivery_at")
        if booking.HasField("promised_delivery_at")
        else None,
        parties.shipper,
        parties.consignee,
        parties.forwarder,
        tuple(Leg(g.carrier, g.origin, g.destination) for g in booking.legs)
        if booking.legs
        else (),
    )


def _name(enum: enums.ProtoEnum, number: int, prefix: str = "") -> str:
    if not number:
        return ""
    name = enum.by_number.get(number)
    if name is None:
        field = prefix + enum.field
        raise ContractError(field, "unknown_value", f"unknown {field} {number}")
    return name


def _moment(stamp: Timestamp, field: str) -> datetime:
    try:
        return moment(stamp)
    except OverflowError:
        raise ContractError(field, "out_of_range", f"{field} out of range") from None


def encode(event: CargoEventData) -> bytes:
    """``event`` as ``CargoEvent`` bytes, deterministic (equal content, equal bytes)."""
    return to_message(event).SerializeToString(deterministic=True)


def to_message(event: CargoEventData) -> events_pb2.CargoEvent:
    message = CargoEvent(
        event_id=event.event_id,
        carrier=event.carrier,
        event_type=enums.EVENT_TYPE.number(event.event_type),  # type: ignore[arg-type]
        classifier=enums.CLASSIFIER.number(event.classifier),  # type: ignore[arg-type]
        occurred_at=timestamp(event.occurred_at),
        shipment_id=event.shipment_id,
        container_no=event.container_no,
        wagon_no=event.wagon_no,
        location=event.location,
        mode=enums.MODE.number(event.mode),  # type: ignore[arg-type]
        reason=event.reason,
        booking=None if event.booking is None else _booking_message(event.booking),
    )
    if event.recorded_at is not None:
        message.recorded_at.CopyFrom(timestamp(event.recorded_at))
    return message


def _booking_message(booking: BookingData) -> events_pb2.Booking:
    parties = booking.shipper or booking.consignee or booking.forwarder
    return events_pb2.Booking(
        origin=booking.origin,
        destination=booking.destination,
        container_type=enums.CONTAINER_TYPE.number(booking.container_type),  # type: ignore[arg-type]
        gross_weight_kg=booking.gross_weight_kg,
        cargo_description=booking.cargo_description,
        hs_code=booking.hs_code,
        promised_delivery_at=None
        if booking.promised_delivery_at is None
        else timestamp(booking.promised_delivery_at),
        parties=events_pb2.BookingParties(
            shipper=booking.shipper, consignee=booking.consignee, forwarder=booking.forwarder
        )
        if parties
        else None,
        legs=[
            events_pb2.BookingLeg(carrier=g.carrier, origin=g.origin, destination=g.destination)
            for g in booking.legs
        ],
    )
