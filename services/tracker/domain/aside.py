"""Events that do not count for their shipment, as the view keeps them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.tracker.domain.events import (
    Classifier,
    Event,
    EventType,
    OrderKey,
    timeline_order,
)


@dataclass(frozen=True, slots=True)
class SetAside:
    """An event that does not count for its shipment (``corridor.parties.judge``): held
    until a booking makes its carrier a party, or refused; it changes nothing else."""

    carrier: str
    event_id: str
    event_type: EventType
    classifier: Classifier
    location: str
    occurred_at: datetime
    recorded_at: datetime | None
    outcome: str  # held or refused
    reason: str  # a reason code of corridor.parties
    message: str

    @staticmethod
    def of(event: Event, outcome: str, reason: str, message: str) -> SetAside:
        return SetAside(
            event.carrier,
            event.event_id,
            event.event_type,
            event.classifier,
            event.location,
            event.occurred_at,
            event.recorded_at,
            outcome,
            reason,
            message,
        )

    @property
    def key(self) -> tuple[str, str]:
        return (self.carrier, self.event_id)

    @property
    def order(self) -> OrderKey:
        return timeline_order(self)
