"""The write side: set-based statements run inside the caller's transaction.

Idempotency comes from ``events``' primary key ``(carrier, event_id)``: events are inserted
with ``ON CONFLICT DO NOTHING RETURNING`` so the caller learns which ones are new. Shipment
rows are locked in ``shipment_id`` order (placeholders first for new shipments, then
``SELECT ... FOR UPDATE``) so that concurrent consumers of one group, during a rebalance,
serialise on a shipment instead of overwriting each other; SQLite has one writer anyway.

On PostgreSQL every multi-row write is one statement whose values travel as one array per
column (``INSERT ... SELECT * FROM unnest(...)``): a batch of 500 events costs a handful of
statements, not thousands of bound parameters. SQLite gets the same statements through
SQLAlchemy's multi-row ``INSERT``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    Integer,
    SmallInteger,
    String,
    Table,
    TextClause,
    bindparam,
    delete,
    func,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.expression import Executable
from sqlalchemy.types import TypeEngine

from corridor.topology import Topology
from services.tracker.db.tables import (
    UtcDateTime,
    events,
    node_dwells,
    section_transits,
    segment_times,
    shipments,
)
from services.tracker.domain import (
    RANK,
    Classifier,
    Dwell,
    Event,
    EventType,
    Section,
    ShipmentView,
    Statistics,
    TrackedShipment,
    medians,
)
from services.tracker.domain.fold import dwell_kind
from services.tracker.domain.model import booking_from_dict, booking_to_dict


@dataclass(frozen=True)
class LockedShipment:
    """A locked shipment row as the batch found it (version 0: new)."""

    shipment_id: str
    version: int
    duplicates: int


_PG_TYPES: tuple[tuple[type[TypeEngine[Any]], str], ...] = (
    (UtcDateTime, "timestamptz"),
    (JSON, "json"),
    (Boolean, "boolean"),
    (SmallInteger, "smallint"),
    (BigInteger, "bigint"),
    (Integer, "integer"),
    (Float, "float8"),
    (String, "text"),
)


def _pg_type(column: Column[Any]) -> str:
    for kind, name in _PG_TYPES:
        if isinstance(column.type, kind):
            return name
    raise TypeError(f"no array type for {column}")


@lru_cache(maxsize=64)
def _unnest_insert(
    table: Table,
    names: tuple[str, ...],
    conflict: tuple[str, ...],
    update: tuple[str, ...],
    returning: tuple[str, ...],
) -> TextClause:
    """``INSERT ... SELECT * FROM unnest(:a, :b, ...) ON CONFLICT ...``: rows as arrays."""
    arrays = ", ".join(f"CAST(:{n} AS {_pg_type(table.c[n])}[])" for n in names)
    sql = (
        f"INSERT INTO {table.name} ({_quoted(names)}) SELECT * FROM unnest({arrays}) "
        f"ON CONFLICT ({_quoted(conflict)}) "
    )
    if update:
        sql += "DO UPDATE SET " + ", ".join(f'"{n}" = EXCLUDED."{n}"' for n in update)
    else:
        sql += "DO NOTHING"
    if returning:
        sql += f" RETURNING {_quoted(returning)}"
    return text(sql)


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(f'"{n}"' for n in names)


async def _write(
    conn: AsyncConnection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    conflict: Sequence[str],
    update: bool = False,
    returning: Sequence[str] = (),
) -> list[Row[Any]]:
    """Insert rows (all with the same keys); on a conflict do nothing or update the rest."""
    if not rows:
        return []
    names = tuple(rows[0])
    changed = tuple(n for n in names if n not in conflict) if update else ()
    if conn.dialect.name == "postgresql":
        arrays: dict[str, list[Any]] = {}
        for name in names:
            values = [r[name] for r in rows]
            if isinstance(table.c[name].type, JSON):
                values = [
                    None if v is None else json.dumps(v, separators=(",", ":")) for v in values
                ]
            arrays[name] = values
        stmt = _unnest_insert(table, names, tuple(conflict), changed, tuple(returning))
        result = await conn.execute(stmt, arrays)
    else:
        insert = sqlite.insert(table)
        if changed:
            insert = insert.on_conflict_do_update(
                index_elements=list(conflict), set_={n: insert.excluded[n] for n in changed}
            )
        else:
            insert = insert.on_conflict_do_nothing(index_elements=list(conflict))
        statement: Executable = insert
        if returning:
            statement = insert.returning(*(table.c[n] for n in returning))
        result = await conn.execute(statement, list(rows))
    return list(result) if returning else []


def event_row(event: Event, applied_at: datetime) -> dict[str, Any]:
    return {
        "carrier": event.carrier,
        "event_id": event.event_id,
        "shipment_id": event.shipment_id,
        "event_type": event.event_type.value,
        "classifier": event.classifier.value,
        "rank": RANK[event.event_type],
        "occurred_at": event.occurred_at,
        "recorded_at": event.recorded_at,
        "applied_at": applied_at,
        "location": event.location,
        "mode": event.mode,
        "container_no": event.container_no,
        "wagon_no": event.wagon_no,
        "reason": event.reason,
        "booking": booking_to_dict(event.booking),
    }


def event_of(row: Row[Any]) -> Event:
    return Event(
        carrier=row.carrier,
        event_id=row.event_id,
        shipment_id=row.shipment_id,
        event_type=EventType(row.event_type),
        classifier=Classifier(row.classifier),
        occurred_at=row.occurred_at,
        location=row.location,
        recorded_at=row.recorded_at,
        mode=row.mode,
        container_no=row.container_no,
        wagon_no=row.wagon_no,
        reason=row.reason,
        booking=booking_from_dict(row.booking),
    )


def tracked_of(row: Row[Any]) -> TrackedShipment:
    return TrackedShipment(
        view=ShipmentView.from_json(row.state),
        eta=row.eta,
        delayed=bool(row.delayed),
        version=int(row.version),
        duplicates=int(row.duplicates),
        updated_at=row.updated_at,
    )


async def insert_events(
    conn: AsyncConnection, batch: Sequence[Event], applied_at: datetime
) -> set[tuple[str, str]]:
    """Insert the events not stored yet; return the keys of those that were new.

    Rows go in key order, so two transactions inserting the same keys wait for each other
    in the same order (no deadlock)."""
    rows = [event_row(e, applied_at) for e in sorted(batch, key=lambda e: e.key)]
    inserted = await _write(
        conn, events, rows, conflict=("carrier", "event_id"), returning=("carrier", "event_id")
    )
    return {(r.carrier, r.event_id) for r in inserted}


async def lock_shipments(
    conn: AsyncConnection, created: Iterable[str], touched: Iterable[str]
) -> dict[str, LockedShipment]:
    """Lock the rows of ``touched`` shipments, first creating empty ones for those of
    ``created`` that do not exist; their versions say whether a cached view is current."""
    new_rows = [{"shipment_id": i} for i in sorted(set(created))]
    await _write(conn, shipments, new_rows, conflict=("shipment_id",))
    ids = sorted(set(touched))
    if not ids:
        return {}
    query = (
        select(shipments.c.shipment_id, shipments.c.version, shipments.c.duplicates)
        .where(shipments.c.shipment_id.in_(ids))
        .order_by(shipments.c.shipment_id)
        .with_for_update()
    )
    return {
        row.shipment_id: LockedShipment(row.shipment_id, row.version, row.duplicates)
        for row in await conn.execute(query)
    }


async def load_views(conn: AsyncConnection, ids: Iterable[str]) -> dict[str, ShipmentView]:
    """The stored views of these shipments (those that have one)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    query = select(shipments.c.shipment_id, shipments.c.state).where(
        shipments.c.shipment_id.in_(wanted)
    )
    return {
        row.shipment_id: ShipmentView.from_json(row.state)
        for row in await conn.execute(query)
        if row.state is not None
    }


async def load_events(conn: AsyncConnection, ids: Iterable[str]) -> dict[str, list[Event]]:
    """Every stored event of the given shipments."""
    wanted = sorted(set(ids))
    found: dict[str, list[Event]] = {i: [] for i in wanted}
    if not wanted:
        return found
    for row in await conn.execute(select(events).where(events.c.shipment_id.in_(wanted))):
        found[row.shipment_id].append(event_of(row))
    return found


def shipment_row(shipment: TrackedShipment) -> dict[str, Any]:
    view = shipment.view
    return {
        "shipment_id": view.shipment_id,
        "status": view.status.value,
        "container_no": view.container_no,
        "wagon_no": view.wagon_no,
        "origin": view.origin,
        "destination": view.destination,
        "current_location": view.current_location,
        "eta": shipment.eta,
        "delayed": shipment.delayed,
        "events_count": view.events,
        "duplicates": shipment.duplicates,
        "version": shipment.version,
        "updated_at": shipment.updated_at,
        "state": view.to_json(),
    }


async def save_shipments(conn: AsyncConnection, saved: Sequence[TrackedShipment]) -> None:
    rows = [shipment_row(s) for s in sorted(saved, key=lambda s: s.shipment_id)]
    await _write(conn, shipments, rows, conflict=("shipment_id",), update=True)


def _changed(
    old: Sequence[Any] | None, new: Sequence[Any], closed: Callable[[Any], bool], all_: bool
) -> tuple[list[int], list[int]]:
    """Indexes of closed items that are new or differ, and of closed items that are gone.
    The fold keeps unchanged items as the same objects, so identity settles most cases."""
    before = old or ()
    changed = [
        i
        for i, item in enumerate(new)
        if closed(item)
        and (
            all_
            or i >= len(before)
            or not (before[i] is item or (before[i] == item and closed(before[i])))
        )
    ]
    gone = [
        i for i, item in enumerate(before) if closed(item) and (i >= len(new) or not closed(new[i]))
    ]
    return changed, gone


def _section_closed(s: Section) -> bool:
    return s.exited_at is not None


def _dwell_closed(d: Dwell) -> bool:
    return d.departed_at is not None


def _always(_: object) -> bool:
    return True


async def save_derived(
    conn: AsyncConnection,
    changes: Sequence[tuple[ShipmentView | None, ShipmentView]],
    topology: Topology,
) -> None:
    """Bring the closed sections, segment runs and dwells of changed shipments in line with
    their new views: upsert what is new or differs, delete what no longer exists."""
    sections: list[dict[str, Any]] = []
    segments: list[dict[str, Any]] = []
    dwells: list[dict[str, Any]] = []
    gone: dict[Table, list[tuple[str, int]]] = {
        section_transits: [],
        segment_times: [],
        node_dwells: [],
    }
    for old, new in sorted(changes, key=lambda change: change[1].shipment_id):
        sid = new.shipment_id
        rebooked = old is not None and old.booking != new.booking
        changed, removed = _changed(
            None if old is None else old.sections, new.sections, _section_closed, rebooked
        )
        for i in changed:
            s = new.sections[i]
            sections.append(
                {
                    "shipment_id": sid,
                    "seq": i,
                    "country": s.country,
                    "entered_at": s.entered_at,
                    "exited_at": s.exited_at,
                    "transit_seconds": s.transit_seconds,
                    "kilograms": new.gross_weight_kg,
                    "teu": new.teu,
                }
            )
        gone[section_transits] += [(sid, i) for i in removed]
        changed, removed = _changed(
            None if old is None else old.segments, new.segments, _always, False
        )
        for i in changed:
            r = new.segments[i]
            segments.append(
                {
                    "shipment_id": sid,
                    "seq": i,
                    "origin": r.origin,
                    "destination": r.destination,
                    "departed_at": r.departed_at,
                    "arrived_at": r.arrived_at,
                    "seconds": r.seconds,
                }
            )
        gone[segment_times] += [(sid, i) for i in removed]
        changed, removed = _changed(
            None if old is None else old.dwells, new.dwells, _dwell_closed, False
        )
        for i in changed:
            d = new.dwells[i]
            dwells.append(
                {
                    "shipment_id": sid,
                    "seq": i,
                    "node": d.node,
                    "kind": dwell_kind(d.node, topology),
                    "arrived_at": d.arrived_at,
                    "departed_at": d.departed_at,
                    "seconds": d.dwell_seconds,
                }
            )
        gone[node_dwells] += [(sid, i) for i in removed]
    for table, keys in gone.items():
        if keys:
            key = tuple_(table.c.shipment_id, table.c.seq)
            await conn.execute(delete(table).where(key.in_(keys)))
    for table, rows in (
        (section_transits, sections),
        (segment_times, segments),
        (node_dwells, dwells),
    ):
        await _write(conn, table, rows, conflict=("shipment_id", "seq"), update=True)


async def add_duplicates(conn: AsyncConnection, counts: Mapping[str, int]) -> None:
    """Count ignored copies (redelivered or re-posted events) on their shipments."""
    if not counts:
        return
    stmt = (
        update(shipments)
        .where(shipments.c.shipment_id == bindparam("b_id"))
        .values(duplicates=shipments.c.duplicates + bindparam("b_count"))
    )
    await conn.execute(stmt, [{"b_id": i, "b_count": n} for i, n in sorted(counts.items())])


async def mark_published(conn: AsyncConnection, marks: Mapping[str, int]) -> None:
    """Record that these versions reached the state topic (never moving backwards)."""
    if not marks:
        return
    stmt = (
        update(shipments)
        .where(shipments.c.shipment_id == bindparam("b_id"))
        .where(shipments.c.published_version < bindparam("b_version"))
        .values(published_version=bindparam("b_version"))
    )
    await conn.execute(stmt, [{"b_id": i, "b_version": v} for i, v in sorted(marks.items())])


async def unpublished(conn: AsyncConnection, limit: int) -> list[TrackedShipment]:
    """Shipments whose latest version may not have reached the state topic."""
    query = (
        select(shipments)
        .where(shipments.c.published_version < shipments.c.version)
        .where(shipments.c.state.is_not(None))
        .order_by(shipments.c.shipment_id)
        .limit(limit)
    )
    return [tracked_of(row) for row in await conn.execute(query)]


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
