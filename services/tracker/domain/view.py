"""The view of one shipment, as the fold builds it, and as it is stored and shown."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from services.tracker.domain.aside import SetAside
from services.tracker.domain.events import (
    Booking,
    Classifier,
    EventType,
    LastEvent,
    RouteOrder,
)

# Before any recorded time: the recency of an estimate recorded at no known time.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Status(StrEnum):
    BOOKED = "BOOKED"
    IN_TRANSIT = "IN_TRANSIT"
    HELD = "HELD"
    DELIVERED = "DELIVERED"


# Twenty-foot equivalent units per container type; a wagon load is not containerised.
TEU: dict[str, float] = {"20GP": 1.0, "40GP": 2.0, "40HC": 2.0, "45HC": 2.25, "WAGON": 0.0}


@dataclass(frozen=True, slots=True)
class Section:
    """A country section of the journey, or a sea crossing (``XC`` the Caspian)."""

    country: str
    entered_at: datetime
    exited_at: datetime | None = None

    @property
    def transit_seconds(self) -> int:
        if self.exited_at is None:
            return 0
        return int((self.exited_at - self.entered_at).total_seconds())


@dataclass(frozen=True, slots=True)
class Dwell:
    """Time at a border crossing or port, from arrival to departure."""

    node: str
    arrived_at: datetime
    departed_at: datetime | None = None

    @property
    def dwell_seconds(self) -> int:
        if self.departed_at is None:
            return 0
        return int((self.departed_at - self.arrived_at).total_seconds())


@dataclass(frozen=True, slots=True)
class SegmentTime:
    """One actual run over a segment of the corridor: departure at A, arrival at B."""

    origin: str
    destination: str
    departed_at: datetime
    arrived_at: datetime

    @property
    def seconds(self) -> int:
        return int((self.arrived_at - self.departed_at).total_seconds())


@dataclass(frozen=True, slots=True)
class Milestone:
    """A carrier's estimate (``EST``) or plan (``PLN``) of an event; the most recently
    recorded one per (classifier, event type, location) is kept."""

    classifier: Classifier
    event_type: EventType
    location: str
    expected_at: datetime
    recorded_at: datetime | None
    carrier: str
    event_id: str

    @property
    def slot(self) -> tuple[Classifier, EventType, str]:
        return (self.classifier, self.event_type, self.location)

    @property
    def recency(self) -> tuple[datetime, str, str]:
        return (self.recorded_at or EPOCH, self.carrier, self.event_id)


@dataclass(slots=True)
class ShipmentView:
    """What the unique events of one shipment say, folded in time order."""

    shipment_id: str
    status: Status = Status.BOOKED
    booking: Booking | None = None
    container_no: str = ""
    wagon_no: str = ""
    first_location: str = ""
    current_location: str = ""
    last_event: LastEvent | None = None
    sections: list[Section] = field(default_factory=list)
    dwells: list[Dwell] = field(default_factory=list)
    segments: list[SegmentTime] = field(default_factory=list)
    milestones: list[Milestone] = field(default_factory=list)
    held_since: datetime | None = None
    hold_reason: str = ""
    delivered_at: datetime | None = None
    # Where the cargo is for the ETA: on its way from ``departed_from``, or at
    # ``current_location`` since ``here_since``.
    departed_from: str = ""
    departed_at: datetime | None = None
    here_since: datetime | None = None
    events: int = 0
    # The order key of the last actual event folded: later ones can be appended.
    last_order: RouteOrder | None = None
    # Trust (corridor.parties): the carrier of the first booking received, the effective
    # booking's occurred_at, when the shipment first had a booking (received), and the
    # events set aside (held or refused) in time order.
    booker: str = ""
    booked_at: datetime | None = None
    booking_recorded_at: datetime | None = None
    set_aside: tuple[SetAside, ...] = ()

    @property
    def empty(self) -> bool:
        """Nothing known yet: no event applied or set aside, no booking."""
        return not self.events and not self.set_aside and self.booking is None

    @property
    def origin(self) -> str:
        return self.booking.origin if self.booking else self.first_location

    @property
    def destination(self) -> str:
        return self.booking.destination if self.booking else ""

    @property
    def promised_delivery_at(self) -> datetime | None:
        return self.booking.promised_delivery_at if self.booking else None

    @property
    def container_type(self) -> str:
        return self.booking.container_type if self.booking else ""

    @property
    def gross_weight_kg(self) -> float:
        return self.booking.gross_weight_kg if self.booking else 0.0

    @property
    def teu(self) -> float:
        return TEU.get(self.container_type, 0.0)

    @property
    def carrier_eta(self) -> datetime | None:
        """The carrier's latest estimate of the arrival at the destination."""
        for m in self.milestones:
            if m.slot == (Classifier.EST, EventType.ARRIVED, self.destination):
                return m.expected_at
        return None

    def copy(self) -> ShipmentView:
        """A copy the fold may change (the nested values are immutable). Spelled out:
        ``dataclasses.replace`` costs several times more, and this runs for every change."""
        return ShipmentView(
            self.shipment_id,
            self.status,
            self.booking,
            self.container_no,
            self.wagon_no,
            self.first_location,
            self.current_location,
            self.last_event,
            list(self.sections),
            list(self.dwells),
            list(self.segments),
            list(self.milestones),
            self.held_since,
            self.hold_reason,
            self.delivered_at,
            self.departed_from,
            self.departed_at,
            self.here_since,
            self.events,
            self.last_order,
            self.booker,
            self.booked_at,
            self.booking_recorded_at,
            self.set_aside,
        )


@dataclass(frozen=True, slots=True)
class TrackedShipment:
    """A view as stored and shown: with its ETA, delay, duplicate count and version.

    The clock's part (``domain/clock.py``) lives here, never in the view, so that a change
    that comes only from the passing of time leaves the fold alone: ``silent`` (nothing
    heard for too long), ``heard_at`` (when its latest actual event was last heard of: the
    later of its ``occurred_at`` and ``recorded_at``) and ``wake_at`` (the next moment its
    clock-derived state may change; ``None`` when none can)."""

    view: ShipmentView
    eta: datetime | None
    delayed: bool
    version: int
    duplicates: int
    updated_at: datetime | None
    silent: bool = False
    heard_at: datetime | None = None
    wake_at: datetime | None = None

    @property
    def shipment_id(self) -> str:
        return self.view.shipment_id
