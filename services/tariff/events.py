"""What tariff needs of a carrier event, as plain types (decoded in ``contracts``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class BookingDetails:
    origin: str
    destination: str
    container_type: str  # 20GP, 40GP, 40HC, 45HC or WAGON; "" when unspecified
    gross_weight_kg: Decimal


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
