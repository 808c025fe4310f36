"""The trust rules as the tariff applies them: which booking of a shipment counts, which of
its movements count, who may read its charges and which revenue shares they see.

Pure. The rules themselves are ``corridor.parties`` (the same for ingest, the tracker and
the tariff); this module only turns the tariff's stored facts into their terms.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from corridor import access, parties
from corridor.parties import BookingClaim, BookingFacts, TrustRules, Verdict
from corridor.principals import Principal
from services.tariff.events import BookingDetails

NOT_VISIBLE = "not_visible"


@dataclass(frozen=True)
class ClaimBody:
    """What a stored booking claim says: its details (``details_doc``) and its quote as
    stored, JSON text (``None`` when it could not be priced). The quote is parsed when
    first asked for: a batch reads the claims of every shipment it touches, but needs the
    quote only of the bookings that count where it charges."""

    details: Mapping[str, Any]
    stored_quote: str | None

    @cached_property
    def quote(self) -> dict[str, Any] | None:
        if self.stored_quote is None:
            return None
        parsed: dict[str, Any] = json.loads(self.stored_quote)
        return parsed


Claim = BookingClaim[ClaimBody]


@dataclass(frozen=True)
class Booking:
    """The booking of a shipment that counts, as the trust rules see it."""

    booker: str
    effective: Claim
    facts: BookingFacts
    # When the first booking was received: events held longer than the hold window
    # before it are refused.
    first_recorded_at: datetime | None
    refused: tuple[Claim, ...]

    @property
    def quote(self) -> dict[str, Any] | None:
        return self.effective.payload.quote


@dataclass(frozen=True)
class StoredMovement:
    carrier: str
    event_type: str
    location: str
    occurred_at: datetime
    recorded_at: datetime | None
    event_id: str = ""  # the last of the order's tie-breakers (corridor.movements)


def details_doc(details: BookingDetails) -> dict[str, Any]:
    return {
        "origin": details.origin,
        "destination": details.destination,
        "container_type": details.container_type,
        "gross_weight_kg": format(details.gross_weight_kg.normalize(), "f"),
        "parties": dict(details.parties),
        "legs": [
            {"carrier": g.carrier, "origin": g.origin, "destination": g.destination}
            for g in details.legs
        ],
    }


def effective_booking(rules: TrustRules, claims: Sequence[Claim]) -> Booking | None:
    """The booker (first received), the booking that counts (latest ``occurred_at`` of the
    booker's and operators'), and the shipment's facts for the trust rules.

    ``booked_at`` is when the shipment was first booked (the earliest ``occurred_at`` of
    the bookings that count): an amendment does not make the earlier journey "before the
    booking"."""
    choice = parties.choose_booking(claims, rules.is_operator)
    if choice.booker is None or choice.effective is None or choice.booked_at is None:
        return None
    details = choice.effective.payload.details
    facts = BookingFacts(
        booker=choice.booker,
        origin=str(details["origin"]),
        destination=str(details["destination"]),
        booked_at=choice.booked_at,
        legs=tuple(
            parties.Leg(str(g["carrier"]), str(g.get("origin", "")), str(g.get("destination", "")))
            for g in details.get("legs", [])
        ),
        parties={k: str(v) for k, v in details.get("parties", {}).items() if v},
    )
    return Booking(choice.booker, choice.effective, facts, choice.first_received_at, choice.refused)


def verdict(rules: TrustRules, booking: Booking | None, movement: StoredMovement) -> Verdict:
    return parties.judge(
        rules,
        None if booking is None else booking.facts,
        carrier=movement.carrier,
        event_type=movement.event_type,
        location=movement.location,
        occurred_at=movement.occurred_at,
        recorded_at=movement.recorded_at,
        booking_recorded_at=None if booking is None else booking.first_recorded_at,
    )


def counted(
    rules: TrustRules, booking: Booking, movements: Iterable[StoredMovement]
) -> list[StoredMovement]:
    """The movements that count for the shipment: the others never touch its charge."""
    return [m for m in movements if verdict(rules, booking, m).applies]


def may_read(rules: TrustRules, principal: Principal, booking: Booking | None) -> bool:
    """Whether ``principal`` may read the shipment (operators read everything; without a
    booking a shipment has no scope but theirs)."""
    facts = None if booking is None else booking.facts
    return access.may_read(rules, principal, access.access_scopes(rules, facts))


def visible_shares(principal: Principal, document: dict[str, Any]) -> dict[str, Any]:
    """``document`` (a quote or a charge) with only the revenue shares ``principal`` may
    see: every one for operators, its own operator's for a carrier, none for the others."""
    visible = access.revenue_shares_visible(principal)
    if visible is None:
        return document
    shares = [s for s in document.get("apportionment", []) if s["operator"] in visible]
    return {**document, "apportionment": shares}
