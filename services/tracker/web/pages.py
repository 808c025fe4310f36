"""The pages: the corridor (public), search, a shipment, the operators' view; and the JSON
the corridor page polls. Shipments and set-aside events are read through the query API's
own route functions, so the API's rules answer (a hidden shipment is "not found")."""

from __future__ import annotations

import hashlib
import logging
from typing import Literal
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from corridor.kafka import recent_dead_letters
from corridor.principals import Role
from corridor.problems import Problem
from services.tracker.api import refused, shipments
from services.tracker.api.schemas import ShipmentOut
from services.tracker.web.render import (
    HEADERS,
    fragment,
    page,
    to_sign_in,
    visitor,
    window_of,
)
from services.tracker.web.schematic import layout_of, route_keys
from services.tracker.web.session import authorization
from services.tracker.web.tariff import shipment_charges

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

MAX_QUERY = 64
DEAD_LETTERS = 50


@router.get("/")
async def corridor_page(request: Request) -> Response:
    who = await visitor(request)
    window = window_of(request)
    board = await window.board.board()
    figures = await window.figures.figures()
    layout = layout_of(window.reads.topology)
    return page(
        request, "corridor.html", who, board=board, figures=figures, layout=layout, route=[]
    )


@router.get("/window/live")
async def live(request: Request) -> Response:
    """The corridor page's live parts, rendered: it polls this every few seconds and swaps
    what changed, without reloading."""
    window = window_of(request)
    board = await window.board.board()
    figures = await window.figures.figures()
    layout = layout_of(window.reads.topology)
    parts = {
        "schematic": fragment(request, "_schematic.html", board=board, layout=layout, route=[]),
        "counts": fragment(request, "_counts.html", board=board, layout=layout),
        "figures": fragment(request, "_figures.html", figures=figures),
    }
    version = hashlib.sha256("".join(parts.values()).encode()).hexdigest()[:16]
    body = {"as_of": board.as_of.isoformat(), "version": version, "parts": parts}
    return JSONResponse(body, headers=HEADERS)


@router.get("/window/search")
async def search(request: Request, q: str = "") -> Response:
    """By shipment id, container number or wagon number: one readable shipment found goes
    straight to its page."""
    who = await visitor(request)
    if who.principal is None:
        return to_sign_in(request, who)
    window = window_of(request)
    query = q.strip()
    if len(query) > MAX_QUERY:
        error = f"Search for at most {MAX_QUERY} characters."
        return page(request, "search.html", who, 422, q=query, results=[], error=error)
    found: dict[str, ShipmentOut] = {}
    if query:
        try:
            one = await shipments.get_shipment(query, request, who.principal, window.reads)
            found[one.shipment_id] = one
        except Problem as problem:
            if problem.status != 404:
                raise
        for by in (shipments.get_container, shipments.get_wagon):
            try:
                equipment = await by(query, who.principal, window.reads, cursor=None, limit=20)
            except Problem as problem:
                if problem.status != 404:
                    raise
                continue
            for item in equipment.items:
                found.setdefault(item.shipment_id, item)
    if len(found) == 1:
        (only,) = found
        target = f"/window/shipments/{quote(only, safe='')}"
        return RedirectResponse(target, status_code=303, headers=HEADERS)
    results = sorted(found.values(), key=lambda s: s.shipment_id)
    return page(request, "search.html", who, q=query, results=results, error=None)


@router.get("/window/shipments/{shipment_id}")
async def shipment_page(shipment_id: str, request: Request) -> Response:
    who = await visitor(request)
    if who.principal is None or who.credential is None:
        return to_sign_in(request, who)
    window = window_of(request)
    reads = window.reads
    try:
        shipment = await shipments.get_shipment(shipment_id, request, who.principal, reads)
        timeline = await shipments.get_timeline(
            shipment_id, request, who.principal, reads, cursor=None, limit=200
        )
    except Problem as problem:
        message = (
            f"No shipment {shipment_id!r} that you may see."
            if problem.status == 404
            else problem.detail
        )
        return page(request, "error.html", who, problem.status, message=message)
    charges = await shipment_charges(
        window.config.tariff_url, shipment_id, authorization(who.credential)
    )
    topology = reads.topology
    route = route_keys(topology, shipment.origin or "", shipment.destination or "")
    return page(
        request,
        "shipment.html",
        who,
        shipment=shipment,
        timeline=timeline,
        charges=charges,
        layout=layout_of(topology),
        board=None,
        route=route,
        topology=topology,
        now=reads.clock(),
    )


@router.get("/window/operator")
async def operator_page(
    request: Request,
    outcome: Literal["held", "refused"] | None = None,
    cursor: str | None = None,
) -> Response:
    """Set-aside events (held or refused, with the reason): a carrier its own, operators
    every carrier's; dead letters: operators only."""
    who = await visitor(request)
    if who.principal is None:
        return to_sign_in(request, who)
    window = window_of(request)
    try:
        aside = await refused.list_set_aside(
            request,
            who.principal,
            window.reads,
            outcome=outcome,
            carrier=None,  # operators see every carrier's; a carrier its own
            cursor=cursor,
            limit=50,
        )
    except Problem as problem:
        return page(request, "error.html", who, problem.status, message=problem.detail)
    letters = None
    letters_error = None
    if who.principal.role is Role.OPERATOR:
        try:
            letters = await recent_dead_letters(window.config.kafka, DEAD_LETTERS)
        except Exception as exc:
            log.warning("dead letters unreadable", exc_info=True)
            letters_error = f"The dead-letter topic could not be read ({type(exc).__name__})."
    return page(
        request,
        "operator.html",
        who,
        aside=aside,
        outcome=outcome,
        letters=letters,
        letters_error=letters_error,
    )
