"""The protobuf edge of tariff: ``CargoEvent`` bytes in, ``Charge`` bytes out. The only
module that touches generated code."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from google.protobuf.message import DecodeError

from corridor.v1 import charges_pb2, common_pb2, events_pb2
from services.tariff.events import BookedLeg, BookingDetails, ShipmentEvent


class UndecodableEvent(ValueError):
    """The record is not a usable CargoEvent; the reason goes to the dead-letter topic."""


# The widths of the columns these fields are stored in (db.py): anything longer, or with a
# NUL (which PostgreSQL text cannot hold), would fail its whole batch again and again.
TEXT_LIMITS = {"carrier": 64, "event_id": 128, "shipment_id": 128, "location": 16}
PRINCIPAL_LIMIT, NODE_LIMIT = 64, 16
PARTY_FIELDS = ("shipper", "consignee", "forwarder")


def _text(name: str, value: str, limit: int) -> str:
    if len(value) > limit:
        raise UndecodableEvent(f"{name} longer than {limit} characters")
    if "\x00" in value:
        raise UndecodableEvent(f"{name} contains a NUL character")
    return value


def _check_text(event: events_pb2.CargoEvent) -> None:
    for name, limit in TEXT_LIMITS.items():
        _text(name, getattr(event, name), limit)


def content_digest(event: events_pb2.CargoEvent) -> str:
    """The event's content without ``recorded_at`` (a retry is received again, later)."""
    copy = events_pb2.CargoEvent()
    copy.CopyFrom(event)
    copy.ClearField("recorded_at")
    return hashlib.sha256(copy.SerializeToString(deterministic=True)).hexdigest()


def _booking(b: events_pb2.Booking) -> BookingDetails:
    try:
        weight = Decimal(repr(b.gross_weight_kg))
    except InvalidOperation as exc:
        raise UndecodableEvent("booking.gross_weight_kg is not a number") from exc
    if not weight.is_finite():
        raise UndecodableEvent("booking.gross_weight_kg is not a finite number")
    container = _name(common_pb2.ContainerType, b.container_type, "CONTAINER_TYPE_")
    parties = {
        role: _text(f"booking.parties.{role}", getattr(b.parties, role), PRINCIPAL_LIMIT)
        for role in PARTY_FIELDS
        if getattr(b.parties, role)
    }
    legs = tuple(
        BookedLeg(
            _text(f"booking.legs[{i}].carrier", leg.carrier, PRINCIPAL_LIMIT),
            _text(f"booking.legs[{i}].origin", leg.origin, NODE_LIMIT),
            _text(f"booking.legs[{i}].destination", leg.destination, NODE_LIMIT),
        )
        for i, leg in enumerate(b.legs)
    )
    return BookingDetails(
        origin=_text("booking.origin", b.origin, NODE_LIMIT),
        destination=_text("booking.destination", b.destination, NODE_LIMIT),
        container_type="" if container == "UNSPECIFIED" else container,
        gross_weight_kg=weight,
        parties=parties,
        legs=legs,
    )


def _moment(event: events_pb2.CargoEvent, name: str) -> datetime:
    try:
        return getattr(event, name).ToDatetime(tzinfo=UTC)  # type: ignore[no-any-return]
    except (ValueError, OverflowError) as exc:
        raise UndecodableEvent(f"{name} out of range: {exc}") from exc


def _name(enum: Any, value: int, prefix: str) -> str:
    try:
        return str(enum.Name(value)).removeprefix(prefix)
    except ValueError:
        return ""


def decode_event(value: bytes | None) -> ShipmentEvent:
    if not value:
        raise UndecodableEvent("empty record value")
    try:
        event = events_pb2.CargoEvent.FromString(value)
    except DecodeError as exc:
        raise UndecodableEvent(f"cannot decode CargoEvent: {exc}") from exc
    event_type = _name(common_pb2.EventType, event.event_type, "EVENT_TYPE_")
    missing = [
        name
        for name, present in (
            ("event_id", event.event_id),
            ("carrier", event.carrier),
            ("shipment_id", event.shipment_id),
            ("event_type", event_type not in ("", "UNSPECIFIED")),
            ("occurred_at", event.HasField("occurred_at")),
        )
        if not present
    ]
    if missing:
        raise UndecodableEvent(f"CargoEvent without {', '.join(missing)}")
    _check_text(event)
    booking = _booking(event.booking) if event.HasField("booking") else None
    recorded_at = _moment(event, "recorded_at") if event.HasField("recorded_at") else None
    return ShipmentEvent(
        carrier=event.carrier,
        event_id=event.event_id,
        shipment_id=event.shipment_id,
        event_type=event_type,
        actual=event.classifier in (common_pb2.CLASSIFIER_ACT, common_pb2.CLASSIFIER_UNSPECIFIED),
        location=event.location,
        occurred_at=_moment(event, "occurred_at"),
        booking=booking,
        recorded_at=recorded_at,
        digest=content_digest(event),
    )


def _mode(mode: str) -> int:
    # Handling legs have no transport mode: MODE_UNSPECIFIED, with from_node == to_node.
    return {"RAIL": common_pb2.MODE_RAIL, "VESSEL": common_pb2.MODE_VESSEL}.get(
        mode, common_pb2.MODE_UNSPECIFIED
    )


def _timestamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def encode_charge(doc: dict[str, Any]) -> bytes:
    """A stored charge document (``documents.charge_doc``) as ``Charge`` bytes."""
    charge = charges_pb2.Charge(
        charge_id=doc["charge_id"],
        shipment_id=doc["shipment_id"],
        card_version=doc["card_version"],
        currency=doc["currency"],
        total=doc["total"],
        container_type=common_pb2.ContainerType.Value("CONTAINER_TYPE_" + doc["container_type"]),
        gross_weight_kg=float(doc["gross_weight_kg"]),
        origin=doc["origin"],
        destination=doc["destination"],
        revision=int(doc.get("revision", 1)),
        difference=str(doc.get("difference", doc["total"])),
    )
    for leg in doc["legs"]:
        charge.legs.add(
            from_node=leg["from"],
            to_node=leg["to"],
            operator=leg["operator"],
            mode=_mode(leg["mode"]),
            amount=leg["amount"],
        )
    for s in doc["surcharges"]:
        charge.surcharges.add(
            kind=s["kind"],
            node=s["node"] or "",
            operator=s["operator"],
            days=s["days"],
            amount=s["amount"],
        )
    discount = doc.get("discount")
    if discount and Decimal(discount["amount"]):
        # The proto has no discount field: it shows as a negative surcharge line, so the
        # lines still add up to the total.
        charge.surcharges.add(kind="discount", amount=str(-Decimal(discount["amount"])))
    for share in doc["apportionment"]:
        charge.apportionment.add(operator=share["operator"], amount=share["amount"])
    charge.computed_at.FromDatetime(_timestamp(doc["computed_at"]))
    return charge.SerializeToString()
