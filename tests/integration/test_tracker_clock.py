"""The clock against real databases (SQLite and PostgreSQL) and the real broker: a quiet
shipment turns delayed and silent as time passes, as a new version that is published; the
tick reads only the due rows, through the index on ``wake_at``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from corridor import db
from corridor.parties import Leg
from corridor.principals import demo_key
from services.tracker.app import MIGRATIONS
from services.tracker.db import clock as db_clock
from services.tracker.db import queries
from services.tracker.db.tables import shipments
from services.tracker.domain import (
    Booking,
    Classifier,
    Event,
    EventType,
    Statistics,
    TrackedShipment,
    codec,
    fold,
)
from services.tracker.domain.clock import ClockRules, advance_clock
from services.tracker.handlers import Tracker
from tests.conftest import unique
from tests.unit.test_tracker_clock import RULES, TOPOLOGY

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


class FakeStates:
    """Stands in for the broker: acknowledges and remembers what was sent."""

    def __init__(self) -> None:
        self.sent: list[TrackedShipment] = []

    async def __call__(self, shipments: Sequence[TrackedShipment]) -> list[bool]:
        self.sent += shipments
        return [True] * len(shipments)


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


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = db.make_engine(database_url)
    await db.migrate(engine, MIGRATIONS)
    try:
        yield engine
    finally:
        await engine.dispose()


def tracker_on(engine: AsyncEngine, clock: FakeClock, states: FakeStates) -> Tracker:
    return Tracker(engine, RULES, publish=states, clock=clock, stats_refresh_seconds=0)


async def stored(engine: AsyncEngine, shipment_id: str) -> TrackedShipment:
    async with engine.connect() as conn:
        found = await queries.get_shipment(conn, shipment_id)
    assert found is not None
    return found


async def test_a_quiet_shipment_turns_delayed_and_silent_as_a_published_new_version(
    engine: AsyncEngine,
) -> None:
    clock, states = FakeClock(MARCH + timedelta(hours=1, minutes=5)), FakeStates()
    tracker = tracker_on(engine, clock, states)
    shipment_id = unique("BK")
    events = held_at_boyuk_kesik(shipment_id)
    await tracker.apply(events)
    await tracker.publish_pending()
    first = await stored(engine, shipment_id)
    assert (first.version, first.delayed, first.silent) == (1, False, False)
    assert first.wake_at is not None
    assert first.wake_at > clock.now
    assert [(s.shipment_id, s.version) for s in states.sent] == [(shipment_id, 1)]

    clock.now = DECEMBER  # nothing heard since March
    result = await tracker.tick(100)
    assert (result.due, [s.shipment_id for s in result.changed]) == (1, [shipment_id])
    now = await stored(engine, shipment_id)
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
    assert (await stored(engine, shipment_id)).version == 2

    # News clears the silence (as the next version of the fold's own path).
    news = event(shipment_id, "CUSTOMS_RELEASED", DECEMBER - timedelta(minutes=5), "AZBYK")
    await tracker.apply([news])
    cleared = await stored(engine, shipment_id)
    assert (cleared.version, cleared.delayed, cleared.silent) == (3, True, False)


async def test_an_ageing_eta_is_refreshed_at_its_cadence_never_before_now(
    engine: AsyncEngine,
) -> None:
    clock, states = FakeClock(MARCH + timedelta(hours=2)), FakeStates()
    tracker = tracker_on(engine, clock, states)
    shipment_id = unique("BK")
    await tracker.apply(held_at_boyuk_kesik(shipment_id, promised=DECEMBER))
    versions = [(await stored(engine, shipment_id)).version]
    for _ in range(4):  # bounded: four wake-ups
        wake = (await stored(engine, shipment_id)).wake_at
        assert wake is not None
        clock.now = wake
        await tracker.tick(100)
        shipment = await stored(engine, shipment_id)
        assert shipment.eta is not None
        assert shipment.eta >= clock.now
        versions.append(shipment.version)
    assert versions == sorted(versions)
    assert versions[-1] > versions[0]


async def test_the_tick_reads_and_writes_only_the_due_shipments(engine: AsyncEngine) -> None:
    clock, states = FakeClock(MARCH), FakeStates()
    tracker = tracker_on(engine, clock, states)
    soon, later = unique("SOON"), unique("LATER")
    # Booked only: time can change nothing but the delay, at the promise.
    await tracker.apply(
        [
            event(soon, "BOOKED", MARCH, "AZBAK", carrier="mcm", promised=PROMISED),
            event(later, "BOOKED", MARCH, "AZBAK", carrier="mcm", promised=DECEMBER),
        ]
    )
    untouched = await stored(engine, later)
    clock.now = PROMISED + timedelta(days=1)
    result = await tracker.tick(100)
    assert result.due == 1
    assert [s.shipment_id for s in result.changed] == [soon]
    assert (await stored(engine, soon)).delayed
    assert (await stored(engine, soon)).wake_at is None  # nothing more time can change
    assert await stored(engine, later) == untouched


async def test_a_shipment_a_batch_changed_meanwhile_is_left_to_the_batch(
    engine: AsyncEngine,
) -> None:
    clock, states = FakeClock(MARCH + timedelta(hours=2)), FakeStates()
    tracker = tracker_on(engine, clock, states)
    shipment_id = unique("BK")
    await tracker.apply(held_at_boyuk_kesik(shipment_id))
    async with engine.connect() as conn:
        [read] = await db_clock.due(conn, DECEMBER, 10)
    await tracker.apply(
        [event(shipment_id, "CUSTOMS_RELEASED", MARCH + timedelta(hours=3), "AZBYK")]
    )
    stale = advance_clock(read, TOPOLOGY, Statistics(), ClockRules(), DECEMBER)
    assert stale.version == read.version + 1
    async with engine.begin() as conn:
        assert await db_clock.save_clock(conn, [stale]) == set()
    assert (await stored(engine, shipment_id)).version == 2


async def test_the_due_shipments_are_read_through_the_wake_index(engine: AsyncEngine) -> None:
    """Many shipments, few due: the plan is a range scan of ``ix_shipments_wake_at``, not a
    scan of the table."""
    far = DECEMBER + timedelta(days=365)
    rows = [
        {"shipment_id": f"IDX-{i:05d}", "state": "{}", "wake_at": far if i % 10 else None}
        for i in range(3000)
    ]
    async with engine.begin() as conn:
        await conn.execute(shipments.insert(), rows)
        if conn.dialect.name == "postgresql":
            await conn.execute(text("ANALYZE shipments"))
    query = db_clock.due_query(DECEMBER, 500)
    async with engine.connect() as conn:
        sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
        if conn.dialect.name == "postgresql":
            plan = "\n".join(str(r[0]) for r in await conn.exec_driver_sql(f"EXPLAIN {sql}"))
            assert "ix_shipments_wake_at" in plan, plan
            assert "Seq Scan" not in plan, plan
        else:
            found = await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")
            plan = "\n".join(str(r[-1]) for r in found)
            assert "USING INDEX ix_shipments_wake_at" in plan, plan
            assert "SCAN shipments" not in plan, plan
        assert len(await db_clock.due(conn, DECEMBER, 500)) == 0
        assert len((await conn.execute(db_clock.due_query(far, 500))).all()) == 500


async def test_a_shipment_stored_before_the_clock_is_due_at_once_after_migration_0003(
    database_url: str,
) -> None:
    engine = db.make_engine(database_url)

    def upgrade_to_0002(conn: Connection) -> None:
        config = Config()
        config.set_main_option("script_location", MIGRATIONS)
        config.attributes["connection"] = conn
        command.upgrade(config, "0002")

    try:
        async with engine.begin() as conn:
            await conn.run_sync(upgrade_to_0002)
        shipment_id = unique("OLD")
        view = fold(shipment_id, held_at_boyuk_kesik(shipment_id), RULES)
        updated = MARCH + timedelta(hours=2)
        async with engine.begin() as conn:
            at = updated.replace(tzinfo=None) if conn.dialect.name == "sqlite" else updated
            await conn.execute(
                text(
                    "INSERT INTO shipments (shipment_id, status, version, updated_at, state) "
                    "VALUES (:s, 'HELD', 1, :at, :state)"
                ),
                {"s": shipment_id, "at": at, "state": codec.to_json(view)},
            )
        await db.migrate(engine, MIGRATIONS)
        before = await stored(engine, shipment_id)
        assert (before.wake_at, before.silent) == (updated, False)
        tracker = tracker_on(engine, FakeClock(DECEMBER), FakeStates())
        result = await tracker.tick(100)
        assert [s.shipment_id for s in result.changed] == [shipment_id]
        after = await stored(engine, shipment_id)
        assert (after.version, after.delayed, after.silent) == (2, True, True)
        assert after.view == view
    finally:
        await engine.dispose()
