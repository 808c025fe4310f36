"""JSON building blocks of the stored views and event rows: times as integer microseconds
since the epoch (exact, and several times cheaper to write and read than ISO 8601 text: a
view is written with every change), and bookings as plain dicts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from corridor.contract import timestamps
from corridor.parties import Leg
from services.tracker.domain import Booking

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
dumps = json.JSONEncoder(separators=(",", ":")).encode
json_string = json.encoder.encode_basestring  # a JSON string literal (the C version)


def micros(at: datetime | None) -> int | None:
    return None if at is None else timestamps.micros(at)


def micros_text(at: datetime | None) -> str:
    """``micros`` as JSON text."""
    return "null" if at is None else str(timestamps.micros(at))


def moment(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)


def maybe_moment(value: int | None) -> datetime | None:
    return None if value is None else EPOCH + timedelta(microseconds=value)


def booking_to_dict(booking: Booking | None) -> dict[str, Any] | None:
    if booking is None:
        return None
    raw: dict[str, Any] = {
        "origin": booking.origin,
        "destination": booking.destination,
        "container_type": booking.container_type,
        "gross_weight_kg": booking.gross_weight_kg,
        "cargo_description": booking.cargo_description,
        "hs_code": booking.hs_code,
        "promised_delivery_at": micros(booking.promised_delivery_at),
    }
    if booking.shipper or booking.consignee or booking.forwarder:
        raw["parties"] = booking.parties
    if booking.legs:
        raw["legs"] = [[g.carrier, g.origin, g.destination] for g in booking.legs]
    return raw


def booking_from_dict(raw: dict[str, Any] | None) -> Booking | None:
    if raw is None:
        return None
    parties = raw.get("parties") or {}
    return Booking(
        origin=raw["origin"],
        destination=raw["destination"],
        container_type=raw["container_type"],
        gross_weight_kg=float(raw["gross_weight_kg"]),
        cargo_description=raw["cargo_description"],
        hs_code=raw["hs_code"],
        promised_delivery_at=maybe_moment(raw["promised_delivery_at"]),
        # Absent from rows written before bookings named parties and legs.
        shipper=parties.get("shipper", ""),
        consignee=parties.get("consignee", ""),
        forwarder=parties.get("forwarder", ""),
        legs=tuple(Leg(c, o, d) for c, o, d in raw.get("legs", ())),
    )
