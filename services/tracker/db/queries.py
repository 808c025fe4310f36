"""The read side: what the query API and the gauges ask of the database."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, literal, or_, select, tuple_
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from services.tracker.db.rows import event_of, tracked_of
from services.tracker.db.tables import (
    events,
    section_transits,
    set_aside_events,
    shipment_access,
    shipments,
)
from services.tracker.domain import Event, Status, TrackedShipment

TimelineKey = tuple[datetime, int, str, str]


async def get_shipment(conn: AsyncConnection, shipment_id: str) -> TrackedShipment | None:
    row = (
        await conn.execute(
            select(shipments)
            .where(shipments.c.shipment_id == shipment_id)
            .where(shipments.c.state.is_not(None))
        )
    ).first()
    return None if row is None else tracked_of(row)


async def list_shipments(
    conn: AsyncConnection,
    *,
    limit: int,
    after: str | None = None,
    status: Status | None = None,
    location: str | None = None,
    delayed: bool | None = None,
    silent: bool | None = None,
    container_no: str | None = None,
    wagon_no: str | None = None,
    scopes: Collection[str] | None = None,
) -> list[TrackedShipment]:
    """Shipments in ``shipment_id`` order after the cursor, filtered; with ``scopes``, only
    those readable through one of them (``None``: every shipment, for operators)."""
    query = select(shipments).where(shipments.c.state.is_not(None))
    if scopes is not None:
        readable = (
            select(shipment_access.c.shipment_id)
            .where(shipment_access.c.shipment_id == shipments.c.shipment_id)
            .where(shipment_access.c.scope.in_(sorted(scopes)))
        )
        query = query.where(readable.exists())
    if after is not None:
        query = query.where(shipments.c.shipment_id > after)
    if status is not None:
        query = query.where(shipments.c.status == status.value)
    if location is not None:
        query = query.where(shipments.c.current_location == location)
    if delayed is not None:
        query = query.where(shipments.c.delayed == delayed)
    if silent is not None:
        query = query.where(shipments.c.silent == silent)
    if container_no is not None:
        query = query.where(shipments.c.container_no == container_no)
    if wagon_no is not None:
        query = query.where(shipments.c.wagon_no == wagon_no)
    query = query.order_by(shipments.c.shipment_id).limit(limit)
    return [tracked_of(row) for row in await conn.execute(query)]


async def timeline(
    conn: AsyncConnection, shipment_id: str, *, limit: int, after: TimelineKey | None = None
) -> list[Event]:
    """A shipment's unique events that count (none set aside) in the fold's order: time,
    then event type, carrier, id."""
    key = (events.c.occurred_at, events.c.rank, events.c.carrier, events.c.event_id)
    aside = (
        select(set_aside_events.c.event_id)
        .where(set_aside_events.c.carrier == events.c.carrier)
        .where(set_aside_events.c.event_id == events.c.event_id)
    )
    query = select(events).where(events.c.shipment_id == shipment_id).where(~aside.exists())
    if after is not None:
        bound = (literal(value, column.type) for column, value in zip(key, after, strict=True))
        query = query.where(tuple_(*key) > tuple_(*bound))
    query = query.order_by(*key).limit(limit)
    return [event_of(row) for row in await conn.execute(query)]


async def counts_by_status(conn: AsyncConnection) -> dict[str, int]:
    query = (
        select(shipments.c.status, func.count())
        .where(shipments.c.state.is_not(None))
        .group_by(shipments.c.status)
    )
    return {status: int(count) for status, count in await conn.execute(query)}


async def in_flight_by_node(conn: AsyncConnection) -> dict[str, int]:
    """Shipments not yet delivered, by current location."""
    query = (
        select(shipments.c.current_location, func.count())
        .where(shipments.c.state.is_not(None))
        .where(shipments.c.status != Status.DELIVERED.value)
        .group_by(shipments.c.current_location)
    )
    return {node: int(count) for node, count in await conn.execute(query) if node}


@dataclass(frozen=True)
class Late:
    """Shipments not yet delivered that are delayed, and that are silent."""

    delayed: int
    silent: int


async def late_in_flight(conn: AsyncConnection) -> Late:
    """Delayed and silent shipments not yet delivered, in one pass."""
    query = (
        select(
            func.count().filter(shipments.c.delayed.is_(True)),
            func.count().filter(shipments.c.silent.is_(True)),
        )
        .select_from(shipments)
        .where(or_(shipments.c.delayed.is_(True), shipments.c.silent.is_(True)))
        .where(shipments.c.status != Status.DELIVERED.value)
    )
    delayed, silent = (await conn.execute(query)).one()
    return Late(int(delayed or 0), int(silent or 0))


async def delayed_in_flight(conn: AsyncConnection) -> int:
    return (await late_in_flight(conn)).delayed


@dataclass(frozen=True)
class SectionSample:
    country: str
    transit_seconds: int
    kilograms: float
    teu: float


async def section_samples(conn: AsyncConnection, since: datetime) -> list[SectionSample]:
    """Sections exited since ``since`` (bounded by the retention of the table)."""
    query = select(
        section_transits.c.country,
        section_transits.c.transit_seconds,
        section_transits.c.kilograms,
        section_transits.c.teu,
    ).where(section_transits.c.exited_at >= since)
    return [
        SectionSample(r.country, int(r.transit_seconds), float(r.kilograms), float(r.teu))
        for r in await conn.execute(query)
    ]


async def set_aside(
    conn: AsyncConnection,
    *,
    limit: int,
    held_since: datetime,
    carrier: str | None = None,
    outcome: str | None = None,
    after: tuple[str, str] | None = None,
) -> list[Row[Any]]:
    """Events set aside, in ``(carrier, event_id)`` order after the cursor. A held event
    received before ``held_since`` (now minus the hold window) counts as refused."""
    table = set_aside_events
    query = select(table)
    if carrier is not None:
        query = query.where(table.c.carrier == carrier)
    if after is not None:
        query = query.where(tuple_(table.c.carrier, table.c.event_id) > tuple_(*after))
    expired = and_(
        table.c.outcome == "held",
        table.c.recorded_at.is_not(None),
        table.c.recorded_at < held_since,
    )
    if outcome == "held":
        query = query.where(table.c.outcome == "held").where(~expired)
    elif outcome == "refused":
        query = query.where(or_(table.c.outcome == "refused", expired))
    query = query.order_by(table.c.carrier, table.c.event_id).limit(limit)
    return list(await conn.execute(query))
