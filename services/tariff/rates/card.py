"""The rate card model: what a card says, already validated (see ``parse``).

Every amount is a ``Decimal`` in the card's currency. A rate table (``UnitRates``) holds
one rate per unit: per container for 20GP, 40GP, 40HC and 45HC, per tonne of gross
weight for WAGON (a wagon load).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

CONTAINER_TYPES = ("20GP", "40GP", "40HC", "45HC")
WAGON = "WAGON"
UNITS = (*CONTAINER_TYPES, WAGON)
STORAGE_KINDS = ("port", "border")

UnitRates = Mapping[str, Decimal]
SegmentKey = frozenset[str]


def segment_key(a: str, b: str) -> SegmentKey:
    """Segments are priced the same in both directions."""
    return frozenset((a, b))


def quantity(unit: str, tonnes: Decimal) -> Decimal:
    """How many units a shipment is: one container, or its gross tonnes for a wagon."""
    return tonnes if unit == WAGON else Decimal(1)


@dataclass(frozen=True)
class RailRate:
    """One railway's rates: per km for any of its rail segments, and/or a flat amount per
    segment (which wins over the per-km rate on that segment)."""

    operator: str
    section: str
    per_km: UnitRates | None
    segments: Mapping[SegmentKey, UnitRates]


@dataclass(frozen=True)
class OverweightRule:
    """Above ``limits_kg[unit]``, ``per_tonne`` for every tonne over (pro rata to the kg),
    earned by ``operator``. Units without a limit (usually WAGON, already priced per
    tonne) never pay it."""

    operator: str
    limits_kg: Mapping[str, Decimal]
    per_tonne: Decimal


@dataclass(frozen=True)
class StorageTerms:
    free_days: int
    per_day: UnitRates


@dataclass(frozen=True)
class StorageOverride:
    free_days: int | None
    per_day: UnitRates | None


@dataclass(frozen=True)
class StorageRule:
    """Storage at ports and border crossings: ``free_days`` by node kind, then
    ``per_day`` for every started day beyond; ``nodes`` overrides either per node."""

    free_days: Mapping[str, int]
    per_day: UnitRates
    nodes: Mapping[str, StorageOverride]

    def terms(self, code: str, kinds: frozenset[str]) -> StorageTerms | None:
        """The terms at a node, or ``None`` when storage is not charged there (hubs)."""
        kind = next((k for k in STORAGE_KINDS if k in kinds), None)
        override = self.nodes.get(code)
        if kind is None and override is None:
            return None
        free = self.free_days[kind] if kind is not None else 0
        per_day = self.per_day
        if override is not None:
            free = override.free_days if override.free_days is not None else free
            per_day = override.per_day if override.per_day is not None else per_day
        return StorageTerms(free, per_day)


@dataclass(frozen=True)
class DiscountRule:
    """A preferential through-rate for one origin -> destination pair (as named, one
    direction): either ``percent`` off the legs, or a fixed ``through_rate`` per unit
    replacing their sum when lower."""

    origin: str
    destination: str
    percent: Decimal | None
    through_rate: UnitRates | None


@dataclass(frozen=True)
class RateCard:
    version: str
    source: str
    example: bool
    description: str
    valid_from: date
    valid_to: date | None  # exclusive; None: open-ended
    currency: str
    rail: Mapping[str, RailRate]  # by operator
    ferry: Mapping[SegmentKey, UnitRates]  # per container (per tonne for WAGON) per crossing
    handling: Mapping[str, UnitRates]  # by port node, per call
    overweight: OverweightRule | None
    storage: StorageRule | None
    discounts: Mapping[tuple[str, str], DiscountRule]

    def in_force(self, on: date) -> bool:
        """Validity is half-open: ``valid_from <= on < valid_to``."""
        return self.valid_from <= on and (self.valid_to is None or on < self.valid_to)

    def overlaps(self, other: RateCard) -> bool:
        starts_before_other_ends = other.valid_to is None or self.valid_from < other.valid_to
        ends_after_other_starts = self.valid_to is None or other.valid_from < self.valid_to
        return starts_before_other_ends and ends_after_other_starts
