"""Through transit: from the first movement of a journey to its delivery, per origin
country and destination, against the corridor's published targets. Pure.

The seed's figures (``corridor.yaml`` ``through_targets``): China to Europe took 18-23 days
in 2023 (the "now" band) and the goal is 10-15 days. A journey *meets* a band when it took
no longer than the band's upper end.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from corridor.topology import Topology
from services.tracker.domain.eta import percentile
from services.tracker.domain.view import ShipmentView

DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class Journey:
    """One delivered journey: where it started (country of its first section), where it
    was delivered, and how long it took."""

    shipment_id: str
    origin_country: str
    destination: str
    started_at: datetime
    delivered_at: datetime

    @property
    def seconds(self) -> float:
        return (self.delivered_at - self.started_at).total_seconds()


def journey_of(view: ShipmentView) -> Journey | None:
    """The through transit of a delivered shipment (``None`` before delivery)."""
    if view.delivered_at is None or not view.sections:
        return None
    first = view.sections[0]
    return Journey(
        view.shipment_id,
        first.country,
        view.destination or view.current_location,
        first.entered_at,
        view.delivered_at,
    )


def newly_delivered(old: ShipmentView | None, new: ShipmentView) -> Journey | None:
    """The journey ``new`` delivered that ``old`` had not (observed once per shipment)."""
    if old is not None and old.delivered_at is not None:
        return None
    return journey_of(new)


@dataclass(frozen=True, slots=True)
class Band:
    """A published range of days (``low``..``high``); met when a journey takes at most
    ``high`` days."""

    name: str
    low_days: float
    high_days: float


@dataclass(frozen=True, slots=True)
class RouteFigures:
    origin_country: str
    destination: str
    shipments: int
    median_seconds: float
    p90_seconds: float
    met: Mapping[str, int]  # band name -> journeys that took at most its upper end


def bands_of(topology: Topology) -> list[Band]:
    """The published through-transit bands of the reference data, in its order."""
    return [Band(name, low, high) for name, (low, high) in topology.through_targets.items()]


def figures(journeys: Iterable[Journey], bands: Iterable[Band]) -> list[RouteFigures]:
    """Per (origin country, destination): count, median, 90th percentile and how many met
    each band; in the order of origin country, then destination."""
    grouped: dict[tuple[str, str], list[float]] = {}
    for journey in journeys:
        key = (journey.origin_country, journey.destination)
        grouped.setdefault(key, []).append(journey.seconds)
    bands = list(bands)
    return [
        RouteFigures(
            origin,
            destination,
            len(seconds),
            percentile(seconds, 0.5),
            percentile(seconds, 0.9),
            {b.name: sum(1 for s in seconds if s <= b.high_days * DAY) for b in bands},
        )
        for (origin, destination), seconds in sorted(grouped.items())
    ]
