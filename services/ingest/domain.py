"""The rules an event must pass before it is published. Pure: no I/O, no framework.

``check`` returns every violation of one event at once, each naming the field at fault:
invalid content first; only a valid event is then judged against the carrier's
rights, so a carrier never learns more about its rights than it needs. What needs
the shipment's booking (who takes part in it) is judged afterwards, in ``trust.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from corridor.contract.limits import EARLIEST, LATEST
from corridor.equipment import gross_mass_error
from corridor.identifiers import CONTAINER_NO, WAGON_NO, container_no_error, wagon_no_error
from corridor.parties import Leg, TrustRules, too_old
from corridor.principals import Principal, PrincipalRegistry, Role
from corridor.topology import Topology

# Times lie in [EARLIEST, LATEST): the event contract's bounds (``corridor.contract``).
REASON_REQUIRED = frozenset({"EXCEPTION", "CUSTOMS_HOLD"})


@dataclass(frozen=True, slots=True)
class ReportedBooking:
    origin: str
    destination: str
    container_type: str
    gross_weight_kg: float
    cargo_description: str | None = None
    hs_code: str | None = None
    promised_delivery_at: datetime | None = None
    parties: Mapping[str, str] | None = None  # shipper / consignee / forwarder -> id
    legs: tuple[Leg, ...] = ()


@dataclass(frozen=True, slots=True)
class ReportedEvent:
    """An event as posted, already well-typed; ``carrier`` is not part of it."""

    event_id: str
    event_type: str
    occurred_at: datetime
    shipment_id: str
    location: str
    classifier: str = "ACT"
    container_no: str | None = None
    wagon_no: str | None = None
    mode: str | None = None
    booking: ReportedBooking | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Violation:
    field: str
    message: str
    code: str
    forbidden: bool = False  # a matter of the carrier's rights, not of content


@dataclass(frozen=True)
class Rules:
    topology: Topology
    # The shared trust rules: who is who, and how old an event may be (``too_old``).
    trust: TrustRules
    max_future: timedelta = timedelta(days=1)

    @property
    def principals(self) -> PrincipalRegistry:
        return self.trust.registry


def check(event: ReportedEvent, carrier: Principal, rules: Rules, now: datetime) -> list[Violation]:
    """Every reason ``carrier`` may not post ``event`` now (empty: it may)."""
    found = _check_content(event, rules, now)
    if found:
        return found
    return _check_rights(event, carrier)


def _check_content(event: ReportedEvent, rules: Rules, now: datetime) -> list[Violation]:
    found: list[Violation] = []
    found += _check_equipment(event)
    found += _check_node("location", event.location, rules.topology)
    found += _check_time("occurred_at", event.occurred_at)
    if EARLIEST <= event.occurred_at < LATEST and event.occurred_at > now + rules.max_future:
        found.append(
            Violation(
                "occurred_at",
                f"is more than {_duration(rules.max_future)} in the future",
                "in_future",
            )
        )
    old = too_old(rules.trust, event.occurred_at, now)
    if EARLIEST <= event.occurred_at < LATEST and old is not None:
        found.append(Violation("occurred_at", old.message, old.reason))
    if event.event_type == "BOOKED":
        if event.booking is None:
            found.append(Violation("booking", "is required for BOOKED", "missing"))
        else:
            found += _check_booking(event.booking, event, rules)
    elif event.booking is not None:
        found.append(Violation("booking", "is only allowed on BOOKED", "not_allowed"))
    if event.event_type in REASON_REQUIRED and not event.reason:
        found.append(Violation("reason", f"is required for {event.event_type}", "missing"))
    return found


def _check_equipment(event: ReportedEvent) -> list[Violation]:
    if event.container_no is not None and event.wagon_no is not None:
        return [
            Violation("container_no", "give container_no or wagon_no, not both", "conflict"),
            Violation("wagon_no", "give container_no or wagon_no, not both", "conflict"),
        ]
    if event.container_no is not None:
        error = container_no_error(event.container_no)
        if error is not None:
            code = "check_digit" if CONTAINER_NO.match(event.container_no) else "format"
            return [Violation("container_no", error, code)]
        return []
    if event.wagon_no is not None:
        error = wagon_no_error(event.wagon_no)
        if error is not None:
            code = "check_digit" if WAGON_NO.match(event.wagon_no) else "format"
            return [Violation("wagon_no", error, code)]
        return []
    return [Violation("container_no", "container_no or wagon_no is required", "missing")]


def _check_node(field: str, code: str, topology: Topology) -> list[Violation]:
    if code in topology.nodes:
        return []
    return [Violation(field, f"{code!r} is not a corridor node (UN/LOCODE)", "unknown_node")]


def _check_time(field: str, moment: datetime) -> list[Violation]:
    if EARLIEST <= moment < LATEST:
        return []
    return [Violation(field, "must be between 2000-01-01 and 2100-01-01", "out_of_range")]


def _check_booking(booking: ReportedBooking, event: ReportedEvent, rules: Rules) -> list[Violation]:
    topology = rules.topology
    found = _check_node("booking.origin", booking.origin, topology)
    found += _check_node("booking.destination", booking.destination, topology)
    if booking.origin == booking.destination:
        found.append(Violation("booking.destination", "must differ from origin", "same_as_origin"))
    if booking.promised_delivery_at is not None:
        found += _check_time("booking.promised_delivery_at", booking.promised_delivery_at)
    wagon_load = booking.container_type == "WAGON"
    if wagon_load and event.container_no is not None:
        found.append(
            Violation(
                "booking.container_type",
                "a WAGON load is identified by wagon_no, not container_no",
                "equipment_mismatch",
            )
        )
    elif not wagon_load and event.wagon_no is not None:
        found.append(
            Violation(
                "booking.container_type",
                f"a {booking.container_type} container is identified by container_no",
                "equipment_mismatch",
            )
        )
    too_heavy = gross_mass_error(booking.container_type, booking.gross_weight_kg)
    if too_heavy is not None:
        found.append(Violation("booking.gross_weight_kg", too_heavy, "over_max_gross_mass"))
    for role, pid in (booking.parties or {}).items():
        party = rules.principals.get(pid)
        if party is None or party.role is not Role.PARTY:
            found.append(
                Violation(
                    f"booking.parties.{role}",
                    f"{pid!r} is not a principal of the role party",
                    "unknown_principal" if party is None else "not_a_party_principal",
                )
            )
    for index, leg in enumerate(booking.legs):
        field = f"booking.legs.{index}"
        principal = rules.principals.get(leg.carrier)
        if principal is None or not principal.may_post:
            found.append(
                Violation(
                    f"{field}.carrier",
                    f"{leg.carrier!r} is not a principal that posts events",
                    "unknown_principal" if principal is None else "not_a_carrier",
                )
            )
        for end in ("origin", "destination"):
            code = getattr(leg, end)
            if code:
                found += _check_node(f"{field}.{end}", code, topology)
    return found


def _check_rights(event: ReportedEvent, carrier: Principal) -> list[Violation]:
    found: list[Violation] = []
    if event.event_type == "BOOKED" and not carrier.may_book:
        found.append(
            Violation("event_type", f"carrier {carrier.id} may not book", "may_not_book", True)
        )
    if not carrier.operates(event.location):
        found.append(
            Violation(
                "location",
                f"carrier {carrier.id} does not operate at {event.location}",
                "not_operated",
                True,
            )
        )
    return found


def _duration(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    if hours == 24:
        return "1 day"
    if hours > 48:
        return f"{hours / 24:g} days"
    return f"{hours:g} hours"
