"""Shipments, their timelines and equipment: every read needs a principal, and answers
only with what it may read. A shipment it may not read is ``404``, exactly as an unknown
one; lists (and their pages) hold readable shipments only."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from corridor.access import principal_scopes
from corridor.auth import PrincipalDep
from corridor.principals import Principal
from corridor.problems import Problem, field_error
from services.tracker.api.convert import event_out
from services.tracker.api.reads import (
    CursorQuery,
    LimitQuery,
    Reads,
    ReadsDep,
    bad_cursor,
    decode_cursor,
    encode_cursor,
    hidden,
    not_found,
)
from services.tracker.api.schemas import (
    EquipmentPage,
    EventPage,
    ShipmentOut,
    ShipmentPage,
    StatusName,
)
from services.tracker.db import queries
from services.tracker.domain import Status, TrackedShipment

Responses = dict[int | str, dict[str, Any]]
UNAUTHORIZED: Responses = {401: {"description": "No, unknown or expired credential."}}
NOT_FOUND: Responses = {404: {"description": "Unknown, or not readable by the caller."}}

router = APIRouter(prefix="/v1", tags=["shipments"], responses=UNAUTHORIZED)


async def _readable(
    request: Request, reads: Reads, principal: Principal, shipment_id: str
) -> TrackedShipment:
    async with reads.engine.connect() as conn:
        shipment = await queries.get_shipment(conn, shipment_id)
    if shipment is None:
        raise not_found("shipment", shipment_id)
    if not reads.may_read(principal, shipment.view):
        raise hidden(request, principal, "shipment", shipment_id)
    return shipment


async def _shipment_page(
    reads: Reads, principal: Principal, cursor: str | None, limit: int, **filters: Any
) -> tuple[list[ShipmentOut], str | None]:
    after = None if cursor is None else str(decode_cursor(cursor, 1)[0])
    scopes = principal_scopes(reads.rules, principal)
    async with reads.engine.connect() as conn:
        found = await queries.list_shipments(
            conn, limit=limit + 1, after=after, scopes=scopes, **filters
        )
    items = [reads.shipment_out(s, principal) for s in found[:limit]]
    more = len(found) > limit
    return items, encode_cursor([items[-1].shipment_id]) if more else None


@router.get("/shipments/{shipment_id}", response_model=ShipmentOut, responses=NOT_FOUND)
async def get_shipment(
    shipment_id: str, request: Request, principal: PrincipalDep, reads: ReadsDep
) -> ShipmentOut:
    """Status, equipment, route, current location, last event, sections, dwell, ETA."""
    shipment = await _readable(request, reads, principal, shipment_id)
    return reads.shipment_out(shipment, principal)


@router.get("/shipments/{shipment_id}/events", response_model=EventPage, responses=NOT_FOUND)
async def get_timeline(
    shipment_id: str,
    request: Request,
    principal: PrincipalDep,
    reads: ReadsDep,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
) -> EventPage:
    """The shipment's unique events that count, in time order (duplicates and the events
    set aside left out: see ``GET /v1/events/refused``)."""
    after = None
    if cursor is not None:
        raw = decode_cursor(cursor, 4)
        try:
            after = (datetime.fromisoformat(raw[0]), int(raw[1]), str(raw[2]), str(raw[3]))
        except (TypeError, ValueError):
            raise bad_cursor() from None
    shipment = await _readable(request, reads, principal, shipment_id)
    details = reads.details(principal, shipment.view)
    async with reads.engine.connect() as conn:
        found = await queries.timeline(conn, shipment_id, limit=limit + 1, after=after)
    page = found[:limit]
    next_cursor = None
    if len(found) > limit:
        key = page[-1].order
        next_cursor = encode_cursor([key[0].isoformat(), key[1], key[2], key[3]])
    return EventPage(
        shipment_id=shipment_id,
        items=[event_out(e, details) for e in page],
        next_cursor=next_cursor,
    )


@router.get("/shipments", response_model=ShipmentPage)
async def list_shipments(
    principal: PrincipalDep,
    reads: ReadsDep,
    status: Annotated[StatusName | None, Query()] = None,
    location: Annotated[str | None, Query(max_length=16, description="Node code.")] = None,
    delayed: bool | None = None,
    silent: bool | None = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
) -> ShipmentPage:
    """The shipments the caller may read, in ``shipment_id`` order, filtered by status,
    current location, delay, silence."""
    if location is not None and location not in reads.topology.nodes:
        raise Problem(
            422,
            f"location: {location!r} is not a corridor node",
            errors=[field_error("location", "not a corridor node", "unknown_node")],
        )
    items, next_cursor = await _shipment_page(
        reads,
        principal,
        cursor,
        limit,
        status=None if status is None else Status(status),
        location=location,
        delayed=delayed,
        silent=silent,
    )
    return ShipmentPage(items=items, next_cursor=next_cursor)


async def _equipment(
    reads: Reads,
    principal: Principal,
    what: str,
    number: str,
    cursor: str | None,
    limit: int,
    **filters: Any,
) -> EquipmentPage:
    items, next_cursor = await _shipment_page(reads, principal, cursor, limit, **filters)
    if not items and cursor is None:
        raise not_found(what, number)
    return EquipmentPage(equipment=number, items=items, next_cursor=next_cursor)


@router.get(
    "/containers/{container_no}",
    response_model=EquipmentPage,
    tags=["equipment"],
    responses={404: {"description": "No readable shipment with this container."}},
)
async def get_container(
    container_no: str,
    principal: PrincipalDep,
    reads: ReadsDep,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
) -> EquipmentPage:
    """The shipments the caller may read that were carried in this container."""
    return await _equipment(
        reads, principal, "container", container_no, cursor, limit, container_no=container_no
    )


@router.get(
    "/wagons/{wagon_no}",
    response_model=EquipmentPage,
    tags=["equipment"],
    responses={404: {"description": "No readable shipment with this wagon."}},
)
async def get_wagon(
    wagon_no: str,
    principal: PrincipalDep,
    reads: ReadsDep,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
) -> EquipmentPage:
    """The shipments the caller may read that were carried in this wagon."""
    return await _equipment(reads, principal, "wagon", wagon_no, cursor, limit, wagon_no=wagon_no)
