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
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncEngine

from corridor.kafka import utcnow
from corridor.problems import Problem, field_error
from corridor.topology import Topology
from services.tracker.db import queries
from services.tracker.domain import (
    CASPIAN,
    Event,
    Status,
    TrackedShipment,
    dwell_kind,
    percentile,
)

StatusName = Literal["BOOKED", "IN_TRANSIT", "HELD", "DELIVERED"]
KPI_WINDOW = timedelta(days=30)
# Sections in the order the corridor runs (then any other, alphabetically).
SECTION_ORDER = ("CN", "KZ", CASPIAN, "AZ", "GE", "TR", "XB", "RO")


class LastEventOut(BaseModel):
    event_id: str
    carrier: str
    event_type: str
    classifier: str
    location: str
    occurred_at: datetime


class SectionOut(BaseModel):
    country: str = Field(description="Country code, or XC for the Caspian crossing.")
    entered_at: datetime
    exited_at: datetime | None = Field(description="null while the cargo is in the section.")
    transit_seconds: int = Field(description="0 while the cargo is in the section.")
    target_seconds: int | None = Field(description="Published target for the section, if any.")


class DwellOut(BaseModel):
    node: str
    kind: Literal["border", "port"]
    arrived_at: datetime
    departed_at: datetime | None
    dwell_seconds: int


class MilestoneOut(BaseModel):
    classifier: Literal["EST", "PLN"]
    event_type: str
    location: str
    expected_at: datetime
    carrier: str


class CountsOut(BaseModel):
    events: int = Field(description="Unique events applied.")
    duplicates: int = Field(description="Redelivered or re-posted copies ignored.")


class ShipmentOut(BaseModel):
    shipment_id: str
    status: StatusName
    container_no: str | None
    wagon_no: str | None
    container_type: str | None
    gross_weight_kg: float | None
    origin: str | None
    destination: str | None
    current_location: str | None
    last_event: LastEventOut | None = Field(description="The latest actual event in time.")
    sections: list[SectionOut]
    dwells: list[DwellOut]
    eta: datetime | None = Field(description="Estimated arrival at the destination.")
    carrier_eta: datetime | None = Field(description="The carrier's latest estimate (EST).")
    promised_delivery_at: datetime | None
    delayed: bool
    hold_reason: str | None
    milestones: list[MilestoneOut] = Field(description="Latest estimates and plans.")
    counts: CountsOut
    version: int
    updated_at: datetime | None


class ShipmentPage(BaseModel):
    items: list[ShipmentOut]
    next_cursor: str | None


class BookingOut(BaseModel):
    origin: str
    destination: str
    container_type: str | None
    gross_weight_kg: float
    cargo_description: str | None
    hs_code: str | None
    promised_delivery_at: datetime | None


class EventOut(BaseModel):
    event_id: str
    carrier: str
    event_type: str
    classifier: str
    occurred_at: datetime
    recorded_at: datetime | None
    location: str
    mode: str | None
    container_no: str | None
    wagon_no: str | None
    reason: str | None
    booking: BookingOut | None


class EventPage(BaseModel):
    shipment_id: str
    items: list[EventOut]
    next_cursor: str | None


class EquipmentPage(BaseModel):
    equipment: str = Field(description="The container or wagon number asked for.")
    items: list[ShipmentOut]
    next_cursor: str | None


class SectionKpiOut(BaseModel):
    country: str
    shipments: int = Field(description="Shipments that left the section in the window.")
    median_transit_seconds: float
    p90_transit_seconds: float
    target_seconds: int | None
    tonnes: float
    teu: float


class CorridorOut(BaseModel):
    as_of: datetime
    window_days: int
    shipments_by_status: dict[str, int]
    shipments_by_node: dict[str, int] = Field(
        description="Shipments not yet delivered, by current location."
    )
    sections: list[SectionKpiOut]


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
        hours = self.topology.section_targets.get(country)
        return None if hours is None else int(hours * 3600)

    def shipment_out(self, shipment: TrackedShipment) -> ShipmentOut:
        view = shipment.view
        last = view.last_event
        return ShipmentOut(
            shipment_id=view.shipment_id,
            status=view.status.value,
            container_no=view.container_no or None,
            wagon_no=view.wagon_no or None,
            container_type=view.container_type or None,
            gross_weight_kg=view.gross_weight_kg if view.booking else None,
            origin=view.origin or None,
            destination=view.destination or None,
            current_location=view.current_location or None,
            last_event=None
            if last is None
            else LastEventOut(
                event_id=last.event_id,
                carrier=last.carrier,
                event_type=last.event_type.value,
                classifier=last.classifier.value,
                location=last.location,
                occurred_at=last.occurred_at,
            ),
            sections=[
                SectionOut(
                    country=s.country,
                    entered_at=s.entered_at,
                    exited_at=s.exited_at,
                    transit_seconds=s.transit_seconds,
                    target_seconds=self.target(s.country),
                )
                for s in view.sections
            ],
            dwells=[
                DwellOut(
                    node=d.node,
                    kind=cast(Literal["border", "port"], dwell_kind(d.node, self.topology)),
                    arrived_at=d.arrived_at,
                    departed_at=d.departed_at,
                    dwell_seconds=d.dwell_seconds,
                )
                for d in view.dwells
            ],
            eta=shipment.eta,
            carrier_eta=view.carrier_eta,
            promised_delivery_at=view.promised_delivery_at,
            delayed=shipment.delayed,
            hold_reason=view.hold_reason or None,
            milestones=[
                MilestoneOut(
                    classifier=cast(Literal["EST", "PLN"], m.classifier.value),
                    event_type=m.event_type.value,
                    location=m.location,
                    expected_at=m.expected_at,
                    carrier=m.carrier,
                )
                for m in sorted(view.milestones, key=lambda m: (m.expected_at, m.slot))
            ],
            counts=CountsOut(events=view.events, duplicates=shipment.duplicates),
            version=shipment.version,
            updated_at=shipment.updated_at,
        )


def event_out(event: Event) -> EventOut:
    booking = event.booking
    return EventOut(
        event_id=event.event_id,
        carrier=event.carrier,
        event_type=event.event_type.value,
        classifier=event.classifier.value,
        occurred_at=event.occurred_at,
        recorded_at=event.recorded_at,
        location=event.location,
        mode=event.mode or None,
        container_no=event.container_no or None,
        wagon_no=event.wagon_no or None,
        reason=event.reason or None,
        booking=None
        if booking is None
        else BookingOut(
            origin=booking.origin,
            destination=booking.destination,
            container_type=booking.container_type or None,
            gross_weight_kg=booking.gross_weight_kg,
            cargo_description=booking.cargo_description or None,
            hs_code=booking.hs_code or None,
            promised_delivery_at=booking.promised_delivery_at,
        ),
    )


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
