"""The query API's response shapes (``XOut``) and how stored shipments and events become
them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, cast

from pydantic import BaseModel, Field

from corridor.topology import Topology
from services.tracker.domain import Event, TrackedShipment, dwell_kind

StatusName = Literal["BOOKED", "IN_TRANSIT", "HELD", "DELIVERED"]


def section_target(country: str, topology: Topology) -> int | None:
    """The published transit target of a section, in seconds."""
    hours = topology.section_targets.get(country)
    return None if hours is None else int(hours * 3600)


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


class ShipmentOut(BaseModel):
    shipment_id: str
    status: StatusName
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
    eta: datetime | None = Field(description="Estimated arrival at the destination.")
    carrier_eta: datetime | None = Field(description="The carrier's latest estimate (EST).")
    promised_delivery_at: datetime | None
    delayed: bool
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
    tonnes: float
    teu: float


class CorridorOut(BaseModel):
    as_of: datetime
    window_days: int
    shipments_by_status: dict[str, int]
    shipments_by_node: dict[str, int] = Field(
        description="Shipments not yet delivered, by current location."
    )
    sections: list[SectionKpiOut]


def shipment_out(shipment: TrackedShipment, topology: Topology) -> ShipmentOut:
    """The JSON view of a stored shipment."""
    view = shipment.view
    last = view.last_event
    return ShipmentOut(
        shipment_id=view.shipment_id,
        status=view.status.value,
        container_no=view.container_no or None,
        wagon_no=view.wagon_no or None,
        container_type=view.container_type or None,
        gross_weight_kg=view.gross_weight_kg if view.booking else None,
        origin=view.origin or None,
        destination=view.destination or None,
        current_location=view.current_location or None,
        last_event=None
        if last is None
        else LastEventOut(
            event_id=last.event_id,
            carrier=last.carrier,
            event_type=last.event_type.value,
            classifier=last.classifier.value,
            location=last.location,
            occurred_at=last.occurred_at,
        ),
        sections=[
            SectionOut(
                country=s.country,
                entered_at=s.entered_at,
                exited_at=s.exited_at,
                transit_seconds=s.transit_seconds,
                target_seconds=section_target(s.country, topology),
            )
            for s in view.sections
        ],
        dwells=[
            DwellOut(
                node=d.node,
                kind=cast(Literal["border", "port"], dwell_kind(d.node, topology)),
                arrived_at=d.arrived_at,
                departed_at=d.departed_at,
                dwell_seconds=d.dwell_seconds,
            )
            for d in view.dwells
        ],
        eta=shipment.eta,
        carrier_eta=view.carrier_eta,
        promised_delivery_at=view.promised_delivery_at,
        delayed=shipment.delayed,
        hold_reason=view.hold_reason or None,
        milestones=[
            MilestoneOut(
                classifier=cast(Literal["EST", "PLN"], m.classifier.value),
                event_type=m.event_type.value,
                location=m.location,
                expected_at=m.expected_at,
                carrier=m.carrier,
            )
            for m in sorted(view.milestones, key=lambda m: (m.expected_at, m.slot))
        ],
        counts=CountsOut(events=view.events, duplicates=shipment.duplicates),
        version=shipment.version,
        updated_at=shipment.updated_at,
    )


def event_out(event: Event) -> EventOut:
    booking = event.booking
    return EventOut(
        event_id=event.event_id,
        carrier=event.carrier,
        event_type=event.event_type.value,
        classifier=event.classifier.value,
        occurred_at=event.occurred_at,
        recorded_at=event.recorded_at,
        location=event.location,
        mode=event.mode or None,
        container_no=event.container_no or None,
        wagon_no=event.wagon_no or None,
        reason=event.reason or None,
        booking=None
        if booking is None
        else BookingOut(
            origin=booking.origin,
            destination=booking.destination,
            container_type=booking.container_type or None,
            gross_weight_kg=booking.gross_weight_kg,
            cargo_description=booking.cargo_description or None,
            hs_code=booking.hs_code or None,
            promised_delivery_at=booking.promised_delivery_at,
        ),
    )
