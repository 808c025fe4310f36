"""Who takes part in a shipment, which events count for it, and who may read it.

The one copy of the trust rules that ingest, the tracker and the tariff all apply (pure:
no I/O). docs/security.md states them for people.

Writing:
- the **booker** of a shipment is the carrier of its first booking (by receive time); only
  the booker or an operator may amend it, and of the bookings that count the latest
  ``occurred_at`` wins;
- a carrier is a **party** when it booked the shipment, when the booking names it on a leg,
  or when the event's node lies on the booked route and the carrier operates that node;
- an event **counts** only when its carrier is a party, it is not dated before the booking
  minus a tolerance nor more than a maximum age before it was received, and a
  ``DELIVERED`` is at the booked destination. Before any booking is known the event is
  **held**; a booking that arrives more than the hold window after it refuses it for good.

Who may read what lives beside it, in ``corridor.access``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Generic, Literal, Protocol, TypeVar

from corridor.principals import PrincipalRegistry, Role
from corridor.topology import Topology

PARTY_ROLES = ("shipper", "consignee", "forwarder")

# Reasons an event is held or refused (stable codes: API, metrics labels, dead letters).
NO_BOOKING = "no_booking"
NOT_A_PARTY = "not_a_party"
NOT_THE_BOOKER = "not_the_booker"
BEFORE_BOOKING = "before_booking"
TOO_OLD = "too_old"
NOT_DESTINATION = "not_destination"
HOLD_EXPIRED = "hold_expired"
REASONS = (
    NO_BOOKING,
    NOT_A_PARTY,
    NOT_THE_BOOKER,
    BEFORE_BOOKING,
    TOO_OLD,
    NOT_DESTINATION,
    HOLD_EXPIRED,
)


@dataclass(frozen=True, slots=True)
class Leg:
    """A carrier the booker engages for part of the journey."""

    carrier: str
    origin: str = ""
    destination: str = ""


@dataclass(frozen=True, slots=True)
class BookingFacts:
    """What the trust rules need of a shipment's effective booking."""

    booker: str
    origin: str
    destination: str
    booked_at: datetime  # the booking's occurred_at
    legs: tuple[Leg, ...] = ()
    parties: Mapping[str, str] = field(default_factory=dict)  # shipper/consignee/forwarder


class Booked(Protocol):
    """What a booking says that the trust rules read (the contract's ``BookingData``,
    ingest's reported booking)."""

    @property
    def origin(self) -> str: ...
    @property
    def destination(self) -> str: ...
    @property
    def legs(self) -> tuple[Leg, ...]: ...
    @property
    def parties(self) -> Mapping[str, str] | None: ...


def facts_of_booking(booker: str, booked_at: datetime, booking: Booked) -> BookingFacts:
    """The facts of a booking that counts, booked by ``booker`` first at ``booked_at``."""
    return BookingFacts(
        booker=booker,
        origin=booking.origin,
        destination=booking.destination,
        booked_at=booked_at,
        legs=booking.legs,
        parties=dict(booking.parties or {}),
    )


@dataclass(frozen=True)
class TrustRules:
    topology: Topology
    registry: PrincipalRegistry
    # An event may be dated at most this long before its shipment's booking...
    booking_tolerance: timedelta = timedelta(days=3)
    # ...and at most this long before it was received.
    max_age: timedelta = timedelta(days=30)
    # How long an event waits for a booking that makes its carrier a party.
    hold_window: timedelta = timedelta(days=7)

    def route(self, booking: BookingFacts) -> frozenset[str]:
        return booked_route(self.topology, booking.origin, booking.destination, booking.legs)

    def is_operator(self, principal_id: str) -> bool:
        principal = self.registry.get(principal_id)
        return principal is not None and principal.role is Role.OPERATOR


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: Literal["apply", "held", "refused"]
    reason: str = ""
    message: str = ""

    @property
    def applies(self) -> bool:
        return self.outcome == "apply"


APPLY = Verdict("apply")


def booked_route(
    topology: Topology, origin: str, destination: str, legs: Sequence[Leg] = ()
) -> frozenset[str]:
    """The nodes of the booked route: the fastest route from origin to destination, plus
    the routes of the legs the booking names."""
    return _route(topology, origin, destination, tuple((g.origin, g.destination) for g in legs))


@lru_cache(maxsize=4096)
def _route(
    topology: Topology, origin: str, destination: str, legs: tuple[tuple[str, str], ...]
) -> frozenset[str]:
    nodes = {origin, destination}
    for start, end in ((origin, destination), *legs):
        if not start or not end:
            continue
        nodes |= {start, end}
        for segment in topology.route(start, end) or ():
            nodes |= {segment.origin, segment.destination}
    return frozenset(nodes)


def is_party(rules: TrustRules, booking: BookingFacts, carrier: str, location: str) -> bool:
    if carrier == booking.booker or any(leg.carrier == carrier for leg in booking.legs):
        return True
    principal = rules.registry.get(carrier)
    return (
        principal is not None
        and principal.operates(location)
        and (location in rules.route(booking))
    )


def plausible_age(rules: TrustRules, occurred_at: datetime, recorded_at: datetime) -> bool:
    """Not more than the maximum age before it was received."""
    return occurred_at >= recorded_at - rules.max_age


def too_old(rules: TrustRules, occurred_at: datetime, recorded_at: datetime) -> Verdict | None:
    """The refusal of an event dated too long before it was received, or ``None``."""
    if plausible_age(rules, occurred_at, recorded_at):
        return None
    return Verdict(
        "refused",
        TOO_OLD,
        f"occurred_at is more than {_days(rules.max_age)} before it was received",
    )


def judge(
    rules: TrustRules,
    booking: BookingFacts | None,
    *,
    carrier: str,
    event_type: str,
    location: str,
    occurred_at: datetime,
    recorded_at: datetime | None,
    booking_recorded_at: datetime | None = None,
) -> Verdict:
    """Whether an event (other than a booking: see ``choose_booking``) counts now."""
    if recorded_at is not None and (old := too_old(rules, occurred_at, recorded_at)):
        return old
    if booking is None:
        return Verdict("held", NO_BOOKING, "held until a booking makes the carrier a party")
    if (
        recorded_at is not None
        and booking_recorded_at is not None
        and booking_recorded_at > recorded_at + rules.hold_window
    ):
        return Verdict(
            "refused",
            HOLD_EXPIRED,
            f"no booking came within {_days(rules.hold_window)} of the event",
        )
    if not is_party(rules, booking, carrier, location):
        return Verdict(
            "refused",
            NOT_A_PARTY,
            f"carrier {carrier} takes no part in this shipment at {location}",
        )
    if occurred_at < booking.booked_at - rules.booking_tolerance:
        return Verdict(
            "refused",
            BEFORE_BOOKING,
            f"occurred_at is more than {_days(rules.booking_tolerance)} before the booking",
        )
    if event_type == "DELIVERED" and location != booking.destination:
        return Verdict(
            "refused",
            NOT_DESTINATION,
            f"DELIVERED at {location}, but the booked destination is {booking.destination}",
        )
    return APPLY


def held_verdict(
    rules: TrustRules, verdict: Verdict, recorded_at: datetime | None, now: datetime
) -> Verdict:
    """A held event whose window has passed with no booking is refused for good."""
    expired = recorded_at is not None and now > recorded_at + rules.hold_window
    if verdict.outcome == "held" and expired:
        return Verdict("refused", HOLD_EXPIRED, "no booking came within the hold window")
    return verdict


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class BookingClaim(Generic[T]):
    """A booking event: who posted it, when, and what it says (``payload``)."""

    carrier: str
    event_id: str
    occurred_at: datetime
    recorded_at: datetime | None
    payload: T


@dataclass(frozen=True, slots=True)
class BookingChoice(Generic[T]):
    booker: str | None
    effective: BookingClaim[T] | None
    refused: tuple[BookingClaim[T], ...] = ()
    # When the shipment was first booked: the earliest ``occurred_at`` of the bookings that
    # count (an amendment does not make the journey before it "before the booking").
    booked_at: datetime | None = None
    # When the first booking was received: where the hold window of earlier events ends.
    first_received_at: datetime | None = None


def _received(claim: BookingClaim[T]) -> tuple[datetime, datetime, str]:
    return (claim.recorded_at or claim.occurred_at, claim.occurred_at, claim.event_id)


def booker_of(claims: Iterable[BookingClaim[T]]) -> str | None:
    """The carrier of the first booking received."""
    first = min(claims, key=_received, default=None)
    return None if first is None else first.carrier


def choose_booking(
    claims: Sequence[BookingClaim[T]], is_operator: Callable[[str], bool]
) -> BookingChoice[T]:
    """The booker, the booking that counts (the latest ``occurred_at`` of those by the
    booker or an operator), and the bookings refused (by anybody else)."""
    first = min(claims, key=_received, default=None)
    if first is None:
        return BookingChoice(None, None)
    booker = first.carrier
    counted = [c for c in claims if c.carrier == booker or is_operator(c.carrier)]
    refused = tuple(c for c in claims if not (c.carrier == booker or is_operator(c.carrier)))
    effective = max(counted, key=lambda c: (c.occurred_at, _received(c)))
    booked_at = min(c.occurred_at for c in counted)
    return BookingChoice(booker, effective, refused, booked_at, first.recorded_at)


def may_amend(rules: TrustRules, booker: str | None, carrier: str) -> bool:
    """Whether ``carrier`` may post a booking for a shipment booked by ``booker``."""
    return booker is None or carrier == booker or rules.is_operator(carrier)


def _days(span: timedelta) -> str:
    days = span.total_seconds() / 86_400
    if days >= 1:
        return f"{days:g} days" if days != 1 else "1 day"
    return f"{span.total_seconds() / 3600:g} hours"
