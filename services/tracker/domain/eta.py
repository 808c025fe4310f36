"""Estimated arrival and delay: pure functions of a view, the topology and statistics.

The remaining route runs from where the cargo is to its destination (the fastest route of
the reference data). Each remaining segment takes the median of its recent actual times
when there are enough of them (the caller decides how many: ``Statistics`` only holds the
medians worth using), else the reference hours; each remaining intermediate node adds its
median dwell where one is known. The ETA is anchored on the shipment's own latest actual
events, never on the clock, so the same events and statistics always give the same ETA.
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


@lru_cache(maxsize=4096)
def _route(topology: Topology, origin: str, destination: str) -> tuple[Segment, ...] | None:
    path = topology.route(origin, destination)
    return None if path is None else tuple(path)


def estimate_arrival(view: ShipmentView, topology: Topology, stats: Statistics) -> datetime | None:
    """When the cargo should reach its destination; ``None`` when not moving yet, delivered,
    or the destination is unknown or unreachable."""
    destination = view.destination
    if (
        view.status in (Status.BOOKED, Status.DELIVERED)
        or destination not in topology.nodes
        or view.last_event is None
    ):
        return None
    if view.departed_from and view.departed_at is not None:
        start, moment = view.departed_from, view.departed_at
    else:
        start = view.current_location
        if start == destination:
            return view.here_since
        since = view.here_since or view.last_event.occurred_at
        dwell = stats.dwell_hours.get(start, 0.0)
        moment = max(since + timedelta(hours=dwell), view.last_event.occurred_at)
    route = _route(topology, start, destination)
    if route is None:
        return None
    segment_hours, dwell_hours = stats.segment_hours, stats.dwell_hours
    hours = 0.0
    for seg in route:
        hours += segment_hours.get((seg.origin, seg.destination), seg.hours)
        if seg.destination != destination:
            hours += dwell_hours.get(seg.destination, 0.0)
    return moment + timedelta(hours=hours)


def is_delayed(view: ShipmentView, eta: datetime | None) -> bool:
    """Later than promised: delivered after the promise, or expected after it."""
    promised = view.promised_delivery_at
    if promised is None:
        return False
    if view.delivered_at is not None:
        return view.delivered_at > promised
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
