"""KPIs are counted once per shipment: late events that re-fold a journey observe no
section transit or dwell twice (real database, the tracker's own metrics)."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine

from services.tracker.db import queries
from services.tracker.db.unit import SqlUnitOfWork
from services.tracker.domain import Event, EventType
from services.tracker.handlers import Tracker
from services.tracker.metrics import TrackerMetrics
from tests.conftest import unique as unique_id
from tests.unit.test_tracker_samples import RULES, journey_events

pytestmark = pytest.mark.integration


def counts(registry: CollectorRegistry, name: str, label: str) -> Counter[str]:
    """The number of observations of a histogram, by one of its labels."""
    found: Counter[str] = Counter()
    for metric in registry.collect():
        for sample in metric.samples:
            if sample.name == f"{name}_count" and sample.value:
                found[sample.labels[label]] += int(sample.value)
    return found


async def test_a_journey_re_folded_by_late_events_observes_each_kpi_once(
    tracker_engine: AsyncEngine,
) -> None:
    registry = CollectorRegistry()
    tracker = Tracker(
        SqlUnitOfWork(tracker_engine, RULES),
        RULES,
        metrics=TrackerMetrics(registry, RULES.topology),
    )
    expected_sections: Counter[str] = Counter()
    expected_dwells: Counter[str] = Counter()
    for seed in range(6):
        shipment_id = unique_id(f"KPI{seed}-")
        events = journey_events(seed, shipment_id)
        actual = [e for e in events if e.event_type is not EventType.BOOKED]
        booking = [e for e in events if e.event_type is EventType.BOOKED]
        # The first third of the journey is posted last (days late), the rest shuffled in
        # small batches: every late batch re-folds the shipment.
        late = actual[: len(actual) // 3]
        rest = actual[len(actual) // 3 :]
        random.Random(seed).shuffle(rest)
        batches: list[list[Event]] = [booking]
        batches += [rest[i : i + 3] for i in range(0, len(rest), 3)]
        batches += [late[i : i + 2] for i in range(0, len(late), 2)]
        for batch in batches:
            await tracker.apply(batch)
        async with tracker_engine.connect() as conn:
            found = await queries.get_shipment(conn, shipment_id)
        assert found is not None
        view = found.view
        expected_sections.update(s.country for s in view.sections if s.exited_at is not None)
        expected_dwells.update(d.node for d in view.dwells if d.departed_at is not None)
    assert sum(expected_sections.values()) > 0
    assert counts(registry, "corridor_tracker_section_transit_seconds", "country") == (
        expected_sections
    )
    assert counts(registry, "corridor_tracker_dwell_seconds", "node") == expected_dwells
