"""Carrier events as the tracker sees them: plain immutable values, no protobuf here."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple, Protocol

from corridor import movements
from corridor.contract.event import BookingData


class EventType(StrEnum):
    BOOKED = "BOOKED"
    GATE_IN = "GATE_IN"
    LOADED = "LOADED"
    DEPARTED = "DEPARTED"
    ARRIVED = "ARRIVED"
    DISCHARGED = "DISCHARGED"
    BORDER_CROSSED = "BORDER_CROSSED"
    CUSTOMS_HOLD = "CUSTOMS_HOLD"
    CUSTOMS_RELEASED = "CUSTOMS_RELEASED"
    GATE_OUT = "GATE_OUT"
    DELIVERED = "DELIVERED"
    EXCEPTION = "EXCEPTION"


class Classifier(StrEnum):
    ACT = "ACT"
    EST = "EST"
    PLN = "PLN"


# Tiebreak of events that happened at the same instant at one node (``corridor.movements``).
RANK: Mapping[str, int] = movements.RANK

# (occurred_at, rank, carrier, event_id): the timeline's order (what the events table can
# sort on without knowing the route), total since (carrier, event_id) is unique.
OrderKey = tuple[datetime, int, str, str]
# The fold's order: along the shipment's route at the same instant (``corridor.movements``).
RouteOrder = movements.OrderKey
# The position of a view's last folded event stored before positions were part of the
# order: such a view is re-folded rather than advanced.
LEGACY_POSITION = -1


# The booking as the one event contract reads it (``corridor.contract``): the tracker keeps
# it as it comes.
Booking = BookingData


class Event(NamedTuple):
    """One carrier event, as validated at the edge; ``mode`` is ``RAIL``, ``VESSEL``,
    ``TRUCK`` or empty; times are timezone-aware UTC. (Immutable like the dataclasses here,
    but a tuple: several times cheaper to build, and one is built per event.)"""

    carrier: str
    event_id: str
    shipment_id: str
    event_type: EventType
    classifier: Classifier
    occurred_at: datetime
    location: str
    recorded_at: datetime | None = None
    mode: str = ""
    container_no: str = ""
    wagon_no: str = ""
    reason: str = ""
    booking: Booking | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.carrier, self.event_id)

    @property
    def order(self) -> OrderKey:
        return timeline_order(self)

    def route_order(self, positions: Mapping[str, int]) -> RouteOrder:
        """Where the event sorts in the fold, given the route's node positions."""
        return movements.order_key(
            self.occurred_at,
            self.location,
            self.event_type,
            positions,
            self.carrier,
            self.event_id,
        )


class Identified(Protocol):
    @property
    def carrier(self) -> str: ...
    @property
    def event_id(self) -> str: ...
    @property
    def event_type(self) -> EventType: ...
    @property
    def occurred_at(self) -> datetime: ...


def timeline_order(event: Identified) -> OrderKey:
    """Where an event (applied or set aside) sorts on the timeline: time, then the type's
    rank at one instant, then who reported it."""
    return (event.occurred_at, RANK[event.event_type], event.carrier, event.event_id)


class LastEvent(NamedTuple):
    event_id: str
    carrier: str
    event_type: EventType
    classifier: Classifier
    location: str
    occurred_at: datetime

    @staticmethod
    def of(event: Event) -> LastEvent:
        return LastEvent(
            event.event_id,
            event.carrier,
            event.event_type,
            event.classifier,
            event.location,
            event.occurred_at,
        )
