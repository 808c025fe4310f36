"""The fold: status, time order, estimates, holds, sections, dwell, segment runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from corridor.parties import Leg
from services.tracker.domain import (
    Booking,
    Classifier,
    Event,
    EventType,
    ShipmentView,
    Status,
    advance,
    can_advance,
    fold,
    newly_closed,
    unique_in_order,
)
from tests.unit.test_tracker_samples import RULES

T0 = datetime(2026, 11, 1, tzinfo=UTC)
# Through Aktau (the fastest route, by the direct Altynkol-Aktau line): the booking also
# names the legs.
BOOKING = Booking(
    origin="CNHRS",
    destination="GEPTI",
    container_type="40HC",
    gross_weight_kg=20_000,
    promised_delivery_at=T0 + timedelta(days=14),
    legs=(Leg("ktz", "CNHRS", "KZAAU"), Leg("asco", "KZAAU", "AZBAK")),
)
_ids = iter(range(1_000_000))


def ev(
    event_type: str,
    hours: float,
    location: str,
    *,
    classifier: str = "ACT",
    mode: str = "",
    carrier: str = "ktz",
    event_id: str | None = None,
    recorded_hours: float | None = None,
    reason: str = "",
    container_no: str = "",
    booking: Booking = BOOKING,
) -> Event:
    kind = EventType(event_type)
    return Event(
        carrier=carrier,
        event_id=event_id or f"e{next(_ids)}",
        shipment_id="S1",
        event_type=kind,
        classifier=Classifier(classifier),
        occurred_at=T0 + timedelta(hours=hours),
        location=location,
        recorded_at=None if recorded_hours is None else T0 + timedelta(hours=recorded_hours),
        mode=mode,
        reason=reason,
        container_no=container_no,
        booking=booking if kind is EventType.BOOKED else None,
    )


def view_of(*events: Event) -> ShipmentView:
    return fold("S1", events, RULES)


def to_aktau() -> list[Event]:
    """Booked at Horgos, through Altynkol and Almaty to Aktau (a route off the fastest, which
    takes the direct line: ktz is named on a leg), then across the Caspian."""
    return [
        ev("BOOKED", 0, "CNHRS", carrier="mcm"),
        ev("GATE_IN", 2, "CNHRS", mode="RAIL", container_no="MCMU1234565"),
        ev("DEPARTED", 4, "CNHRS", mode="RAIL"),
        ev("ARRIVED", 5, "KZAKL", mode="RAIL"),
        ev("BORDER_CROSSED", 8, "KZAKL"),
        ev("DEPARTED", 12, "KZAKL", mode="RAIL"),
        ev("ARRIVED", 22, "KZALA", mode="RAIL"),
        ev("DEPARTED", 24, "KZALA", mode="RAIL"),
        ev("ARRIVED", 96, "KZAAU", mode="RAIL", carrier="port-aktau"),
        ev("LOADED", 140, "KZAAU", mode="VESSEL", carrier="port-aktau"),
        ev("DEPARTED", 144, "KZAAU", mode="VESSEL", carrier="asco"),
        ev("ARRIVED", 168, "AZBAK", mode="VESSEL", carrier="asco"),
        ev("DISCHARGED", 172, "AZBAK", carrier="port-baku"),
    ]


def test_a_booking_alone_is_booked_at_its_origin() -> None:
    view = view_of(ev("BOOKED", 0, "CNHRS", carrier="mcm"))
    assert view.status is Status.BOOKED
    assert (view.origin, view.destination) == ("CNHRS", "GEPTI")
    assert view.current_location == "CNHRS"
    assert view.sections == []
    assert view.last_event is not None
    assert view.last_event.event_type is EventType.BOOKED


def test_the_first_actual_movement_puts_the_shipment_in_transit() -> None:
    view = view_of(*to_aktau()[:3])
    assert view.status is Status.IN_TRANSIT
    assert view.current_location == "CNHRS"
    assert view.container_no == "MCMU1234565"


def test_an_event_posted_late_takes_its_place_in_time() -> None:
    events = to_aktau()
    in_order = view_of(*events)
    posted = [*events[:4], *events[5:], events[4]]  # the border crossing posted last
    assert view_of(*posted) == in_order
    assert in_order.last_event is not None
    assert in_order.last_event.event_type is EventType.DISCHARGED


def test_a_shipment_is_held_from_a_customs_hold_until_its_release() -> None:
    events = to_aktau()[:4]
    held = view_of(*events, ev("CUSTOMS_HOLD", 6, "KZAKL", reason="inspection"))
    assert held.status is Status.HELD
    assert held.hold_reason == "inspection"
    still = view_of(*events, ev("CUSTOMS_HOLD", 6, "KZAKL"), ev("BORDER_CROSSED", 7, "KZAKL"))
    assert still.status is Status.HELD
    released = view_of(*events, ev("CUSTOMS_HOLD", 6, "KZAKL"), ev("CUSTOMS_RELEASED", 9, "KZAKL"))
    assert released.status is Status.IN_TRANSIT
    assert released.hold_reason == ""


def test_a_release_that_happened_before_the_hold_does_not_release_it() -> None:
    events = to_aktau()[:4]
    view = view_of(*events, ev("CUSTOMS_RELEASED", 6, "KZAKL"), ev("CUSTOMS_HOLD", 7, "KZAKL"))
    assert view.status is Status.HELD


def test_a_departure_ends_a_hold_whose_release_was_never_reported() -> None:
    events = to_aktau()[:4]
    view = view_of(*events, ev("CUSTOMS_HOLD", 6, "KZAKL"), ev("DEPARTED", 12, "KZAKL"))
    assert view.status is Status.IN_TRANSIT


def test_estimates_and_plans_never_change_the_status() -> None:
    booked = view_of(
        ev("BOOKED", 0, "CNHRS", carrier="mcm"),
        ev("ARRIVED", 300, "GEPTI", classifier="EST", carrier="mcm"),
        ev("DEPARTED", 5, "CNHRS", classifier="PLN", carrier="mcm"),
        ev("DELIVERED", 320, "GEPTI", classifier="EST", carrier="mcm"),
    )
    assert booked.status is Status.BOOKED
    assert booked.sections == []
    assert booked.events == 4
    assert {(m.classifier, m.event_type) for m in booked.milestones} == {
        (Classifier.EST, EventType.ARRIVED),
        (Classifier.PLN, EventType.DEPARTED),
        (Classifier.EST, EventType.DELIVERED),
    }


def test_the_most_recently_recorded_estimate_of_arrival_is_the_carrier_eta() -> None:
    booked = ev("BOOKED", 0, "CNHRS", carrier="mcm")
    newer = ev("ARRIVED", 250, "GEPTI", classifier="EST", recorded_hours=10, carrier="mcm")
    older = ev("ARRIVED", 300, "GEPTI", classifier="EST", recorded_hours=2, carrier="mcm")
    elsewhere = ev("ARRIVED", 100, "KZAAU", classifier="EST", recorded_hours=11)
    for order in ([booked, newer, older, elsewhere], [older, elsewhere, newer, booked]):
        view = view_of(*order)
        assert view.carrier_eta == T0 + timedelta(hours=250)
        assert len(view.milestones) == 2


def test_a_late_older_event_never_rolls_a_delivered_shipment_back() -> None:
    events = [*to_aktau(), ev("DELIVERED", 400, "GEPTI", carrier="port-poti")]
    delivered = view_of(*events)
    assert delivered.status is Status.DELIVERED
    late = ev("CUSTOMS_HOLD", 200, "AZBYK", carrier="ady")
    after = view_of(*events, late)
    assert after.status is Status.DELIVERED
    assert after.current_location == "GEPTI"
    assert after.delivered_at == T0 + timedelta(hours=400)


def test_actual_events_after_the_delivery_only_count() -> None:
    events = [*to_aktau(), ev("DELIVERED", 400, "GEPTI", carrier="port-poti")]
    delivered = view_of(*events)
    later = view_of(*events, ev("ARRIVED", 500, "GEGAR", carrier="gr"))
    assert later.events == delivered.events + 1
    assert (later.status, later.current_location, later.sections) == (
        delivered.status,
        delivered.current_location,
        delivered.sections,
    )


def test_sections_change_at_each_border_and_the_caspian_is_a_section_of_its_own() -> None:
    view = view_of(*to_aktau())
    assert [(s.country, s.entered_at, s.exited_at) for s in view.sections] == [
        ("CN", T0 + timedelta(hours=2), T0 + timedelta(hours=5)),
        ("KZ", T0 + timedelta(hours=5), T0 + timedelta(hours=144)),
        ("XC", T0 + timedelta(hours=144), T0 + timedelta(hours=168)),
        ("AZ", T0 + timedelta(hours=168), None),
    ]
    assert view.sections[1].transit_seconds == 139 * 3600
    assert view.sections[3].transit_seconds == 0


def test_the_delivery_closes_the_last_section() -> None:
    to_baku = ev("BOOKED", 0, "CNHRS", carrier="mcm", booking=BOOKING._replace(destination="AZBAK"))
    events = [to_baku, *to_aktau()[1:]]
    view = view_of(*events, ev("DELIVERED", 180, "AZBAK", carrier="port-baku"))
    assert view.sections[-1].country == "AZ"
    assert view.sections[-1].exited_at == T0 + timedelta(hours=180)


def test_an_event_at_sea_reported_against_the_port_of_departure_stays_at_sea() -> None:
    events = to_aktau()[:11]
    view = view_of(*events, ev("EXCEPTION", 150, "KZAAU", reason="storm", carrier="asco"))
    assert [s.country for s in view.sections] == ["CN", "KZ", "XC"]


def test_dwell_runs_from_arrival_to_departure_at_borders_and_ports_only() -> None:
    view = view_of(*to_aktau())
    assert [(d.node, d.arrived_at, d.departed_at) for d in view.dwells] == [
        ("KZAKL", T0 + timedelta(hours=5), T0 + timedelta(hours=12)),
        ("KZAAU", T0 + timedelta(hours=96), T0 + timedelta(hours=144)),
        ("AZBAK", T0 + timedelta(hours=168), None),
    ]  # Almaty is a hub: no dwell
    assert view.dwells[1].dwell_seconds == 48 * 3600


def test_an_arrival_whose_departure_never_came_is_dropped_when_the_cargo_moves_on() -> None:
    events = [
        e for e in to_aktau() if not (e.event_type is EventType.DEPARTED and e.location == "KZAKL")
    ]
    view = view_of(*events)
    assert "KZAKL" not in [d.node for d in view.dwells]


def test_segment_runs_are_recorded_from_departure_to_arrival_between_neighbours() -> None:
    view = view_of(*to_aktau())
    assert [(s.origin, s.destination, s.seconds) for s in view.segments] == [
        ("CNHRS", "KZAKL", 3600),
        ("KZAKL", "KZALA", 10 * 3600),
        ("KZALA", "KZAAU", 72 * 3600),
        ("KZAAU", "AZBAK", 24 * 3600),
    ]


def test_a_run_between_nodes_that_are_not_neighbours_is_not_a_segment_run() -> None:
    view = view_of(
        ev("BOOKED", 0, "CNHRS", carrier="mcm"),
        ev("DEPARTED", 4, "CNHRS", mode="RAIL"),
        ev("ARRIVED", 22, "KZALA", mode="RAIL"),  # the arrival at Altynkol was never posted
    )
    assert view.segments == []


def test_the_same_event_twice_is_folded_once() -> None:
    events = to_aktau()
    assert view_of(*events, *events[:5]) == view_of(*events)
    assert view_of(*events, *events[:5]).events == len(events)


def test_events_at_the_same_instant_are_ordered_by_type_then_carrier_and_id() -> None:
    departed = ev("DEPARTED", 10, "KZAKL", mode="RAIL", carrier="a")
    arrived = ev("ARRIVED", 10, "KZAKL", mode="RAIL", carrier="z")
    ordered = unique_in_order([departed, arrived])
    assert [e.event_type for e in ordered] == [EventType.ARRIVED, EventType.DEPARTED]


def test_advancing_with_a_late_actual_event_is_refused() -> None:
    events = to_aktau()
    view = view_of(events[0], *events[5:])
    assert not can_advance(view, [events[1]], RULES)
    with pytest.raises(ValueError, match="re-fold"):
        advance(view, [events[1]], RULES)
    estimate = ev("ARRIVED", -5, "GEPTI", classifier="EST")
    assert can_advance(view, [estimate], RULES)


def test_newly_closed_lists_only_what_the_new_view_closed() -> None:
    events = to_aktau()
    before = view_of(*events[:9])  # arrived at Aktau
    after = view_of(*events)
    sections, dwells = newly_closed(before, after)
    assert [s.country for s in sections] == ["KZ", "XC"]
    assert [d.node for d in dwells] == ["KZAAU"]
    assert newly_closed(after, after) == ([], [])
