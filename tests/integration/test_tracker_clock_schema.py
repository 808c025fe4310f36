"""The clock's storage against real databases (SQLite and PostgreSQL): the tick reads the
due rows through the index on ``wake_at``, and a shipment stored before migration 0003 is
due at once (the clock's behaviour: ``test_tracker_clock``)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from corridor import db
from services.tracker.app import MIGRATIONS
from services.tracker.db import clock as db_clock
from services.tracker.db import viewcodec
from services.tracker.db.tables import shipments
from services.tracker.domain import fold
from tests.conftest import unique
from tests.fakes.tracker import FakeStates
from tests.integration.test_tracker_clock import (
    DECEMBER,
    MARCH,
    FakeClock,
    held_at_boyuk_kesik,
    stored,
    tracker_on,
)
from tests.unit.tracker_clock_samples import RULES

pytestmark = pytest.mark.integration


async def test_the_due_shipments_are_read_through_the_wake_index(
    tracker_engine: AsyncEngine,
) -> None:
    """Many shipments, few due: the plan is a range scan of ``ix_shipments_wake_at``, not a
    scan of the table."""
    far = DECEMBER + timedelta(days=365)
    rows = [
        {"shipment_id": f"IDX-{i:05d}", "state": "{}", "wake_at": far if i % 10 else None}
        for i in range(3000)
    ]
    async with tracker_engine.begin() as conn:
        await conn.execute(shipments.insert(), rows)
        if conn.dialect.name == "postgresql":
            await conn.execute(text("ANALYZE shipments"))
    query = db_clock.due_query(DECEMBER, 500)
    async with tracker_engine.connect() as conn:
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
                {"s": shipment_id, "at": at, "state": viewcodec.to_json(view)},
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
