"""Who may write a shipment's story, judged where ingest knows the shipment's booking.

Pure: the rules themselves are ``corridor.parties`` (the one copy the tracker and the
tariff apply too); this only turns their verdicts into violations naming a field. An
event for a shipment whose booking ingest does not know yet is not refused here: the
consumers hold it until a booking makes its carrier a party.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from corridor.parties import (
    BEFORE_BOOKING,
    NOT_A_PARTY,
    NOT_DESTINATION,
    NOT_THE_BOOKER,
    TOO_OLD,
    BookingFacts,
    TrustRules,
    facts_of_booking,
    judge,
    may_amend,
)
from services.ingest.domain import ReportedEvent, Violation

# Which field a refusal names; a refusal not listed is about the whole event ("").
_FIELDS = {BEFORE_BOOKING: "occurred_at", TOO_OLD: "occurred_at", NOT_DESTINATION: "location"}
# Refusals about who the carrier is (403), not about what the event says (422).
FORBIDDEN = frozenset({NOT_A_PARTY, NOT_THE_BOOKER})


@dataclass(frozen=True, slots=True)
class KnownBooking:
    """A shipment's effective booking as ingest knows it."""

    facts: BookingFacts
    event_id: str  # of the booking that counts
    recorded_at: datetime  # when the first booking was received


def judge_event(
    rules: TrustRules,
    booking: KnownBooking | None,
    carrier: str,
    event: ReportedEvent,
    now: datetime,
) -> list[Violation]:
    """Why ``carrier`` may not post ``event`` for a shipment booked as ``booking``."""
    if event.event_type == "BOOKED":
        booker = None if booking is None else booking.facts.booker
        if may_amend(rules, booker, carrier):
            return []
        return [
            Violation(
                "",
                f"shipment {event.shipment_id} was booked by another carrier; only its "
                "booker or an operator may amend the booking",
                NOT_THE_BOOKER,
                forbidden=True,
            )
        ]
    verdict = judge(
        rules,
        None if booking is None else booking.facts,
        carrier=carrier,
        event_type=event.event_type,
        location=event.location,
        occurred_at=event.occurred_at,
        recorded_at=now,
    )
    if verdict.outcome != "refused":
        return []  # applies, or held by the consumers until a booking arrives
    return [
        Violation(
            _FIELDS.get(verdict.reason, ""),
            verdict.message,
            verdict.reason,
            forbidden=verdict.reason in FORBIDDEN,
        )
    ]


def booked(
    event: ReportedEvent, carrier: str, booking: KnownBooking | None, now: datetime
) -> KnownBooking:
    """The booking that counts once ``carrier`` (which may amend it) posted ``event``."""
    assert event.booking is not None
    if booking is not None and event.occurred_at < booking.facts.booked_at:
        return booking  # an older amendment: the latest occurred_at wins
    booker = carrier if booking is None else booking.facts.booker
    facts = facts_of_booking(booker, event.occurred_at, event.booking)
    return KnownBooking(facts, event.event_id, now if booking is None else booking.recorded_at)
