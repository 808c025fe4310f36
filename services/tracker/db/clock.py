"""What the clock's tick reads and writes: only the due shipments.

The tick reads ``wake_at <= now ORDER BY wake_at LIMIT n`` (a range scan of the partial
index on ``wake_at``), never the whole table. A shipment whose ETA, delay or silence
changed is written as version ``n + 1`` only where the stored version is still ``n``: the
same optimistic concurrency as a batch (``bulk.Upsert(versioned=True)``); a shipment a
batch changed meanwhile is left to the batch, which computes its clock state too. Only
the clock's columns are written (the view is not touched). A shipment whose state did not
change only has its ``wake_at`` moved forward, at the same version.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from corridor.bulk import Upsert, upsert
from corridor.db import UtcDateTime
from services.tracker.db.rows import tracked_of
from services.tracker.db.tables import shipments
from services.tracker.domain import TrackedShipment

_MOVE_WAKE = text(
    "UPDATE shipments AS t SET wake_at = u.w "
    "FROM unnest(CAST(:ids AS text[]), CAST(:versions AS bigint[]), "
    "CAST(:wakes AS timestamptz[])) AS u(id, v, w) "
    "WHERE t.shipment_id = u.id AND t.version = u.v"
)


def due_query(now: datetime, limit: int) -> Select[Any]:
    """The shipments whose clock state may have changed by ``now``, earliest first."""
    return (
        select(shipments)
        .where(shipments.c.wake_at <= now)
        .order_by(shipments.c.wake_at)
        .limit(limit)
    )


async def due(conn: AsyncConnection, now: datetime, limit: int) -> list[TrackedShipment]:
    return [tracked_of(row) for row in await conn.execute(due_query(now, limit))]


async def save_clock(conn: AsyncConnection, changed: Sequence[TrackedShipment]) -> set[str]:
    """Write the clock's columns of these next versions; return the ids written (the others
    were changed meanwhile)."""
    if not changed:
        return set()
    ordered = sorted(changed, key=lambda s: s.shipment_id)
    written = await upsert(
        conn,
        Upsert(
            shipments,
            {
                "shipment_id": [s.shipment_id for s in ordered],
                "eta": [s.eta for s in ordered],
                "delayed": [s.delayed for s in ordered],
                "silent": [s.silent for s in ordered],
                "wake_at": [s.wake_at for s in ordered],
                "version": [s.version for s in ordered],
                "updated_at": [s.updated_at for s in ordered],
            },
            ("shipment_id",),
            update=True,
            versioned=True,
            returning=("shipment_id",),
        ),
    )
    return {row.shipment_id for row in written}


async def move_wake(conn: AsyncConnection, unchanged: Sequence[TrackedShipment]) -> None:
    """Move ``wake_at`` of shipments whose state did not change, at their version."""
    if not unchanged:
        return
    ordered = sorted(unchanged, key=lambda s: s.shipment_id)
    if conn.dialect.name == "postgresql":
        params = {
            "ids": [s.shipment_id for s in ordered],
            "versions": [s.version for s in ordered],
            "wakes": [s.wake_at for s in ordered],
        }
        await conn.execute(_MOVE_WAKE, params)
        return
    stmt = (
        update(shipments)
        .where(shipments.c.shipment_id == bindparam("b_id"))
        .where(shipments.c.version == bindparam("b_version"))
        .values(wake_at=bindparam("b_wake", type_=UtcDateTime()))
    )
    await conn.execute(
        stmt,
        [{"b_id": s.shipment_id, "b_version": s.version, "b_wake": s.wake_at} for s in ordered],
    )
