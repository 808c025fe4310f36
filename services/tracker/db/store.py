"""The write side: what one batch's transaction reads and writes.

Idempotency comes from ``events``' primary key ``(carrier, event_id)``: events are inserted
with ``ON CONFLICT DO NOTHING RETURNING`` so the caller learns which ones are new.

Shipments use optimistic concurrency: a changed shipment is written with version ``n + 1``
only if the stored version is still ``n`` (a new one only if no row exists). Two consumers
of one group that briefly own the same partition during a rebalance cannot overwrite each
other: the loser's write is refused, its transaction rolled back, and the batch retried on
fresh data (``ConcurrentChange``). All rows are written in key order (no deadlocks).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, select, text, tuple_, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from corridor.topology import Topology
from services.tracker.db.bulk import Upsert, columns_of, upsert
from services.tracker.db.derived import DerivedRows, derived_rows
from services.tracker.db.tables import (
    events,
    node_dwells,
    section_transits,
    segment_times,
    shipments,
)
from services.tracker.domain import (
    RANK,
    Classifier,
    Event,
    EventType,
    ShipmentView,
    Statistics,
    TrackedShipment,
    medians,
)
from services.tracker.domain.model import booking_from_dict, booking_to_dict


class ConcurrentChange(Exception):
    """Another transaction changed these shipments since they were read: retry the batch."""

    def __init__(self, shipment_ids: Sequence[str]) -> None:
        super().__init__(f"changed concurrently: {', '.join(shipment_ids[:5])}")
        self.shipment_ids = list(shipment_ids)


@dataclass(frozen=True)
class StoredShipment:
    version: int
    view: ShipmentView


@dataclass(frozen=True)
class Prepared:
    """A shipment's new state and the view it replaces, serialised ahead of the write."""

    old: ShipmentView | None
    new: TrackedShipment
    state: str
    derived: DerivedRows


def prepare(old: ShipmentView | None, new: TrackedShipment, topology: Topology) -> Prepared:
    return Prepared(old, new, new.view.to_json(), derived_rows([(old, new.view)], topology))


@dataclass(frozen=True)
class Change:
    """A prepared change, with the copies to count on the shipment and the version known
    to have reached the state topic (0: none)."""

    prepared: Prepared
    copies: int = 0
    published: int = 0

    @property
    def shipment_id(self) -> str:
        return self.prepared.new.shipment_id


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


def event_columns(batch: Sequence[Event], applied_at: datetime) -> dict[str, list[Any]]:
    """``event_row`` for many events, one list per column."""
    return {
        "carrier": [e.carrier for e in batch],
        "event_id": [e.event_id for e in batch],
        "shipment_id": [e.shipment_id for e in batch],
        "event_type": [e.event_type.value for e in batch],
        "classifier": [e.classifier.value for e in batch],
        "rank": [RANK[e.event_type] for e in batch],
        "occurred_at": [e.occurred_at for e in batch],
        "recorded_at": [e.recorded_at for e in batch],
        "applied_at": [applied_at] * len(batch),
        "location": [e.location for e in batch],
        "mode": [e.mode for e in batch],
        "container_no": [e.container_no for e in batch],
        "wagon_no": [e.wagon_no for e in batch],
        "reason": [e.reason for e in batch],
        "booking": [None if e.booking is None else booking_to_dict(e.booking) for e in batch],
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
    """Insert the events not stored yet; return the keys of those that were new."""
    ordered = sorted(batch, key=lambda e: e.key)
    inserted = await upsert(
        conn,
        Upsert(
            events,
            event_columns(ordered, applied_at),
            ("carrier", "event_id"),
            returning=("carrier", "event_id"),
        ),
    )
    return {(r.carrier, r.event_id) for r in inserted}


async def read_shipments(conn: AsyncConnection, ids: Iterable[str]) -> dict[str, StoredShipment]:
    """The stored version and view of these shipments (those that exist)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    query = select(shipments.c.shipment_id, shipments.c.version, shipments.c.state).where(
        shipments.c.shipment_id.in_(wanted)
    )
    return {
        row.shipment_id: StoredShipment(row.version, ShipmentView.from_json(row.state))
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


def shipment_row(change: Change) -> dict[str, Any]:
    """The row of a changed shipment; ``duplicates`` is added to the stored count and
    ``published_version`` never moves backwards."""
    shipment = change.prepared.new
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
        "duplicates": change.copies,
        "version": shipment.version,
        "published_version": change.published,
        "updated_at": shipment.updated_at,
        "state": change.prepared.state,
    }


async def save_changes(
    conn: AsyncConnection, changes: Sequence[Change]
) -> dict[str, TrackedShipment]:
    """Write changed shipments and their derived rows; return them with their duplicate
    counts as stored. Raises ``ConcurrentChange`` if any was changed meanwhile."""
    if not changes:
        return {}
    ordered = sorted(changes, key=lambda c: c.shipment_id)
    derived = DerivedRows()
    for change in ordered:
        derived.extend(change.prepared.derived)
    for table, keys in derived.gone.items():
        if keys:
            key = tuple_(table.c.shipment_id, table.c.seq)
            await conn.execute(delete(table).where(key.in_(keys)))
    written = await upsert(
        conn,
        *derived.upserts(),
        Upsert(
            shipments,
            columns_of([shipment_row(c) for c in ordered]),
            ("shipment_id",),
            update=True,
            increments=("duplicates",),
            maximums=("published_version",),
            versioned=True,
            returning=("shipment_id", "duplicates"),
        ),
    )
    counts = {row.shipment_id: int(row.duplicates) for row in written}
    lost = [c.shipment_id for c in ordered if c.shipment_id not in counts]
    if lost:
        raise ConcurrentChange(lost)
    saved = {}
    for change in ordered:
        shipment = change.prepared.new
        stored = counts[change.shipment_id]
        saved[change.shipment_id] = (
            shipment if shipment.duplicates == stored else replace(shipment, duplicates=stored)
        )
    return saved


_ADD_DUPLICATES = text(
    "UPDATE shipments AS t SET duplicates = t.duplicates + u.n "
    "FROM unnest(CAST(:ids AS text[]), CAST(:counts AS integer[])) AS u(id, n) "
    "WHERE t.shipment_id = u.id"
)
_MARK_PUBLISHED = text(
    "UPDATE shipments AS t SET published_version = u.v "
    "FROM unnest(CAST(:ids AS text[]), CAST(:versions AS bigint[])) AS u(id, v) "
    "WHERE t.shipment_id = u.id AND t.published_version < u.v"
)


async def add_duplicates(conn: AsyncConnection, counts: Mapping[str, int]) -> None:
    """Count ignored copies (redelivered or re-posted events) on shipments that did not
    otherwise change."""
    if not counts:
        return
    ids, numbers = zip(*sorted(counts.items()), strict=True)
    if conn.dialect.name == "postgresql":
        await conn.execute(_ADD_DUPLICATES, {"ids": list(ids), "counts": list(numbers)})
        return
    stmt = (
        update(shipments)
        .where(shipments.c.shipment_id == bindparam("b_id"))
        .values(duplicates=shipments.c.duplicates + bindparam("b_count"))
    )
    await conn.execute(stmt, [{"b_id": i, "b_count": n} for i, n in zip(ids, numbers, strict=True)])


async def mark_published(conn: AsyncConnection, marks: Mapping[str, int]) -> None:
    """Record that these versions reached the state topic (never moving backwards)."""
    if not marks:
        return
    ids, versions = zip(*sorted(marks.items()), strict=True)
    if conn.dialect.name == "postgresql":
        await conn.execute(_MARK_PUBLISHED, {"ids": list(ids), "versions": list(versions)})
        return
    stmt = (
        update(shipments)
        .where(shipments.c.shipment_id == bindparam("b_id"))
        .where(shipments.c.published_version < bindparam("b_version"))
        .values(published_version=bindparam("b_version"))
    )
    await conn.execute(
        stmt, [{"b_id": i, "b_version": v} for i, v in zip(ids, versions, strict=True)]
    )


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
