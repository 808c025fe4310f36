"""Dwell at a node from what actually happened: the time between arriving and leaving.

Only actual (ACT) movements count. Computed from all the movements stored for a
shipment at once, so their arrival order (late, duplicated) does not matter.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

ARRIVING = frozenset({"ARRIVED"})
# Leaving a node: departing it, or, at the destination, gating out or being delivered.
LEAVING = frozenset({"DEPARTED", "GATE_OUT", "DELIVERED"})
MOVEMENTS = ARRIVING | LEAVING


@dataclass(frozen=True)
class Movement:
    event_type: str
    location: str
    occurred_at: datetime


@dataclass(frozen=True)
class Dwell:
    node: str
    arrived_at: datetime
    left_at: datetime

    @property
    def seconds(self) -> float:
        return (self.left_at - self.arrived_at).total_seconds()


def dwells(movements: Iterable[Movement]) -> list[Dwell]:
    """Per node: the first arrival, and the first leaving event at or after it. A node
    with no arrival, or no leaving after the arrival, has no measurable dwell."""
    arrivals: dict[str, datetime] = {}
    leavings: dict[str, list[datetime]] = {}
    for m in movements:
        if m.event_type in ARRIVING:
            first = arrivals.get(m.location)
            arrivals[m.location] = m.occurred_at if first is None else min(first, m.occurred_at)
        elif m.event_type in LEAVING:
            leavings.setdefault(m.location, []).append(m.occurred_at)
    result = []
    for node, arrived in arrivals.items():
        after = [t for t in leavings.get(node, ()) if t >= arrived]
        if after:
            result.append(Dwell(node, arrived, min(after)))
    return sorted(result, key=lambda d: (d.arrived_at, d.node))
