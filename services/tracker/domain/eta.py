"""Estimated arrival and delay: pure functions of a view, the topology, statistics and,
where the clock matters, the current time.

The remaining route runs from where the cargo is to its destination (the fastest route of
the reference data). Each remaining segment takes the median of its recent actual times
when there are enough of them (the caller decides how many: ``Statistics`` only holds the
medians worth using), else the reference hours; each remaining intermediate node adds its
median dwell where one is known, else its reference dwell (``Node.dwell_hours``).

The *anchored* ETA rests on the shipment's own latest actual events only, so the same
events and statistics always give it. The clock enters in one place: the current step (a
dwell at a node, or the segment being run after a departure) has an expected end; once
``now`` has passed it, the step ends no earlier than now, and the ETA becomes
``max(anchored, now + the rest of the route after the step)``. An undelivered shipment is
thus never expected in the past (except when it has reached its destination: its ETA is
then the arrival, a fact).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TypeVar

from corridor.topology import Segment, Topology
from services.tracker.domain.view import ShipmentView, Status

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Statistics:
    """Median hours of recent actual segment runs (by directed segment) and dwells (by node)."""

    segment_hours: Mapping[tuple[str, str], float] = field(default_factory=dict)
    dwell_hours: Mapping[str, float] = field(default_factory=dict)
    # The expected hours from a node to a destination, computed once per ``Statistics``
    # (they are refreshed every few seconds; every change of a shipment needs them).
    _rest: dict[tuple[int, str, str], float] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def rest_hours(self, topology: Topology, route: Sequence[Segment], destination: str) -> float:
        """``_hours`` of ``route`` (from its first node) to ``destination``, memoised."""
        if not route:
            return 0.0
        key = (id(topology), route[0].origin, destination)
        known = self._rest.get(key)
        if known is None:
            known = self._rest[key] = _hours(route, destination, topology, self)
        return known

    def segment(self, seg: Segment) -> float:
        """The expected hours of a directed segment: its median, else its reference."""
        return self.segment_hours.get((seg.origin, seg.destination), seg.hours)

    def dwell(self, topology: Topology, code: str) -> float:
        """The expected dwell at a node: its median, else its reference (0 if none)."""
        known = self.dwell_hours.get(code)
        if known is not None:
            return known
        node = topology.nodes.get(code)
        return 0.0 if node is None else node.dwell_hours


@dataclass(frozen=True, slots=True)
class Step:
    """The step of its route the cargo is in: a dwell at ``node`` (``moving`` false) or the
    segment run from ``node`` (``moving`` true), with its expected ``hours``; when it is
    expected to end judging by the events (``ends_at``); the hours of the route after it
    (``rest_hours``); the ETA from the events alone (``anchored``); and whether the cargo
    is at its destination (``arrived``: the ETA is the arrival, and does not age)."""

    node: str
    moving: bool
    hours: float
    ends_at: datetime
    rest_hours: float
    anchored: datetime
    arrived: bool = False

    def overdue(self, now: datetime) -> bool:
        return not self.arrived and now > self.ends_at

    def eta(self, now: datetime | None) -> datetime:
        """The ETA at ``now`` (``None``: the anchored ETA)."""
        if now is None or not self.overdue(now):
            return self.anchored
        return max(self.anchored, now + timedelta(hours=self.rest_hours))


@lru_cache(maxsize=4096)
def _route(topology: Topology, origin: str, destination: str) -> tuple[Segment, ...] | None:
    path = topology.route(origin, destination)
    return None if path is None else tuple(path)


def _hours(
    route: Sequence[Segment], destination: str, topology: Topology, stats: Statistics
) -> float:
    """Every segment's expected hours, plus the expected dwell at every intermediate node."""
    hours = 0.0
    for seg in route:
        hours += stats.segment(seg)
        if seg.destination != destination:
            hours += stats.dwell(topology, seg.destination)
    return hours


def current_step(view: ShipmentView, topology: Topology, stats: Statistics) -> Step | None:
    """Where the cargo is on its route; ``None`` when not moving yet, delivered, or the
    destination is unknown or unreachable."""
    destination = view.destination
    last = view.last_event
    if (
        view.status in (Status.BOOKED, Status.DELIVERED)
        or destination not in topology.nodes
        or last is None
    ):
        return None
    if view.departed_from and view.departed_at is not None:
        route = _route(topology, view.departed_from, destination)
        if route is None:
            return None
        at = view.departed_at
        if not route:  # left its destination again: expected back at once
            return Step(view.departed_from, True, 0.0, at, 0.0, at)
        first = stats.segment(route[0])
        total = stats.rest_hours(topology, route, destination)
        ends_at = at + timedelta(hours=first)
        return Step(
            view.departed_from, True, first, ends_at, total - first, at + timedelta(hours=total)
        )
    here = view.current_location
    since = view.here_since or last.occurred_at
    dwell = stats.dwell(topology, here)
    if here == destination:
        return Step(here, False, dwell, since, 0.0, since, arrived=True)
    route = _route(topology, here, destination)
    if route is None:
        return None
    ends_at = max(since + timedelta(hours=dwell), last.occurred_at)
    rest = stats.rest_hours(topology, route, destination)
    return Step(here, False, dwell, ends_at, rest, ends_at + timedelta(hours=rest))


def estimate_arrival(
    view: ShipmentView, topology: Topology, stats: Statistics, now: datetime | None = None
) -> datetime | None:
    """When the cargo should reach its destination: anchored on its events, and (given
    ``now``) never before now once its current step is overdue; ``None`` when not moving
    yet, delivered, or the destination is unknown or unreachable."""
    step = current_step(view, topology, stats)
    return None if step is None else step.eta(now)


def is_delayed(view: ShipmentView, eta: datetime | None, now: datetime | None = None) -> bool:
    """Later than promised: delivered after the promise; or, not delivered, expected after
    it or (given ``now``) still not delivered when it has passed."""
    promised = view.promised_delivery_at
    if promised is None:
        return False
    if view.delivered_at is not None:
        return view.delivered_at > promised
    if now is not None and now > promised:
        return True
    return eta is not None and eta > promised


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) with linear interpolation between closest ranks."""
    if not values:
        raise ValueError("percentile of nothing")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def medians(samples: Iterable[tuple[K, float]], min_samples: int) -> dict[K, float]:
    """The median per key, for keys with at least ``min_samples`` samples."""
    grouped: dict[K, list[float]] = {}
    for key, value in samples:
        grouped.setdefault(key, []).append(value)
    return {
        key: percentile(values, 0.5)
        for key, values in grouped.items()
        if len(values) >= min_samples
    }
