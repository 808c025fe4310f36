"""The query API's response shapes (``XOut``); ``convert.py`` makes them from stored
shipments and events."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from corridor.parties import REASONS

StatusName = Literal["BOOKED", "IN_TRANSIT", "HELD", "DELIVERED"]


class LastEventOut(BaseModel):
    event_id: str
    carrier: str
    event_type: str
    classifier: str
    location: str
    occurred_at: datetime


class SectionOut(BaseModel):
    country: str = Field(description="Country code, or XC for the Caspian crossing.")
    entered_at: datetime
    exited_at: datetime | None = Field(description="null while the cargo is in the section.")
    transit_seconds: int = Field(description="0 while the cargo is in the section.")
    target_seconds: int | None = Field(description="Published target for the section, if any.")


class DwellOut(BaseModel):
    node: str
    kind: Literal["border", "port"]
    arrived_at: datetime
    departed_at: datetime | None
    dwell_seconds: int


class MilestoneOut(BaseModel):
    classifier: Literal["EST", "PLN"]
    event_type: str
    location: str
    expected_at: datetime
    carrier: str


class CountsOut(BaseModel):
    events: int = Field(description="Unique events applied.")
    duplicates: int = Field(description="Redelivered or re-posted copies ignored.")
    set_aside: int = Field(description="Events that do not count (held or refused).")


class PartiesOut(BaseModel):
    shipper: str | None
    consignee: str | None
    forwarder: str | None


class LegOut(BaseModel):
    carrier: str
    origin: str | None
    destination: str | None


class ShipmentOut(BaseModel):
    shipment_id: str
    status: StatusName
    booker: str | None = Field(description="The carrier whose booking made the shipment.")
    container_no: str | None
    wagon_no: str | None
    container_type: str | None
    gross_weight_kg: float | None
    origin: str | None
    destination: str | None
    current_location: str | None
    last_event: LastEventOut | None = Field(description="The latest actual event in time.")
    sections: list[SectionOut]
    dwells: list[DwellOut]
    eta: datetime | None = Field(
        description="Estimated arrival at the destination: never before now until the cargo "
        "has arrived (then the arrival)."
    )
    carrier_eta: datetime | None = Field(description="The carrier's latest estimate (EST).")
    promised_delivery_at: datetime | None
    cargo_description: str | None = Field(
        description="Shown to operators, customs, the booker, leg carriers, named parties."
    )
    hs_code: str | None = Field(description="As cargo_description.")
    parties: PartiesOut | None = Field(description="As cargo_description.")
    legs: list[LegOut] = Field(description="Carriers the booking engages.")
    delayed: bool = Field(
        description="Delivered after the promised delivery; or, not delivered, expected after "
        "it or still not delivered when it has passed."
    )
    silent: bool = Field(
        description="In transit or held, and nothing heard for longer than a multiple of the "
        "expected time of the current step (segment or dwell)."
    )
    hold_reason: str | None
    milestones: list[MilestoneOut] = Field(description="Latest estimates and plans.")
    counts: CountsOut
    version: int
    updated_at: datetime | None


class ShipmentPage(BaseModel):
    items: list[ShipmentOut]
    next_cursor: str | None


class BookingOut(BaseModel):
    origin: str
    destination: str
    container_type: str | None
    gross_weight_kg: float
    cargo_description: str | None
    hs_code: str | None
    promised_delivery_at: datetime | None
    parties: PartiesOut | None
    legs: list[LegOut]


class EventOut(BaseModel):
    event_id: str
    carrier: str
    event_type: str
    classifier: str
    occurred_at: datetime
    recorded_at: datetime | None
    location: str
    mode: str | None
    container_no: str | None
    wagon_no: str | None
    reason: str | None
    booking: BookingOut | None


class EventPage(BaseModel):
    shipment_id: str
    items: list[EventOut]
    next_cursor: str | None


class EquipmentPage(BaseModel):
    equipment: str = Field(description="The container or wagon number asked for.")
    items: list[ShipmentOut]
    next_cursor: str | None


class SectionKpiOut(BaseModel):
    country: str
    shipments: int = Field(description="Shipments that left the section in the window.")
    median_transit_seconds: float
    p90_transit_seconds: float
    target_seconds: int | None
    met_target: int | None = Field(
        description="Of those, how many took at most the target (null: no target)."
    )
    tonnes: float
    teu: float


class ThroughBandOut(BaseModel):
    name: str = Field(description="now: as published for 2023; goal: the corridor's aim.")
    low_days: float
    high_days: float


class ThroughKpiOut(BaseModel):
    origin_country: str = Field(description="Where the journeys started (first section).")
    destination: str = Field(description="UN/LOCODE of the destination node.")
    shipments: int = Field(description="Journeys delivered in the window.")
    median_transit_seconds: float
    p90_transit_seconds: float
    met: dict[str, int] = Field(
        description="Per band, the journeys that took at most its upper end."
    )


class CorridorOut(BaseModel):
    as_of: datetime
    window_days: int
    shipments_by_status: dict[str, int]
    shipments_by_node: dict[str, int] = Field(
        description="Shipments not yet delivered, by current location."
    )
    shipments_delayed: int = Field(description="Shipments not yet delivered that are delayed.")
    shipments_silent: int = Field(description="Shipments not yet delivered that are silent.")
    sections: list[SectionKpiOut]
    through_targets: list[ThroughBandOut] = Field(
        description="The published bands of through transit (China to Europe)."
    )
    through: list[ThroughKpiOut] = Field(
        description="Through transit, first movement to delivery, per origin country and "
        "destination, of the journeys delivered in the window."
    )


class SetAsideOut(BaseModel):
    carrier: str
    event_id: str
    shipment_id: str
    event_type: str
    location: str
    occurred_at: datetime
    recorded_at: datetime | None
    outcome: Literal["held", "refused"] = Field(
        description="held: waiting for a booking that makes the carrier a party; refused: "
        "for good (a held event whose hold window passed is refused, hold_expired)."
    )
    reason: str = Field(description="Reason code: " + ", ".join(REASONS) + ".")
    message: str


class SetAsidePage(BaseModel):
    items: list[SetAsideOut]
    next_cursor: str | None
