"""How a shipment's actual events line up, and how dwell at a node counts: the rules the
tracker (its fold) and the tariff (its storage charges) both apply, written once.

Pure: event types and node codes are plain strings, times timezone-aware.

- **Order.** Events sort by ``occurred_at``; events at the same instant sort along the
  shipment's route (the position of their node on it), then by the order things happen at
  one node (``RANK``), then by ``(carrier, event_id)`` (unique: a total order). So leaving
  a node never sorts after arriving at the next one, whatever the types say. A node off
  the route sorts after the route's nodes at that instant.
- **Dwell** is measured at border crossings and ports: from ``ARRIVED`` to the first
  ``DEPARTED``, ``GATE_OUT`` or ``DELIVERED`` at that node. An arrival whose departure is
  never reported is dropped as soon as the cargo is reported at another node (its time
  there is unknown, and guessing would charge storage on a guess).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from types import MappingProxyType

from corridor.topology import Topology

# The order things happen at one node at one instant.
RANK: Mapping[str, int] = MappingProxyType(
    {
        t: i
        for i, t in enumerate(
            (
                "BOOKED",
                "GATE_IN",
                "ARRIVED",
                "DISCHARGED",
                "BORDER_CROSSED",
                "CUSTOMS_HOLD",
                "CUSTOMS_RELEASED",
                "EXCEPTION",
                "LOADED",
                "DEPARTED",
                "GATE_OUT",
                "DELIVERED",
            )
        )
    }
)

ARRIVING = "ARRIVED"
DWELL_ENDS = frozenset({"DEPARTED", "GATE_OUT", "DELIVERED"})
# (occurred_at, position on the route, rank, carrier, event_id)
OrderKey = tuple[datetime, int, int, str, str]
NO_ROUTE: Mapping[str, int] = MappingProxyType({})


def route_positions(topology: Topology, origin: str, destination: str) -> Mapping[str, int]:
    """Each node of the route from ``origin`` to ``destination`` with its position (0 at
    the origin); empty when either is unknown or there is no route."""
    return _positions(topology, origin, destination)


@lru_cache(maxsize=4096)
def _positions(topology: Topology, origin: str, destination: str) -> Mapping[str, int]:
    route = topology.route(origin, destination) if origin and destination else None
    if route is None:
        return NO_ROUTE
    nodes = [origin, *(segment.destination for segment in route)]
    return MappingProxyType({code: i for i, code in enumerate(nodes)})


def order_key(
    occurred_at: datetime,
    location: str,
    event_type: str,
    positions: Mapping[str, int],
    carrier: str,
    event_id: str,
) -> OrderKey:
    return (
        occurred_at,
        positions.get(location, len(positions)),
        RANK[event_type],
        carrier,
        event_id,
    )


def next_on_route(positions: Mapping[str, int], location: str) -> str:
    """The node after ``location`` on the route ("" at the end or off the route)."""
    here = positions.get(location)
    if here is None:
        return ""
    for code, position in positions.items():
        if position == here + 1:
            return code
    return ""


def crossing_mode(topology: Topology, positions: Mapping[str, int], location: str) -> str:
    """The mode of the leg the cargo starts when it departs ``location`` along its route,
    from the reference data ("" when unknown): what a departure without ``mode`` means."""
    following = next_on_route(positions, location)
    if not following:
        return ""
    segment = topology.segment(location, following)
    return segment.mode if segment is not None else ""


def dwell_measured(topology: Topology, code: str) -> bool:
    """Whether dwell is measured at this node: border crossings and ports."""
    node = topology.nodes.get(code)
    return node is not None and (node.is_border or node.is_port)


@dataclass(frozen=True, slots=True)
class Stay:
    """Time at a node, from arrival to departure (``None`` while there)."""

    node: str
    arrived_at: datetime
    departed_at: datetime | None = None

    @property
    def seconds(self) -> float:
        if self.departed_at is None:
            return 0.0
        return (self.departed_at - self.arrived_at).total_seconds()


def dwell_step(
    open_stay: Stay | None,
    event_type: str,
    location: str,
    occurred_at: datetime,
    topology: Topology,
) -> tuple[Stay | None, Stay | None]:
    """One event's effect on the dwell: ``(closed, still_open)``.

    ``closed`` is the stay this event ends (``None`` if none); ``still_open`` the stay open
    after it (a new one when the cargo arrives at a border or port)."""
    if open_stay is not None and open_stay.node != location:
        open_stay = None  # reported elsewhere: the departure was never reported
    if event_type == ARRIVING:
        if open_stay is None and dwell_measured(topology, location):
            return None, Stay(location, occurred_at)
        return None, open_stay
    if event_type in DWELL_ENDS and open_stay is not None:
        return Stay(open_stay.node, open_stay.arrived_at, occurred_at), None
    return None, open_stay


def dwells(movements: Iterable[tuple[str, str, datetime]], topology: Topology) -> list[Stay]:
    """The closed stays of ``(event_type, location, occurred_at)`` movements given in
    ``order_key`` order (the actual events that count)."""
    closed: list[Stay] = []
    open_stay: Stay | None = None
    for event_type, location, occurred_at in movements:
        ended, open_stay = dwell_step(open_stay, event_type, location, occurred_at, topology)
        if ended is not None:
            closed.append(ended)
    return closed
