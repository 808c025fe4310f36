"""Stored shipments and events as the query API shows them (``schemas``), with the
property-level rule applied: cargo details only for those who may see them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, cast

from corridor.topology import Topology
from services.tracker.api.schemas import (
    BookingOut,
    CountsOut,
    DwellOut,
    EventOut,
    LastEventOut,
    LegOut,
    MilestoneOut,
    PartiesOut,
    SectionOut,
    ShipmentOut,
)
from services.tracker.domain import Booking, Event, TrackedShipment, dwell_kind
from services.tracker.domain.clock import shown_eta


def section_target(country: str, topology: Topology) -> int | None:
    """The published transit target of a section, in seconds."""
    hours = topology.section_targets.get(country)
    return None if hours is None else int(hours * 3600)


def parties_out(booking: Booking | None, details: bool) -> PartiesOut | None:
    if booking is None or not details or not booking.parties:
        return None
    return PartiesOut(
        shipper=booking.shipper or None,
        consignee=booking.consignee or None,
        forwarder=booking.forwarder or None,
    )


def legs_out(booking: Booking | None) -> list[LegOut]:
    if booking is None:
        return []
    return [
        LegOut(carrier=g.carrier, origin=g.origin or None, destination=g.destination or None)
        for g in booking.legs
    ]


def shipment_out(
    shipment: TrackedShipment, topology: Topology, details: bool, now: datetime
) -> ShipmentOut:
    """The JSON view of a stored shipment; ``details``: with the cargo description, HS code
    and named parties (``corridor.access.sees_cargo_details``). The ETA is floored at
    ``now`` between the clock's refreshes (``domain.clock.shown_eta``)."""
    view = shipment.view
    last = view.last_event
    booking = view.booking
    return ShipmentOut(
        shipment_id=view.shipment_id,
        status=view.status.value,
        booker=view.booker or None,
        container_no=view.container_no or None,
        wagon_no=view.wagon_no or None,
        container_type=view.container_type or None,
        gross_weight_kg=view.gross_weight_kg if booking else None,
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
        eta=shown_eta(shipment, now),
        carrier_eta=view.carrier_eta,
        promised_delivery_at=view.promised_delivery_at,
        cargo_description=(booking.cargo_description or None) if booking and details else None,
        hs_code=(booking.hs_code or None) if booking and details else None,
        parties=parties_out(booking, details),
        legs=legs_out(booking),
        delayed=shipment.delayed,
        silent=shipment.silent,
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
        counts=CountsOut(
            events=view.events, duplicates=shipment.duplicates, set_aside=len(view.set_aside)
        ),
        version=shipment.version,
        updated_at=shipment.updated_at,
    )


def event_out(event: Event, details: bool) -> EventOut:
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
            cargo_description=(booking.cargo_description or None) if details else None,
            hs_code=(booking.hs_code or None) if details else None,
            promised_delivery_at=booking.promised_delivery_at,
            parties=parties_out(booking, details),
            legs=legs_out(booking),
        ),
    )
