"""What every route needs: the database, the trust rules, a clock; cursors; who may read
what (``corridor.parties``), answered from the shipment's own view."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, cast

from fastapi import Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncEngine

from corridor.access import access_scopes, may_read, sees_cargo_details
from corridor.auth import denials_of
from corridor.clock import utcnow
from corridor.parties import TrustRules
from corridor.principals import Principal
from corridor.problems import Problem, field_error
from corridor.topology import Topology
from services.tracker.api.convert import section_target, shipment_out
from services.tracker.api.schemas import ShipmentOut
from services.tracker.domain import ShipmentView, TrackedShipment
from services.tracker.domain.trust import facts_of

NOT_VISIBLE = "not_visible"


class Reads:
    """What the routes need: the engine, the trust rules (and their reference data), a
    clock."""

    def __init__(
        self,
        engine: AsyncEngine,
        rules: TrustRules,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.rules = rules
        self.clock = clock

    @property
    def topology(self) -> Topology:
        return self.rules.topology

    def target(self, country: str) -> int | None:
        return section_target(country, self.topology)

    def may_read(self, principal: Principal, view: ShipmentView) -> bool:
        """Object level: the same scopes the lists filter through (``shipment_access``)."""
        return may_read(self.rules, principal, access_scopes(self.rules, facts_of(view)))

    def details(self, principal: Principal, view: ShipmentView) -> bool:
        """Property level: cargo description, HS code, named parties."""
        return sees_cargo_details(principal, facts_of(view))

    def shipment_out(self, shipment: TrackedShipment, principal: Principal) -> ShipmentOut:
        details = self.details(principal, shipment.view)
        return shipment_out(shipment, self.topology, details, self.clock())


def encode_cursor(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        key = None
    if not isinstance(key, list) or len(key) != arity:
        raise bad_cursor()
    return key


def bad_cursor() -> Problem:
    return Problem(
        422,
        "cursor is not one this API returned",
        errors=[field_error("cursor", "not a cursor returned by this API", "invalid_cursor")],
    )


def not_found(what: str, value: str) -> Problem:
    return Problem(404, f"no {what} {value!r} is known")


def hidden(request: Request, principal: Principal, what: str, value: str) -> Problem:
    """A shipment the caller may not read: counted and logged as a denial, answered exactly
    as an unknown one."""
    denials_of(request).deny(principal.role.value, NOT_VISIBLE, principal=principal.id)
    return not_found(what, value)


def _reads(request: Request) -> Reads:
    return cast(Reads, request.app.state.tracker_reads)


ReadsDep = Annotated[Reads, Depends(_reads)]
LimitQuery = Annotated[int, Query(ge=1, le=200, description="Items per page.")]
CursorQuery = Annotated[
    str | None, Query(max_length=1000, description="`next_cursor` of the previous page.")
]
