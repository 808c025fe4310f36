"""The one copy of the trust rules: parties, plausible time, bookings, visibility."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from corridor import access, parties
from corridor.parties import BookingClaim, BookingFacts, Leg, TrustRules
from corridor.principals import DEMO_PRINCIPALS_FILE, Principal, Role, load_registry
from corridor.topology import load_topology

TOPOLOGY = load_topology()
REGISTRY = load_registry(DEMO_PRINCIPALS_FILE, TOPOLOGY, "local")
RULES = TrustRules(TOPOLOGY, REGISTRY)
BOOKED_AT = datetime(2026, 11, 1, 8, tzinfo=UTC)
# Booked by the joint company from Khorgos to Poti: via the direct Altynkol-Aktau line.
BOOKING = BookingFacts("mcm", "CNHRS", "GEPTI", BOOKED_AT)
# The victim: booked by the joint company from Almaty to Poti (via Kuryk, not Aktau).
VIA_KURYK = BookingFacts("mcm", "KZALA", "GEPTI", BOOKED_AT)


def _judge(
    carrier: str,
    event_type: str,
    location: str,
    occurred_at: datetime,
    booking: BookingFacts | None = BOOKING,
    recorded_at: datetime | None = None,
    booking_recorded_at: datetime | None = None,
) -> parties.Verdict:
    return parties.judge(
        RULES,
        booking,
        carrier=carrier,
        event_type=event_type,
        location=location,
        occurred_at=occurred_at,
        recorded_at=recorded_at or occurred_at + timedelta(minutes=5),
        booking_recorded_at=booking_recorded_at,
    )


def principal(pid: str) -> Principal:
    found = REGISTRY.get(pid)
    assert found is not None
    return found


def test_the_booked_route_runs_via_kuryk_not_aktau() -> None:
    route = RULES.route(VIA_KURYK)
    assert {"KZALA", "KZKUR", "AZBAK", "GEPTI"} <= route
    assert "KZAAU" not in route
    # From Khorgos, the direct Altynkol-Aktau line is faster: Aktau, not Kuryk.
    assert {"CNHRS", "KZAKL", "KZAAU", "AZBAK", "GEPTI"} <= RULES.route(BOOKING)
    assert "KZKUR" not in RULES.route(BOOKING)


def test_a_carrier_operating_a_node_of_the_route_is_a_party_there() -> None:
    assert _judge("ktz", "DEPARTED", "KZAKL", BOOKED_AT + timedelta(days=1)).applies
    assert _judge("ady", "ARRIVED", "AZBAK", BOOKED_AT + timedelta(days=5)).applies


def test_the_aktau_port_is_no_party_of_a_shipment_routed_via_kuryk() -> None:
    assert "KZAAU" not in RULES.route(VIA_KURYK)
    verdict = _judge("port-aktau", "ARRIVED", "KZAAU", BOOKED_AT + timedelta(days=3), VIA_KURYK)
    assert (verdict.outcome, verdict.reason) == ("refused", parties.NOT_A_PARTY)


def test_a_carrier_named_on_a_leg_is_a_party_even_off_its_nodes() -> None:
    booking = BookingFacts(
        "mcm", "KZALA", "GEPTI", BOOKED_AT, legs=(Leg("port-aktau", "KZALA", "KZAAU"),)
    )
    assert _judge("port-aktau", "ARRIVED", "KZAAU", BOOKED_AT, booking).applies
    assert "KZAAU" not in RULES.route(VIA_KURYK)
    assert "KZAAU" in RULES.route(booking)  # a leg's route is part of the booked route


def test_a_carrier_at_a_route_node_it_does_not_operate_is_refused() -> None:
    assert "KZKUR" in RULES.route(VIA_KURYK)
    verdict = _judge("gr", "ARRIVED", "KZKUR", BOOKED_AT + timedelta(days=2), VIA_KURYK)
    assert verdict.reason == parties.NOT_A_PARTY


def test_events_long_before_the_booking_or_received_too_late_are_refused() -> None:
    early = _judge("ktz", "ARRIVED", "KZAKL", BOOKED_AT - timedelta(days=4))
    assert early.reason == parties.BEFORE_BOOKING
    assert _judge("ktz", "ARRIVED", "KZAKL", BOOKED_AT - timedelta(days=2)).applies
    decades = datetime(1990, 1, 1, tzinfo=UTC)
    old = _judge("ktz", "ARRIVED", "KZAKL", decades, recorded_at=BOOKED_AT)
    assert old.reason == parties.TOO_OLD


def test_delivered_counts_only_at_the_booked_destination() -> None:
    later = BOOKED_AT + timedelta(days=12)
    assert _judge("gr", "DELIVERED", "GEPTI", later).applies
    assert _judge("mcm", "DELIVERED", "AZBAK", later).reason == parties.NOT_DESTINATION


def test_without_a_booking_an_event_is_held_and_expires_after_the_window() -> None:
    at = BOOKED_AT
    held = _judge("ktz", "ARRIVED", "KZAKL", at, booking=None)
    assert (held.outcome, held.reason) == ("held", parties.NO_BOOKING)
    received = at + timedelta(minutes=5)
    soon = parties.held_verdict(RULES, held, received, received + timedelta(days=6))
    assert soon.outcome == "held"
    late = parties.held_verdict(RULES, held, received, received + timedelta(days=8))
    assert (late.outcome, late.reason) == ("refused", parties.HOLD_EXPIRED)
    # A booking received after the window refuses it for good; within it, it counts.
    expired = _judge("ktz", "ARRIVED", "KZAKL", at, booking_recorded_at=at + timedelta(days=9))
    assert expired.reason == parties.HOLD_EXPIRED
    assert _judge("ktz", "ARRIVED", "KZAKL", at, booking_recorded_at=at + timedelta(days=6)).applies


def _claim(carrier: str, event_id: str, occurred: int, received: int) -> BookingClaim[str]:
    return BookingClaim(
        carrier,
        event_id,
        BOOKED_AT + timedelta(hours=occurred),
        BOOKED_AT + timedelta(hours=received),
        event_id,
    )


def test_the_first_booker_owns_the_booking_and_its_latest_amendment_counts() -> None:
    claims = [
        _claim("ktz", "k1", occurred=9, received=1),
        _claim("mcm", "m0", occurred=0, received=2),  # an operator amends
        _claim("ktz", "k2", occurred=5, received=3),
        _claim("ady", "a1", occurred=20, received=4),  # another booker: refused
    ]
    choice = parties.choose_booking(claims, RULES.is_operator)
    assert choice.booker == "ktz"
    assert choice.effective is not None
    assert choice.effective.payload == "k1"
    assert [c.payload for c in choice.refused] == ["a1"]
    assert choice.booked_at == BOOKED_AT  # the operator's earliest amendment
    assert choice.first_received_at == BOOKED_AT + timedelta(hours=1)
    assert parties.may_amend(RULES, "ktz", "ktz")
    assert parties.may_amend(RULES, "ktz", "mcm")
    assert not parties.may_amend(RULES, "ktz", "ady")
    assert parties.may_amend(RULES, None, "ady")


@given(st.permutations(range(4)))
def test_the_chosen_booking_does_not_depend_on_arrival_order(order: list[int]) -> None:
    claims = [_claim("mcm", f"m{i}", occurred=i * 3, received=i) for i in range(4)]
    shuffled = [claims[i] for i in order]
    choice = parties.choose_booking(shuffled, RULES.is_operator)
    assert choice.effective is not None
    assert choice.effective.payload == "m3"


def test_who_reads_a_shipment() -> None:
    booking = BookingFacts("mcm", "KZALA", "GEPTI", BOOKED_AT, parties={"shipper": "shipper-xian"})
    assert "KZAAU" not in RULES.route(booking)  # Almaty -> Poti runs via Kuryk
    scopes = access.access_scopes(RULES, booking)
    readers = {pid for pid in REGISTRY.principals if access.may_read(RULES, principal(pid), scopes)}
    assert readers == {
        "mcm", "corridor-ops",  # operators
        "ktz", "asco", "port-baku", "ady", "gr", "port-poti",  # carriers of route nodes
        "shipper-xian", "partner-insurer",  # the named shipper and its partner
        "customs-kz", "customs-ge",  # the route crosses both countries
    }  # fmt: skip
    assert "port-aktau" not in readers  # off the route
    assert "consignee-tbilisi" not in readers
    assert not any(
        access.may_read(RULES, principal(pid), access.access_scopes(RULES, None))
        for pid in REGISTRY.principals
        if principal(pid).role is not Role.OPERATOR
    )


def test_cargo_details_and_revenue_shares_are_shown_by_role() -> None:
    assert access.sees_cargo_details(principal("customs-kz"), BOOKING)
    assert access.sees_cargo_details(principal("mcm"), BOOKING)
    assert not access.sees_cargo_details(principal("ktz"), BOOKING)
    leg = BookingFacts("mcm", "CNHRS", "GEPTI", BOOKED_AT, legs=(Leg("ktz"),))
    assert access.sees_cargo_details(principal("ktz"), leg)
    assert access.revenue_shares_visible(principal("corridor-ops")) is None
    assert access.revenue_shares_visible(principal("ktz")) == frozenset({"KTZ"})
    assert access.revenue_shares_visible(principal("shipper-xian")) == frozenset()
