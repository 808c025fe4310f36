"""One contract, three stores: the in-memory fake, SQLite and PostgreSQL keep the tracker's
``ports.Transaction`` alike, so that the use-case tests on the fake say something true."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import timedelta

import pytest

from corridor import db
from services.tracker.app import MIGRATIONS
from services.tracker.db.unit import SqlUnitOfWork
from services.tracker.domain import Event, ShipmentView, TrackedShipment, fold
from services.tracker.ports import Change, ConcurrentChange, StorageRefused, UnitOfWork
from tests.conftest import unique
from tests.fakes.tracker import FakeUnitOfWork
from tests.unit.test_tracker_samples import RULES, START, journey_events

NOW = START + timedelta(days=40)


@pytest.fixture(params=["fake", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def postgres_factory(
    backend: str, request: pytest.FixtureRequest
) -> Callable[[], asyncio.Future[str]] | None:
    """Synchronous on purpose (as ``tests.conftest._database_factory``)."""
    if backend != "postgres":
        return None
    factory: Callable[[], asyncio.Future[str]] = request.getfixturevalue("new_postgres_database")
    return factory


@pytest.fixture
async def unit(
    backend: str,
    postgres_factory: Callable[[], asyncio.Future[str]] | None,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[UnitOfWork]:
    if backend == "fake":
        yield FakeUnitOfWork(RULES)
        return
    if postgres_factory is None:
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    else:
        url = await postgres_factory()
    engine = db.make_engine(url)
    await db.migrate(engine, MIGRATIONS)
    try:
        yield SqlUnitOfWork(engine, RULES)
    finally:
        await engine.dispose()


def tracked(view: ShipmentView, version: int, wake_hours: float | None = None) -> TrackedShipment:
    wake = None if wake_hours is None else NOW + timedelta(hours=wake_hours)
    last = view.last_event
    heard = None if last is None else last.occurred_at
    return TrackedShipment(view, None, False, version, 0, NOW, heard_at=heard, wake_at=wake)


async def save(
    unit: UnitOfWork,
    old: ShipmentView | None,
    new: TrackedShipment,
    copies: int = 0,
    published: int = 0,
) -> TrackedShipment:
    async with unit.begin() as tx:
        change = Change(tx.prepare(old, new), copies, published)
        return (await tx.save_changes([change]))[new.shipment_id]


def events_of(seed: int) -> list[Event]:
    return journey_events(seed, unique("K"))


async def test_events_are_stored_once_and_read_back(unit: UnitOfWork) -> None:
    events = events_of(1)
    async with unit.begin() as tx:
        assert await tx.insert_events(events[:4], NOW) == {e.key for e in events[:4]}
    async with unit.begin() as tx:
        assert await tx.insert_events(events[:6], NOW) == {e.key for e in events[4:6]}
        assert await tx.read_events([e.key for e in events[:2]]) == {e.key: e for e in events[:2]}
        loaded = await tx.load_events([events[0].shipment_id, "nothing-here"])
    assert sorted(loaded[events[0].shipment_id]) == sorted(events[:6])
    assert loaded["nothing-here"] == []


async def test_a_failed_block_commits_nothing(unit: UnitOfWork) -> None:
    events = events_of(2)

    async def fail() -> None:
        async with unit.begin() as tx:
            await tx.insert_events(events, NOW)
            view = tracked(fold(events[0].shipment_id, events, RULES), 1)
            await tx.save_changes([Change(tx.prepare(None, view))])
            raise RuntimeError("the use case failed")

    with pytest.raises(RuntimeError):
        await fail()
    async with unit.begin() as tx:
        assert await tx.insert_events(events[:1], NOW) == {events[0].key}
        assert await tx.read_shipments([events[0].shipment_id]) == {}


async def test_views_are_written_under_optimistic_versions(unit: UnitOfWork) -> None:
    events = events_of(3)
    sid = events[0].shipment_id
    first = fold(sid, events[:5], RULES)
    saved = await save(unit, None, tracked(first, 1), copies=2)
    assert (saved.version, saved.duplicates) == (1, 2)
    async with unit.begin() as tx:
        stored = (await tx.read_shipments([sid, "nothing-here"]))[sid]
    assert (stored.version, stored.view, stored.heard_at) == (1, first, saved.heard_at)
    with pytest.raises(ConcurrentChange) as caught:  # a rival wrote version 1 already
        await save(unit, None, tracked(first, 1))
    assert caught.value.shipment_ids == [sid]
    async with unit.begin() as tx:
        await tx.add_duplicates({sid: 3})
    second = fold(sid, events, RULES)
    saved = await save(unit, first, tracked(second, 2), copies=1)
    assert (saved.version, saved.duplicates, saved.view) == (2, 6, second)


async def test_published_versions_never_move_backwards(unit: UnitOfWork) -> None:
    events = events_of(4)
    sid = events[0].shipment_id
    view = fold(sid, events, RULES)
    await save(unit, None, tracked(view, 1))
    await save(unit, view, tracked(view, 2))
    async with unit.begin() as tx:
        assert sid in {s.shipment_id for s in await tx.unpublished(100_000)}
        await tx.mark_published({sid: 2})
        await tx.mark_published({sid: 1})
        assert sid not in {s.shipment_id for s in await tx.unpublished(100_000)}


async def test_only_due_shipments_are_read_and_the_clock_keeps_versions(
    unit: UnitOfWork,
) -> None:
    views = [fold(e[0].shipment_id, e, RULES) for e in (events_of(5), events_of(6))]
    early, late = views
    await save(unit, None, tracked(early, 1, wake_hours=-2))
    rival = await save(unit, None, tracked(late, 1, wake_hours=+8))
    async with unit.begin() as tx:
        due = await tx.due(NOW, 10)
    assert [s.shipment_id for s in due] == [early.shipment_id]
    [stored] = due
    later = replace(stored, version=2, delayed=True, wake_at=NOW + timedelta(hours=5))
    stale = replace(rival, version=5, delayed=True)  # its stored version is not 4
    async with unit.begin() as tx:
        assert await tx.save_clock([later, stale]) == {early.shipment_id}
        await tx.move_wake([replace(stored, wake_at=NOW + timedelta(hours=9))])  # old version
    async with unit.begin() as tx:
        assert await tx.due(NOW + timedelta(hours=4), 10) == []
        [woken] = await tx.due(NOW + timedelta(hours=6), 10)
    assert (woken.version, woken.delayed, woken.view) == (2, True, early)


async def test_closed_runs_and_dwells_become_statistics_until_pruned(unit: UnitOfWork) -> None:
    view = fold("unused", [], RULES)
    for seed in (7, 8, 9):
        events = events_of(seed)
        view = fold(events[0].shipment_id, events, RULES)
        await save(unit, None, tracked(view, 1))
    assert view.segments
    assert any(d.departed_at for d in view.dwells)
    async with unit.begin() as tx:
        stats = await tx.statistics(200, 1)
    run = view.segments[0]
    assert (run.origin, run.destination) in stats.segment_hours
    closed = next(d for d in view.dwells if d.departed_at is not None)
    assert closed.node in stats.dwell_hours
    async with unit.begin() as tx:
        await tx.prune(NOW + timedelta(days=365))
        stats = await tx.statistics(200, 1)
    assert (stats.segment_hours, stats.dwell_hours) == ({}, {})


@pytest.mark.parametrize("backend", ["fake", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_what_the_store_refuses_for_good_is_a_storage_refusal(unit: UnitOfWork) -> None:
    """PostgreSQL refuses a NUL in text (the consumer refuses it first; SQLite would keep
    it, so it has nothing to refuse here); the fake refuses when told to."""
    events = events_of(10)
    poisoned = events[1]._replace(reason="nul \x00 byte")
    if isinstance(unit, FakeUnitOfWork):
        unit.refuse = True
    with pytest.raises(StorageRefused):
        async with unit.begin() as tx:
            await tx.insert_events([events[0], poisoned], NOW)
    async with unit.begin() as tx:
        assert await tx.insert_events(events[:1], NOW) == {events[0].key}
