"""A ``CargoEvent`` as plain, immutable Python values: what ingest publishes, what every
consumer reads, and what any other input (EPCIS, DCSA) builds before it is encoded.

No protobuf here. Text is ``""`` when absent (as in proto3), times are timezone-aware UTC
``datetime`` (to the microsecond), enums are the names of ``corridor.contract.enums``
(``""``: unspecified). Tuples, not dataclasses: one is built per event, and a tuple is
several times cheaper to build.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from corridor.parties import Leg

PARTY_ROLES = ("shipper", "consignee", "forwarder")


class BookingData(NamedTuple):
    """``corridor.v1.Booking``: what the booker promises (on ``BOOKED`` only)."""

    origin: str
    destination: str
    container_type: str = ""  # 20GP, 40GP, 40HC, 45HC or WAGON
    gross_weight_kg: float = 0.0
    cargo_description: str = ""
    hs_code: str = ""
    promised_delivery_at: datetime | None = None
    # Principal ids of the parties the booking names ("" when not named).
    shipper: str = ""
    consignee: str = ""
    forwarder: str = ""
    legs: tuple[Leg, ...] = ()

    @property
    def parties(self) -> dict[str, str]:
        """The named parties by role (only those named)."""
        named = zip(PARTY_ROLES, (self.shipper, self.consignee, self.forwarder), strict=True)
        return {role: pid for role, pid in named if pid}


class CargoEventData(NamedTuple):
    """``corridor.v1.CargoEvent``; ``(carrier, event_id)`` identifies it."""

    event_id: str
    carrier: str
    event_type: str  # BOOKED, GATE_IN, ... (the HTTP API's names)
    classifier: str  # ACT, EST or PLN
    occurred_at: datetime
    shipment_id: str
    location: str
    recorded_at: datetime | None = None  # ingest's receive time
    container_no: str = ""
    wagon_no: str = ""
    mode: str = ""  # RAIL, VESSEL, TRUCK or "" (not said)
    reason: str = ""
    booking: BookingData | None = None
