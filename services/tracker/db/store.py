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

from sqlalchemy import bindparam, delete, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from corridor.bulk import Upsert, upsert
from corridor.parties import TrustRules
from services.tracker.db import viewcodec
from services.tracker.db.derived import KEYS, DerivedRows, derived_rows
from services.tracker.db.rows import event_columns, event_of, tracked_of
from services.tracker.db.tables import (
    events,
    shipments,
)
from services.tracker.db.viewcodec import ViewEncoder
from services.tracker.domain import Event, ShipmentView, TrackedShipment
from services.tracker.ports import Change, ConcurrentChange, Prepared, StoredShipment


def prepare(
    old: ShipmentView | None, new: TrackedShipment, rules: TrustRules, encoder: ViewEncoder
) -> Prepared:
    """The change with its serialised view and derived rows (``Prepared.payload``)."""
    return Prepared(
        old, new, Payload(encoder.encode(new.view), derived_rows([(old, new.view)], rules))
    )


@dataclass(frozen=True, slots=True)
class Payload:
    state: str
    derived: DerivedRows


def _payload(change: Change) -> Payload:
    payload = change.prepared.payload
    assert isinstance(payload, Payload), "prepared by another adapter"
    return payload


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


async def read_events(
    conn: AsyncConnection, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], Event]:
    """The stored events of these keys (to tell a harmless copy from a conflicting one)."""
    wanted = sorted(set(keys))
    found: dict[tuple[str, str], Event] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        # Two plain INs walk the primary key; a row-value IN scans it on SQLite. The few
        # extra pairs they may match are dropped here.
        query = select(events).where(
            events.c.carrier.in_({c for c, _ in chunk}),
            events.c.event_id.in_({e for _, e in chunk}),
        )
        pairs = set(chunk)
        for row in await conn.execute(query):
            event = event_of(row)
            if event.key in pairs:
                found[event.key] = event
    return found


async def read_shipments(conn: AsyncConnection, ids: Iterable[str]) -> dict[str, StoredShipment]:
    """The stored version and view of these shipments (those that exist)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    query = select(
        shipments.c.shipment_id, shipments.c.version, shipments.c.state, shipments.c.heard_at
    ).where(shipments.c.shipment_id.in_(wanted))
    return {
        row.shipment_id: StoredShipment(row.version, viewcodec.from_json(row.state), row.heard_at)
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


def shipment_columns(changes: Sequence[Change]) -> dict[str, list[Any]]:
    """The rows of changed shipments, one list per column. ``duplicates`` is added to the
    stored count; ``published_version`` never moves backwards."""
    shipments_ = [c.prepared.new for c in changes]
    views = [s.view for s in shipments_]
    return {
        "shipment_id": [v.shipment_id for v in views],
        "status": [v.status.value for v in views],
        "container_no": [v.container_no for v in views],
        "wagon_no": [v.wagon_no for v in views],
        "origin": [v.origin for v in views],
        "destination": [v.destination for v in views],
        "current_location": [v.current_location for v in views],
        "eta": [s.eta for s in shipments_],
        "delayed": [s.delayed for s in shipments_],
        "events_count": [v.events for v in views],
        "duplicates": [c.copies for c in changes],
        "version": [s.version for s in shipments_],
        "published_version": [c.published for c in changes],
        "updated_at": [s.updated_at for s in shipments_],
        "state": [_payload(c).state for c in changes],
        "silent": [s.silent for s in shipments_],
        "heard_at": [s.heard_at for s in shipments_],
        "wake_at": [s.wake_at for s in shipments_],
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
        derived.extend(_payload(change).derived)
    for table, keys in derived.gone.items():
        if keys:
            key = tuple_(*(table.c[name] for name in KEYS[table]))
            await conn.execute(delete(table).where(key.in_(keys)))
    written = await upsert(
        conn,
        *derived.upserts(),
        Upsert(
            shipments,
            shipment_columns(ordered),
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
