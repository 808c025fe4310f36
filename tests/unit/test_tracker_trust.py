"""The fold under the trust rules: only a party writes a shipment's story; the rest is set
aside (held or refused) and changes nothing else."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corridor.parties import Leg, Verdict, booked_route, held_verdict
from services.tracker.db import viewcodec
from services.tracker.domain import (
    Event,
    EventType,
    LateEvent,
    SetAside,
    ShipmentView,
    Status,
    advance,
    can_advance,
    fold,
    unique_in_order,
)
from tests.unit.test_tracker_domain import BOOKING, T0, ev, to_aktau
from tests.unit.test_tracker_samples import RULES, journey_events

DAY = 24.0
# Almaty to Poti: the fastest route runs through Kuryk, so the Aktau port takes no part.
ALMATY_TO_POTI = BOOKING._replace(origin="KZALA", legs=())


def view_of(*events: Event) -> ShipmentView:
    return fold("S1", events, RULES)


def without_set_aside(view: ShipmentView) -> ShipmentView:
    copy = view.copy()
    copy.set_aside = ()
    return copy


def reasons(view: ShipmentView) -> dict[str, tuple[str, str]]:
    return {item.event_id: (item.outcome, item.reason) for item in view.set_aside}


def test_the_attack_of_issue_10_changes_nothing_and_each_event_is_refused() -> None:
    """Aktau's port posts an arrival back-dated by decades and a delivery at Aktau for a
    shipment booked from Almaty to Poti, whose route runs through Kuryk: Aktau takes no part.
    (Khorgos to Poti runs through Aktau since the direct Altynkol-Aktau line.)"""
    booking = ALMATY_TO_POTI
    assert "KZAAU" not in booked_route(RULES.topology, "KZALA", "GEPTI")  # via Kuryk
    journey = [
        ev("BOOKED", 0, "KZALA", carrier="mcm", booking=booking),
        ev("DEPARTED", 4, "KZALA", mode="RAIL", recorded_hours=4),
        ev("ARRIVED", 76, "KZKUR", mode="RAIL", recorded_hours=76),
    ]
    attack = [
        ev("ARRIVED", -30 * 365 * DAY, "KZAAU", carrier="port-aktau", event_id="old"),
        ev("DELIVERED", 77, "KZAAU", carrier="port-aktau", event_id="fake", recorded_hours=77),
    ]
    victim = view_of(*journey)
    attacked = view_of(*journey, *attack)
    assert without_set_aside(attacked) == victim
    assert attacked.status is Status.IN_TRANSIT
    assert attacked.current_location == "KZKUR"
    assert reasons(attacked) == {
        "old": ("refused", "not_a_party"),
        "fake": ("refused", "not_a_party"),
    }
    assert advance(victim, attack, RULES).sections == victim.sections


def test_events_of_a_carrier_off_the_booked_route_never_change_the_state() -> None:
    events = to_aktau()
    stranger = [
        ev("ARRIVED", 30, "GEGAR", carrier="gr", event_id="g1"),  # on the route, at Gardabani
        ev("ARRIVED", 31, "AZBYK", carrier="gr", event_id="g2"),  # gr does not operate AZBYK
        ev("DEPARTED", 32, "KZALA", carrier="ady", event_id="a1"),
        ev("ARRIVED", 250, "GEPTI", classifier="EST", carrier="port-aktau", event_id="e1"),
    ]
    view = view_of(*events, *stranger[1:])
    assert without_set_aside(view) == view_of(*events)
    assert {r for _, r in reasons(view).values()} == {"not_a_party"}
    assert view.milestones == view_of(*events).milestones
    assert reasons(view_of(*events, stranger[0])) == {}  # a node of the route it operates


def test_a_carrier_named_on_a_leg_is_a_party_anywhere() -> None:
    booking = ALMATY_TO_POTI  # via Kuryk: Aktau is not on the booked route
    base = [ev("BOOKED", 0, "KZALA", carrier="mcm", booking=booking)]
    at_aktau = ev("ARRIVED", 50, "KZAAU", carrier="port-aktau", event_id="p1")
    assert reasons(view_of(*base, at_aktau)) == {"p1": ("refused", "not_a_party")}
    named = booking._replace(legs=(Leg("port-aktau"),))  # named, no route of its own
    assert "KZAAU" not in booked_route(RULES.topology, "KZALA", "GEPTI", named.legs)
    view = view_of(ev("BOOKED", 0, "KZALA", carrier="mcm", booking=named), at_aktau)
    assert view.set_aside == ()
    assert view.current_location == "KZAAU"


def test_events_held_before_the_booking_count_once_it_arrives() -> None:
    events = to_aktau()
    booking, rest = events[0], events[1:]
    held = view_of(*rest)
    assert held.status is Status.BOOKED
    assert (held.events, held.sections, held.current_location) == (0, [], "")
    assert set(reasons(held).values()) == {("held", "no_booking")}
    assert len(held.set_aside) == len(rest)
    assert not can_advance(held, [booking], RULES)
    with pytest.raises(LateEvent):
        advance(held, [booking], RULES)
    assert view_of(*rest, booking) == view_of(*events)  # the re-fold


def test_an_event_held_longer_than_the_window_is_refused_when_the_booking_comes() -> None:
    window = RULES.hold_window.total_seconds() / 3600
    early = ev("ARRIVED", 5, "KZAKL", recorded_hours=5, event_id="early")
    booked_late = ev("BOOKED", 0, "CNHRS", carrier="mcm", recorded_hours=5 + window + 1)
    booked_in_time = ev("BOOKED", 0, "CNHRS", carrier="mcm", recorded_hours=5 + window - 1)
    assert reasons(view_of(early, booked_late)) == {"early": ("refused", "hold_expired")}
    assert reasons(view_of(early, booked_in_time)) == {}
    # Without a booking, it shows as refused once the window has passed (read time).
    item = view_of(early).set_aside[0]
    verdict = Verdict(item.outcome, item.reason, item.message)  # type: ignore[arg-type]
    before = T0 + timedelta(hours=5 + window - 1)
    assert held_verdict(RULES, verdict, item.recorded_at, before).outcome == "held"
    after = held_verdict(RULES, verdict, item.recorded_at, before + timedelta(hours=2))
    assert (after.outcome, after.reason) == ("refused", "hold_expired")


def test_an_amendment_long_after_the_events_does_not_expire_them() -> None:
    events = [*to_aktau()[:4]]
    events = [e._replace(recorded_at=e.occurred_at) for e in events]
    amendment = ev("BOOKED", 1, "CNHRS", carrier="mcm", recorded_hours=30 * DAY)
    assert view_of(*events, amendment).set_aside == ()


def test_an_event_dated_before_the_booking_or_too_long_before_it_was_received_is_refused() -> None:
    booked = ev("BOOKED", 10 * DAY, "CNHRS", carrier="mcm")
    tolerance = RULES.booking_tolerance.total_seconds() / 3600
    before = ev("GATE_IN", 10 * DAY - tolerance - 1, "CNHRS", event_id="before")
    within = ev("GATE_IN", 10 * DAY - tolerance + 1, "CNHRS", event_id="within")
    max_age = RULES.max_age.total_seconds() / 3600
    old = ev("DEPARTED", 11 * DAY, "CNHRS", recorded_hours=11 * DAY + max_age + 1, event_id="old")
    view = view_of(booked, before, within, old)
    assert reasons(view) == {"before": ("refused", "before_booking"), "old": ("refused", "too_old")}
    assert view.events == 2
    # Too old is refused even before any booking is known: no booking can make it count.
    assert reasons(view_of(old)) == {"old": ("refused", "too_old")}


def test_a_delivery_anywhere_but_the_booked_destination_is_refused() -> None:
    events = to_aktau()
    elsewhere = ev("DELIVERED", 180, "AZBAK", carrier="port-baku", event_id="d1")
    view = view_of(*events, elsewhere)
    assert reasons(view) == {"d1": ("refused", "not_destination")}
    assert view.status is Status.IN_TRANSIT
    assert view.delivered_at is None
    there = ev("DELIVERED", 400, "GEPTI", carrier="port-poti", event_id="d2")
    assert view_of(*events, elsewhere, there).status is Status.DELIVERED


def test_a_booking_amended_by_another_booker_is_refused() -> None:
    rival = BOOKING._replace(destination="AZBAK")
    first = ev("BOOKED", 0, "CNHRS", carrier="mcm", recorded_hours=0)
    other = ev("BOOKED", 2, "CNHRS", carrier="ktz", recorded_hours=2, booking=rival, event_id="x")
    view = view_of(first, other)
    assert view.booker == "mcm"
    assert view.destination == "GEPTI"
    assert reasons(view) == {"x": ("refused", "not_the_booker")}


@pytest.mark.parametrize("arrival", [[0, 1, 2], [2, 1, 0], [1, 2, 0], [0, 2, 1]])
def test_amendments_by_the_booker_apply_by_time_whatever_the_arrival_order(
    arrival: list[int],
) -> None:
    """The latest occurred_at wins, in whatever order the amendments are received."""
    bookings = [
        ev("BOOKED", 0, "CNHRS", carrier="mcm", recorded_hours=0, event_id="b0"),
        ev(
            "BOOKED",
            3,
            "CNHRS",
            carrier="mcm",
            recorded_hours=1,
            event_id="b3",
            booking=BOOKING._replace(gross_weight_kg=30_000),
        ),
        ev(
            "BOOKED",
            1,
            "CNHRS",
            carrier="mcm",
            recorded_hours=2,
            event_id="b1",
            booking=BOOKING._replace(gross_weight_kg=10_000),
        ),
    ]
    received = [bookings[i] for i in arrival]
    view = view_of(*received)
    assert view.booker == "mcm"
    assert view.gross_weight_kg == 30_000
    assert view.booked_at == T0  # first booked: amendments do not move the booking time
    assert view.set_aside == ()
    with pytest.raises(LateEvent):  # the incremental path re-folds for every amendment
        advance(view_of(received[0]), received[1:2], RULES)


def test_set_aside_events_survive_the_json_form_and_old_views_are_refolded() -> None:
    view = view_of(*to_aktau(), ev("DELIVERED", 180, "AZBAK", carrier="port-baku"))
    assert len(view.set_aside) == 1
    assert viewcodec.from_json(viewcodec.to_json(view)) == view
    old = json.loads(viewcodec.to_json(view))
    for name in ("booker", "booked_at", "booking_recorded_at", "set_aside"):
        del old[name]
    stored = viewcodec.from_dict(old)
    assert (stored.booker, stored.set_aside) == ("", ())
    assert not can_advance(stored, [ev("ARRIVED", 200, "AZBYK", carrier="ady")], RULES)


def test_a_set_aside_event_is_kept_in_time_order_whatever_the_path() -> None:
    events = to_aktau()
    late = [
        ev("ARRIVED", 150, "GEPTI", classifier="EST", carrier="ady", event_id="z"),
        ev("ARRIVED", 149, "GEPTI", classifier="EST", carrier="ady", event_id="y"),
    ]
    advanced = advance(advance(view_of(*events), late[:1], RULES), late[1:], RULES)
    assert advanced == view_of(*events, *late)
    assert [s.event_id for s in advanced.set_aside] == ["y", "z"]
    assert all(isinstance(s, SetAside) for s in advanced.set_aside)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    cut=st.integers(0, 40),
    strangers=st.lists(st.sampled_from(["gr", "ady", "port-poti"]), max_size=6),
)
def test_advancing_with_set_aside_events_equals_folding_everything(
    seed: int, cut: int, strangers: list[str]
) -> None:
    events = unique_in_order(journey_events(seed, f"P{seed}"))
    rng = random.Random(seed)
    extra = [
        events[rng.randrange(1, len(events))]._replace(
            carrier=carrier, event_id=f"x{n}", location="KZAAU", occurred_at=_later(events)
        )
        for n, carrier in enumerate(strangers)
    ]
    everything = unique_in_order([*events, *extra])
    prefix, suffix = everything[:cut], everything[cut:]
    stored = viewcodec.from_json(viewcodec.to_json(fold(f"P{seed}", prefix, RULES)))
    try:
        result = advance(stored, suffix, RULES)
    except LateEvent:
        result = fold(f"P{seed}", everything, RULES)
    whole = fold(f"P{seed}", everything, RULES)
    assert result == whole
    assert without_set_aside(whole) == fold(f"P{seed}", events, RULES)  # none at Aktau counts
    assert len(whole.set_aside) == len(extra)


def _later(events: list[Event]) -> datetime:
    return max(e.occurred_at for e in events) + timedelta(hours=1)


def test_a_booking_alone_names_its_booker_and_when_it_was_booked() -> None:
    view = view_of(ev("BOOKED", 0, "CNHRS", carrier="mcm", recorded_hours=1))
    assert view.booker == "mcm"
    assert view.booked_at == T0
    assert view.booking_recorded_at == T0 + timedelta(hours=1)
    assert view.last_event is not None
    assert view.last_event.event_type is EventType.BOOKED
