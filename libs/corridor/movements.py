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


def route_positions(topology: Topology, origin: str) -> Mapping[str, int]:
    """Each node's position on the way from ``origin``: nodes ranked by their reference
    running time from it (ties by code). Along any fastest route positions increase, and a
    node off the booked route (a leg the booking names, a detour) still sorts by how far it
    lies from the origin. Empty for an unknown origin."""
    return _positions(topology, origin)


@lru_cache(maxsize=1024)
def _positions(topology: Topology, origin: str) -> Mapping[str, int]:
    if origin not in topology.nodes:
        return NO_ROUTE
    distance: dict[str, float] = {}
    for code in topology.nodes:
        route = topology.route(origin, code)
        if route is not None:
            distance[code] = sum(segment.hours for segment in route)
    ranked = sorted(distance, key=lambda code: (distance[code], code))
    return MappingProxyType({code: i for i, code in enumerate(ranked)})


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


def crossing_mode(topology: Topology, location: str, destination: str) -> str:
    """The mode of the leg the cargo starts when it departs ``location`` for
    ``destination``: the reference data's first segment of the fastest route between them
    ("" when unknown). What a departure reported without ``mode`` means."""
    return _crossing_mode(topology, location, destination)


@lru_cache(maxsize=4096)
def _crossing_mode(topology: Topology, location: str, destination: str) -> str:
    route = topology.route(location, destination) if location and destination else None
    return route[0].mode if route else ""


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
