"""The query API: JSON views of shipments, their timelines, equipment and corridor KPIs.

Lists use cursor pagination: ``next_cursor`` is an opaque token (base64 of the sort key of
the last item) to pass back as ``cursor``; it is ``null`` on the last page. Unknown ids are
``404`` and bad parameters ``422``, both ``application/problem+json``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from sqlalchemy.ext.asyncio import AsyncEngine

from corridor.kafka import utcnow
from corridor.problems import Problem, field_error
from corridor.topology import Topology
from services.tracker.api.schemas import (
    CorridorOut,
    EquipmentPage,
    EventPage,
    SectionKpiOut,
    ShipmentOut,
    ShipmentPage,
    StatusName,
    event_out,
    section_target,
    shipment_out,
)
from services.tracker.db import queries
from services.tracker.domain import CASPIAN, Status, TrackedShipment, percentile

KPI_WINDOW = timedelta(days=30)
# Sections in the order the corridor runs (then any other, alphabetically).
SECTION_ORDER = ("CN", "KZ", CASPIAN, "AZ", "GE", "TR", "XB", "RO")


class Reads:
    """What the routes need: the engine, the reference data, a clock."""

    def __init__(
        self,
        engine: AsyncEngine,
        topology: Topology,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.topology = topology
        self.clock = clock

    def target(self, country: str) -> int | None:
        return section_target(country, self.topology)

    def shipment_out(self, shipment: TrackedShipment) -> ShipmentOut:
        return shipment_out(shipment, self.topology)


def encode_cursor(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        key = None
    if not isinstance(key, list) or len(key) != arity:
        raise Problem(
            422,
            "cursor is not one this API returned",
            errors=[field_error("cursor", "not a cursor returned by this API", "invalid_cursor")],
        )
    return key


def _reads(request: Request) -> Reads:
    return cast(Reads, request.app.state.tracker_reads)


ReadsDep = Annotated[Reads, Depends(_reads)]
LimitQuery = Annotated[int, Query(ge=1, le=200, description="Items per page.")]
CursorQuery = Annotated[
    str | None, Query(max_length=1000, description="`next_cursor` of the previous page.")
]

router = APIRouter(prefix="/v1", tags=["shipments"])


def _not_found(what: str, value: str) -> Problem:
    return Problem(404, f"no {what} {value!r} is known")


async def _shipment_page(
    reads: Reads, cursor: str | None, limit: int, **filters: Any
) -> tuple[list[ShipmentOut], str | None]:
    after = None if cursor is None else str(decode_cursor(cursor, 1)[0])
    async with reads.engine.connect() as conn:
        found = await queries.list_shipments(conn, limit=limit + 1, after=after, **filters)
    items = [reads.shipment_out(s) for s in found[:limit]]
    more = len(found) > limit
    return items, encode_cursor([items[-1].shipment_id]) if more else None


@router.get(
    "/shipments/{shipment_id}",
    response_model=ShipmentOut,
    responses={404: {"description": "Unknown shipment (problem+json)."}},
)
async def get_shipment(shipment_id: str, reads: ReadsDep) -> ShipmentOut:
    """Status, equipment, route, current location, last event, sections, dwell, ETA."""
    async with reads.engine.connect() as conn:
        shipment = await queries.get_shipment(conn, shipment_id)
    if shipment is None:
        raise _not_found("shipment", shipment_id)
    return reads.shipment_out(shipment)


@router.get(
    "/shipments/{shipment_id}/events",
    response_model=EventPage,
    responses={404: {"description": "Unknown shipment (problem+json)."}},
)
async def get_timeline(
    shipment_id: str, reads: ReadsDep, cursor: CursorQuery = None, limit: LimitQuery = 50
) -> EventPage:
    """The shipment's unique events in time order (duplicates removed)."""
    after = None
    if cursor is not None:
        raw = decode_cursor(cursor, 4)
        try:
            after = (datetime.fromisoformat(raw[0]), int(raw[1]), str(raw[2]), str(raw[3]))
        except (TypeError, ValueError):
            decode_cursor("", 4)  # raises the 422
    async with reads.engine.connect() as conn:
        if await queries.get_shipment(conn, shipment_id) is None:
            raise _not_found("shipment", shipment_id)
        found = await queries.timeline(conn, shipment_id, limit=limit + 1, after=after)
    page = found[:limit]
    next_cursor = None
    if len(found) > limit:
        last = page[-1]
        key = last.order
        next_cursor = encode_cursor([key[0].isoformat(), key[1], key[2], key[3]])
    return EventPage(
        shipment_id=shipment_id, items=[event_out(e) for e in page], next_cursor=next_cursor
    )


@router.get("/shipments", response_model=ShipmentPage)
async def list_shipments(
    reads: ReadsDep,
    status: Annotated[StatusName | None, Query()] = None,
    location: Annotated[str | None, Query(max_length=16, description="Node code.")] = None,
    delayed: bool | None = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
) -> ShipmentPage:
    """Shipments in ``shipment_id`` order, filtered by status, current location, delay."""
    if location is not None and location not in reads.topology.nodes:
        raise Problem(
            422,
            f"location: {location!r} is not a corridor node",
            errors=[field_error("location", "not a corridor node", "unknown_node")],
        )
    items, next_cursor = await _shipment_page(
        reads,
        cursor,
        limit,
        status=None if status is None else Status(status),
        location=location,
        delayed=delayed,
    )
    return ShipmentPage(items=items, next_cursor=next_cursor)


async def _equipment(
    reads: Reads, what: str, number: str, cursor: str | None, limit: int, **filters: Any
) -> EquipmentPage:
    items, next_cursor = await _shipment_page(reads, cursor, limit, **filters)
    if not items and cursor is None:
        raise _not_found(what, number)
    return EquipmentPage(equipment=number, items=items, next_cursor=next_cursor)


@router.get(
    "/containers/{container_no}",
    response_model=EquipmentPage,
    tags=["equipment"],
    responses={404: {"description": "No shipment with this container (problem+json)."}},
)
async def get_container(
    container_no: str, reads: ReadsDep, cursor: CursorQuery = None, limit: LimitQuery = 50
) -> EquipmentPage:
    """The shipments carried in this container."""
    return await _equipment(
        reads, "container", container_no, cursor, limit, container_no=container_no
    )


@router.get(
    "/wagons/{wagon_no}",
    response_model=EquipmentPage,
    tags=["equipment"],
    responses={404: {"description": "No shipment with this wagon (problem+json)."}},
)
async def get_wagon(
    wagon_no: str, reads: ReadsDep, cursor: CursorQuery = None, limit: LimitQuery = 50
) -> EquipmentPage:
    """The shipments carried in this wagon."""
    return await _equipment(reads, "wagon", wagon_no, cursor, limit, wagon_no=wagon_no)


def _section_order(country: str) -> tuple[int, str]:
    known = country in SECTION_ORDER
    return (SECTION_ORDER.index(country) if known else len(SECTION_ORDER), country)


@router.get("/corridor", response_model=CorridorOut, tags=["corridor"])
async def get_corridor(reads: ReadsDep) -> CorridorOut:
    """Shipments by status and by node; per section, over the last 30 days, the median and
    90th percentile transit time and the cargo volume that left it."""
    now = reads.clock()
    async with reads.engine.connect() as conn:
        by_status = await queries.counts_by_status(conn)
        by_node = await queries.in_flight_by_node(conn)
        samples = await queries.section_samples(conn, now - KPI_WINDOW)
    grouped: dict[str, list[queries.SectionSample]] = {}
    for sample in samples:
        grouped.setdefault(sample.country, []).append(sample)
    sections = []
    for country in sorted(grouped, key=_section_order):
        rows = grouped[country]
        transits = [float(r.transit_seconds) for r in rows]
        sections.append(
            SectionKpiOut(
                country=country,
                shipments=len(rows),
                median_transit_seconds=percentile(transits, 0.5),
                p90_transit_seconds=percentile(transits, 0.9),
                target_seconds=reads.target(country),
                tonnes=round(sum(r.kilograms for r in rows) / 1000, 3),
                teu=sum(r.teu for r in rows),
            )
        )
    return CorridorOut(
        as_of=now,
        window_days=KPI_WINDOW.days,
        shipments_by_status={s.value: by_status.get(s.value, 0) for s in Status},
        shipments_by_node=dict(sorted(by_node.items())),
        sections=sections,
    )


def install(app: FastAPI, reads: Reads) -> None:
    app.state.tracker_reads = reads
    app.include_router(router)
