"""What tariff needs of a carrier event, as plain types: the event contract's value
(``corridor.contract``, decoded and validated in ``contracts``) mapped onto them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from corridor.contract.event import BookingData, CargoEventData


@dataclass(frozen=True)
class BookedLeg:
    """A carrier the booker engages for part of the journey (nodes optional)."""

    carrier: str
    origin: str = ""
    destination: str = ""


@dataclass(frozen=True)
class BookingDetails:
    origin: str
    destination: str
    container_type: str  # 20GP, 40GP, 40HC, 45HC or WAGON; "" when unspecified
    gross_weight_kg: Decimal
    # shipper / consignee / forwarder principal ids the booking names (non-empty only)
    parties: Mapping[str, str] = field(default_factory=dict)
    legs: tuple[BookedLeg, ...] = ()


@dataclass(frozen=True)
class ShipmentEvent:
    carrier: str
    event_id: str
    shipment_id: str
    event_type: str  # BOOKED, ARRIVED, DEPARTED, ... (the HTTP API's names)
    actual: bool  # ACT; EST and PLN are not facts and are ignored
    location: str
    occurred_at: datetime
    booking: BookingDetails | None = None
    # Ingest's receive time; None when the record does not say (the consumer's clock then).
    recorded_at: datetime | None = None
    # SHA-256 of the event's content without recorded_at: two copies of one
    # (carrier, event_id) with different digests are a conflicting duplicate.
    digest: str = ""


def shipment_event(data: CargoEventData, digest: str) -> ShipmentEvent:
    """A valid contract value as the tariff's event; ``digest`` as ``ShipmentEvent.digest``."""
    return ShipmentEvent(
        carrier=data.carrier,
        event_id=data.event_id,
        shipment_id=data.shipment_id,
        event_type=data.event_type,
        actual=data.classifier == "ACT",
        location=data.location,
        occurred_at=data.occurred_at,
        booking=None if data.booking is None else _booking(data.booking),
        recorded_at=data.recorded_at,
        digest=digest,
    )


def _booking(booking: BookingData) -> BookingDetails:
    return BookingDetails(
        origin=booking.origin,
        destination=booking.destination,
        container_type=booking.container_type,
        # The contract holds the weight finite: its shortest decimal form is exact.
        gross_weight_kg=Decimal(repr(booking.gross_weight_kg)),
        parties=booking.parties,
        legs=tuple(BookedLeg(g.carrier, g.origin, g.destination) for g in booking.legs),
    )
