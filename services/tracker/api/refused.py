"""``GET /v1/events/refused``: the events that do not count for their shipment (held or
refused, with the reason), so that a carrier can see why. A carrier sees its own; operators
see every carrier's (and may filter by carrier); the other roles post no events and get
``403``. A held event whose hold window has passed is shown refused, ``hold_expired``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request

from corridor.auth import PrincipalDep, denials_of
from corridor.parties import Verdict, held_verdict
from corridor.principals import Role
from corridor.problems import Problem
from services.tracker.api.reads import (
    CursorQuery,
    LimitQuery,
    ReadsDep,
    decode_cursor,
    encode_cursor,
)
from services.tracker.api.schemas import SetAsideOut, SetAsidePage
from services.tracker.db import queries

FORBIDDEN: dict[int | str, dict[str, Any]] = {
    401: {"description": "No, unknown or expired credential (problem+json)."},
    403: {"description": "Not a carrier or operator, or another carrier's events."},
}

router = APIRouter(prefix="/v1", tags=["events"], responses=FORBIDDEN)


@router.get("/events/refused", response_model=SetAsidePage)
async def list_set_aside(
    request: Request,
    principal: PrincipalDep,
    reads: ReadsDep,
    outcome: Annotated[Literal["held", "refused"] | None, Query()] = None,
    carrier: Annotated[
        str | None, Query(max_length=64, description="Operators only: one carrier's events.")
    ] = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
) -> SetAsidePage:
    """The caller's events that were held or refused, in ``(carrier, event_id)`` order."""
    role = principal.role
    if role not in (Role.CARRIER, Role.OPERATOR):
        denials_of(request).deny(role.value, "not_a_poster", principal=principal.id)
        raise Problem(403, "only carriers and operators post events; none of yours is set aside")
    if role is Role.CARRIER:
        if carrier not in (None, principal.id):
            denials_of(request).deny(role.value, "not_own_events", principal=principal.id)
            raise Problem(403, "a carrier sees its own set-aside events only")
        carrier = principal.id
    after = None
    if cursor is not None:
        raw = decode_cursor(cursor, 2)
        after = (str(raw[0]), str(raw[1]))
    now = reads.clock()
    async with reads.engine.connect() as conn:
        rows = await queries.set_aside(
            conn,
            limit=limit + 1,
            held_since=now - reads.rules.hold_window,
            carrier=carrier,
            outcome=outcome,
            after=after,
        )
    items = []
    for row in rows[:limit]:
        verdict = held_verdict(
            reads.rules, Verdict(row.outcome, row.reason, row.message), row.recorded_at, now
        )
        items.append(
            SetAsideOut(
                carrier=row.carrier,
                event_id=row.event_id,
                shipment_id=row.shipment_id,
                event_type=row.event_type,
                location=row.location,
                occurred_at=row.occurred_at,
                recorded_at=row.recorded_at,
                outcome=verdict.outcome,
                reason=verdict.reason,
                message=verdict.message,
            )
        )
    next_cursor = None
    if len(rows) > limit:
        next_cursor = encode_cursor([items[-1].carrier, items[-1].event_id])
    return SetAsidePage(items=items, next_cursor=next_cursor)
