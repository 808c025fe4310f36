"""Which sections and dwells a change closed, for the KPIs: each observed once per shipment."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from services.tracker.domain.view import Dwell, Section, ShipmentView

T = TypeVar("T")


def newly_closed(old: ShipmentView | None, new: ShipmentView) -> tuple[list[Section], list[Dwell]]:
    """Sections and dwells closed in ``new`` that were not closed in ``old`` (for KPIs).

    Matched by identity, not position: a section is the n-th visit to its country, a dwell
    the n-th stay at its node. A late event that re-folds the journey (inserting a section
    before, or moving a time) observes nothing twice: each is observed once per shipment."""
    sections = _closed(new.sections, _section_identity)
    dwells = _closed(new.dwells, _dwell_identity)
    if old is not None:
        seen_sections = set(_closed(old.sections, _section_identity))
        seen_dwells = set(_closed(old.dwells, _dwell_identity))
        sections = {k: v for k, v in sections.items() if k not in seen_sections}
        dwells = {k: v for k, v in dwells.items() if k not in seen_dwells}
    return list(sections.values()), list(dwells.values())


def _section_identity(item: Section) -> tuple[str, bool]:
    return item.country, item.exited_at is not None


def _dwell_identity(item: Dwell) -> tuple[str, bool]:
    return item.node, item.departed_at is not None


def _closed(
    items: Iterable[T], identity: Callable[[T], tuple[str, bool]]
) -> dict[tuple[str, int], T]:
    """The closed items by ``(place, n)``: the n-th visit to that place."""
    visits: dict[str, int] = {}
    closed: dict[tuple[str, int], T] = {}
    for item in items:
        place, done = identity(item)
        n = visits.get(place, 0)
        visits[place] = n + 1
        if done:
            closed[(place, n)] = item
    return closed
