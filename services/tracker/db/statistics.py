"""The derived rows read back as statistics (the ETA's medians), and their pruning."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.tracker.db.tables import node_dwells, section_transits, segment_times
from services.tracker.domain import Statistics, medians


async def load_statistics(conn: AsyncConnection, recent: int, min_samples: int) -> Statistics:
    """Medians of the ``recent`` latest segment runs and dwells, where there are enough."""
    seg_rank = (
        func.row_number()
        .over(
            partition_by=(segment_times.c.origin, segment_times.c.destination),
            order_by=segment_times.c.arrived_at.desc(),
        )
        .label("n")
    )
    seg = select(
        segment_times.c.origin, segment_times.c.destination, segment_times.c.seconds, seg_rank
    ).subquery()
    seg_rows = await conn.execute(
        select(seg.c.origin, seg.c.destination, seg.c.seconds).where(seg.c.n <= recent)
    )
    dwell_rank = (
        func.row_number()
        .over(partition_by=node_dwells.c.node, order_by=node_dwells.c.departed_at.desc())
        .label("n")
    )
    dw = select(node_dwells.c.node, node_dwells.c.seconds, dwell_rank).subquery()
    dwell_rows = await conn.execute(select(dw.c.node, dw.c.seconds).where(dw.c.n <= recent))
    return Statistics(
        segment_hours=medians(
            (((r.origin, r.destination), r.seconds / 3600) for r in seg_rows), min_samples
        ),
        dwell_hours=medians(((r.node, r.seconds / 3600) for r in dwell_rows), min_samples),
    )


async def prune(conn: AsyncConnection, before: datetime) -> None:
    """Forget statistics rows older than ``before`` (the tables stay bounded)."""
    await conn.execute(delete(section_transits).where(section_transits.c.exited_at < before))
    await conn.execute(delete(segment_times).where(segment_times.c.arrived_at < before))
    await conn.execute(delete(node_dwells).where(node_dwells.c.departed_at < before))
