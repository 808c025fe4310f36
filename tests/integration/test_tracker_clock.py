"""The clock against real databases (SQLite and PostgreSQL) and the real broker: a quiet
shipment turns delayed and silent as time passes, as a new version that is published; the
tick reads only the due rows (its index and migration: ``test_tracker_clock_schema``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from corridor.parties import Leg
from corridor.principals import demo_key
from services.tracker.db import clock as db_clock
from services.tracker.db import queries
from services.tracker.db.unit import SqlUnitOfWork
from services.tracker.domain import (
    Booking,
    Classifier,
    Event,
    EventType,
    Statistics,
    TrackedShipment,
    fold,
)
from services.tracker.domain.clock import ClockRules, advance_clock
from services.tracker.handlers import Tracker
from tests.conftest import unique
from tests.fakes.tracker import FakeStates
from tests.unit.tracker_clock_samples import RULES, TOPOLOGY

pytestmark = pytest.mark.integration

MARCH = datetime(2026, 3, 10, tzinfo=UTC)
PROMISED = datetime(2026, 3, 20, tzinfo=UTC)
DECEMBER = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
OPERATOR = {"Authorization": f"Bearer {demo_key('corridor-ops')}"}


class FakeClock:
    """The tracker's injected clock, moved by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def booking(promised: datetime = PROMISED) -> Booking:
    return Booking(
        origin="AZBAK",
        destination="GEPTI",
        container_type="40HC",
        gross_weight_kg=20_000,
        promised_delivery_at=promised,
        legs=(Leg("ady", "AZBAK", "AZBYK"), Leg("gr", "AZBYK", "GEPTI")),
    )


def event(
    shipment_id: str,
    event_type: str,
    at: datetime,
    location: str,
    *,
    carrier: str = "ady",
    promised: datetime = PROMISED,
    recorded_at: datetime | None = None,
) -> Event:
    kind = EventType(event_type)
    return Event(
        carrier=carrier,
        event_id=unique("E"),
        shipment_id=shipment_id,
        event_type=kind,
        classifier=Classifier.ACT,
        occurred_at=at,
        location=location,
        recorded_at=recorded_at,
        mode="RAIL" if kind in (EventType.DEPARTED, EventType.ARRIVED) else "",
        booking=booking(promised) if kind is EventType.BOOKED else None,
    )


def held_at_boyuk_kesik(shipment_id: str, promised: datetime = PROMISED) -> list[Event]:
    return [
        event(
            shipment_id,
            "BOOKED",
            MARCH - timedelta(days=2),
            "AZBAK",
            carrier="mcm",
            promised=promised,
        ),
        event(shipment_id, "DEPARTED", MARCH - timedelta(days=1), "AZBAK"),
        event(shipment_id, "ARRIVED", MARCH, "AZBYK"),
        event(shipment_id, "CUSTOMS_HOLD", MARCH + timedelta(hours=1), "AZBYK"),
    ]


def tracker_on(engine: AsyncEngine, clock: FakeClock, states: FakeStates) -> Tracker:
    return Tracker(
        SqlUnitOfWork(engine, RULES), RULES, publish=states, clock=clock, stats_refresh_seconds=0
    )


async def stored(engine: AsyncEngine, shipment_id: str) -> TrackedShipment:
    async with engine.connect() as conn:
        found = await queries.get_shipment(conn, shipment_id)
    assert found is not None
    return found


async def test_a_quiet_shipment_turns_delayed_and_silent_as_a_published_new_version(
    tracker_engine: AsyncEngine,
) -> None:
    clock, states = FakeClock(MARCH + timedelta(hours=1, minutes=5)), FakeStates()
    tracker = tracker_on(tracker_engine, clock, states)
    shipment_id = unique("BK")
    events = held_at_boyuk_kesik(shipment_id)
    await tracker.apply(events)
    await tracker.publish_pending()
    first = await stored(tracker_engine, shipment_id)
    assert (first.version, first.delayed, first.silent) == (1, False, False)
    assert first.wake_at is not None
    assert first.wake_at > clock.now
    assert [(s.shipment_id, s.version) for s in states.sent] == [(shipment_id, 1)]

    clock.now = DECEMBER  # nothing heard since March
    result = await tracker.tick(100)
    assert (result.due, [s.shipment_id for s in result.changed]) == (1, [shipment_id])
    now = await stored(tracker_engine, shipment_id)
    assert now.view == fold(shipment_id, events, RULES)  # the fold is untouched
    assert (now.version, now.delayed, now.silent, now.updated_at) == (2, True, True, DECEMBER)
    assert now.eta is not None
    assert now.eta > DECEMBER
    assert now.wake_at == DECEMBER + ClockRules().eta_refresh
    await tracker.publish_pending()
    published = states.sent[-1]
    assert (published.version, published.delayed, published.silent) == (2, True, True)
    assert published.eta == now.eta

    # Not due again until the next refresh: a tick reads nothing, changes nothing.
    again = await tracker.tick(100)
    assert (again.due, again.changed) == (0, [])
    assert (await stored(tracker_engine, shipment_id)).version == 2

    # News clears the silence (as the next version of the fold's own path).
    news = event(shipment_id, "CUSTOMS_RELEASED", DECEMBER - timedelta(minutes=5), "AZBYK")
    await tracker.apply([news])
    cleared = await stored(tracker_engine, shipment_id)
    assert (cleared.version, cleared.delayed, cleared.silent) == (3, True, False)


async def test_an_ageing_eta_is_refreshed_at_its_cadence_never_before_now(
    tracker_engine: AsyncEngine,
) -> None:
    clock, states = FakeClock(MARCH + timedelta(hours=2)), FakeStates()
    tracker = tracker_on(tracker_engine, clock, states)
    shipment_id = unique("BK")
    await tracker.apply(held_at_boyuk_kesik(shipment_id, promised=DECEMBER))
    versions = [(await stored(tracker_engine, shipment_id)).version]
    for _ in range(4):  # bounded: four wake-ups
        wake = (await stored(tracker_engine, shipment_id)).wake_at
        assert wake is not None
        clock.now = wake
        await tracker.tick(100)
        shipment = await stored(tracker_engine, shipment_id)
        assert shipment.eta is not None
        assert shipment.eta >= clock.now
        versions.append(shipment.version)
    assert versions == sorted(versions)
    assert versions[-1] > versions[0]


async def test_the_tick_reads_and_writes_only_the_due_shipments(
    tracker_engine: AsyncEngine,
) -> None:
    clock, states = FakeClock(MARCH), FakeStates()
    tracker = tracker_on(tracker_engine, clock, states)
    soon, later = unique("SOON"), unique("LATER")
    # Booked only: time can change nothing but the delay, at the promise.
    await tracker.apply(
        [
            event(soon, "BOOKED", MARCH, "AZBAK", carrier="mcm", promised=PROMISED),
            event(later, "BOOKED", MARCH, "AZBAK", carrier="mcm", promised=DECEMBER),
        ]
    )
    untouched = await stored(tracker_engine, later)
    clock.now = PROMISED + timedelta(days=1)
    result = await tracker.tick(100)
    assert result.due == 1
    assert [s.shipment_id for s in result.changed] == [soon]
    assert (await stored(tracker_engine, soon)).delayed
    assert (await stored(tracker_engine, soon)).wake_at is None  # nothing more time can change
    assert await stored(tracker_engine, later) == untouched


async def test_a_shipment_a_batch_changed_meanwhile_is_left_to_the_batch(
    tracker_engine: AsyncEngine,
) -> None:
    clock, states = FakeClock(MARCH + timedelta(hours=2)), FakeStates()
    tracker = tracker_on(tracker_engine, clock, states)
    shipment_id = unique("BK")
    await tracker.apply(held_at_boyuk_kesik(shipment_id))
    async with tracker_engine.connect() as conn:
        [read] = await db_clock.due(conn, DECEMBER, 10)
    await tracker.apply(
        [event(shipment_id, "CUSTOMS_RELEASED", MARCH + timedelta(hours=3), "AZBYK")]
    )
    stale = advance_clock(read, TOPOLOGY, Statistics(), ClockRules(), DECEMBER)
    assert stale.version == read.version + 1
    async with tracker_engine.begin() as conn:
        assert await db_clock.save_clock(conn, [stale]) == set()
    assert (await stored(tracker_engine, shipment_id)).version == 2
