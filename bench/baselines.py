"""The raw baselines of the apply benchmarks: the same event rows inserted idempotently
(``ON CONFLICT DO NOTHING``) into ``raw_events``, a copy of the tracker's ``events`` table
(``bench.tracker.database``), one transaction per batch (``BATCH``, the tracker consumer's,
unless told): one row per transaction; ORM batches; arrays sent with ``unnest``; and each
column as one joined string, split and cast by the server (the services' own way,
``corridor.bulk``: the fastest here, since the driver encodes arrays element by element). The
fastest is the yardstick of the tracker's and the tariff's apply rates.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase

from corridor.bulk import Upsert, columns_of, upsert
from services.tracker.db.tables import events
from services.tracker.settings import TrackerSettings

# The consumer's batch (its most records per transaction), for the baselines too.
BATCH: int = TrackerSettings.model_fields["batch_size"].default
Rows = list[dict[str, Any]]


class Base(DeclarativeBase):
    pass


class RawEvent(Base):
    """The ORM baseline's mapping of the copy of ``events``."""

    __table__ = events.to_metadata(Base.metadata, name="raw_events")


async def one_per_transaction(engine: AsyncEngine, rows: Rows) -> float:
    stmt = pg_insert(RawEvent.__table__).on_conflict_do_nothing()
    started = time.perf_counter()
    for row in rows:
        async with engine.begin() as conn:
            await conn.execute(stmt, [row])
    return len(rows) / (time.perf_counter() - started)


async def orm_batches(engine: AsyncEngine, rows: Rows, batch: int = BATCH) -> float:
    sessions = async_sessionmaker(engine)
    stmt = pg_insert(RawEvent).on_conflict_do_nothing()
    started = time.perf_counter()
    for start in range(0, len(rows), batch):
        async with sessions.begin() as session:
            await session.execute(stmt, rows[start : start + batch])
    return len(rows) / (time.perf_counter() - started)


UNNEST = text(
    """
    INSERT INTO raw_events (carrier, event_id, shipment_id, event_type, classifier, rank,
        occurred_at, recorded_at, applied_at, location, mode, container_no, wagon_no, reason,
        booking)
    SELECT * FROM unnest(
        CAST(:carrier AS text[]), CAST(:event_id AS text[]), CAST(:shipment_id AS text[]),
        CAST(:event_type AS text[]), CAST(:classifier AS text[]), CAST(:rank AS smallint[]),
        CAST(:occurred_at AS timestamptz[]), CAST(:recorded_at AS timestamptz[]),
        CAST(:applied_at AS timestamptz[]), CAST(:location AS text[]), CAST(:mode AS text[]),
        CAST(:container_no AS text[]), CAST(:wagon_no AS text[]), CAST(:reason AS text[]),
        CAST(:booking AS json[]))
    ON CONFLICT DO NOTHING
    """
)


async def unnest_arrays(engine: AsyncEngine, rows: Rows, batch: int = BATCH) -> float:
    started = time.perf_counter()
    for start in range(0, len(rows), batch):
        chunk = rows[start : start + batch]
        columns = {name: [r[name] for r in chunk] for name in chunk[0]}
        columns["booking"] = [None if b is None else json.dumps(b) for b in columns["booking"]]
        async with engine.begin() as conn:
            await conn.execute(UNNEST, columns)
    return len(rows) / (time.perf_counter() - started)


async def joined_text(engine: AsyncEngine, rows: Rows, batch: int = BATCH) -> float:
    table = RawEvent.__table__
    started = time.perf_counter()
    for start in range(0, len(rows), batch):
        columns = columns_of(rows[start : start + batch])
        async with engine.begin() as conn:
            await upsert(conn, Upsert(table, columns, ("carrier", "event_id")))
    return len(rows) / (time.perf_counter() - started)


# The batched baselines (the one row per transaction is run on a sample only).
RAW: tuple[tuple[str, Callable[[AsyncEngine, Rows, int], Awaitable[float]]], ...] = (
    ("raw, ORM batches", orm_batches),
    ("raw, unnest arrays", unnest_arrays),
    ("raw, joined text", joined_text),
)
