"""The tracker's use cases against real databases (SQLite and PostgreSQL): exactly-once
application, time order, derived rows, statistics, concurrency, publication bookkeeping."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from corridor import db
from corridor.journeys import JourneyOptions
from services.tracker.app import MIGRATIONS
from services.tracker.db import queries
from services.tracker.db.tables import (
    events,
    metadata,
    section_transits,
    segment_times,
    shipments,
)
from services.tracker.db.unit import SqlUnitOfWork
from services.tracker.domain import (
    Event,
    EventType,
    Status,
    TrackedShipment,
    fold,
    unique_in_order,
)
from services.tracker.handlers import Tracker, is_permanent
from services.tracker.ports import StorageRefused
from tests.conftest import unique as unique_id
from tests.fakes.tracker import FakeStates
from tests.unit.test_tracker_samples import RULES, START, domain_event, journey

pytestmark = pytest.mark.integration


def tracker_on(engine: AsyncEngine, states: FakeStates | None = None) -> Tracker:
    return Tracker(
        SqlUnitOfWork(engine, RULES),
        RULES,
        publish=states,
        stats_refresh_seconds=0,
        eta_min_samples=3,
    )


async def stored(engine: AsyncEngine, shipment_id: str) -> TrackedShipment:
    async with engine.connect() as conn:
        found = await queries.get_shipment(conn, shipment_id)
    assert found is not None
    return found


async def stored_event_count(engine: AsyncEngine, shipment_id: str) -> int:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(events.c.event_id).where(events.c.shipment_id == shipment_id)
        )
        return len(rows.all())


def events_of(seed: int, shipment_id: str, **options: object) -> list[Event]:
    posts = journey(seed, shipment_id, START, JourneyOptions(**options))  # type: ignore[arg-type]
    return [domain_event(p) for p in posts]


async def test_the_schema_matches_the_tables_the_code_declares(tracker_engine: AsyncEngine) -> None:
    def diff(conn: Connection) -> list[object]:
        return list(compare_metadata(MigrationContext.configure(conn), metadata))

    async with tracker_engine.connect() as conn:
        assert await conn.run_sync(diff) == []


async def test_a_journey_applied_in_batches_is_the_fold_of_its_events(
    tracker_engine: AsyncEngine,
) -> None:
    shipment_id = unique_id("J")
    all_events = events_of(11, shipment_id)
    tracker = tracker_on(tracker_engine)
    for start in range(0, len(all_events), 4):
        await tracker.apply(all_events[start : start + 4])
    shipment = await stored(tracker_engine, shipment_id)
    assert shipment.view == fold(shipment_id, all_events, RULES)
    assert shipment.view.status is Status.DELIVERED
    assert shipment.version == len(range(0, len(all_events), 4))
    assert shipment.eta is None


async def test_a_redelivered_batch_changes_nothing_but_the_duplicate_count(
    tracker_engine: AsyncEngine,
) -> None:
    shipment_id = unique_id("D")
    batch = events_of(12, shipment_id)[:8]
    tracker = tracker_on(tracker_engine)
    first = await tracker.apply(batch)
    assert len(first.applied) == 8
    before = await stored(tracker_engine, shipment_id)
    again = await tracker.apply(batch)
    assert again.applied == []
    assert again.changed == []
    assert again.duplicates == 8
    after = await stored(tracker_engine, shipment_id)
    assert (after.view, after.version, after.updated_at) == (
        before.view,
        before.version,
        before.updated_at,
    )
    assert after.duplicates == before.duplicates + 8
    assert await stored_event_count(tracker_engine, shipment_id) == 8


async def test_copies_inside_one_batch_are_applied_once(tracker_engine: AsyncEngine) -> None:
    shipment_id = unique_id("C")
    batch = events_of(13, shipment_id)[:6]
    result = await tracker_on(tracker_engine).apply([*batch, *batch[:3]])
    assert (len(result.applied), result.duplicates) == (6, 3)
    shipment = await stored(tracker_engine, shipment_id)
    assert shipment.view.events == 6
    assert shipment.duplicates == 3


async def test_a_late_event_takes_its_place_in_time(tracker_engine: AsyncEngine) -> None:
    shipment_id = unique_id("L")
    all_events = unique_in_order(events_of(14, shipment_id, estimate_rate=0.0))
    late = next(e for e in all_events if e.event_type is EventType.ARRIVED)
    tracker = tracker_on(tracker_engine)
    await tracker.apply([e for e in all_events if e is not late])
    assert (await stored(tracker_engine, shipment_id)).view != fold(shipment_id, all_events, RULES)
    await tracker.apply([late])
    shipment = await stored(tracker_engine, shipment_id)
    assert shipment.view == fold(shipment_id, all_events, RULES)


async def test_closed_sections_and_segment_runs_are_kept_as_rows(
    tracker_engine: AsyncEngine,
) -> None:
    shipment_id = unique_id("R")
    all_events = events_of(15, shipment_id)
    tracker = tracker_on(tracker_engine)
    for event in all_events:
        await tracker.apply([event])
    view = (await stored(tracker_engine, shipment_id)).view
    async with tracker_engine.connect() as conn:
        sections = (
            await conn.execute(
                select(section_transits.c.country, section_transits.c.transit_seconds)
                .where(section_transits.c.shipment_id == shipment_id)
                .order_by(section_transits.c.seq)
            )
        ).all()
        segments = (
            await conn.execute(
                select(segment_times.c.origin, segment_times.c.destination)
                .where(segment_times.c.shipment_id == shipment_id)
                .order_by(segment_times.c.seq)
            )
        ).all()
    assert [tuple(r) for r in sections] == [
        (s.country, s.transit_seconds) for s in view.sections if s.exited_at is not None
    ]
    assert [tuple(r) for r in segments] == [(s.origin, s.destination) for s in view.segments]
    assert len(sections) == len(view.sections) >= 4


async def test_the_eta_uses_medians_once_enough_runs_are_known(tracker_engine: AsyncEngine) -> None:
    tracker = tracker_on(tracker_engine)
    options = {"origins": ("CNHRS",), "destinations": ("GEPTI",), "estimate_rate": 0.0}
    for seed in range(3):
        await tracker.apply(events_of(100 + seed, unique_id("M"), **options))
    stats = await tracker.statistics()
    assert ("CNHRS", "KZAKL") in stats.segment_hours
    shipment_id = unique_id("M")
    departed = [
        e
        for e in unique_in_order(events_of(200, shipment_id, **options))
        if e.occurred_at <= START + timedelta(days=1)
    ][:5]
    await tracker.apply(departed)
    shipment = await stored(tracker_engine, shipment_id)
    assert shipment.eta is not None
    assert shipment.view.status is Status.IN_TRANSIT


async def test_concurrent_batches_for_the_same_shipments_lose_nothing(
    tracker_engine: AsyncEngine,
) -> None:
    """Two consumers briefly owning one partition (a rebalance): both apply overlapping
    batches at once; the result is still the fold of the unique events."""
    ids = [unique_id("X") for _ in range(6)]
    all_events = [e for i, sid in enumerate(ids) for e in events_of(300 + i, sid)]
    rng = random.Random(3)
    rng.shuffle(all_events)
    one, two = tracker_on(tracker_engine), tracker_on(tracker_engine)
    halves = (all_events[: len(all_events) * 2 // 3], all_events[len(all_events) // 3 :])

    async def run(tracker: Tracker, batch: list[Event]) -> None:
        for start in range(0, len(batch), 25):
            await tracker.apply(batch[start : start + 25])

    await asyncio.gather(run(one, halves[0]), run(two, halves[1]))
    for sid in ids:
        mine = [e for e in all_events if e.shipment_id == sid]
        assert (await stored(tracker_engine, sid)).view == fold(sid, mine, RULES)
        assert await stored_event_count(tracker_engine, sid) == len({e.key for e in mine})


async def test_states_committed_but_never_acknowledged_are_published_after_a_restart(
    tracker_engine: AsyncEngine,
) -> None:
    shipment_id = unique_id("P")
    down = FakeStates()
    down.up = False
    crashed = tracker_on(tracker_engine, down)
    await crashed.apply(events_of(16, shipment_id)[:5])
    await crashed.publish_pending()
    assert crashed.pending == 1  # the process dies here
    states = FakeStates()
    restarted = tracker_on(tracker_engine, states)
    assert await restarted.recover() == 1
    await restarted.publish_pending()
    assert [s.shipment_id for s in states.sent if s.shipment_id == shipment_id] == [shipment_id]
    await restarted.flush_marks()
    assert await tracker_on(tracker_engine, FakeStates()).recover() == 0


async def published_version(engine: AsyncEngine, shipment_id: str) -> int:
    async with engine.connect() as conn:
        query = select(shipments.c.published_version).where(shipments.c.shipment_id == shipment_id)
        return int((await conn.execute(query)).scalar_one())


async def test_acknowledged_versions_are_recorded_with_the_next_change_or_a_flush(
    tracker_engine: AsyncEngine,
) -> None:
    first, second = unique_id("V"), unique_id("V")
    tracker = tracker_on(tracker_engine, FakeStates())
    await tracker.apply(events_of(17, first)[:3])
    await tracker.apply(events_of(18, second)[:3])
    await tracker.publish_pending()  # both acknowledged at version 1
    await tracker.apply(events_of(17, first)[3:6])  # first changes again: version 2
    assert await published_version(tracker_engine, first) == 1
    assert await published_version(tracker_engine, second) == 0
    await tracker.publish_pending()
    await tracker.flush_marks()
    assert await published_version(tracker_engine, first) == 2
    assert await published_version(tracker_engine, second) == 1


@pytest.mark.postgres
async def test_a_value_the_database_refuses_is_a_permanent_failure_that_stores_nothing(
    new_postgres_database: Callable[[], Awaitable[str]],
) -> None:
    """PostgreSQL refuses NUL characters in text (the consumer refuses them first; here
    the tracker is handed one directly): the failure is classified as permanent, so the
    consumer dead-letters the event instead of retrying it forever."""
    engine = db.make_engine(await new_postgres_database())
    await db.migrate(engine, MIGRATIONS)
    try:
        shipment_id = unique_id("N")
        good = events_of(19, shipment_id)[:3]
        poisoned = good[2]._replace(event_id="poison", reason="nul \x00 byte")
        with pytest.raises(StorageRefused) as caught:
            await tracker_on(engine).apply([*good, poisoned])
        assert is_permanent(caught.value)
        assert isinstance(caught.value.__cause__, DBAPIError)
        assert await stored_event_count(engine, shipment_id) == 0
        await tracker_on(engine).apply(good)
        assert (await stored(engine, shipment_id)).view.events == 3
    finally:
        await engine.dispose()
