"""What tariff needs of a carrier event, as plain types (decoded in ``contracts``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


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
    actual: bool  # ACT (or unspecified); EST and PLN are not facts and are ignored
    location: str
    occurred_at: datetime
    booking: BookingDetails | None = None
    # Ingest's receive time; None when the record does not say (the consumer's clock then).
    recorded_at: datetime | None = None
    # SHA-256 of the event's content without recorded_at: two copies of one
    # (carrier, event_id) with different digests are a conflicting duplicate.
    digest: str = ""
