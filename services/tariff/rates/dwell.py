"""Dwell at a node from what actually happened, by the corridor's one rule
(``corridor.movements``): the tracker's dwell KPI and the tariff's storage count the same
stays at the same border crossings and ports.

The movements of a shipment are put in the corridor's order (``order_key``: time, then
along the way from the booked origin, then the order of things at one node) and walked up
to its first ``DELIVERED`` (after the delivery the tracker's fold changes nothing, so
neither does the bill). ``ARRIVED`` opens a stay at a border or port; ``DEPARTED``,
``GATE_OUT`` or ``DELIVERED`` there closes it; an event at any other node drops an open
stay whose departure was never reported. Only the movements that count (trust rules) may
be given.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from corridor.movements import Stay, order_key, route_positions
from corridor.movements import dwells as stays_of
from corridor.topology import Topology

# A priced stay: node, arrived_at, departed_at (and ``seconds``).
Dwell = Stay


@dataclass(frozen=True)
class Movement:
    event_type: str
    location: str
    occurred_at: datetime
    carrier: str = ""
    event_id: str = ""


def dwells(movements: Iterable[Movement], topology: Topology, origin: str) -> list[Dwell]:
    """The closed stays of a shipment booked from ``origin``, from its movements in any
    order (each ``(carrier, event_id)`` once)."""
    positions = route_positions(topology, origin)
    ordered = sorted(
        movements,
        key=lambda m: order_key(
            m.occurred_at, m.location, m.event_type, positions, m.carrier, m.event_id
        ),
    )
    walked: list[tuple[str, str, datetime]] = []
    for m in ordered:
        walked.append((m.event_type, m.location, m.occurred_at))
        if m.event_type == "DELIVERED":
            break
    return stays_of(walked, topology)
