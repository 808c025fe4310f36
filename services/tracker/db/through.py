"""Delivered journeys for the through-transit figures, read from the derived rows.

A delivered shipment's sections are all closed and stored (``section_transits``): the
first one (``seq`` 0) tells where the journey started, the last one's exit is the
delivery. Only shipments delivered in the window are read (through the ``exited_at``
index), never the whole table.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.tracker.db.tables import section_transits, shipments
from services.tracker.domain import Status
from services.tracker.domain.through import Journey


async def delivered_journeys(conn: AsyncConnection, since: datetime) -> list[Journey]:
    """The journeys delivered since ``since`` (their last section exited then)."""
    st = section_transits
    recent = select(st.c.shipment_id).where(st.c.exited_at >= since).distinct().scalar_subquery()
    query = (
        select(
            st.c.shipment_id,
            st.c.seq,
            st.c.country,
            st.c.entered_at,
            st.c.exited_at,
            shipments.c.destination,
        )
        .join(shipments, shipments.c.shipment_id == st.c.shipment_id)
        .where(shipments.c.status == Status.DELIVERED.value)
        .where(st.c.shipment_id.in_(recent))
        .order_by(st.c.shipment_id, st.c.seq)
    )
    journeys: dict[str, Journey] = {}
    for row in await conn.execute(query):
        known = journeys.get(row.shipment_id)
        if known is None:
            journeys[row.shipment_id] = Journey(
                row.shipment_id, row.country, row.destination, row.entered_at, row.exited_at
            )
        elif row.exited_at > known.delivered_at:
            journeys[row.shipment_id] = Journey(
                known.shipment_id,
                known.origin_country,
                known.destination,
                known.started_at,
                row.exited_at,
            )
    return [j for j in journeys.values() if j.delivered_at >= since]
