"""The trust rules as the fold applies them: which booking counts, which events count.

The rules themselves live once, in ``corridor.parties`` (ingest and the tariff apply the
same ones); this module only translates the tracker's types to and from them.
"""

from __future__ import annotations

from collections.abc import Sequence

from corridor.parties import (
    NOT_THE_BOOKER,
    BookingClaim,
    BookingFacts,
    TrustRules,
    Verdict,
    choose_booking,
    facts_of_booking,
    judge,
)
from services.tracker.domain.aside import SetAside
from services.tracker.domain.events import Classifier, Event, EventType
from services.tracker.domain.view import ShipmentView


def is_booking(event: Event) -> bool:
    """An actual booking: a claim to say where the shipment goes (``choose_booking``)."""
    return (
        event.event_type is EventType.BOOKED
        and event.classifier is Classifier.ACT
        and event.booking is not None
    )


def facts_of(view: ShipmentView) -> BookingFacts | None:
    """What the rules need of the view's effective booking (``None``: no booking yet)."""
    booking = view.booking
    if booking is None or not view.booker or view.booked_at is None:
        return None
    return facts_of_booking(view.booker, view.booked_at, booking)


def choose(
    view: ShipmentView, ordered: Sequence[Event], rules: TrustRules
) -> dict[tuple[str, str], SetAside]:
    """Set the view's booker and effective booking from the bookings among ``ordered``;
    return the bookings refused (posted by neither the booker nor an operator).

    ``booking_recorded_at`` (the hold window's end point) is when the shipment first had a
    booking: the first booking received. (The effective booking's own receive time would
    refuse, as held too long, every event received more than the hold window before a
    late amendment, although none of them was ever held.)"""
    claims = [
        BookingClaim(e.carrier, e.event_id, e.occurred_at, e.recorded_at, e)
        for e in ordered
        if is_booking(e)
    ]
    if not claims:
        return {}
    choice = choose_booking(claims, rules.is_operator)
    assert choice.effective is not None
    assert choice.booker is not None
    effective = choice.effective.payload
    view.booker = choice.booker
    view.booking = effective.booking
    view.booked_at = choice.booked_at
    view.booking_recorded_at = choice.first_received_at
    message = f"only the booker ({choice.booker}) or an operator may amend the booking"
    return {
        c.payload.key: SetAside.of(c.payload, "refused", NOT_THE_BOOKER, message)
        for c in choice.refused
    }


def verdict(
    rules: TrustRules, facts: BookingFacts | None, view: ShipmentView, event: Event
) -> Verdict:
    """Whether an event other than a booking counts for the shipment now."""
    return judge(
        rules,
        facts,
        carrier=event.carrier,
        event_type=event.event_type.value,
        location=event.location,
        occurred_at=event.occurred_at,
        recorded_at=event.recorded_at,
        booking_recorded_at=view.booking_recorded_at,
    )


def set_aside(event: Event, outcome: Verdict) -> SetAside:
    return SetAside.of(event, outcome.outcome, outcome.reason, outcome.message)


def newly_set_aside(old: ShipmentView | None, new: ShipmentView) -> list[SetAside]:
    """Events set aside in ``new`` that were not in ``old`` (for the metric and the log)."""
    before = () if old is None else old.set_aside
    if before is new.set_aside or before == new.set_aside:
        return []
    known = {item.key for item in before}
    return [item for item in new.set_aside if item.key not in known]
